// One partition as this broker serves it: the log, its leader epoch, the producer state of
// idempotent and transactional producers, and the offsets readers may see. On one broker this
// broker leads every partition.
//
// High watermark: with the default flush policy (flush.messages = 1) a record becomes visible to
// consumers only once it is durable, so the high watermark is the log's flushed offset and no
// consumer ever reads a record a crash could take back. Under a looser policy records are
// acknowledged after the write, and the high watermark is the log end offset. When this broker
// leads a replicated partition (`becomeLeader`), that local figure is one term of a minimum over
// the ISR (replica-state.ts); as a follower (`becomeFollower`) it is capped by the leader's.
//
// Last stable offset: min(first offset of the earliest open transaction, high watermark); what
// read_committed consumers may read up to (exclusive).
//
// Producer state: checked and updated synchronously around PartitionLog.append (which assigns
// offsets before its first await), so no two appends interleave between the check and the
// offset assignment. It survives restarts through `<offset>.snapshot` files, written once the
// active segment rolled, plus a replay of the batch headers after the newest usable snapshot
// (see `recover`). Aborted transactions live in each segment's `.txnindex` (transaction-index.ts).
//
// Owned by the ReplicaManager. Readers that wait for data (long-poll fetches) register with
// `onHighWatermarkAdvance`, which also fires when the last stable offset moves; the partition
// wakes them from the log's own events, never by polling.

import { crc32c } from '../util/commonjs-packages.js';

import { ErrorCode } from '../protocol/errors.js';
import {
  AttributeBit,
  BATCH_HEADER_BYTES,
  BatchField,
  LOG_OVERHEAD_BYTES,
  batchBaseOffset,
  readInt64,
} from '../record/batch.js';
import { decodeBatchSync } from '../record/records.js';
import type {
  AppendOrigin,
  AppendResult,
  PartitionLog,
  ReadResult,
} from '../storage/partition-log.js';
import {
  type AbortedTransaction,
  type ProducerBatch,
  type ProducerEntry,
  ProducerStateError,
  ProducerStateManager,
  decodeSnapshot,
  encodeSnapshot,
  lastSequenceOf,
  parseSnapshotOffset,
  snapshotFileName,
} from './producer-state.js';
import type { ReplicaAssignment, ReplicaState } from './replica-state.js';
import { TransactionIndex } from './transaction-index.js';
import { assert } from '../util/assert.js';
import type { ChangeMark } from '../util/change-set.js';
import { ConcurrencyGate } from '../util/concurrency-gate.js';

export type HighWatermarkListener = (partition: Partition) => void;

/** Snapshots kept per partition; older ones are deleted after a new one is written. */
const SNAPSHOTS_KEPT = 2;
const REPLAY_READ_BYTES = 1024 * 1024;
/** Kafka's producer.id.expiration.ms default, for partitions built without the broker's setting. */
export const PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;
/** Expiry is checked at most this often (at a flush), or every expiration period if shorter. */
const PRODUCER_EXPIRY_CHECK_INTERVAL_MS = 60 * 1000;
const resolved = Promise.resolve();
/**
 * The producer-state recoveries a start runs at once, process-wide. Each reads files outside the
 * descriptor pool (its snapshot, the transaction index) and its log's tail: ten thousand
 * partitions started together opened ten thousand snapshots at once, and a broker under an
 * open-file limit of 4,096 could not start. Sixteen keep libuv's four threads busy.
 */
const recoveries = new ConcurrencyGate(16);

interface LocatedBatch extends ProducerBatch {
  position: number;
}

