// One partition's log in one directory, put together from modules with one job each:
//
//   log-recovery.ts       open: interrupted operations, segment loading, torn-tail cut
//   append-validation.ts  checks of a record set before offsets are assigned
//   group-commit.ts       append pipeline: writer, flusher, written/flushed offsets, sticky error
//   segment-reader.ts     reads: tail cache, segment files, timestamp lookups
//   log-truncation.ts     cutting segments back to an offset
//   log-retention.ts      retention.ms / retention.bytes and exact expiry
//   log-cleaner.ts        compaction and its segment swap
//   log-segments.ts       the segment list and its files
//
// This class keeps what spans them: offset assignment, the log start offset, leader epochs,
// close, and the maintenance lock. Owned by LogManager (or a test). `append` does its
// bookkeeping synchronously and only queues the write; truncation, retention, record deletion,
// compaction and close take the maintenance lock (and pause the pipeline when they change
// segments), so they never interleave with each other or with a write.

import { EventEmitter } from 'node:events';
import {
  BatchField,
  RecordError,
  RecordErrorCode,
  readInt64,
  setLogAppendTime,
  stampBatch,
} from '../record/batch.js';
import { ChangeMark } from '../util/change-set.js';
import { Mutex } from '../util/mutex.js';
import type { PendingAppend } from './append-queue.js';
import { validateAppend } from './append-validation.js';
import {
  KafkaStorageErrorCode,
  OffsetOutOfRangeError,
  StorageError,
  StorageErrorCode,
} from './errors.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import { GroupCommit, type WriteSyncBackoff } from './group-commit.js';
import type { EpochEntry, LeaderEpochCache } from './leader-epoch-cache.js';
import type {
  AppendOptions,
  AppendResult,
  Log,
  ReadOptions,
  ReadResult,
  SegmentInfo,
  TransactionView,
} from './log.js';
import { LogCleaner, type CleanResult, type CompactionTarget } from './log-cleaner.js';
import { validateLogConfig, type LogConfig } from './log-config.js';
import { CLEAN_SHUTDOWN_FILE, recoverLog, type RecoveredLog } from './log-recovery.js';
import { LogRetention, type RetentionTarget } from './log-retention.js';
import { truncateSegments } from './log-truncation.js';
import type { LogSegments } from './log-segments.js';
import { DEFAULT_TAIL_CACHE_BYTES, SegmentReader, TailCache } from './segment-reader.js';
import type { TailCacheBudget } from './tail-cache-budget.js';
import type { Segment } from './segment.js';

export type {
  AppendOrigin,
  AppendOptions,
  AppendResult,
  Log,
  ReadOptions,
  ReadResult,
  SegmentInfo,
  TransactionView,
} from './log.js';
export { CLEAN_SHUTDOWN_FILE } from './log-recovery.js';
export { DEFERRED_FLUSH_MS } from './group-commit.js';
export { DEFAULT_TAIL_CACHE_BYTES } from './segment-reader.js';

