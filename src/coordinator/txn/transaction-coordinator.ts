// The transaction coordinator: transactional id → producer id and epoch, the partitions and
// groups of the open transaction, and its state, kept in the compacted `__transaction_state`
// (partition = hash(transactional.id) mod N). Also hands out producer ids to idempotent producers.
//
//   Empty ──AddPartitions/AddOffsets──► Ongoing ──EndTxn──► PrepareCommit ──markers──► CompleteCommit
//                                          │                PrepareAbort  ──markers──► CompleteAbort
//                                          └── timeout / InitProducerId (fencing) ──► PrepareAbort
//
// Every state change is durable in `__transaction_state` before it is answered or acted on; a
// Prepare* found on start-up is completed (markers written again: a marker is idempotent for the
// partitions), so a restart never leaves a transaction half done. An Ongoing transaction found on
// start-up waits for its producer, or for its timeout, as in Kafka. A transactional id left
// Empty or Complete* for transactional.id.expiration.ms is forgotten: a tombstone in the state
// topic first, then the entry, so it stays gone after a restart (an Ongoing or Prepare* one never
// expires this way; its timeout ends it first).
//
// Owned by the broker. Operations on one transactional id run one at a time (a per-id promise
// chain), because each spans several awaits (state writes, markers). What it needs from the broker
// is in ports.ts; the state it keeps, and its records, in transaction-state-cache.ts.

import { ErrorCode } from '../../protocol/errors.js';
import { BrookError } from '../../util/errors.js';
import type { CoordinatorNode, TransactionCoordinatorPorts } from './ports.js';
import { transitionTransaction, type TransactionMetadata } from './transaction-log.js';
import { TransactionStateCache } from './transaction-state-cache.js';

import { TRANSACTION_STATE_TOPIC_NAME } from './ports.js';
import { deadline } from '../../util/deadline.js';

export {
  TRANSACTION_STATE_TOPIC_NAME,
  type TransactionCoordinatorPorts,
  type TransactionStateStorage,
} from './ports.js';

/** Kafka's coordinator epoch is a leader epoch of the state partition; one broker keeps 0. */
const SINGLE_BROKER_COORDINATOR_EPOCH = 0;
/** transaction.markers.timeout.ms's default, for coordinators built without it. */
const TRANSACTION_MARKERS_TIMEOUT_MS = 20_000;
const PRODUCER_EPOCH_MAX = 32766;
/** Kafka's transactional.id.expiration.ms and its cleanup interval, for coordinators built without them. */
const TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 60 * 60 * 1000;
const REMOVE_EXPIRED_TRANSACTIONAL_IDS_INTERVAL_MS = 60 * 60 * 1000;

export interface TransactionCoordinatorConfig {
  transactionMaxTimeoutMs: number;
  abortTimedOutTransactionCleanupIntervalMs: number;
  /** Read at every cleanup (the broker passes a getter: the setting is dynamic). */
  readonly transactionalIdExpirationMs?: number;
  removeExpiredTransactionalIdsIntervalMs?: number;
  /**
   * transaction.markers.timeout.ms: how long a completion waits for its markers (leaders move, a
   * partition is offline) before the request that drives it is answered
   * COORDINATOR_NOT_AVAILABLE: the transaction stays Prepare*, and a retried EndTxn, the timeout
   * check or the next load writes them again. Below the clients' request timeouts (30 s in
   * kafkajs), so they retry rather than give up.
   */
  transactionMarkersTimeoutMs?: number;
}

/** FindCoordinator's answer for one transactional id. */
export interface TransactionCoordinatorLookup {
  errorCode: number;
  errorMessage: string | null;
  node: CoordinatorNode | null;
}