export class Partition {
  // The sets below are made on first use: a broker of 10,000 partitions, most of them idle, would
  // otherwise keep 40,000 empty sets (some 7 MB of heap that every major collection marks).
  private listeners: Set<HighWatermarkListener> | null = null;
  /** Parked follower fetches, woken by appends (registered only while this broker leads with followers). */
  private appendListeners: Set<HighWatermarkListener> | null = null;
  /** acks=all waits, told when the leadership term they began in ends. */
  private termListeners: Set<() => void> | null = null;
  private lastHighWatermark: number;
  /**
   * The high watermark a metrics scrape was last told of through the figures' mark (apart from
   * `lastHighWatermark`, which the wake-ups own and a change of role leaves as it was).
   */
  private highWatermarkMarked: number;
  private lastStableOffsetSeen: number;
  private readonly producers = new ProducerStateManager();
  private readonly transactionIndex: TransactionIndex;
  private loaded: boolean;
  /** Resolves once producer state is recovered; appends of producer batches wait for it. */
  readonly ready: Promise<void>;
  private activeSegmentBaseOffset: number;
  private snapshotting = false;
  private snapshotWanted = false;
  private lastExpiryCheckMs = Date.now();
  private leaderEpochValue: number;
  /** The followers' states while this broker leads a replicated partition; null on one broker. */
  private replication: ReplicaState | null = null;
  /** The leader's high watermark while this broker follows; null when it leads. */
  private leaderHighWatermark: number | null = null;
  /** Whether this broker has led or followed the partition since the log was opened (cluster mode). */
  private hadReplicaRole = false;
  /** Producers that appended here in the current leadership term (cluster mode; see `append`). */
  private appendedThisTerm: Set<number> | null = null;

  constructor(
    readonly topic: string,
    readonly partitionIndex: number,
    readonly log: PartitionLog,
    leaderEpoch = 0,
    /** producer.id.expiration.ms, read at each check (the setting is dynamic). */
    private readonly producerIdExpirationMs: () => number = () => PRODUCER_ID_EXPIRATION_MS,
  ) {
    this.leaderEpochValue = leaderEpoch;
    this.transactionIndex = new TransactionIndex(log);
    this.activeSegmentBaseOffset = log.activeSegmentBaseOffset;
    // A log that never held a record has no producer state to recover.
    this.loaded = log.logEndOffset === 0;
    this.ready = this.loaded ? resolved : recoveries.run(() => this.recover());
    this.ready.catch(() => undefined);
    this.lastHighWatermark = this.highWatermark;
    this.highWatermarkMarked = this.lastHighWatermark;
    this.lastStableOffsetSeen = this.lastStableOffset;
    // Compaction must leave open transactions alone and drop aborted ones; until producer state
    // is recovered it knows neither, so nothing is stable.
    log.useTransactionView({
      lastStableOffset: () => (this.loaded ? this.lastStableOffset : log.logStartOffset),
      abortedTransactions: (from, to) => this.producers.abortedTransactions(from, to),
    });
    log.on('flush', (offset: number) => {
      this.onFlush(offset);
      this.notifyIfAdvanced();
    });
    log.on('append', () => {
      if (this.appendListeners !== null && this.appendListeners.size > 0)
        for (const listener of [...this.appendListeners]) listener(this);
      this.notifyIfAdvanced();
    });
  }

  get leaderEpoch(): number {
    return this.leaderEpochValue;
  }

  get highWatermark(): number {
    const local =
      this.log.config.flushMessages <= 1 ? this.log.flushedOffset : this.log.logEndOffset;
    if (this.replication !== null) return this.replication.highWatermark(local);
    if (this.leaderHighWatermark !== null)
      return Math.min(this.leaderHighWatermark, this.log.flushedOffset);
    return local;
  }

  // ───────────────────────────── replication ─────────────────────────────

  /**
   * The high watermark a leadership term beginning now starts from (`becomeLeader`'s
   * ReplicaState). Once this broker has led or followed the partition it is the current one.
   * Before that, just after a start, it is what replication-offset-checkpoint last recorded, or
   * the log start offset: never the log end, which may lie past records that never reached the
   * ISR (this broker's own tail as a leader before a crash). Starting there would acknowledge a
   * producer's retry of such a record as committed, and serve it to consumers, though the
   * controller may elect a replica that never had it.
   */
  get highWatermarkForNewTerm(): number {
    if (this.hadReplicaRole) return this.highWatermark;
    const checkpointed = this.log.highWatermark ?? this.log.logStartOffset;
    return Math.min(checkpointed, this.highWatermark);
  }