export interface PartitionLogOptions {
  directory: string;
  config: LogConfig;
  /** The file seam every file of this log goes through (tests inject faults with it). */
  io?: FileIo;
  /** Milliseconds since the epoch; tests pass a controllable clock. */
  clock?: () => number;
  /** From recovery-point-offset-checkpoint: segments from the one holding it are scanned after an unclean stop. */
  recoveryPoint?: number;
  /** From log-start-offset-checkpoint. */
  logStartOffset?: number;
  /** From replication-offset-checkpoint: the high watermark a replicated partition last recorded. */
  highWatermark?: number;
  /** The back-off of small writes on the event loop, shared by a directory's logs (group-commit.ts). */
  writeSyncBackoff?: WriteSyncBackoff;
  tailCacheBytes?: number;
  /** The tail cache's cap for appends its followers have not fetched (tests); TAIL_CACHE_UNREPLICATED_BYTES_MAX by default. */
  tailCacheUnreplicatedBytes?: number;
  /** The bound on every log's tail cache together (log.tail.cache.max.bytes); none by default. */
  tailCacheBudget?: TailCacheBudget;
  /**
   * From cleaner-offset-checkpoint: compaction's first dirty offset as the last pass left it, so
   * the first pass after an open does not reread (and rewrite) what was already compacted.
   */
  cleanerCheckpoint?: number;
  /** From cleaner-tombstone-horizon-checkpoint (Brook's own): when kept tombstones may go. */
  tombstoneHorizonMs?: number;
  /** Called (and awaited) whenever logStartOffset moves, so the owner can checkpoint it. */
  onLogStartOffsetChanged?: (log: PartitionLog) => Promise<void>;
  /** Told when the recorded high watermark changes, so the checkpoint is written only then. */
  onHighWatermarkChanged?: () => void;
  /**
   * Set by an owner that keeps one clean-shutdown marker for all its logs (LogManager, one per
   * log directory): whether it found that marker at this open. Such a log writes no marker of its
   * own when it closes; the owner reads `closedCleanly` instead.
   */
  sharedCleanShutdown?: boolean;
  /** From the owner's clean-shutdown marker: the log closed empty at this offset (see `closedEmptyAt`). */
  closedEmptyAt?: number;
  /** Set only by offline-log.ts: the log stands in for one on a directory that could not open. */
  offline?: StorageError;
}

function noop(): void {}

/**
 * The settling functions of the promise last constructed with `captureSettlers` as its executor
 * (which runs synchronously, inside the constructor): one shared executor, where a closure per
 * append would cost an object and a context on every produce request.
 */
const capturedSettlers: { resolve: () => void; reject: (error: Error) => void } = {
  resolve: noop,
  reject: noop,
};
function captureSettlers(resolve: () => void, reject: (error: Error) => void): void {
  capturedSettlers.resolve = resolve;
  capturedSettlers.reject = reject;
}

export class PartitionLog extends EventEmitter implements Log {
  readonly directory: string;
  /**
   * The file seam of this log's directory. Files the owner keeps beside the segments (producer
   * snapshots, transaction indexes) go through it too, so injected faults reach them.
   */
  readonly fileIo: FileIo;
  /** Whether the last open found the clean-shutdown marker (tests check that clean opens do not scan). */
  readonly openedCleanly: boolean;
  /** Bytes the last open scanned for recovery. */
  readonly recoveryScannedBytes: number;
  /** What the last open cut away: a torn or corrupt tail, and the segments after it. */
  readonly recoveryTruncated: { readonly bytes: number; readonly segments: number };
  /**
   * The log stands in for one whose directory could not be opened at start (offline-log.ts): it
   * refuses appends, and its offsets mean nothing, so fetches and ListOffsets answer
   * KAFKA_STORAGE_ERROR instead of reading them.
   */
  readonly offline: boolean;

  private configValue: LogConfig;
  private readonly clock: () => number;
  private readonly onLogStartOffsetChanged: ((log: PartitionLog) => Promise<void>) | undefined;
  private readonly onHighWatermarkChanged: (() => void) | undefined;
  private readonly segments: LogSegments;
  private readonly leaderEpochCache: LeaderEpochCache;
  private logStartOffsetValue: number;
  private readonly tailCache: TailCache;
  private readonly pipeline: GroupCommit;
  private readonly reader: SegmentReader;
  private readonly retention: LogRetention;
  private readonly cleaner: LogCleaner;
  /** Set by the partition that owns this log; null for a log with no producer state (storage tests). */
  private transactionView: TransactionView | null = null;
  private readonly maintenance = new Mutex();
  private closed = false;
  /** Whether close() writes the log's own clean-shutdown marker (no owner keeps a shared one). */
  private readonly writesOwnMarker: boolean;
  private closedCleanlyValue = false;
  private highWatermarkValue: number | undefined;
  /**
   * Registers (util/change-set.ts) whenever a figure a metrics scrape reads may have moved: the
   * log start and end offsets, the flushed offset, the size and the segment count; at most once
   * per appended record set, write, flush and maintenance operation, never per record. The
   * partition that owns the log registers it for the high watermark too (one mark per partition).
   */
  readonly figuresChanges = new ChangeMark();