export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface TransactionDescription {
  errorCode: number;
  transactionalId: string;
  state: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: number;
  producerId: number;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

/** A transaction request answered with `kafkaErrorCode`. */
class CoordinatorError extends BrookError {
  declare readonly kafkaErrorCode: number;

  constructor(kafkaErrorCode: number) {
    super('BROOK_TRANSACTION_COORDINATOR', `transaction coordinator error ${kafkaErrorCode}`, {
      kafkaErrorCode,
    });
    this.name = 'CoordinatorError';
  }
}

/**
 * The transaction's state partition was unloaded here while its markers were on their way: the
 * outcome is durable (Prepare*) and the partition's next coordinator completes it.
 */
class HandedOverError extends CoordinatorError {
  constructor() {
    super(ErrorCode.NOT_COORDINATOR);
    this.name = 'HandedOverError';
  }
}

export class TransactionCoordinator {
  private readonly state: TransactionStateCache;
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly clock: () => number;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private removingExpired = false;
  /**
   * Per `__transaction_state` partition loaded here: its coordinator epoch, and what aborts its
   * marker writes when it is unloaded (another coordinator completes them).
   */
  private readonly loadedPartitions = new Map<
    number,
    { coordinatorEpoch: number; unloaded: AbortController }
  >();

  constructor(
    private readonly ports: TransactionCoordinatorPorts,
    private readonly config: TransactionCoordinatorConfig,
  ) {
    this.clock = ports.clock ?? Date.now;
    this.state = new TransactionStateCache(ports.stateTopic, this.clock);
  }

  /**
   * Loads every partition this broker leads (each completing the transactions caught between
   * prepare and complete) and starts the timers.
   */
  async start(): Promise<void> {
    const loads: Promise<void>[] = [];
    for (let partition = 0; partition < this.ports.stateTopic.partitionCount; partition += 1) {
      if (!this.state.isLeader(partition)) continue;
      // A partition whose log directory is offline stays unloaded (its transactional ids are
      // not served here) until a restart opens the directory.
      loads.push(this.loadPartition(partition).catch(rethrowUnlessStorageError));
    }
    await Promise.all(loads);
    this.timer = setInterval(
      () => void this.abortTimedOut(),
      this.config.abortTimedOutTransactionCleanupIntervalMs,
    );
    this.timer.unref();
    this.expiryTimer = setInterval(
      () => void this.removeExpiredTransactionalIds(),
      this.config.removeExpiredTransactionalIdsIntervalMs ??
        REMOVE_EXPIRED_TRANSACTIONAL_IDS_INTERVAL_MS,
    );
    this.expiryTimer.unref();
  }

  /**
   * Reads the partition's transactions (on start, or on becoming its leader) and completes those
   * caught between prepare and complete. Ids of the partition are answered
   * COORDINATOR_LOAD_IN_PROGRESS until the read is done. Does nothing when the partition is
   * already loading or loaded here; rejects when it cannot be read (it may be loaded again).
   */
  async loadPartition(partition: number): Promise<void> {
    if (!this.loadedPartitions.has(partition)) {
      this.loadedPartitions.set(partition, {
        coordinatorEpoch:
          this.ports.coordinatorEpoch?.(partition) ?? SINGLE_BROKER_COORDINATOR_EPOCH,
        unloaded: new AbortController(),
      });
    }
    let loaded;
    try {
      loaded = await this.state.loadPartition(partition);
    } catch (error) {
      // Not loaded: the next load (a new leadership, perhaps in a new epoch) starts afresh.
      this.loadedPartitions.get(partition)?.unloaded.abort();
      this.loadedPartitions.delete(partition);
      throw error;
    }
    if (loaded === null || this.closed) return;
    // Independent transactions complete concurrently: their markers and records share fsyncs.
    // A failure is retried by the timeout check (abortTimedOut completes stuck ones).
    await Promise.all(
      loaded
        .filter(
          (metadata) => metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort',
        )
        .map((metadata) =>
          this.serialise(metadata.transactionalId, () => this.complete(metadata)).catch(
            () => undefined,
          ),
        ),
    );
  }

  /**
   * Forgets the partition's transactions (on losing its leadership): its ids are answered
   * NOT_COORDINATOR from now on, and an operation already under way finds them gone.
   */
  unloadPartition(partition: number): void {
    this.state.unloadPartition(partition);
    this.loadedPartitions.get(partition)?.unloaded.abort();
    this.loadedPartitions.delete(partition);
  }

  /** Which broker coordinates `transactionalId` (FindCoordinator key type 1). */
  findCoordinator(transactionalId: string): TransactionCoordinatorLookup {
    const partition = this.state.partitionFor(transactionalId);
    const stateTopic = this.ports.stateTopic;
    const node =
      stateTopic.leaderOf !== undefined
        ? stateTopic.leaderOf(partition)
        : this.closed
          ? undefined
          : this.ports.node?.();
    if (node === undefined) {
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: `no leader for ${TRANSACTION_STATE_TOPIC_NAME}-${partition}`,
        node: null,
      };
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, node };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    this.timer = null;
    this.expiryTimer = null;
    for (const loaded of this.loadedPartitions.values()) loaded.unloaded.abort();
    this.loadedPartitions.clear();
  }

  // ───────────────────────────── InitProducerId ─────────────────────────────

  async initProducerId(params: {
    transactionalId: string | null;
    transactionTimeoutMs: number;
    producerId: number;
    producerEpoch: number;
  }): Promise<ProducerIdAndEpoch> {
    const failed = (errorCode: number): ProducerIdAndEpoch => ({
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    });
    if (params.transactionalId === null || params.transactionalId === '') {
      // Idempotent producers get a fresh id every time (an epoch bump request included).
      return {
        errorCode: ErrorCode.NONE,
        producerId: await this.ports.producerIds.generate(),
        producerEpoch: 0,
      };
    }
    const readiness = this.readiness(params.transactionalId);
    if (readiness !== ErrorCode.NONE) return failed(readiness);
    if (
      params.transactionTimeoutMs <= 0 ||
      params.transactionTimeoutMs > this.config.transactionMaxTimeoutMs
    ) {
      return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    const transactionalId = params.transactionalId;
    return this.serialise(transactionalId, async () => {
      // The partition may have been unloaded while this waited for the id's previous operation.
      const stillReady = this.readiness(transactionalId);
      if (stillReady !== ErrorCode.NONE) return failed(stillReady);
      try {
        const now = this.clock();
        let metadata = this.state.get(transactionalId);
        if (metadata === undefined) {
          metadata = {
            transactionalId,
            producerId: await this.ports.producerIds.generate(),
            producerEpoch: 0,
            lastProducerEpoch: -1,
            transactionTimeoutMs: params.transactionTimeoutMs,
            state: 'Empty',
            partitions: new Map(),
            pendingOffsets: new Map(),
            groups: new Set(),
            transactionStartTimeMs: -1,
            lastUpdateTimeMs: now,
          };
          await this.state.append(metadata);
          this.state.set(metadata);
          return {
            errorCode: ErrorCode.NONE,
            producerId: metadata.producerId,
            producerEpoch: metadata.producerEpoch,
          };
        }
        if (
          params.producerId >= 0 &&
          (params.producerId !== metadata.producerId ||
            (params.producerEpoch !== metadata.producerEpoch &&
              params.producerEpoch !== metadata.lastProducerEpoch))
        ) {
          return failed(ErrorCode.PRODUCER_FENCED);
        }
        if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort')
          await this.complete(metadata);
        if (metadata.state === 'Ongoing') {
          // Fence the previous producer: abort its transaction under a bumped epoch.
          await this.endTransaction(metadata, false, true);
        }
        // Empty or Complete* now: a Prepare* or Ongoing transaction was just completed.
        const settled = this.state.get(transactionalId)!;
        const next = transitionTransaction(settled, 'Empty');
        next.transactionTimeoutMs = params.transactionTimeoutMs;
        next.lastUpdateTimeMs = now;
        if (metadata.state === 'Ongoing') {
          next.producerEpoch = settled.producerEpoch; // bumped by the fencing abort
        } else if (settled.producerEpoch >= PRODUCER_EPOCH_MAX) {
          next.producerId = await this.ports.producerIds.generate();
          next.producerEpoch = 0;
        } else {
          next.producerEpoch = settled.producerEpoch + 1;
        }
        next.lastProducerEpoch = -1;
        next.partitions = new Map();
        next.pendingOffsets = new Map();
        next.groups = new Set();
        next.transactionStartTimeMs = -1;
        await this.state.append(next);
        this.state.set(next);
        return {
          errorCode: ErrorCode.NONE,
          producerId: next.producerId,
          producerEpoch: next.producerEpoch,
        };
      } catch (error) {
        return failed(
          error instanceof CoordinatorError
            ? error.kafkaErrorCode
            : ErrorCode.COORDINATOR_NOT_AVAILABLE,
        );
      }
    });
  }

  // ───────────────────────────── AddPartitionsToTxn / AddOffsetsToTxn ─────────────────────────────

  /** Adds partitions; returns one error code per partition (all the same, as Kafka answers). */
  async addPartitions(params: {
    transactionalId: string;
    producerId: number;
    producerEpoch: number;
    topics: { name: string; partitions: number[] }[];
  }): Promise<Map<string, Map<number, number>>> {
    const result = (
      errorCode: number,
      perPartition?: (topic: string, partition: number) => number,
    ) =>
      new Map(
        params.topics.map((topic) => [
          topic.name,
          new Map(
            topic.partitions.map((partition) => [
              partition,
              perPartition?.(topic.name, partition) ?? errorCode,
            ]),
          ),
        ]),
      );
    const unknown = params.topics.some((topic) =>
      topic.partitions.some((partition) => !this.ports.partitionExists(topic.name, partition)),
    );
    if (unknown) {
      return result(ErrorCode.OPERATION_NOT_ATTEMPTED, (topic, partition) =>
        this.ports.partitionExists(topic, partition)
          ? ErrorCode.OPERATION_NOT_ATTEMPTED
          : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    const errorCode = await this.addToTransaction(params, (metadata) => {
      for (const topic of params.topics) {
        let partitions = metadata.partitions.get(topic.name);
        if (partitions === undefined) {
          partitions = new Set();
          metadata.partitions.set(topic.name, partitions);
        }
        for (const partition of topic.partitions) partitions.add(partition);
      }
    });
    return result(errorCode);
  }

  /**
   * AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction like a data
   * partition, so its marker commits or drops the offsets the group coordinator writes there for
   * this producer (TxnOffsetCommit), wherever that coordinator runs.
   */
  addOffsets(params: {
    transactionalId: string;
    producerId: number;
    producerEpoch: number;
    groupId: string;
  }): Promise<number> {
    const { topic, partition } = this.ports.offsetsPartitionOf(params.groupId);
    return this.addToTransaction(params, (metadata) => {
      metadata.groups.add(params.groupId);
      let partitions = metadata.partitions.get(topic);
      if (partitions === undefined) {
        partitions = new Set();
        metadata.partitions.set(topic, partitions);
      }
      partitions.add(partition);
    });
  }

  private addToTransaction(
    params: { transactionalId: string; producerId: number; producerEpoch: number },
    change: (metadata: TransactionMetadata) => void,
  ): Promise<number> {
    return this.updateTransaction(params, (current) => {
      if (current.state === 'PrepareCommit' || current.state === 'PrepareAbort')
        return ErrorCode.CONCURRENT_TRANSACTIONS;
      const next = transitionTransaction(current, 'Ongoing');
      change(next);
      if (current.state === 'Ongoing' && sameMembers(current, next)) return current;
      const now = this.clock();
      if (current.state !== 'Ongoing') next.transactionStartTimeMs = now;
      next.lastUpdateTimeMs = now;
      return next;
    });
  }

  /**
   * Under the id's chain: checks the producer, lets `change` build the next state from the
   * current one (or refuse with an error code, or return the current one when nothing changes),
   * makes it durable, then installs it.
   */
  private updateTransaction(
    params: { transactionalId: string; producerId: number; producerEpoch: number },
    change: (current: TransactionMetadata) => TransactionMetadata | number,
  ): Promise<number> {
    const readiness = this.readiness(params.transactionalId);
    if (readiness !== ErrorCode.NONE) return Promise.resolve(readiness);
    return this.serialise(params.transactionalId, async () => {
      const stillReady = this.readiness(params.transactionalId);
      if (stillReady !== ErrorCode.NONE) return stillReady;
      const current = this.state.get(params.transactionalId);
      const error = this.validateProducer(current, params.producerId, params.producerEpoch);
      if (error !== ErrorCode.NONE) return error;
      const next = change(current!);
      if (typeof next === 'number') return next;
      if (next === current) return ErrorCode.NONE;
      try {
        await this.state.append(next);
      } catch {
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      this.state.set(next);
      return ErrorCode.NONE;
    });
  }

  // ───────────────────────────── EndTxn ─────────────────────────────

  async endTxn(params: {
    transactionalId: string;
    producerId: number;
    producerEpoch: number;
    committed: boolean;
  }): Promise<ProducerIdAndEpoch> {
    const answer = (errorCode: number, metadata?: TransactionMetadata): ProducerIdAndEpoch => ({
      errorCode,
      producerId: metadata?.producerId ?? -1,
      producerEpoch: metadata?.producerEpoch ?? -1,
    });
    const readiness = this.readiness(params.transactionalId);
    if (readiness !== ErrorCode.NONE) return answer(readiness);
    return this.serialise(params.transactionalId, async () => {
      const stillReady = this.readiness(params.transactionalId);
      if (stillReady !== ErrorCode.NONE) return answer(stillReady);
      const metadata = this.state.get(params.transactionalId);
      const error = this.validateProducer(metadata, params.producerId, params.producerEpoch);
      if (error !== ErrorCode.NONE) return answer(error);
      const current = metadata!;
      try {
        switch (current.state) {
          case 'Ongoing':
            await this.endTransaction(current, params.committed, false);
            return answer(ErrorCode.NONE, this.state.get(params.transactionalId));
          case 'PrepareCommit':
          case 'PrepareAbort':
            if ((current.state === 'PrepareCommit') !== params.committed)
              return answer(ErrorCode.INVALID_TXN_STATE);
            await this.complete(current);
            return answer(ErrorCode.NONE, current);
          case 'CompleteCommit':
            return answer(params.committed ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE, current);
          case 'CompleteAbort':
            return answer(params.committed ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE, current);
          default:
            return answer(ErrorCode.INVALID_TXN_STATE);
        }
      } catch (failure) {
        // Decided, and another coordinator finishes it: answered as Kafka answers EndTxn, once
        // Prepare* is durable (a client would otherwise retry on the coordinator that let go).
        if (failure instanceof HandedOverError) return answer(ErrorCode.NONE, current);
        return answer(
          failure instanceof CoordinatorError
            ? failure.kafkaErrorCode
            : ErrorCode.COORDINATOR_NOT_AVAILABLE,
        );
      }
    });
  }

  /**
   * Prepare (durably), write the markers, complete. With `bumpEpoch` (fencing or a timeout) the
   * markers carry the next epoch, so the old producer's writes are refused from then on.
   */
  private async endTransaction(
    current: TransactionMetadata,
    committed: boolean,
    bumpEpoch: boolean,
  ): Promise<void> {
    const prepared = transitionTransaction(current, committed ? 'PrepareCommit' : 'PrepareAbort');
    prepared.lastUpdateTimeMs = this.clock();
    if (bumpEpoch) {
      prepared.lastProducerEpoch = current.producerEpoch;
      prepared.producerEpoch = current.producerEpoch + 1;
    }
    if (!committed) prepared.pendingOffsets = new Map();
    await this.state.append(prepared);
    this.state.set(prepared);
    await this.complete(prepared, false);
  }

  /**
   * From Prepare*: markers into every partition, committed offsets into their groups, then
   * Complete*. With `awaitComplete` false the Complete* record is appended but not awaited: the
   * outcome is already decided by the durable Prepare* record, a restart that finds only that
   * record writes the (idempotent) markers again, and the state topic keeps the order in which
   * records are appended, so the next transaction's Ongoing record still lands after it.
   */
  private async complete(metadata: TransactionMetadata, awaitComplete = true): Promise<void> {
    const committed = metadata.state === 'PrepareCommit';
    const loaded = this.loadedPartitions.get(this.state.partitionFor(metadata.transactionalId));
    if (loaded === undefined) throw new HandedOverError();
    const partitions: { topic: string; partition: number }[] = [];
    for (const [topic, indexes] of metadata.partitions) {
      for (const partition of indexes) {
        if (this.ports.partitionExists(topic, partition)) partitions.push({ topic, partition });
      }
    }
    const markersWait = deadline(
      this.config.transactionMarkersTimeoutMs ?? TRANSACTION_MARKERS_TIMEOUT_MS,
      loaded.unloaded.signal,
    );
    try {
      await this.ports.writeMarkers(
        {
          producerId: metadata.producerId,
          producerEpoch: metadata.producerEpoch,
          coordinatorEpoch: loaded.coordinatorEpoch,
          committed,
          partitions,
        },
        markersWait.signal,
      );
    } catch (error) {
      if (loaded.unloaded.signal.aborted) throw new HandedOverError();
      throw error;
    } finally {
      markersWait.clear();
    }
    if (committed) {
      // Offsets held in the state itself: only in a Prepare* record written by Brook before
      // TxnOffsetCommit wrote transactional batches (now the markers above commit those).
      // Every group's commit is issued at once (they share the offsets topic's fsyncs); all of
      // them must succeed before Complete*, or the Prepare* record makes them be retried.
      const errorCodes = await Promise.all(
        [...metadata.pendingOffsets].map(([groupId, offsets]) =>
          this.ports.commitOffsets(groupId, offsets),
        ),
      );
      if (errorCodes.some((errorCode) => errorCode !== ErrorCode.NONE))
        throw new CoordinatorError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const completed = transitionTransaction(
      metadata,
      committed ? 'CompleteCommit' : 'CompleteAbort',
    );
    completed.partitions = new Map();
    completed.groups = new Set();
    completed.pendingOffsets = new Map();
    completed.lastUpdateTimeMs = this.clock();
    // Its fsync is deferred to the state partition's next one (the Prepare* record stands in for
    // it after a crash), so the producer's next AddPartitionsToTxn waits for one fsync, not two.
    const written = this.state.append(completed, { deferFlush: true });
    this.state.set(completed);
    if (awaitComplete) await written;
    else written.catch(() => undefined);
  }

  /** Aborts, under a bumped epoch, every Ongoing transaction past its timeout (and retries unfinished ones). */
  async abortTimedOut(): Promise<void> {
    if (this.closed) return;
    const now = this.clock();
    const due = this.state.all().filter((metadata) => {
      const expired =
        metadata.state === 'Ongoing' &&
        metadata.transactionStartTimeMs + metadata.transactionTimeoutMs < now;
      const stuck = metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort';
      return expired || stuck;
    });
    // One id's abort need not wait for another's fsyncs: each runs under its own chain.
    await Promise.all(
      due.map((metadata) =>
        this.serialise(metadata.transactionalId, async () => {
          const current = this.state.get(metadata.transactionalId);
          if (current === undefined || this.closed) return;
          try {
            if (
              current.state === 'Ongoing' &&
              current.transactionStartTimeMs + current.transactionTimeoutMs < this.clock()
            ) {
              await this.endTransaction(current, false, true);
            } else if (current.state === 'PrepareCommit' || current.state === 'PrepareAbort') {
              await this.complete(current);
            }
          } catch {
            // Retried at the next interval.
          }
        }).catch(() => undefined),
      ),
    );
  }

  /**
   * Forgets every transactional id idle (Empty, CompleteCommit, CompleteAbort) for longer than
   * transactional.id.expiration.ms: its tombstone is durable in `__transaction_state` before the
   * entry leaves the map, so a restart does not bring it back. Runs under each id's chain, so it
   * never races an InitProducerId or AddPartitionsToTxn that makes the id busy again. Ids expire
   * concurrently: tombstones in one state partition share its fsyncs.
   */
  async removeExpiredTransactionalIds(): Promise<void> {
    if (this.closed || !this.state.isLoaded || this.removingExpired) return;
    this.removingExpired = true;
    try {
      const candidates = this.state.all().filter((metadata) => this.isExpired(metadata));
      await Promise.all(
        candidates.map(
          (candidate) =>
            this.serialise(candidate.transactionalId, async () => {
              const current = this.state.get(candidate.transactionalId);
              if (current === undefined || this.closed || !this.isExpired(current)) return;
              await this.state.appendTombstone(candidate.transactionalId);
              if (this.state.get(candidate.transactionalId) === current)
                this.state.delete(candidate.transactionalId);
            }).catch(() => undefined), // retried at the next interval
        ),
      );
    } finally {
      this.removingExpired = false;
    }
  }

  private isExpired(metadata: TransactionMetadata): boolean {
    const expirable =
      metadata.state === 'Empty' ||
      metadata.state === 'CompleteCommit' ||
      metadata.state === 'CompleteAbort';
    const expirationMs = this.config.transactionalIdExpirationMs ?? TRANSACTIONAL_ID_EXPIRATION_MS;
    return expirable && metadata.lastUpdateTimeMs <= this.clock() - expirationMs;
  }

  // ───────────────────────────── tooling ─────────────────────────────

  describe(transactionalId: string): TransactionDescription {
    const metadata = this.state.get(transactionalId);
    if (metadata === undefined) {
      const readiness = this.readiness(transactionalId);
      return {
        errorCode: readiness === ErrorCode.NONE ? ErrorCode.TRANSACTIONAL_ID_NOT_FOUND : readiness,
        transactionalId,
        state: '',
        transactionTimeoutMs: 0,
        transactionStartTimeMs: -1,
        producerId: -1,
        producerEpoch: -1,
        topics: [],
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      transactionalId,
      state: metadata.state,
      transactionTimeoutMs: metadata.transactionTimeoutMs,
      transactionStartTimeMs: metadata.transactionStartTimeMs,
      producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch,
      topics: [...metadata.partitions].map(([topic, partitions]) => ({
        topic,
        partitions: [...partitions],
      })),
    };
  }

  list(filters: {
    states: string[];
    producerIds: number[];
    durationMs: number;
  }): { transactionalId: string; producerId: number; state: string }[] {
    const now = this.clock();
    return this.state
      .all()
      .filter((metadata) => filters.states.length === 0 || filters.states.includes(metadata.state))
      .filter(
        (metadata) =>
          filters.producerIds.length === 0 || filters.producerIds.includes(metadata.producerId),
      )
      .filter(
        (metadata) =>
          filters.durationMs < 0 ||
          (metadata.state === 'Ongoing' &&
            now - metadata.transactionStartTimeMs > filters.durationMs),
      )
      .map((metadata) => ({
        transactionalId: metadata.transactionalId,
        producerId: metadata.producerId,
        state: metadata.state,
      }));
  }

  // ───────────────────────────── internals ─────────────────────────────

  /** NONE when this coordinator serves `transactionalId` now, else the error to answer with. */
  private readiness(transactionalId: string): number {
    if (this.closed) return ErrorCode.NOT_COORDINATOR;
    return this.state.readiness(transactionalId);
  }

  private validateProducer(
    metadata: TransactionMetadata | undefined,
    producerId: number,
    producerEpoch: number,
  ): number {
    if (metadata === undefined || metadata.producerId !== producerId)
      return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch !== metadata.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return ErrorCode.NONE;
  }

  private serialise<T>(transactionalId: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(transactionalId) ?? Promise.resolve();
    const run = previous.then(operation);
    const settled = run.catch(() => undefined);
    this.chains.set(transactionalId, settled);
    void settled.then(() => {
      if (this.chains.get(transactionalId) === settled) this.chains.delete(transactionalId);
    });
    return run;
  }
}

function sameMembers(a: TransactionMetadata, b: TransactionMetadata): boolean {
  if (a.groups.size !== b.groups.size) return false;
  for (const [topic, partitions] of b.partitions) {
    if ((a.partitions.get(topic)?.size ?? 0) !== partitions.size) return false;
  }
  return a.partitions.size === b.partitions.size;
}

/**
 * For the loads at start: a partition whose log answers KAFKA_STORAGE_ERROR (its log directory
 * could not be opened, or its disk fails) stays unloaded and is no reason to fail the start.
 */
function rethrowUnlessStorageError(error: unknown): void {
  if (error instanceof BrookError && error.kafkaErrorCode === ErrorCode.KAFKA_STORAGE_ERROR) return;
  throw error;
}