  /**
   * This broker leads the partition from `leaderEpoch` on, with the followers and ISR of
   * `replication` (a fresh ReplicaState for this term). The epoch is recorded in the log before
   * anything is appended in it.
   */
  async becomeLeader(leaderEpoch: number, replication: ReplicaState): Promise<void> {
    await this.log.assignLeaderEpoch(leaderEpoch);
    this.hadReplicaRole = true;
    this.appendedThisTerm?.clear();
    this.leaderEpochValue = leaderEpoch;
    this.replication = replication;
    this.leaderHighWatermark = null;
    // The followers fetch what the high watermark has not passed: keep it in memory for them.
    this.log.retainUnreplicatedTail(() => this.highWatermark);
    this.endTerm();
    this.notifyIfAdvanced();
  }

  /**
   * While leading: a new replica set or ISR from the cluster view. The high watermark may move
   * at once (a lagging follower left the ISR), which answers acks=all produces waiting on it.
   */
  updateReplicaAssignment(assignment: ReplicaAssignment): void {
    assert(this.replication !== null, `${this.topic}-${this.partitionIndex} is not led here`);
    this.replication.updateAssignment(assignment);
    this.notifyIfAdvanced();
  }

  /** This broker follows the partition's leader in `leaderEpoch`; appends come from the leader. */
  becomeFollower(leaderEpoch: number): void {
    // What is committed stays so under any leader: the follower starts from it, not from zero.
    const committed = this.highWatermarkForNewTerm;
    this.hadReplicaRole = true;
    this.leaderEpochValue = leaderEpoch;
    this.replication = null;
    this.log.retainUnreplicatedTail(null);
    this.leaderHighWatermark ??= committed;
    // The high watermark is now the leader's (bounded by what is flushed here), with no wake-up.
    this.markHighWatermark(this.highWatermark);
    this.endTerm();
  }