  /**
   * What retention sees of this log. A class of its own, defined here so it may read the log's
   * private state, rather than an object literal of getters and arrow functions: with 10,000
   * partitions such literals (a dictionary of properties each, and ten closures) were some 10 MB
   * of heap that every major collection marks. The same goes for `CompactionView`.
   */
  private static readonly RetentionView = class implements RetentionTarget {
    constructor(private readonly log: PartitionLog) {}

    get segments(): LogSegments {
      return this.log.segments;
    }

    get logStartOffset(): number {
      return this.log.logStartOffsetValue;
    }

    get flushedOffset(): number {
      return this.log.pipeline.flushedOffset;
    }

    hasUnwrittenAppends(): boolean {
      return this.log.pipeline.logEndOffset > this.log.pipeline.writtenOffset;
    }

    isClosed(): boolean {
      return this.log.closed;
    }

    config(): LogConfig {
      return this.log.configValue;
    }

    clock(): number {
      return this.log.clock();
    }

    advanceLogStartOffset(offset: number): Promise<void> {
      return this.log.setLogStartOffset(offset);
    }

    deleteSegmentsBelowLogStart(): Promise<number> {
      return this.log.segments.removeBelow(this.log.logStartOffsetValue);
    }

    exclusive<T>(operation: () => Promise<T>): Promise<T> {
      return this.log.exclusive(operation);
    }

    onError(error: unknown): void {
      this.log.notify('error', error);
    }
  };

  /** What the cleaner sees and changes of this log (see `RetentionView`). */
  private static readonly CompactionView = class implements CompactionTarget {
    constructor(private readonly log: PartitionLog) {}

    get directory(): string {
      return this.log.directory;
    }

    get io(): FileIo {
      return this.log.fileIo;
    }

    get config(): LogConfig {
      return this.log.configValue;
    }

    get logStartOffset(): number {
      return this.log.logStartOffsetValue;
    }

    get transactionView(): TransactionView | null {
      return this.log.transactionView;
    }

    closedSegments(): Segment[] {
      return this.log.segments.closed();
    }

    activeSegment(): Segment {
      return this.log.segments.active;
    }

    replaceSegment(old: Segment, cleaned: Segment): void {
      this.log.segments.replace(old, cleaned);
      // The tail cache must not keep serving the records compaction just removed.
      this.log.tailCache.dropBelow(old.nextOffset);
    }
  };

  private constructor(options: PartitionLogOptions, config: LogConfig, recovered: RecoveredLog) {
    super();
    this.directory = options.directory;
    this.configValue = config;
    this.fileIo = options.io ?? nodeFileIo;
    this.clock = options.clock ?? Date.now;
    this.onLogStartOffsetChanged = options.onLogStartOffsetChanged;
    this.onHighWatermarkChanged = options.onHighWatermarkChanged;
    this.openedCleanly = recovered.openedCleanly;
    this.offline = options.offline !== undefined;
    this.writesOwnMarker = options.sharedCleanShutdown === undefined;
    this.recoveryScannedBytes = recovered.recoveryScannedBytes;
    this.recoveryTruncated = {
      bytes: recovered.truncatedBytes,
      segments: recovered.deletedSegments,
    };
    this.segments = recovered.segments;
    this.leaderEpochCache = recovered.leaderEpochCache;
    this.logStartOffsetValue = recovered.logStartOffset;
    // What was committed can only have been cut from the log by truncation below it, which
    // replication never does; the cap keeps a stray checkpoint (a log deleted and made again
    // under its old name) from naming offsets this log never held.
    this.highWatermarkValue =
      options.highWatermark === undefined
        ? undefined
        : Math.max(
            recovered.logStartOffset,
            Math.min(options.highWatermark, recovered.logEndOffset),
          );
    this.tailCache = new TailCache(
      options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES,
      options.tailCacheUnreplicatedBytes,
      options.tailCacheBudget,
    );
    const configOf = (): LogConfig => this.configValue;
    this.pipeline = new GroupCommit(
      {
        segments: this.segments,
        tailCache: this.tailCache,
        leaderEpochCache: this.leaderEpochCache,
        io: this.fileIo,
        config: configOf,
        clock: this.clock,
        notify: (event, value) => this.notify(event, value),
        writeSyncBackoff: options.writeSyncBackoff,
      },
      recovered.logEndOffset,
    );
    this.reader = new SegmentReader(this.segments, this.tailCache, configOf, (error) =>
      this.notify('error', error),
    );
    this.retention = new LogRetention(new PartitionLog.RetentionView(this));
    this.cleaner = new LogCleaner(new PartitionLog.CompactionView(this));
    this.cleaner.restore({
      // Never past the recovered log end: what follows it was never compacted.
      cleanerCheckpoint: Math.min(options.cleanerCheckpoint ?? 0, recovered.logEndOffset),
      tombstoneHorizonMs: options.tombstoneHorizonMs,
    });
    // An empty log has nothing to expire until its first append arms the timer: ten thousand
    // idle logs set no timer at start.
    if (this.segments.sizeInBytes > 0) this.retention.armExpiryTimer(0);
    if (options.offline !== undefined) this.pipeline.refuseFromOpen(options.offline);
  }

  get logStartOffset(): number {
    return this.logStartOffsetValue;
  }

  get logEndOffset(): number {
    return this.pipeline.logEndOffset;
  }

  get flushedOffset(): number {
    return this.pipeline.flushedOffset;
  }

  /** Everything below it is durable and needs no scan after a crash (for recovery-point-offset-checkpoint). */
  get recoveryPoint(): number {
    return this.pipeline.flushedOffset;
  }

  /**
   * For replication-offset-checkpoint: the high watermark of the replicated partition this log
   * holds, as the partition last recorded it (`recordHighWatermark`) or, until it does, as the
   * checkpoint said at open. Undefined when neither said anything: a single broker's logs, whose
   * high watermark is their flushed offset, never record one.
   */
  get highWatermark(): number | undefined {
    return this.highWatermarkValue;
  }

  /** The owning partition's high watermark moved (cluster mode); checkpointed with the others. */
  recordHighWatermark(offset: number): void {
    if (offset === this.highWatermarkValue) return;
    this.highWatermarkValue = offset;
    this.onHighWatermarkChanged?.();
  }

  get config(): LogConfig {
    return this.configValue;
  }

  get sizeInBytes(): number {
    return this.segments.sizeInBytes;
  }

  /** The error that made the log refuse appends, if any. */
  get error(): StorageError | null {
    return this.pipeline.error;
  }

  /**
   * Whether the log can hold no replica until the broker restarts: it stands in for one whose
   * directory is offline, or a write or fsync failed (sticky). A disk full is not this: appends
   * resume once space is freed.
   */
  get unavailable(): boolean {
    return this.offline || this.pipeline.failed;
  }

  /** The base offset of the segment appends go to now (moves when the log rolls). */
  get activeSegmentBaseOffset(): number {
    return this.segments.active.baseOffset;
  }

  /** Compaction's first dirty offset (segments below it were compacted by an earlier pass). */
  get cleanerCheckpoint(): number {
    return this.cleaner.cleanerCheckpoint;
  }

  /** The earliest delete horizon of the tombstones compaction kept (for the cleaner checkpoints). */
  get tombstoneHorizonMs(): number {
    return this.cleaner.tombstoneHorizon;
  }

  segmentInfos(): SegmentInfo[] {
    return this.segments.infos();
  }

  get segmentCount(): number {
    return this.segments.count;
  }

  updateConfig(config: LogConfig): void {
    this.configValue = validateLogConfig({ ...config });
    // flush.messages decides whether the high watermark is the flushed or the written end.
    this.figuresChanges.changed();
    this.pipeline.configChanged();
    this.retention.armExpiryTimer(0);
  }

  /**
   * Installs what compaction must know of the partition's transactions (the owner of the
   * producer state calls it once, right after opening).
   */
  useTransactionView(view: TransactionView): void {
    this.transactionView = view;
  }