  /**
   * Resolves at the next change of term (becomeLeader or becomeFollower), or after `timeoutMs`.
   * Waiters are told in the order they asked, so produces held through a take-up go on in the
   * order they arrived.
   */
  nextTerm(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.termListeners?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      (this.termListeners ??= new Set()).add(done);
    });
  }

  /** The ReplicaState changed: acks=all waits of an earlier term stop (the producer retries). */
  private endTerm(): void {
    if (this.termListeners !== null) for (const listener of [...this.termListeners]) listener();
  }

  /** The followers' states while this broker leads a replicated partition, else null. */
  get replicaState(): ReplicaState | null {
    return this.replication;
  }

  /** ISR members counted for min.insync.replicas (1 on a single broker or as a follower). */
  get inSyncReplicaCount(): number {
    return this.replication?.isr.length ?? 1;
  }

  /**
   * A follower's Fetch from `fetchOffset` (it holds and has flushed everything below it);
   * `atLeaderEpoch` when it named this leader's epoch as current.
   */
  recordFollowerFetch(brokerId: number, fetchOffset: number, atLeaderEpoch = false): void {
    assert(this.replication !== null, `${this.topic}-${this.partitionIndex} is not led here`);
    this.replication.recordFetch(brokerId, fetchOffset, this.log.logEndOffset, atLeaderEpoch);
    this.notifyIfAdvanced();
  }

  /**
   * As a follower: appends the leader's batches as they are (see PartitionLog.appendAsFollower)
   * and keeps the producer state as the leader's, so that if this broker leads next, a producer's
   * retry of a batch it already wrote is recognised as a duplicate and its next sequence fits.
   */
  appendAsFollower(records: Buffer): AppendResult {
    assert(
      this.loaded,
      `${this.topic}-${this.partitionIndex} follows before its producer state is loaded`,
    );
    const appended = this.log.appendAsFollower(records);
    // Tracked until flushed, as a leader's appends are: a snapshot taken at a flush must not
    // describe batches past it, which a crash may take back.
    this.replayBatches(records, this.highWatermark, appended.baseOffset, appended.acknowledged);
    this.settleProducerChanges(appended);
    return appended;
  }

  /**
   * Cuts the log at `offset` (a follower's divergent tail, KIP-101/279) and rebuilds the producer
   * state for what remains: from the newest snapshot below the new end, then a replay.
   */
  async truncateTo(offset: number): Promise<void> {
    if (offset >= this.log.logEndOffset) return;
    await this.ready;
    await this.log.truncateTo(offset);
    this.loaded = false;
    await this.recover();
  }

  /** As a follower: the high watermark the leader answered with. */
  updateLeaderHighWatermark(highWatermark: number): void {
    if (this.leaderHighWatermark === null) return;
    this.leaderHighWatermark = Math.max(this.leaderHighWatermark, highWatermark);
    this.notifyIfAdvanced();
  }

  /**
   * Resolves once the high watermark reaches `offset` (acks=all); rejects when `signal` aborts or
   * when this broker stops leading in the term the wait began in (deposed, or a new epoch): the
   * followers of that term will never report the offset to it.
   */
  waitForHighWatermark(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.highWatermark >= offset) return resolved;
    const term = this.replication;
    return new Promise((resolve, reject) => {
      const finish = (error?: Error): void => {
        unsubscribe();
        this.termListeners?.delete(onTermEnd);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onAbort = (): void => finish(new Error('stopped waiting for the high watermark'));
      const onTermEnd = (): void => {
        if (this.replication !== term) finish(new Error('the leadership changed while waiting'));
      };
      const unsubscribe = this.onHighWatermarkAdvance(() => {
        if (this.highWatermark >= offset) finish();
      });
      (this.termListeners ??= new Set()).add(onTermEnd);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The end of what read_committed consumers see: the first open transaction's first offset, at most the high watermark. */
  get lastStableOffset(): number {
    return Math.min(this.producers.firstUnstableOffset(), this.highWatermark);
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  /**
   * Registers (util/change-set.ts) whenever the log's figures or the high watermark move: a
   * metrics scrape re-reads only the partitions whose mark registered since it last read them.
   * The log's own mark: one per partition, pushed at most once per scrape.
   */
  get figuresChanges(): ChangeMark {
    return this.log.figuresChanges;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  /**
   * Appends a producer's record set. Producer checks, validation and offset assignment happen
   * synchronously; the returned promise (`acknowledged`) settles under the topic's flush policy.
   * A retry of a batch already appended is not written again: the result is the original's.
   */
  append(
    records: Buffer,
    origin: AppendOrigin,
    options: { deferFlush?: boolean } = {},
  ): AppendResult {
    const batches = origin === 'replication' ? [] : producerBatches(records);
    if (batches.length === 0)
      return this.log.append(records, { leaderEpoch: this.leaderEpoch, origin, ...options });
    if (!this.loaded) {
      throw new ProducerStateError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `producer state of ${this.topic}-${this.partitionIndex} is still being recovered`,
      );
    }
    const pending = new Map<number, { producerEpoch: number; lastSequence: number }>();
    for (let index = 0; index < batches.length; index += 1) {
      const batch = batches[index];
      if (batch.isControl) {
        if (origin === 'client') continue; // the log refuses it
        const marker = controlRecordOf(records, batch.position);
        if (marker !== null) this.producers.checkMarker(batch, marker.coordinatorEpoch);
        continue;
      }
      const result = this.checkProducer(batch, pending, origin);
      if (result !== null) {
        if (index > 0) {
          throw new ProducerStateError(
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            `producer ${batch.producerId}: a record set mixes new batches with a retried one`,
          );
        }
        const { duplicate } = result;
        return {
          baseOffset: duplicate.firstOffset,
          lastOffset: duplicate.lastOffset,
          logAppendTime: -1,
          maxTimestamp: -1,
          acknowledged: duplicate.acknowledged ?? resolved,
        };
      }
      pending.set(batch.producerId, {
        producerEpoch: batch.producerEpoch,
        lastSequence: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta),
      });
    }

    const appended = this.log.append(records, {
      leaderEpoch: this.leaderEpoch,
      origin,
      ...options,
    });
    if (this.replication !== null)
      for (const batch of batches)
        if (!batch.isControl) (this.appendedThisTerm ??= new Set()).add(batch.producerId);
    // Offsets are stamped into the batches in place by now.
    for (const batch of batches) {
      const firstOffset = batchBaseOffset(records, batch.position);
      if (batch.isControl) {
        const marker = controlRecordOf(records, batch.position);
        if (marker !== null) {
          this.producers.applyMarker(
            batch,
            marker.type,
            marker.coordinatorEpoch,
            firstOffset,
            this.highWatermark,
            true,
          );
        }
      } else {
        this.producers.apply(
          batch,
          firstOffset,
          firstOffset + batch.lastOffsetDelta,
          appended.acknowledged,
        );
      }
    }
    this.settleProducerChanges(appended);
    this.notifyIfAdvanced();
    return appended;
  }

  /** An append's producer-state changes become permanent once it is durable, or are undone. */
  private settleProducerChanges(appended: AppendResult): void {
    appended.acknowledged.then(
      () => this.producers.acknowledge(appended.lastOffset),
      () => {
        this.producers.revertFrom(appended.baseOffset);
        this.notifyIfAdvanced();
      },
    );
  }

  /**
   * The producer-state check, with one answer of a replicated partition's own. A new leader
   * hears from a producer whose earlier batches may still be on their way to the previous
   * leader (sent before the producer learned of the change; that leader will refuse them). If
   * a later batch arrives first, its sequence leaves a gap, which Kafka answers
   * OUT_OF_ORDER_SEQUENCE_NUMBER. librdkafka then bumps the producer's epoch, and every
   * partition's unacknowledged batches go out again at sequence 0 of the new epoch, so a batch
   * that a deposed leader appended (and answered NOT_LEADER_OR_FOLLOWER, as Kafka does) is
   * written a second time: a duplicate despite idempotence. Until the producer has appended in
   * this term, a gap is answered NOT_LEADER_OR_FOLLOWER instead: the client refreshes its
   * metadata and resends its batches in order, the earlier ones first. Once it has appended
   * here, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER as in Kafka.
   */
  private checkProducer(
    batch: ProducerBatch,
    pending: Map<number, { producerEpoch: number; lastSequence: number }>,
    origin: AppendOrigin,
  ): ReturnType<ProducerStateManager['check']> {
    try {
      return this.producers.check(batch, pending, origin);
    } catch (error) {
      if (
        error instanceof ProducerStateError &&
        error.sequenceAhead &&
        this.replication !== null &&
        !this.appendedThisTerm?.has(batch.producerId)
      ) {
        throw new ProducerStateError(
          ErrorCode.NOT_LEADER_OR_FOLLOWER,
          `${error.message}; this leader took over in epoch ${this.leaderEpoch} and the producer's earlier batches may still be on their way to the previous leader: resend them here in order`,
        );
      }
      throw error;
    }
  }

  /** Whole batches from `offset`, never past `upperBound` (the high watermark or the LSO). */
  read(
    offset: number,
    maxBytes: number,
    upperBound: number,
    minOneBatch: boolean,
  ): Promise<ReadResult> {
    return this.log.read(offset, { maxBytes, maxOffset: upperBound, minOneBatch });
  }

  /** Aborted transactions overlapping [fetchOffset, upperBound), for read_committed fetches. */
  abortedTransactions(fetchOffset: number, upperBound: number): AbortedTransaction[] {
    return this.producers.abortedTransactions(fetchOffset, upperBound);
  }

  /** The producers with state in this partition (DescribeProducers). */
  activeProducers(): readonly ProducerEntry[] {
    return [...this.producers.entries.values()];
  }

  /** Registers for high watermark and last stable offset moves. */
  onHighWatermarkAdvance(listener: HighWatermarkListener): () => void {
    (this.listeners ??= new Set()).add(listener);
    return () => this.listeners?.delete(listener);
  }

  /** Registers for log end offset moves (a follower's fetch parked at the log end). */
  onLogEndAdvance(listener: HighWatermarkListener): () => void {
    (this.appendListeners ??= new Set()).add(listener);
    return () => this.appendListeners?.delete(listener);
  }

  private notifyIfAdvanced(): void {
    const highWatermark = this.highWatermark;
    this.markHighWatermark(highWatermark);
    const lastStableOffset = this.lastStableOffset;
    if (highWatermark === this.lastHighWatermark && lastStableOffset === this.lastStableOffsetSeen)
      return;
    this.lastHighWatermark = highWatermark;
    this.lastStableOffsetSeen = lastStableOffset;
    if (this.listeners !== null) for (const listener of [...this.listeners]) listener(this);
  }

  /** The figures' mark registers when the high watermark differs from the one it last told of. */
  private markHighWatermark(highWatermark: number): void {
    if (highWatermark === this.highWatermarkMarked) return;
    this.highWatermarkMarked = highWatermark;
    if (this.hadReplicaRole) this.log.recordHighWatermark(highWatermark);
    const changes = this.log.figuresChanges;
    if (!changes.pending) changes.register();
  }

  // ───────────────────────────── persistence ─────────────────────────────

  /**
   * On a clean stop, after the last request: flushes and snapshots the whole state, so the next
   * start reads the snapshot instead of replaying the active segment.
   */
  async close(): Promise<void> {
    if (!this.loaded || this.log.logEndOffset === 0) return;
    try {
      await this.log.flush();
      await this.writeSnapshot(this.log.logEndOffset);
    } catch {
      // The next start replays from an older snapshot instead.
    }
  }

  private onFlush(flushedOffset: number): void {
    if (!this.loaded) return;
    const now = Date.now();
    const expirationMs = this.producerIdExpirationMs();
    if (now - this.lastExpiryCheckMs >= Math.min(PRODUCER_EXPIRY_CHECK_INTERVAL_MS, expirationMs)) {
      this.lastExpiryCheckMs = now;
      this.producers.removeExpired(now, expirationMs);
    }
    void this.transactionIndex
      .persistBelow(this.producers.aborted, flushedOffset)
      .catch(() => undefined);
    const activeBaseOffset = this.log.activeSegmentBaseOffset;
    if (activeBaseOffset !== this.activeSegmentBaseOffset) {
      this.activeSegmentBaseOffset = activeBaseOffset;
      this.snapshotWanted = true;
    }
    if (this.snapshotWanted && !this.snapshotting) {
      this.snapshotWanted = false;
      this.snapshotting = true;
      void this.writeSnapshot(flushedOffset)
        .catch(() => {
          this.snapshotWanted = true; // try again at the next flush
        })
        .finally(() => {
          this.snapshotting = false;
        });
    }
  }

  /** Writes the state of everything below `offset` (durable in the log) and prunes old snapshots. */
  private async writeSnapshot(offset: number): Promise<void> {
    const entries = this.producers.entriesBefore(offset);
    const data = encodeSnapshot(offset, entries, crc32c);
    // The snapshot must never be ahead of the index: replay starts at its offset.
    await this.transactionIndex.persistBelow(this.producers.aborted, offset);
    const io = this.log.fileIo;
    await io.writeFileAtomic(`${this.log.directory}/${snapshotFileName(offset)}`, data);
    const offsets = (await io.readdir(this.log.directory))
      .map(parseSnapshotOffset)
      .filter((value): value is number => value !== null)
      .sort((a, b) => b - a);
    for (const old of offsets.slice(SNAPSHOTS_KEPT))
      await io.unlink(`${this.log.directory}/${snapshotFileName(old)}`);
  }

  /**
   * Rebuilds producer state: the newest snapshot at or below the log end offset (newer ones
   * describe batches a crash took back), then the batch headers from its offset to the end.
   */
  private async recover(): Promise<void> {
    const io = this.log.fileIo;
    const directory = this.log.directory;
    const logEndOffset = this.log.logEndOffset;
    const offsets = (await io.readdir(directory))
      .map(parseSnapshotOffset)
      .filter((value): value is number => value !== null)
      .sort((a, b) => b - a);
    let replayFrom = this.log.logStartOffset;
    let entries: ProducerEntry[] = [];
    for (const offset of offsets) {
      if (offset > logEndOffset) {
        await io.unlink(`${directory}/${snapshotFileName(offset)}`);
        continue;
      }
      const data = await io.readFile(`${directory}/${snapshotFileName(offset)}`);
      const snapshot = data === null ? null : decodeSnapshot(data, crc32c);
      if (snapshot === null) continue;
      entries = snapshot.entries;
      replayFrom = Math.max(snapshot.offset, this.log.logStartOffset);
      break;
    }
    const indexed = (await this.transactionIndex.read()).filter(
      (entry) => entry.lastOffset < replayFrom && entry.lastOffset >= this.log.logStartOffset,
    );
    this.producers.load(entries, indexed);

    let offset = replayFrom;
    while (offset < logEndOffset) {
      const { chunks } = await this.log.read(offset, {
        maxBytes: REPLAY_READ_BYTES,
        maxOffset: logEndOffset,
        minOneBatch: true,
      });
      if (chunks.length === 0) break;
      for (const chunk of chunks) offset = this.replayBatches(chunk, logEndOffset, offset);
    }
    await this.transactionIndex.rewrite(this.producers.aborted);
    this.loaded = true;
    this.notifyIfAdvanced();
  }

  /**
   * Applies the producer batches of `chunk` (stamped with their offsets) to the producer state:
   * untracked in recovery (the log holds them), tracked until `acknowledged` for a follower
   * copying its leader. Returns the offset after the last whole batch (`offset` when there is
   * none).
   */
  private replayBatches(
    chunk: Buffer,
    markerHighWatermark: number,
    offset: number,
    acknowledged?: Promise<void>,
  ): number {
    for (let position = 0; position + BATCH_HEADER_BYTES <= chunk.length;) {
      const sizeBytes = LOG_OVERHEAD_BYTES + chunk.readInt32BE(position + BatchField.batchLength);
      if (position + sizeBytes > chunk.length) break;
      const batch = headerOf(chunk, position);
      const firstOffset = batchBaseOffset(chunk, position);
      if (batch.producerId >= 0) {
        if (batch.isControl) {
          const marker = controlRecordOf(chunk, position);
          if (marker !== null) {
            this.producers.applyMarker(
              batch,
              marker.type,
              marker.coordinatorEpoch,
              firstOffset,
              markerHighWatermark,
              acknowledged !== undefined,
            );
          }
        } else {
          this.producers.apply(
            batch,
            firstOffset,
            firstOffset + batch.lastOffsetDelta,
            acknowledged,
          );
        }
      }
      offset = firstOffset + batch.lastOffsetDelta + 1;
      position += sizeBytes;
    }
    return offset;
  }
}

function headerOf(records: Buffer, position: number): LocatedBatch {
  const attributes = records.readInt16BE(position + BatchField.attributes);
  return {
    position,
    producerId: readInt64(records, position + BatchField.producerId),
    producerEpoch: records.readInt16BE(position + BatchField.producerEpoch),
    baseSequence: records.readInt32BE(position + BatchField.baseSequence),
    lastOffsetDelta: records.readInt32BE(position + BatchField.lastOffsetDelta),
    isTransactional: (attributes & AttributeBit.transactional) !== 0,
    isControl: (attributes & AttributeBit.control) !== 0,
    maxTimestamp: readInt64(records, position + BatchField.maxTimestamp),
  };
}

/**
 * The headers of the batches that carry a producer id (idempotent, transactional, markers). A
 * malformed record set yields what could be read; the log's validation then refuses it.
 */
function producerBatches(records: Buffer): LocatedBatch[] {
  const batches: LocatedBatch[] = [];
  for (let position = 0; position + BATCH_HEADER_BYTES <= records.length;) {
    const batchLength = records.readInt32BE(position + BatchField.batchLength);
    if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) break;
    if (readInt64(records, position + BatchField.producerId) >= 0)
      batches.push(headerOf(records, position));
    position += LOG_OVERHEAD_BYTES + batchLength;
  }
  return batches;
}

/** The type and coordinator epoch of a transaction marker (the only record decoded on these paths). */
function controlRecordOf(
  records: Buffer,
  position: number,
): { type: number; coordinatorEpoch: number } | null {
  const sizeBytes = LOG_OVERHEAD_BYTES + records.readInt32BE(position + BatchField.batchLength);
  try {
    const decoded = decodeBatchSync(records.subarray(position, position + sizeBytes));
    const record = decoded.records[0];
    if (record?.key == null || record.key.length < 4) return null;
    const coordinatorEpoch =
      record.value !== null && record.value.length >= 6 ? record.value.readInt32BE(2) : -1;
    return { type: record.key.readInt16BE(2), coordinatorEpoch };
  } catch {
    return null;
  }
}