  /**
   * Emits an event to the layer above. A listener that throws is a bug up there: it is rethrown
   * on its own, outside the writer and flusher, so it can never be mistaken for a disk failure.
   */
  private notify(
    event: 'append' | 'written' | 'flush' | 'logStartOffset' | 'error',
    value: unknown,
  ): void {
    // The produce path: one test of the flag, a push on the first change of a scrape interval.
    if (!this.figuresChanges.pending) this.figuresChanges.register();
    if (this.listenerCount(event) === 0) return;
    try {
      this.emit(event, value);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const config = validateLogConfig({ ...options.config });
    const recovered = await recoverLog({
      directory: options.directory,
      io: options.io ?? nodeFileIo,
      clock: options.clock ?? Date.now,
      config,
      recoveryPoint: options.recoveryPoint,
      logStartOffset: options.logStartOffset,
      sharedCleanShutdown: options.sharedCleanShutdown,
      closedEmptyAt: options.closedEmptyAt,
    });
    return new PartitionLog(options, config, recovered);
  }

  // ───────────────────────────── append ─────────────────────────────

  /**
   * Validates `records` (one or more RecordBatch v2), assigns offsets and queues the write, all
   * before returning; throws RecordError (bad input) or StorageError (sticky failure, closed log)
   * synchronously. The log takes ownership of `records`: it is stamped in place and kept (queued,
   * then in the tail cache) after this returns, so the caller must not reuse or modify it.
   */
  append(records: Buffer, options: AppendOptions): AppendResult {
    if (this.closed)
      throw new StorageError(
        StorageErrorCode.LOG_CLOSED,
        `log ${this.directory} is closed`,
        KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
      );
    if (this.pipeline.error) throw this.pipeline.error;
    const config = this.configValue;
    const isReplication = options.origin === 'replication';
    const now = options.now ?? this.clock();
    const logAppendTime = config.messageTimestampType === 'LogAppendTime' && !isReplication;
    const spans = validateAppend(records, options.origin, config, now);

    const logEndOffset = this.pipeline.logEndOffset;
    let nextOffset = logEndOffset;
    if (isReplication) {
      // A follower keeps the leader's offsets; they only have to move forwards.
      for (const span of spans) {
        const baseOffset = readInt64(records, span.position + BatchField.baseOffset);
        if (baseOffset < nextOffset) {
          throw new RecordError(
            RecordErrorCode.INVALID_RECORD,
            `replicated batch at offset ${baseOffset} is below the log end offset ${nextOffset}`,
          );
        }
        nextOffset = baseOffset + span.lastOffsetDelta + 1;
      }
      nextOffset = logEndOffset;
    }

    // Sized once: an append is usually one batch, and arrays grown by push would reserve 16.
    const lastOffsets = new Array<number>(spans.length);
    const maxTimestamps = new Array<number>(spans.length);
    let maxTimestamp = -1;
    let recordsCount = 0;
    let firstOffset = -1;
    for (let spanIndex = 0; spanIndex < spans.length; spanIndex++) {
      const span = spans[spanIndex];
      const baseOffset = isReplication
        ? readInt64(records, span.position + BatchField.baseOffset)
        : nextOffset;
      if (!isReplication) stampBatch(records, span.position, baseOffset, options.leaderEpoch);
      let batchMaxTimestamp = span.maxTimestamp;
      if (logAppendTime) {
        setLogAppendTime(records, span.position, span.sizeBytes, now);
        batchMaxTimestamp = now;
      }
      if (firstOffset < 0) firstOffset = baseOffset;
      // Written to leader-epoch-checkpoint by the writer before the batch itself is written.
      const batchEpoch = isReplication
        ? records.readInt32BE(span.position + BatchField.partitionLeaderEpoch)
        : options.leaderEpoch;
      this.leaderEpochCache.assign(batchEpoch, baseOffset);
      const lastOffset = baseOffset + span.lastOffsetDelta;
      lastOffsets[spanIndex] = lastOffset;
      maxTimestamps[spanIndex] = batchMaxTimestamp;
      maxTimestamp = Math.max(maxTimestamp, batchMaxTimestamp);
      recordsCount += span.recordsCount;
      nextOffset = lastOffset + 1;
    }

    const acknowledged = new Promise<void>(captureSettlers);
    const { resolve, reject } = capturedSettlers;
    capturedSettlers.resolve = capturedSettlers.reject = noop;
    const item: PendingAppend = {
      records,
      spans,
      lastOffsets,
      maxTimestamps,
      appendTimeMs: now,
      baseOffset: firstOffset,
      nextOffset,
      recordsCount,
      deferFlush: options.deferFlush === true,
      written: false,
      settled: false,
      reused: null,
      acknowledged,
      resolve,
      reject,
    };
    this.pipeline.enqueue(item);
    this.retention.armExpiryTimerIfIdle();
    this.notify('append', nextOffset);
    return {
      baseOffset: firstOffset,
      lastOffset: nextOffset - 1,
      logAppendTime: logAppendTime ? now : -1,
      maxTimestamp,
      acknowledged,
    };
  }

  /**
   * A follower's append: `records` are batches as the leader's log holds them, with the leader's
   * offsets and leader epochs, written through the same group commit as any append (so
   * `flushedOffset` says what the follower may report to its leader as fetched). Nothing is
   * stamped. The first batch must start exactly at the log end offset: a gap or an overlap
   * means the follower fetched from the wrong place, and appending would corrupt the log, so
   * it throws RecordError (INVALID_RECORD) and leaves the log untouched. Later batches of the
   * set may skip offsets (the leader's log may be compacted).
   */
  appendAsFollower(records: Buffer): AppendResult {
    if (records.length >= BatchField.baseOffset + 8) {
      const firstOffset = readInt64(records, BatchField.baseOffset);
      if (firstOffset !== this.pipeline.logEndOffset) {
        throw new RecordError(
          RecordErrorCode.INVALID_RECORD,
          `follower append starts at offset ${firstOffset}, not at the log end offset ${this.pipeline.logEndOffset}`,
        );
      }
    }
    return this.append(records, { leaderEpoch: -1, origin: 'replication' });
  }

  /** Resolves once everything below `offset` has survived an fsync. Rejects if that can no longer happen. */
  waitForFlush(offset: number): Promise<void> {
    return this.pipeline.waitForFlush(offset);
  }

  /** Forces an fsync of everything written so far (close, tests, looser flush policies). */
  flush(): Promise<void> {
    return this.pipeline.flush();
  }

  // ───────────────────────────── read ─────────────────────────────

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch unless
   * minOneBatch is false), never one whose last offset reaches `maxOffset`.
   */
  async read(offset: number, options: ReadOptions): Promise<ReadResult> {
    const logEndOffset = this.pipeline.logEndOffset;
    if (offset < this.logStartOffsetValue || offset > logEndOffset) {
      throw new OffsetOutOfRangeError(offset, this.logStartOffsetValue, logEndOffset);
    }
    const maxOffset = Math.min(options.maxOffset, logEndOffset);
    if (offset >= maxOffset) return { chunks: [], byteLength: 0 };
    return this.reader.read(offset, options.maxBytes, maxOffset, options.minOneBatch ?? true);
  }

  /** The base offset of the segment holding `offset` (the first segment's for offsets below it). */
  segmentBaseOffsetOf(offset: number): number {
    return this.segments.at(this.segments.indexFor(offset)).baseOffset;
  }

  /** The first record whose timestamp is >= `timestamp`, or null when there is none. */
  offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    return this.reader.offsetForTimestamp(timestamp, () => this.logStartOffsetValue);
  }

  /** The largest timestamp in the log and the offset of the batch that carries it. */
  maxTimestampOffset(): { offset: number; timestamp: number } {
    return this.reader.maxTimestampOffset();
  }

  // ───────────────────────────── leader epochs ─────────────────────────────

  /** The latest leader epoch that wrote to (or was assigned in) this log; -1 if none. */
  get latestLeaderEpoch(): number {
    return this.leaderEpochCache.latestEpoch;
  }

  /** (epoch, start offset) entries of leader-epoch-checkpoint, oldest first. */
  leaderEpochs(): EpochEntry[] {
    return this.leaderEpochCache.list();
  }

  /** OffsetForLeaderEpoch: the largest epoch <= `leaderEpoch` and the offset where it ended. */
  endOffsetForLeaderEpoch(leaderEpoch: number): { leaderEpoch: number; endOffset: number } {
    return this.leaderEpochCache.endOffsetFor(leaderEpoch, this.pipeline.logEndOffset);
  }

  /**
   * While this log's partition leads followers: how far they all have fetched (the high
   * watermark), so the tail cache keeps what they have yet to read (TailCache.retainUnreplicated).
   * Null when it stops leading.
   */
  retainUnreplicatedTail(replicatedOffset: (() => number) | null): void {
    this.tailCache.retainUnreplicated(replicatedOffset);
  }

  /** A new leader records its epoch at the log end offset before it appends anything. */
  async assignLeaderEpoch(leaderEpoch: number): Promise<void> {
    this.leaderEpochCache.assign(leaderEpoch, this.pipeline.logEndOffset);
    await this.leaderEpochCache.persist();
  }

  // ───────────────────────────── truncation and deletion ─────────────────────────────

  /** Removes every batch holding an offset >= `offset` (replication, after a leader change). */
  truncateTo(offset: number): Promise<void> {
    return this.exclusive(async () => {
      if (offset >= this.pipeline.logEndOffset) return;
      this.cleaner.markDirtyFrom(offset);
      await this.pipeline.pause();
      try {
        if (this.pipeline.failed) throw this.pipeline.error!;
        const truncated = new StorageError(
          StorageErrorCode.STORAGE_FAILED,
          `log truncated to ${offset} before this append was written`,
          KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
        );
        this.pipeline.refusePending(truncated);
        this.tailCache.clear();
        if (offset <= this.segments.first.baseOffset) {
          await this.truncateFullyAndStartAt(Math.max(offset, 0));
          return;
        }
        await this.truncateWithin(offset);
      } finally {
        this.pipeline.resume();
      }
    });
  }

  /** Cuts the log at the batch holding `offset` (log-truncation.ts) and moves the offsets back. */
  private async truncateWithin(offset: number): Promise<void> {
    const logEndOffset = await truncateSegments(
      this.segments,
      offset,
      this.fileIo,
      this.configValue.indexIntervalBytes,
    );
    this.pipeline.restartAt(logEndOffset, Math.min(this.pipeline.flushedOffset, logEndOffset));
    if (this.logStartOffsetValue > logEndOffset) this.logStartOffsetValue = logEndOffset;
    if (this.highWatermarkValue !== undefined && this.highWatermarkValue > logEndOffset) {
      this.highWatermarkValue = logEndOffset;
      this.onHighWatermarkChanged?.();
    }
    this.leaderEpochCache.truncateFromEnd(logEndOffset);
    await this.leaderEpochCache.persist();
  }

  private async truncateFullyAndStartAt(offset: number): Promise<void> {
    const removed = this.segments.takeFrom(0);
    for (const old of removed) await this.segments.remove(old);
    this.segments.push(await this.segments.create(offset));
    this.pipeline.restartAt(offset, offset);
    if (this.highWatermarkValue !== undefined) this.highWatermarkValue = offset;
    this.leaderEpochCache.truncateFromEnd(offset);
    await this.setLogStartOffset(offset, true);
  }

  /** Advances the log start offset (DeleteRecords); returns the new log start offset. */
  deleteRecordsBefore(offset: number): Promise<number> {
    if (offset > this.pipeline.logEndOffset || offset < 0) {
      return Promise.reject(
        new OffsetOutOfRangeError(offset, this.logStartOffsetValue, this.pipeline.logEndOffset),
      );
    }
    return this.exclusive(async () => {
      if (offset > this.logStartOffsetValue) await this.setLogStartOffset(offset);
      await this.segments.removeBelow(this.logStartOffsetValue);
      return this.logStartOffsetValue;
    });
  }

  /**
   * Runs `operation` under the maintenance lock. Truncation, retention, record deletion and
   * compaction may change segments and offsets without an append or a flush: the figures' mark
   * registers when one of them did (a retention pass that deleted nothing leaves it).
   */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    return this.maintenance.run(async () => {
      const before = this.figuresNow();
      try {
        return await operation();
      } finally {
        if (this.figuresNow() !== before) this.figuresChanges.changed();
      }
    });
  }

  /** The figures the mark stands for, as one comparable text (read around maintenance only). */
  private figuresNow(): string {
    const { logStartOffsetValue, pipeline, segments } = this;
    return `${logStartOffsetValue} ${pipeline.logEndOffset} ${pipeline.flushedOffset} ${segments.count} ${segments.sizeInBytes}`;
  }

  private async setLogStartOffset(offset: number, force = false): Promise<void> {
    if (!force && offset <= this.logStartOffsetValue) return;
    this.logStartOffsetValue = offset;
    this.leaderEpochCache.truncateFromStart(offset);
    await this.leaderEpochCache.persist();
    if (this.onLogStartOffsetChanged) await this.onLogStartOffsetChanged(this);
    this.notify('logStartOffset', offset);
  }

  // ───────────────────────────── retention and compaction ─────────────────────────────

  /**
   * One retention pass: deletes whole segments past retention.ms / retention.bytes, then moves
   * the log start offset past every leading batch older than retention.ms (log-retention.ts).
   */
  applyRetention(now = this.clock()): Promise<{ deletedSegments: number; logStartOffset: number }> {
    return this.exclusive(() => this.retention.apply(now));
  }

  /** One compaction pass (cleanup.policy=compact; log-cleaner.ts), under the maintenance lock. */
  compact(now: number): Promise<CleanResult> {
    return this.exclusive(() => this.cleaner.clean(now));
  }

  // ───────────────────────────── close ─────────────────────────────

  /**
   * Whether close() left everything durable, indexes included, with no sticky error: what the
   * clean-shutdown marker records (written here, or by the owner of a shared one).
   */
  get closedCleanly(): boolean {
    return this.closedCleanlyValue;
  }

  /**
   * After a clean close: the base offset of the log's one segment when the log closed holding
   * nothing (no batches, append times or leader epochs), else null. An owner that records it in
   * its clean-shutdown marker lets the next open skip the directory (`closedEmptyAt` option).
   */
  get closedEmptyAt(): number | null {
    if (!this.closedCleanlyValue || this.segments.count !== 1) return null;
    const segment = this.segments.active;
    if (segment.sizeBytes > 0 || segment.appendTimes.length > 0) return null;
    if (this.leaderEpochCache.latestEpoch >= 0 || this.leaderEpochCache.dirty) return null;
    return segment.baseOffset;
  }

  /** Flushes everything, writes the active segment's indexes and the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.maintenance.run(async () => {
      this.retention.stop();
      if (!this.pipeline.error) {
        try {
          await this.pipeline.flush();
        } catch {
          // The sticky error records it; the marker below is then skipped.
        }
      }
      this.closed = true;
      await this.pipeline.pause();
      this.pipeline.stopTimer();
      const refused = new StorageError(
        StorageErrorCode.LOG_CLOSED,
        `log ${this.directory} closed before this append was written`,
        KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
      );
      this.pipeline.refuseAll(refused);
      // A closed log serves nothing: what its tail held goes back to the broker's bound.
      this.tailCache.clear();
      if (!this.pipeline.error) {
        const active = this.segments.active;
        active.maybeAppendTimeIndexEntry();
        await active.appendTimes.syncAndClose();
        await active.writeIndexFiles(this.fileIo);
        if (this.writesOwnMarker) {
          await this.fileIo.writeFileAtomic(
            `${this.directory}/${CLEAN_SHUTDOWN_FILE}`,
            Buffer.alloc(0),
          );
        }
        this.closedCleanlyValue = true;
      }
      await this.segments.closeAll();
    });
  }

  /** Closes the files and deletes the directory (the topic is being deleted). */
  async delete(): Promise<void> {
    await this.close();
    await this.fileIo.removeDirectory(this.directory);
  }
}
