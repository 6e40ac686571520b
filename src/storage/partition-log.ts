// One partition's log in one directory: segments, the append path with group commit, reads,
// recovery, truncation, retention and the hooks compaction uses.
//
// Owned by LogManager (or a test). Concurrency rules, since everything runs on one event loop:
// - `append` does all of its bookkeeping synchronously (validation, offset assignment, tail cache)
//   and only queues the write; the single writer task writes queued appends in order.
// - At most one fsync is in flight; appends written while it runs are covered by the next one.
// - Truncation, retention, record deletion and compaction swaps take the maintenance lock and
//   pause the writer, so they never interleave with each other or with a write.
//
//   append ─► pending ─► writer (writev) ─► writtenOffset ─► flusher (fdatasync) ─► flushedOffset
//     └──────► tail cache (serves reads of recent batches without touching the file)

import { EventEmitter } from 'node:events';
import {
  AttributeBit,
  BatchField,
  CURRENT_MAGIC,
  LOG_OVERHEAD_BYTES,
  BATCH_HEADER_BYTES,
  RecordError,
  RecordErrorCode,
  hasValidCrc,
  readInt64,
  setLogAppendTime,
  stampBatch,
  validateRecordSet,
  type BatchSpan,
} from '../record/batch.js';
import { decodeBatch, decodeBatchSync } from '../record/records.js';
import { hasInconsistentMaxTimestamp, repairMaxTimestamp } from '../record/timestamp-repair.js';
import {
  KafkaStorageErrorCode,
  OffsetOutOfRangeError,
  StorageError,
  StorageErrorCode,
} from './errors.js';
import { assert } from '../util/assert.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import {
  acknowledgesAfterFsync,
  isCompacted,
  isDeleteRetained,
  validateLogConfig,
  type LogConfig,
} from './log-config.js';
import { Segment, parseSegmentBaseOffset, segmentFileName } from './segment.js';
import { appendTimeResolutionMs } from './append-time-index.js';
import { LeaderEpochCache, type EpochEntry } from './leader-epoch-cache.js';

export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
/**
 * Default budget, per partition, of the tail cache of recently appended record sets: enough for
 * consumers at the tail to be served from memory; lagging consumers read the page cache.
 */
export const DEFAULT_TAIL_CACHE_BYTES = 1024 * 1024;
/** Background scans yield to the event loop after this long. */
const BACKGROUND_SLICE_MS = 4;
/** setTimeout's largest delay. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/** The longest a deferFlush append stays unflushed when nothing else asks for an fsync. */
export const DEFERRED_FLUSH_MS = 1000;

export type AppendOrigin = 'client' | 'coordinator' | 'replication';

export interface AppendOptions {
  leaderEpoch: number;
  origin: AppendOrigin;
  /** The broker's clock for LogAppendTime; defaults to the log's clock. */
  now?: number;
  /**
   * Acknowledge once written, without asking for an fsync of its own: the log's next fsync covers
   * it, at the latest DEFERRED_FLUSH_MS later. For records whose loss in a crash is harmless
   * because an earlier durable record stands in for them (a transaction's Complete* after its
   * Prepare*), so the next append that does need an fsync is not queued behind this one's.
   */
  deferFlush?: boolean;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The time stamped into the batches under LogAppendTime, else -1. */
  logAppendTime: number;
  maxTimestamp: number;
  /** Settles per the flush policy (after the covering fsync by default); rejects on write/fsync failure. */
  acknowledged: Promise<void>;
}

export interface ReadOptions {
  maxBytes: number;
  /** Exclusive upper bound: no batch whose last offset reaches it is returned. */
  maxOffset: number;
  /** Return the first batch even when it alone is larger than maxBytes (KIP-74). Default true. */
  minOneBatch?: boolean;
}

export interface ReadResult {
  chunks: Buffer[];
  byteLength: number;
}

export interface SegmentInfo {
  baseOffset: number;
  nextOffset: number;
  sizeBytes: number;
  maxTimestamp: number;
  path: string;
}

export interface PartitionLogOptions {
  directory: string;
  config: LogConfig;
  io?: FileIo;
  /** Milliseconds since the epoch; tests pass a controllable clock. */
  clock?: () => number;
  /** From recovery-point-offset-checkpoint: segments from the one holding it are scanned after an unclean stop. */
  recoveryPoint?: number;
  /** From log-start-offset-checkpoint. */
  logStartOffset?: number;
  tailCacheBytes?: number;
  /** Called (and awaited) whenever logStartOffset moves, so the owner can checkpoint it. */
  onLogStartOffsetChanged?: (log: PartitionLog) => Promise<void>;
}

/** An append between `append()` and its acknowledgement. */
interface PendingAppend {
  records: Buffer;
  spans: BatchSpan[];
  /** Assigned last offset of each batch, parallel to spans. */
  lastOffsets: number[];
  maxTimestamps: number[];
  /** When append() took it: what time retention measures from by default. */
  appendTimeMs: number;
  baseOffset: number;
  /** The offset after the append's last batch. */
  nextOffset: number;
  recordsCount: number;
  deferFlush: boolean;
  written: boolean;
  settled: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface FlushWaiter {
  offset: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A FIFO with O(1) removal at the head and indexed access, for the pending and cached appends. */
class AppendQueue {
  private items: PendingAppend[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(index: number): PendingAppend {
    return this.items[this.head + index];
  }

  push(item: PendingAppend): void {
    this.items.push(item);
  }

  shift(): PendingAppend | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    // Drop the slot's reference now: a shifted append holds a whole request's bytes, and up
    // to a thousand of them would otherwise stay alive until the array is compacted.
    (this.items as Array<PendingAppend | undefined>)[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  pop(): PendingAppend | undefined {
    if (this.length === 0) return undefined;
    return this.items.pop();
  }

  takeAll(): PendingAppend[] {
    const taken = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return taken;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** A promise chain that runs maintenance operations one at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

function noop(): void {}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Returns a function that yields to the event loop once a time slice is used up. */
export function backgroundPacer(sliceMs = BACKGROUND_SLICE_MS): () => Promise<void> {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await yieldToEventLoop();
    sliceStart = performance.now();
  };
}

function storageFailure(error: unknown, what: string): StorageError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') {
    return new StorageError(
      StorageErrorCode.STORAGE_FULL,
      `${what} failed: the disk is full (ENOSPC); free space and retry`,
      KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
      { cause: error },
    );
  }
  return new StorageError(
    StorageErrorCode.STORAGE_FAILED,
    `${what} failed (${code ?? (error as Error).message}); the log refuses appends until it is reopened`,
    KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
    { cause: error },
  );
}

/**
 * What compaction must know of a partition's transactions; the storage layer has no producer
 * state of its own, so `src/replica/partition.ts` installs one on its log.
 */
export interface TransactionView {
  /** Records at or above it may belong to an open transaction: the cleaner neither removes nor counts them. */
  lastStableOffset(): number;
  /** Aborted transactions overlapping [from, to), ordered by their marker's offset. */
  abortedTransactions(
    from: number,
    to: number,
  ): ReadonlyArray<{ producerId: number; firstOffset: number; lastOffset: number }>;
}

export class PartitionLog extends EventEmitter {
  readonly directory: string;
  /** Set by the partition that owns this log; null for a log with no producer state (storage tests). */
  transactionView: TransactionView | null = null;
  /**
   * Compaction's first dirty offset: segments below it were compacted by an earlier pass (the
   * cleaner's dirty ratio reads it). Kept in memory only, so the first pass after an open
   * treats the whole log as dirty.
   */
  cleanerCheckpoint = 0;
  /**
   * The earliest delete horizon of the tombstones the last compaction kept: once it has passed, a
   * pass runs whatever the dirty ratio, to drop them. In memory only, like cleanerCheckpoint.
   */
  tombstoneHorizonMs = Number.POSITIVE_INFINITY;
  private configValue: LogConfig;
  private readonly io: FileIo;
  private readonly clock: () => number;
  private readonly tailCacheBytesMax: number;
  private readonly onLogStartOffsetChanged: ((log: PartitionLog) => Promise<void>) | undefined;

  /** Ordered by base offset; the last one is the active segment. */
  private segments: Segment[] = [];
  private logStartOffsetValue = 0;
  private leaderEpochCache!: LeaderEpochCache;
  /** The offset the next append gets (includes appends not yet written). */
  private logEndOffsetValue = 0;
  /** Everything below it is in the segment files (page cache at least). */
  private writtenOffset = 0;
  /** Everything below it survived an fdatasync. */
  private flushedOffsetValue = 0;
  private unflushedRecords = 0;

  private readonly pending = new AppendQueue();
  private readonly awaitingFlush = new AppendQueue();
  private readonly tailCache = new AppendQueue();
  private tailCacheBytes = 0;
  private flushWaiters: FlushWaiter[] = [];

  private writing = false;
  private writeScheduled = false;
  private flushing = false;
  private writerPaused = 0;
  private idleWaiters: Array<() => void> = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private readonly maintenance = new Mutex();

  /** Set after a failed write or fsync: appends are refused with it. */
  private stickyError: StorageError | null = null;
  private closed = false;
  /** Whether the last open found the clean-shutdown marker (tests check that clean opens do not scan). */
  openedCleanly = false;
  /** Bytes the last open scanned for recovery. */
  recoveryScannedBytes = 0;

  private constructor(options: PartitionLogOptions) {
    super();
    this.directory = options.directory;
    this.configValue = validateLogConfig({ ...options.config });
    this.io = options.io ?? nodeFileIo;
    this.clock = options.clock ?? Date.now;
    this.tailCacheBytesMax = options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES;
    this.onLogStartOffsetChanged = options.onLogStartOffsetChanged;
  }

  get logStartOffset(): number {
    return this.logStartOffsetValue;
  }

  get logEndOffset(): number {
    return this.logEndOffsetValue;
  }

  get flushedOffset(): number {
    return this.flushedOffsetValue;
  }

  /** Everything below it is durable and needs no scan after a crash (for recovery-point-offset-checkpoint). */
  get recoveryPoint(): number {
    return this.flushedOffsetValue;
  }

  get config(): LogConfig {
    return this.configValue;
  }

  get sizeInBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  /** The error that made the log refuse appends, if any. */
  get error(): StorageError | null {
    return this.stickyError;
  }

  segmentInfos(): SegmentInfo[] {
    return this.segments.map((segment) => ({
      baseOffset: segment.baseOffset,
      nextOffset: segment.nextOffset,
      sizeBytes: segment.sizeBytes,
      maxTimestamp: segment.maxTimestamp,
      path: segment.logPath,
    }));
  }

  updateConfig(config: LogConfig): void {
    this.configValue = validateLogConfig({ ...config });
    if (this.writtenOffset > this.flushedOffsetValue) this.requestFlush();
    this.armExpiryTimer(0);
  }

  /**
   * Emits an event to the layer above. A listener that throws is a bug up there: it is rethrown
   * on its own, outside the writer and flusher, so it can never be mistaken for a disk failure.
   */
  private notify(event: 'append' | 'flush' | 'logStartOffset' | 'error', value: unknown): void {
    if (this.listenerCount(event) === 0) return;
    try {
      this.emit(event, value);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  // ───────────────────────────── open and recovery ─────────────────────────────

  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(options);
    await log.load(options);
    return log;
  }

  private async load(options: PartitionLogOptions): Promise<void> {
    const { io, directory } = this;
    // Batches whose append time a crash lost count as appended now: kept longer, never less.
    const recoveryTimeMs = this.clock();
    await io.mkdir(directory);
    await this.completeInterruptedOperations();
    const names = await io.readdir(directory);
    this.openedCleanly = names.includes(CLEAN_SHUTDOWN_FILE);
    if (this.openedCleanly) {
      // Removed before any append so a crash from here on is recognised as unclean.
      await io.unlink(`${directory}/${CLEAN_SHUTDOWN_FILE}`);
      await io.syncDirectory(directory);
    }
    const baseOffsets = names
      .map(parseSegmentBaseOffset)
      .filter((value): value is number => value !== null)
      .sort((a, b) => a - b);

    // After an unclean stop, scan from the segment holding the recovery point; the roll protocol
    // (old segment and its indexes fsynced before the next segment exists) makes the last segment
    // enough when no recovery point is known.
    let scanFrom = Infinity;
    if (!this.openedCleanly && baseOffsets.length > 0) {
      scanFrom = baseOffsets[baseOffsets.length - 1];
      if (options.recoveryPoint !== undefined) {
        const holding = baseOffsets.filter((baseOffset) => baseOffset <= options.recoveryPoint!);
        if (holding.length > 0) scanFrom = holding[holding.length - 1];
      }
    }

    const pause = backgroundPacer();
    for (let index = 0; index < baseOffsets.length; index++) {
      const baseOffset = baseOffsets[index];
      const logFile = await io.open(`${directory}/${segmentFileName(baseOffset, '.log')}`, {
        create: false,
      });
      const segment = new Segment(directory, baseOffset, logFile);
      const fileBytes = await logFile.size();
      const isLast = index === baseOffsets.length - 1;
      let corruptionFound = false;
      let indexesLoaded =
        baseOffset < scanFrom &&
        segment.loadIndexes(
          await io.readFile(segment.indexPath),
          await io.readFile(segment.timeIndexPath),
          fileBytes,
        );
      if (indexesLoaded) {
        // Trusted indexes: only the bytes after the last index entry are read, to find the end.
        const result = await segment.scan(
          segment.lastIndexedPosition(),
          fileBytes,
          { verifyCrc: isLast, pause },
          (batch) => {
            segment.onBatch(batch, this.configValue.indexIntervalBytes);
          },
        );
        if (result.problem !== null && isLast) {
          // The tail of the active segment is damaged even though it was closed cleanly:
          // recover it as after a crash.
          indexesLoaded = false;
        } else if (result.problem !== null) {
          // Damage inside an older segment is not cut away silently: the range stays in place
          // so that reads of it fail loudly (read-side checks) instead of skipping records.
          segment.sizeBytes = fileBytes;
          if (index + 1 < baseOffsets.length) segment.nextOffset = baseOffsets[index + 1];
        }
      }
      if (!indexesLoaded) {
        segment.resetIndexes();
        const result = await segment.scan(0, fileBytes, { verifyCrc: true, pause }, (batch) => {
          segment.onBatch(batch, this.configValue.indexIntervalBytes);
        });
        this.recoveryScannedBytes += result.validBytes;
        segment.sizeBytes = result.validBytes;
        corruptionFound = result.problem !== null;
      }
      segment.rollStartMs = this.initialRollStart(segment);
      await segment.appendTimes.load(io, segment.nextOffset, recoveryTimeMs);
      this.segments.push(segment);
      if (segment.sizeBytes < fileBytes) {
        // Cut the torn or corrupt tail away, and everything after it: nothing past the first bad
        // batch can be trusted to be contiguous.
        await logFile.truncate(segment.sizeBytes);
        await logFile.datasync();
        if (corruptionFound || isLast) {
          for (const later of baseOffsets.slice(index + 1)) await this.deleteSegmentFiles(later);
          await segment.writeIndexFiles(io);
          break;
        }
      }
      if (!indexesLoaded) await segment.writeIndexFiles(io);
    }

    if (this.segments.length === 0) {
      const baseOffset = Math.max(0, options.logStartOffset ?? 0);
      this.segments.push(await this.createSegment(baseOffset));
    } else {
      // Whatever the previous process left in the page cache becomes durable before it counts.
      await this.activeSegment.logFile.datasync();
      await this.activeSegment.appendTimes.openForAppend(io, { empty: false });
    }
    const active = this.activeSegment;
    this.logEndOffsetValue = active.nextOffset;
    this.writtenOffset = active.nextOffset;
    this.flushedOffsetValue = active.nextOffset;
    this.logStartOffsetValue = Math.min(
      Math.max(options.logStartOffset ?? 0, this.segments[0].baseOffset),
      this.logEndOffsetValue,
    );
    this.checkSegmentOrder();
    this.leaderEpochCache = await LeaderEpochCache.load(io, directory);
    this.leaderEpochCache.truncateFromEnd(this.logEndOffsetValue);
    this.leaderEpochCache.truncateFromStart(this.logStartOffsetValue);
    await this.leaderEpochCache.persist();
    this.armExpiryTimer(0);
  }

  private initialRollStart(segment: Segment): number {
    const now = this.clock();
    return segment.maxTimestamp > 0 && segment.maxTimestamp <= now
      ? Math.min(segment.maxTimestamp, now)
      : now;
  }

  /**
   * Finishes or undoes what a crash interrupted: a compaction swap whose `.log.swap` exists is
   * completed (the swap file is the commit point); `.cleaned` files and leftovers are removed.
   */
  private async completeInterruptedOperations(): Promise<void> {
    const { io, directory } = this;
    const names = await io.readdir(directory);
    let changed = false;
    for (const name of names) {
      if (name.endsWith('.cleaned') || name.endsWith('.deleted') || name.endsWith('.tmp')) {
        await io.unlink(`${directory}/${name}`);
        changed = true;
      }
    }
    for (const name of names) {
      const match = /^(\d{20})\.log\.swap$/.exec(name);
      if (!match) continue;
      const stem = `${directory}/${match[1]}`;
      await io.unlink(`${stem}.index`);
      await io.unlink(`${stem}.timeindex`);
      for (const suffix of ['.index', '.timeindex']) {
        if (names.includes(`${match[1]}${suffix}.swap`))
          await io.rename(`${stem}${suffix}.swap`, `${stem}${suffix}`);
      }
      await io.rename(`${stem}.log.swap`, `${stem}.log`);
      changed = true;
    }
    for (const name of await io.readdir(directory)) {
      // Index swap files without their log swap belong to a swap that never reached its commit point.
      if (name.endsWith('.index.swap') || name.endsWith('.timeindex.swap')) {
        await io.unlink(`${directory}/${name}`);
        changed = true;
      }
    }
    if (changed) await io.syncDirectory(directory);
  }

  private async deleteSegmentFiles(baseOffset: number): Promise<void> {
    for (const suffix of ['.log', '.index', '.timeindex', '.txnindex', '.appendtime'] as const) {
      await this.io.unlink(`${this.directory}/${segmentFileName(baseOffset, suffix)}`);
    }
    await this.io.syncDirectory(this.directory);
  }

  private async createSegment(baseOffset: number): Promise<Segment> {
    const logFile = await this.io.open(`${this.directory}/${segmentFileName(baseOffset, '.log')}`, {
      create: true,
    });
    await logFile.truncate(0);
    const segment = new Segment(this.directory, baseOffset, logFile);
    await segment.appendTimes.openForAppend(this.io, { empty: true });
    await this.io.syncDirectory(this.directory);
    segment.rollStartMs = this.clock();
    return segment;
  }

  private get activeSegment(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private checkSegmentOrder(): void {
    for (let index = 1; index < this.segments.length; index++) {
      assert(
        this.segments[index - 1].nextOffset <= this.segments[index].baseOffset,
        `segment ${this.segments[index - 1].baseOffset} ends at ${this.segments[index - 1].nextOffset}, past the next segment's base ${this.segments[index].baseOffset}`,
      );
    }
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
    if (this.stickyError) throw this.stickyError;
    const config = this.configValue;
    const isReplication = options.origin === 'replication';
    const spans = validateRecordSet(records, {
      allowControlBatches: options.origin !== 'client',
      maxMessageBytes: config.maxMessageBytes,
      requireDenseOffsets: !isReplication,
    });
    if (isCompacted(config) && !isReplication) requireKeys(records, spans);
    const now = options.now ?? this.clock();
    const logAppendTime = config.messageTimestampType === 'LogAppendTime' && !isReplication;
    if (!isReplication && !logAppendTime) {
      for (const span of spans) {
        // The slow path, for headers no records could produce (Sarama's maxTimestamp -1):
        // repaired here so that nothing downstream (time index, ListOffsets, record-time
        // retention) reads a timestamp older than the records'.
        if (hasInconsistentMaxTimestamp(records, span.position))
          span.maxTimestamp = repairMaxTimestamp(records, span.position);
        if (options.origin === 'client') checkTimestampBounds(records, span, now, config);
      }
    }

    let nextOffset = this.logEndOffsetValue;
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
      nextOffset = this.logEndOffsetValue;
    }

    const lastOffsets: number[] = [];
    const maxTimestamps: number[] = [];
    let maxTimestamp = -1;
    let recordsCount = 0;
    let firstOffset = -1;
    for (const span of spans) {
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
      lastOffsets.push(lastOffset);
      maxTimestamps.push(batchMaxTimestamp);
      maxTimestamp = Math.max(maxTimestamp, batchMaxTimestamp);
      recordsCount += span.recordsCount;
      nextOffset = lastOffset + 1;
    }
    assert(
      nextOffset > this.logEndOffsetValue,
      `append would move the log end offset from ${this.logEndOffsetValue} to ${nextOffset}`,
    );

    let resolve: () => void = noop;
    let reject: (error: Error) => void = noop;
    const acknowledged = new Promise<void>((resolvePromise, rejectPromise) => {
      resolve = resolvePromise;
      reject = rejectPromise;
    });
    // A caller that never awaits the acknowledgement must not crash the process on rejection.
    acknowledged.catch(noop);
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
      resolve,
      reject,
    };
    this.logEndOffsetValue = nextOffset;
    this.pending.push(item);
    this.tailCache.push(item);
    this.tailCacheBytes += records.length;
    this.scheduleWrite();
    if (this.expiryTimer === null) this.armExpiryTimer(0);
    this.notify('append', nextOffset);
    return {
      baseOffset: firstOffset,
      lastOffset: nextOffset - 1,
      logAppendTime: logAppendTime ? now : -1,
      maxTimestamp,
      acknowledged,
    };
  }

  /** Resolves once everything below `offset` has survived an fsync. Rejects if that can no longer happen. */
  waitForFlush(offset: number): Promise<void> {
    if (offset <= this.flushedOffsetValue) return Promise.resolve();
    if (this.stickyError && this.stickyError.code === StorageErrorCode.STORAGE_FAILED)
      return Promise.reject(this.stickyError);
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ offset, resolve, reject });
      if (this.writtenOffset > this.flushedOffsetValue) this.startFlush();
    });
  }

  /** Forces an fsync of everything written so far (close, tests, looser flush policies). */
  async flush(): Promise<void> {
    await this.waitForWriterIdle();
    await this.waitForFlush(this.writtenOffset);
  }

  private scheduleWrite(): void {
    if (this.writing || this.writeScheduled || this.writerPaused > 0 || this.pending.length === 0)
      return;
    this.writeScheduled = true;
    // Deferred to the end of the current microtask queue so that appends made in the same tick
    // (many producers woken by one fsync) share one writev.
    queueMicrotask(() => {
      this.writeScheduled = false;
      if (this.writing || this.writerPaused > 0 || this.pending.length === 0) {
        this.notifyIdle();
        return;
      }
      this.writing = true;
      void this.writeLoop();
    });
  }

  private async writeLoop(): Promise<void> {
    let group: PendingAppend[] = [];
    try {
      while (this.pending.length > 0 && this.writerPaused === 0 && !this.stickyError) {
        group = this.pending.takeAll();
        if (this.leaderEpochCache.dirty) await this.leaderEpochCache.persist();
        let index = 0;
        while (index < group.length) {
          if (this.shouldRoll(this.activeSegment, group[index]))
            await this.roll(group[index].baseOffset);
          const segment = this.activeSegment;
          const buffers: Buffer[] = [];
          let bytes = 0;
          const start = index;
          while (
            index < group.length &&
            (buffers.length === 0 ||
              segment.sizeBytes + bytes + group[index].records.length <=
                this.configValue.segmentBytes)
          ) {
            buffers.push(group[index].records);
            bytes += group[index].records.length;
            index++;
          }
          const position = segment.sizeBytes;
          await segment.logFile.write(buffers, position);
          // Append times are noted only for batches now in the file, and reach the disk later
          // (with the next fsync): an entry for bytes a failed write takes back could otherwise
          // date the offsets' next owners too early.
          const resolutionMs = appendTimeResolutionMs(this.configValue.retentionMs);
          for (let itemIndex = start; itemIndex < index; itemIndex++)
            segment.appendTimes.record(
              group[itemIndex].appendTimeMs,
              group[itemIndex].nextOffset,
              resolutionMs,
            );
          let at = position;
          for (let itemIndex = start; itemIndex < index; itemIndex++) {
            const item = group[itemIndex];
            item.spans.forEach((span, spanIndex) => {
              segment.onBatch(
                {
                  position: at + span.position,
                  sizeBytes: span.sizeBytes,
                  lastOffset: item.lastOffsets[spanIndex],
                  maxTimestamp: item.maxTimestamps[spanIndex],
                },
                this.configValue.indexIntervalBytes,
              );
            });
            at += item.records.length;
            item.written = true;
            this.writtenOffset = item.nextOffset;
            this.unflushedRecords += item.recordsCount;
            if (acknowledgesAfterFsync(this.configValue) && !item.deferFlush)
              this.awaitingFlush.push(item);
            else settle(item);
          }
          assert(
            segment.sizeBytes === at,
            `segment ${segment.baseOffset} size ${segment.sizeBytes} != written end ${at}`,
          );
        }
        group = [];
        this.evictTailCache();
        this.requestFlush();
      }
    } catch (error) {
      await this.handleWriteFailure(
        error,
        group.filter((item) => !item.written),
      );
    } finally {
      this.writing = false;
      if (this.pending.length > 0 && !this.stickyError) this.scheduleWrite();
      else this.notifyIdle();
    }
  }

  private shouldRoll(segment: Segment, next: PendingAppend): boolean {
    if (segment.isEmpty) return false;
    const config = this.configValue;
    return (
      segment.sizeBytes + next.records.length > config.segmentBytes ||
      this.clock() - segment.rollStartMs >= config.segmentMs ||
      next.nextOffset - 1 - segment.baseOffset > 0x7fffffff
    );
  }

  /** Makes the active segment durable with its indexes, then starts a new one at `baseOffset`. */
  private async roll(baseOffset: number): Promise<void> {
    const old = this.activeSegment;
    old.maybeAppendTimeIndexEntry();
    await old.logFile.datasync();
    this.markFlushed(this.writtenOffset);
    await old.appendTimes.syncAndClose();
    await old.writeIndexFiles(this.io);
    const segment = await this.createSegment(baseOffset);
    this.segments.push(segment);
  }

  private requestFlush(): void {
    if (this.writtenOffset <= this.flushedOffsetValue) return;
    const config = this.configValue;
    const afterFsync = acknowledgesAfterFsync(config);
    // Under the default policy only appends waiting for their acknowledgement need an fsync now;
    // what is left is deferFlush appends, flushed by the timer unless something else comes first.
    const due = afterFsync
      ? this.awaitingFlush.length > 0
      : this.unflushedRecords >= config.flushMessages;
    if (due || this.flushWaiters.length > 0) {
      this.startFlush();
      return;
    }
    const delay = afterFsync ? DEFERRED_FLUSH_MS : config.flushMs;
    if (this.flushTimer === null && delay < MAX_TIMER_DELAY_MS) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.startFlush();
      }, delay);
      this.flushTimer.unref();
    }
  }

  private startFlush(): void {
    if (this.flushing || this.stickyError?.code === StorageErrorCode.STORAGE_FAILED) return;
    this.flushing = true;
    void this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.writtenOffset > this.flushedOffsetValue && !this.closedForFlush()) {
        const target = this.writtenOffset;
        const records = this.unflushedRecords;
        const segment = this.activeSegment;
        // The append times of what was written go out beside the fsync (not covered by it): one
        // small write per fsync, none on the writer's path.
        await Promise.all([segment.logFile.datasync(), segment.appendTimes.writeDirty()]);
        this.unflushedRecords = Math.max(0, this.unflushedRecords - records);
        this.markFlushed(target);
        // Go on only for appends or waiters asking for it (not for deferFlush appends alone).
        if (this.awaitingFlush.length === 0 && this.flushWaiters.length === 0) break;
      }
    } catch (error) {
      this.failFsync(error);
    } finally {
      this.flushing = false;
      this.notifyIdle();
      if (this.writtenOffset > this.flushedOffsetValue && !this.stickyError) this.requestFlush();
    }
  }

  private closedForFlush(): boolean {
    return this.stickyError?.code === StorageErrorCode.STORAGE_FAILED;
  }

  private markFlushed(offset: number): void {
    if (offset <= this.flushedOffsetValue) return;
    this.flushedOffsetValue = offset;
    if (this.flushTimer && this.writtenOffset <= offset) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    while (this.awaitingFlush.length > 0 && this.awaitingFlush.at(0).nextOffset <= offset)
      settle(this.awaitingFlush.shift()!);
    if (this.flushWaiters.length > 0) {
      const still: FlushWaiter[] = [];
      for (const waiter of this.flushWaiters) {
        if (waiter.offset <= offset) waiter.resolve();
        else still.push(waiter);
      }
      this.flushWaiters = still;
    }
    this.notify('flush', offset);
  }

  /** An fsync failed: the page cache may have dropped the data, so nothing pending is ever acknowledged. */
  private failFsync(error: unknown): void {
    const failure = storageFailure(error, `fdatasync of ${this.activeSegment.logPath}`);
    const permanent = new StorageError(
      StorageErrorCode.STORAGE_FAILED,
      failure.message,
      failure.kafkaErrorCode,
      { cause: error },
    );
    this.stickyError = permanent;
    while (this.awaitingFlush.length > 0) rejectItem(this.awaitingFlush.shift()!, permanent);
    for (const item of this.pending.takeAll()) rejectItem(item, permanent);
    for (const waiter of this.flushWaiters) waiter.reject(permanent);
    this.flushWaiters = [];
    this.notify('error', permanent);
  }

  /**
   * A write failed. Everything not yet written is refused and the log end offset goes back to the
   * last whole batch on disk; the file is cut back there so no partial batch remains. A full disk
   * is recoverable (appends work again once the cut succeeds); any other error is sticky.
   */
  private async handleWriteFailure(error: unknown, unwritten: PendingAppend[]): Promise<void> {
    const failure = storageFailure(error, `write to ${this.activeSegment.logPath}`);
    this.stickyError = failure;
    const refused = [...unwritten, ...this.pending.takeAll()];
    for (const item of refused) rejectItem(item, failure);
    while (this.tailCache.length > 0 && !this.tailCache.at(this.tailCache.length - 1).written) {
      const item = this.tailCache.pop()!;
      this.tailCacheBytes -= item.records.length;
    }
    this.logEndOffsetValue = this.writtenOffset;
    this.leaderEpochCache.truncateFromEnd(this.logEndOffsetValue);
    const segment = this.activeSegment;
    try {
      await segment.logFile.truncate(segment.sizeBytes);
      if (failure.code === StorageErrorCode.STORAGE_FULL) this.stickyError = null;
    } catch (truncateError) {
      this.stickyError = storageFailure(
        truncateError,
        `cutting ${segment.logPath} back after a failed write`,
      );
      if (this.stickyError.code === StorageErrorCode.STORAGE_FULL) {
        this.stickyError = new StorageError(
          StorageErrorCode.STORAGE_FAILED,
          this.stickyError.message,
          this.stickyError.kafkaErrorCode,
        );
      }
    }
    this.notify('error', failure);
  }

  private evictTailCache(): void {
    while (
      this.tailCacheBytes > this.tailCacheBytesMax &&
      this.tailCache.length > 1 &&
      this.tailCache.at(0).written
    ) {
      this.tailCacheBytes -= this.tailCache.shift()!.records.length;
    }
  }

  private notifyIdle(): void {
    if (this.writing || this.flushing || this.writeScheduled) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private waitForWriterIdle(): Promise<void> {
    if (
      !this.writing &&
      !this.flushing &&
      !this.writeScheduled &&
      (this.pending.length === 0 || this.writerPaused > 0 || this.stickyError)
    ) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
    }).then(() => this.waitForWriterIdle());
  }

  /** Stops the writer and flusher, for operations that change segments under them. */
  private async pauseWriter(): Promise<void> {
    this.writerPaused++;
    while (this.writing || this.flushing || this.writeScheduled) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private resumeWriter(): void {
    this.writerPaused--;
    this.scheduleWrite();
  }

  // ───────────────────────────── read ─────────────────────────────

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch unless
   * minOneBatch is false), never one whose last offset reaches `maxOffset`.
   */
  async read(offset: number, options: ReadOptions): Promise<ReadResult> {
    if (offset < this.logStartOffsetValue || offset > this.logEndOffsetValue) {
      throw new OffsetOutOfRangeError(offset, this.logStartOffsetValue, this.logEndOffsetValue);
    }
    const minOneBatch = options.minOneBatch ?? true;
    const maxOffset = Math.min(options.maxOffset, this.logEndOffsetValue);
    if (offset >= maxOffset) return { chunks: [], byteLength: 0 };
    const cached = this.readTailCache(offset, options.maxBytes, maxOffset, minOneBatch);
    if (cached) return cached;
    let searchFrom = offset;
    while (true) {
      let index = this.segmentIndexFor(searchFrom);
      while (
        index < this.segments.length &&
        (searchFrom >= this.segments[index].nextOffset || this.segments[index].isEmpty)
      )
        index++;
      if (index >= this.segments.length) break;
      const segment = this.segments[index];
      const isActive = index === this.segments.length - 1;
      const result = await this.readSegment(
        segment,
        offset,
        options.maxBytes,
        maxOffset,
        minOneBatch,
        !isActive,
      );
      // null: compaction left no batch at or after `offset` in this segment; a later one has it.
      // The search restarts from the segment's end because segments may have changed meanwhile.
      if (result !== null) return result;
      searchFrom = segment.nextOffset;
    }
    return { chunks: [], byteLength: 0 };
  }

  /** The base offset of the segment holding `offset` (the first segment's for offsets below it). */
  segmentBaseOffsetOf(offset: number): number {
    return this.segments[this.segmentIndexFor(offset)].baseOffset;
  }

  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    let found = 0;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.segments[middle].baseOffset <= offset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  private readTailCache(
    offset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch: boolean,
  ): ReadResult | null {
    const cache = this.tailCache;
    if (cache.length === 0 || offset < cache.at(0).baseOffset) return null;
    let low = 0;
    let high = cache.length - 1;
    let entry = 0;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (cache.at(middle).baseOffset <= offset) {
        entry = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    const chunks: Buffer[] = [];
    let byteLength = 0;
    for (; entry < cache.length; entry++) {
      const item = cache.at(entry);
      let runStart = -1;
      let runEnd = -1;
      for (let spanIndex = 0; spanIndex < item.spans.length; spanIndex++) {
        const lastOffset = item.lastOffsets[spanIndex];
        if (lastOffset < offset) continue;
        const span = item.spans[spanIndex];
        const fits = byteLength + span.sizeBytes <= maxBytes || (byteLength === 0 && minOneBatch);
        if (lastOffset >= maxOffset || !fits) {
          if (runStart >= 0) chunks.push(item.records.subarray(runStart, runEnd));
          return { chunks, byteLength };
        }
        if (runStart < 0) runStart = span.position;
        runEnd = span.position + span.sizeBytes;
        byteLength += span.sizeBytes;
      }
      if (runStart >= 0) chunks.push(item.records.subarray(runStart, runEnd));
    }
    return { chunks, byteLength };
  }

  private async readSegment(
    segment: Segment,
    offset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch: boolean,
    verifyCrc: boolean,
  ): Promise<ReadResult | null> {
    segment.readers++;
    try {
      const end = segment.sizeBytes;
      let position = segment.lookupPosition(offset);
      // Offsets strictly increase through a segment; anything else is corruption, never served.
      let previousLastOffset = segment.baseOffset - 1;
      const windowBytesWanted =
        Math.max(maxBytes, 0) + this.configValue.indexIntervalBytes + BATCH_HEADER_BYTES * 4;
      while (position < end) {
        const windowBytes = Math.min(windowBytesWanted, end - position);
        const window = Buffer.allocUnsafe(windowBytes);
        const bytesRead = await segment.logFile.read(window, 0, windowBytes, position);
        let at = 0;
        let startAt = -1;
        let byteLength = 0;
        let reachedLimit = false;
        while (at + BATCH_HEADER_BYTES <= bytesRead) {
          const sizeBytes = this.checkedBatchSize(segment, window, at, position + at, end);
          const baseOffset = readInt64(window, at);
          const lastOffset = baseOffset + window.readInt32BE(at + BatchField.lastOffsetDelta);
          if (baseOffset <= previousLastOffset || lastOffset < baseOffset) {
            throw this.corruption(
              segment,
              position + at,
              `batch offsets ${baseOffset}..${lastOffset} do not follow ${previousLastOffset}`,
            );
          }
          if (lastOffset < offset) {
            // Skipped by its header alone: its bytes need not be in the window.
            at += sizeBytes;
            previousLastOffset = lastOffset;
            continue;
          }
          const fits = byteLength + sizeBytes <= maxBytes || (byteLength === 0 && minOneBatch);
          if (lastOffset >= maxOffset || !fits) {
            reachedLimit = true;
            break;
          }
          if (at + sizeBytes > bytesRead) {
            if (startAt >= 0) {
              reachedLimit = true;
              break;
            }
            // The first batch is larger than the window: read it on its own.
            const whole = Buffer.allocUnsafe(sizeBytes);
            const read = await segment.logFile.read(whole, 0, sizeBytes, position + at);
            if (read < sizeBytes)
              throw this.corruption(
                segment,
                position + at,
                'batch shorter on disk than its length',
              );
            if (verifyCrc && !hasValidCrc(whole, 0, sizeBytes))
              throw this.corruption(segment, position + at, 'batch fails its CRC-32C check');
            return { chunks: [whole], byteLength: sizeBytes };
          }
          if (verifyCrc && !hasValidCrc(window, at, sizeBytes))
            throw this.corruption(segment, position + at, 'batch fails its CRC-32C check');
          if (startAt < 0) startAt = at;
          byteLength += sizeBytes;
          at += sizeBytes;
          previousLastOffset = lastOffset;
        }
        if (startAt >= 0)
          return { chunks: [window.subarray(startAt, startAt + byteLength)], byteLength };
        // Nothing at or after `offset` in this window yet: the next window starts where this one's
        // whole batches end.
        if (reachedLimit) return { chunks: [], byteLength: 0 };
        if (at === 0)
          throw this.corruption(
            segment,
            position,
            `only ${bytesRead} bytes where a batch header should be`,
          );
        position += at;
      }
      return null;
    } finally {
      segment.releaseReader();
    }
  }

  private checkedBatchSize(
    segment: Segment,
    window: Buffer,
    at: number,
    position: number,
    end: number,
  ): number {
    const batchLength = window.readInt32BE(at + BatchField.batchLength);
    const magic = window.readInt8(at + BatchField.magic);
    const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
    if (
      magic !== CURRENT_MAGIC ||
      batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES ||
      position + sizeBytes > end
    ) {
      throw this.corruption(
        segment,
        position,
        `invalid batch header (magic ${magic}, batchLength ${batchLength})`,
      );
    }
    return sizeBytes;
  }

  private corruption(segment: Segment, position: number, what: string): StorageError {
    const error = new StorageError(
      StorageErrorCode.CORRUPT_SEGMENT,
      `corrupt data in ${segment.logPath} at position ${position}: ${what}; the batch is not served`,
      KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
    );
    this.notify('error', error);
    return error;
  }

  // ───────────────────────────── lookups ─────────────────────────────

  /** The first record whose timestamp is >= `timestamp`, or null when there is none. */
  async offsetForTimestamp(
    timestamp: number,
  ): Promise<{ offset: number; timestamp: number } | null> {
    for (const segment of [...this.segments]) {
      if (
        segment.isEmpty ||
        segment.maxTimestamp < timestamp ||
        segment.nextOffset <= this.logStartOffsetValue
      )
        continue;
      let found: { offset: number; timestamp: number } | null = null;
      segment.readers++;
      try {
        await segment.scan(
          segment.lookupTimestampPosition(timestamp),
          segment.sizeBytes,
          { verifyCrc: false },
          async (batch) => {
            if (batch.maxTimestamp < timestamp || batch.lastOffset < this.logStartOffsetValue)
              return true;
            const decoded = await decodeBatch(
              batch.buffer.subarray(batch.offsetInBuffer, batch.offsetInBuffer + batch.sizeBytes),
            );
            for (const record of decoded.records) {
              const recordTimestamp = decoded.isLogAppendTime
                ? decoded.maxTimestamp
                : record.timestamp;
              if (recordTimestamp >= timestamp && record.offset >= this.logStartOffsetValue) {
                found = { offset: record.offset, timestamp: recordTimestamp };
                return false;
              }
            }
            return true;
          },
        );
      } finally {
        segment.releaseReader();
      }
      if (found) return found;
    }
    return null;
  }

  /** The largest timestamp in the log and the offset of the batch that carries it. */
  maxTimestampOffset(): { offset: number; timestamp: number } {
    let best = { offset: -1, timestamp: -1 };
    for (const segment of this.segments) {
      if (segment.maxTimestamp > best.timestamp)
        best = { offset: segment.offsetOfMaxTimestamp, timestamp: segment.maxTimestamp };
    }
    // Appends not yet written are in the tail cache, not yet in a segment.
    for (let index = 0; index < this.tailCache.length; index++) {
      const item = this.tailCache.at(index);
      if (item.written) continue;
      item.maxTimestamps.forEach((value, spanIndex) => {
        if (value > best.timestamp)
          best = { offset: item.lastOffsets[spanIndex], timestamp: value };
      });
    }
    return best;
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
    return this.leaderEpochCache.endOffsetFor(leaderEpoch, this.logEndOffsetValue);
  }

  /** A new leader records its epoch at the log end offset before it appends anything. */
  async assignLeaderEpoch(leaderEpoch: number): Promise<void> {
    this.leaderEpochCache.assign(leaderEpoch, this.logEndOffsetValue);
    await this.leaderEpochCache.persist();
  }

  // ───────────────────────────── truncation and deletion ─────────────────────────────

  /** Removes every batch holding an offset >= `offset` (replication, after a leader change). */
  truncateTo(offset: number): Promise<void> {
    return this.maintenance.run(async () => {
      if (offset >= this.logEndOffsetValue) return;
      // What is written from here on has never been compacted.
      this.cleanerCheckpoint = Math.min(this.cleanerCheckpoint, offset);
      await this.pauseWriter();
      try {
        if (this.stickyError?.code === StorageErrorCode.STORAGE_FAILED) throw this.stickyError;
        const truncated = new StorageError(
          StorageErrorCode.STORAGE_FAILED,
          `log truncated to ${offset} before this append was written`,
          KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
        );
        for (const item of this.pending.takeAll()) rejectItem(item, truncated);
        this.tailCache.clear();
        this.tailCacheBytes = 0;
        if (offset <= this.segments[0].baseOffset) {
          await this.truncateFullyAndStartAt(Math.max(offset, 0));
          return;
        }
        const index = this.segmentIndexFor(offset);
        const removed = this.segments.splice(index + 1);
        const segment = this.segments[index];
        let cutAt = segment.sizeBytes;
        let cutBaseOffset = offset;
        await segment.scan(
          segment.lookupPosition(offset),
          segment.sizeBytes,
          { verifyCrc: false },
          (batch) => {
            if (batch.lastOffset < offset) return true;
            cutAt = batch.position;
            cutBaseOffset = Math.min(offset, batch.baseOffset);
            return false;
          },
        );
        await segment.logFile.truncate(cutAt);
        await segment.logFile.datasync();
        // Rebuild the segment's indexes and timestamps from what remains.
        segment.resetIndexes();
        await segment.scan(0, cutAt, { verifyCrc: false, pause: backgroundPacer() }, (batch) => {
          segment.onBatch(batch, this.configValue.indexIntervalBytes);
        });
        segment.nextOffset = Math.max(segment.nextOffset, Math.min(cutBaseOffset, offset));
        if (segment.sizeBytes === 0)
          segment.nextOffset = Math.max(segment.baseOffset, Math.min(cutBaseOffset, offset));
        for (const old of removed) await this.removeSegment(old);
        await segment.appendTimes.truncateTo(this.io, segment.nextOffset);
        await segment.appendTimes.openForAppend(this.io, { empty: false });
        await this.io.unlink(segment.indexPath);
        await this.io.unlink(segment.timeIndexPath);
        await this.io.syncDirectory(this.directory);
        this.logEndOffsetValue = segment.nextOffset;
        this.writtenOffset = segment.nextOffset;
        this.flushedOffsetValue = Math.min(this.flushedOffsetValue, segment.nextOffset);
        this.unflushedRecords = 0;
        if (this.logStartOffsetValue > this.logEndOffsetValue)
          this.logStartOffsetValue = this.logEndOffsetValue;
        this.leaderEpochCache.truncateFromEnd(this.logEndOffsetValue);
        await this.leaderEpochCache.persist();
      } finally {
        this.resumeWriter();
      }
    });
  }

  private async truncateFullyAndStartAt(offset: number): Promise<void> {
    const removed = this.segments.splice(0);
    for (const old of removed) await this.removeSegment(old);
    this.segments.push(await this.createSegment(offset));
    this.logEndOffsetValue = offset;
    this.writtenOffset = offset;
    this.flushedOffsetValue = offset;
    this.unflushedRecords = 0;
    this.leaderEpochCache.truncateFromEnd(offset);
    await this.setLogStartOffset(offset, true);
  }

  /** Advances the log start offset (DeleteRecords); returns the new log start offset. */
  deleteRecordsBefore(offset: number): Promise<number> {
    if (offset > this.logEndOffsetValue || offset < 0) {
      return Promise.reject(
        new OffsetOutOfRangeError(offset, this.logStartOffsetValue, this.logEndOffsetValue),
      );
    }
    return this.maintenance.run(async () => {
      if (offset > this.logStartOffsetValue) await this.setLogStartOffset(offset);
      await this.deleteSegmentsBelowLogStart();
      return this.logStartOffsetValue;
    });
  }

  private async setLogStartOffset(offset: number, force = false): Promise<void> {
    if (!force && offset <= this.logStartOffsetValue) return;
    this.logStartOffsetValue = offset;
    this.leaderEpochCache.truncateFromStart(offset);
    await this.leaderEpochCache.persist();
    if (this.onLogStartOffsetChanged) await this.onLogStartOffsetChanged(this);
    this.notify('logStartOffset', offset);
  }

  /** Deletes closed segments that hold nothing at or above the log start offset. */
  private async deleteSegmentsBelowLogStart(): Promise<number> {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[1].baseOffset <= this.logStartOffsetValue) {
      const [old] = this.segments.splice(0, 1);
      await this.removeSegment(old);
      deleted++;
    }
    if (deleted > 0) await this.io.syncDirectory(this.directory);
    return deleted;
  }

  /** Renames a segment's files to `.deleted` (so a crash finishes the job on open), then deletes them once unread. */
  private async removeSegment(segment: Segment): Promise<void> {
    const paths = [
      segment.logPath,
      segment.indexPath,
      segment.timeIndexPath,
      segment.txnIndexPath,
      segment.appendTimePath,
    ];
    for (const path of paths) {
      if (await this.io.exists(path)) await this.io.rename(path, `${path}.deleted`);
    }
    await this.io.syncDirectory(this.directory);
    await segment.closeWhenIdle();
    for (const path of paths) await this.io.unlink(`${path}.deleted`);
  }

  // ───────────────────────────── retention ─────────────────────────────

  /**
   * One retention pass: deletes whole segments past retention.ms / retention.bytes, then moves
   * the log start offset past every leading batch older than retention.ms, even in the active
   * segment, so no consumer reads an expired record. Age is measured from the broker's append
   * (retention.timestamp.type = append, the default) or from the record timestamps (= record).
   */
  applyRetention(now = this.clock()): Promise<{ deletedSegments: number; logStartOffset: number }> {
    return this.maintenance.run(async () => {
      const config = this.configValue;
      let deletedSegments = 0;
      if (!isDeleteRetained(config) || this.closed)
        return { deletedSegments, logStartOffset: this.logStartOffsetValue };
      if (config.retentionMs >= 0) {
        const cutoff = now - config.retentionMs;
        while (
          this.segments.length > 1 &&
          this.segmentRetentionTime(this.segments[0]) < cutoff &&
          this.segments[0].nextOffset <= this.flushedOffsetValue
        ) {
          await this.setLogStartOffset(this.segments[1].baseOffset);
          deletedSegments += await this.deleteSegmentsBelowLogStart();
        }
      }
      if (config.retentionBytes >= 0) {
        let excess = this.sizeInBytes - config.retentionBytes;
        while (this.segments.length > 1 && excess - this.segments[0].sizeBytes >= 0) {
          excess -= this.segments[0].sizeBytes;
          await this.setLogStartOffset(this.segments[1].baseOffset);
          deletedSegments += await this.deleteSegmentsBelowLogStart();
        }
      }
      if (config.retentionMs >= 0) await this.expireRecords(now);
      return { deletedSegments, logStartOffset: this.logStartOffsetValue };
    });
  }

  /**
   * The time a whole segment's age counts from: its last append, or under record time its
   * largest record timestamp. A segment whose records carry no timestamp at all (-1) falls back
   * to its last append, so a missing timestamp never reads as "older than any cutoff".
   */
  private segmentRetentionTime(segment: Segment): number {
    // Compaction can empty a segment: it holds nothing to keep.
    if (segment.isEmpty) return -1;
    if (this.configValue.retentionTimestampType === 'record' && segment.maxTimestamp >= 0)
      return segment.maxTimestamp;
    const appendTimeMs = segment.appendTimes.maxAppendTimeMs;
    return appendTimeMs >= 0 ? appendTimeMs : Number.POSITIVE_INFINITY;
  }

  /** Moves the log start offset past leading batches older than retention.ms, only ever to a batch boundary. */
  private async expireRecords(now: number): Promise<void> {
    const retentionMs = this.configValue.retentionMs;
    if (retentionMs < 0 || !isDeleteRetained(this.configValue)) return;
    const cutoff = now - retentionMs;
    const expiry =
      this.configValue.retentionTimestampType === 'append'
        ? this.expiredByAppendTime(cutoff)
        : await this.expiredByRecordTime(cutoff);
    let nextExpiryMs = Infinity;
    if (expiry.blockingTimeMs !== null)
      nextExpiryMs =
        expiry.blockingTimeMs < cutoff ? now + 100 : expiry.blockingTimeMs + retentionMs + 1;
    if (expiry.newStart > this.logStartOffsetValue) {
      await this.setLogStartOffset(expiry.newStart);
      await this.deleteSegmentsBelowLogStart();
    }
    if (nextExpiryMs === Infinity && this.logEndOffsetValue > this.writtenOffset)
      nextExpiryMs = now + 100;
    if (nextExpiryMs !== Infinity) this.armExpiryTimer(Math.max(0, nextExpiryMs - now));
  }

  /**
   * Where the log may start when everything appended before `cutoff` (and durable) expires, and
   * the time that stopped the walk (null when nothing durable is left to expire). Reads only the
   * segments' append-time entries, never the log.
   */
  private expiredByAppendTime(cutoff: number): { newStart: number; blockingTimeMs: number | null } {
    let newStart = this.logStartOffsetValue;
    for (const segment of this.segments) {
      if (segment.nextOffset <= newStart || segment.isEmpty) continue;
      const walk = segment.appendTimes.walkExpired(newStart, cutoff, this.flushedOffsetValue);
      newStart = Math.max(newStart, walk.endOffset);
      if (walk.blockingAppendTimeMs !== null)
        return { newStart, blockingTimeMs: walk.blockingAppendTimeMs };
    }
    return { newStart, blockingTimeMs: null };
  }

  /** As expiredByAppendTime, by each batch's maxTimestamp (its append time when it has none). */
  private async expiredByRecordTime(
    cutoff: number,
  ): Promise<{ newStart: number; blockingTimeMs: number | null }> {
    let newStart = this.logStartOffsetValue;
    let blockingTimeMs: number | null = null;
    const pause = backgroundPacer();
    for (const segment of [...this.segments]) {
      if (segment.nextOffset <= newStart || segment.isEmpty) continue;
      segment.readers++;
      try {
        await segment.scan(
          segment.lookupPosition(newStart),
          segment.sizeBytes,
          { verifyCrc: false, pause },
          (batch) => {
            if (batch.lastOffset < newStart) return true;
            const batchTimeMs =
              batch.maxTimestamp >= 0
                ? batch.maxTimestamp
                : (segment.appendTimes.appendTimeOf(batch.lastOffset) ?? cutoff);
            if (batchTimeMs < cutoff && batch.lastOffset < this.flushedOffsetValue) {
              newStart = batch.lastOffset + 1;
              return true;
            }
            blockingTimeMs = batchTimeMs;
            return false;
          },
        );
      } finally {
        segment.releaseReader();
      }
      if (blockingTimeMs !== null) break;
    }
    return { newStart, blockingTimeMs };
  }

  private armExpiryTimer(delayMs: number): void {
    if (this.closed || this.configValue.retentionMs < 0 || !isDeleteRetained(this.configValue))
      return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = null;
        void this.maintenance
          .run(() => this.expireRecords(this.clock()))
          .catch((error) => {
            this.notify('error', error);
          });
      },
      Math.min(delayMs, MAX_TIMER_DELAY_MS),
    );
    this.expiryTimer.unref();
  }

  // ───────────────────────────── compaction hooks (used by log-cleaner.ts) ─────────────────────────────

  /** @internal Closed segments, oldest first, with what the cleaner needs to read them. */
  closedSegments(): Segment[] {
    return this.segments.slice(0, -1);
  }

  /** @internal The active segment, read (not rewritten) by the cleaner to learn the newest keys. */
  currentActiveSegment(): Segment {
    return this.activeSegment;
  }

  /** @internal */
  runMaintenance<T>(operation: () => Promise<T>): Promise<T> {
    return this.maintenance.run(operation);
  }

  /** @internal */
  get fileIo(): FileIo {
    return this.io;
  }

  /** @internal */
  now(): number {
    return this.clock();
  }

  /**
   * @internal Swaps a cleaned segment in for `old`. The caller has written and fsynced
   * `<base>.log.cleaned` (+ indexes). The `.log.swap` rename is the commit point: a crash before
   * it leaves the old segment; a crash after it is completed on open.
   */
  async swapSegment(old: Segment, cleanedBaseOffset: number): Promise<void> {
    assert(cleanedBaseOffset === old.baseOffset, 'a cleaned segment keeps its base offset');
    assert(
      this.segments.includes(old) && old !== this.activeSegment,
      'only a closed, live segment is swapped',
    );
    const { io, directory } = this;
    const stem = `${directory}/${segmentFileName(old.baseOffset, '.log').slice(0, 20)}`;
    await io.rename(`${stem}.index.cleaned`, `${stem}.index.swap`);
    await io.rename(`${stem}.timeindex.cleaned`, `${stem}.timeindex.swap`);
    await io.rename(`${stem}.log.cleaned`, `${stem}.log.swap`);
    await io.syncDirectory(directory);
    // Committed. Replace the old files under their names.
    await this.swapHook?.('committed');
    for (const suffix of ['.log', '.index', '.timeindex']) {
      if (await io.exists(`${stem}${suffix}`))
        await io.rename(`${stem}${suffix}`, `${stem}${suffix}.deleted`);
    }
    await io.rename(`${stem}.index.swap`, `${stem}.index`);
    await io.rename(`${stem}.timeindex.swap`, `${stem}.timeindex`);
    await io.rename(`${stem}.log.swap`, `${stem}.log`);
    await io.syncDirectory(directory);
    const logFile = await io.open(`${stem}.log`, { create: false });
    const segment = new Segment(directory, old.baseOffset, logFile);
    const fileBytes = await logFile.size();
    segment.loadIndexes(
      await io.readFile(`${stem}.index`),
      await io.readFile(`${stem}.timeindex`),
      fileBytes,
    );
    await segment.scan(segment.lastIndexedPosition(), fileBytes, { verifyCrc: false }, (batch) => {
      segment.onBatch(batch, this.configValue.indexIntervalBytes);
    });
    // Offsets are kept, so the segment still ends where the next one begins.
    segment.nextOffset = Math.max(segment.nextOffset, old.nextOffset);
    segment.rollStartMs = old.rollStartMs;
    // Compaction keeps offsets, so the old segment's append times (and their file) still hold.
    segment.appendTimes.adopt(old.appendTimes);
    this.segments[this.segments.indexOf(old)] = segment;
    // The tail cache must not keep serving the records compaction just removed.
    while (this.tailCache.length > 0 && this.tailCache.at(0).baseOffset < old.nextOffset) {
      this.tailCacheBytes -= this.tailCache.shift()!.records.length;
    }
    await old.closeWhenIdle();
    for (const suffix of ['.log', '.index', '.timeindex'])
      await io.unlink(`${stem}${suffix}.deleted`);
  }

  /** @internal Test hook: called at points of the swap so tests can crash there. */
  swapHook: ((point: 'committed') => Promise<void>) | null = null;

  // ───────────────────────────── close ─────────────────────────────

  /** Flushes everything, writes the active segment's indexes and the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.maintenance.run(async () => {
      if (this.expiryTimer) clearTimeout(this.expiryTimer);
      this.expiryTimer = null;
      if (!this.stickyError) {
        try {
          await this.flush();
        } catch {
          // The sticky error records it; the marker below is then skipped.
        }
      }
      this.closed = true;
      await this.pauseWriter();
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      const refused = new StorageError(
        StorageErrorCode.LOG_CLOSED,
        `log ${this.directory} closed before this append was written`,
        KafkaStorageErrorCode.KAFKA_STORAGE_ERROR,
      );
      for (const item of this.pending.takeAll()) rejectItem(item, refused);
      while (this.awaitingFlush.length > 0) rejectItem(this.awaitingFlush.shift()!, refused);
      for (const waiter of this.flushWaiters) waiter.reject(refused);
      this.flushWaiters = [];
      if (!this.stickyError) {
        const active = this.activeSegment;
        active.maybeAppendTimeIndexEntry();
        await active.appendTimes.syncAndClose();
        await active.writeIndexFiles(this.io);
        await this.io.writeFileAtomic(`${this.directory}/${CLEAN_SHUTDOWN_FILE}`, Buffer.alloc(0));
      }
      for (const segment of this.segments) await segment.closeWhenIdle();
    });
  }

  /** Closes the files and deletes the directory (the topic is being deleted). */
  async delete(): Promise<void> {
    await this.close();
    await this.io.removeDirectory(this.directory);
  }
}

function settle(item: PendingAppend): void {
  if (item.settled) return;
  item.settled = true;
  item.resolve();
}

function rejectItem(item: PendingAppend, error: Error): void {
  if (item.settled) return;
  item.settled = true;
  item.reject(error);
}

/** Compacted topics keep the newest record per key, so a record without a key has no place there. */
function requireKeys(records: Buffer, spans: BatchSpan[]): void {
  for (const span of spans) {
    if ((span.attributes & AttributeBit.control) !== 0) continue;
    const decoded = decodeBatchSync(
      records.subarray(span.position, span.position + span.sizeBytes),
    );
    for (const record of decoded.records) {
      if (record.key === null) {
        throw new RecordError(
          RecordErrorCode.INVALID_RECORD,
          'compacted topic cannot accept a record without a key',
        );
      }
    }
  }
}

/**
 * KIP-937: under CreateTime a batch whose timestamps lie further from the broker's clock than
 * message.timestamp.before.max.ms / after.max.ms is refused with INVALID_TIMESTAMP. Checked on
 * the header: its first timestamp against the past bound, its maxTimestamp against the future
 * one (-1, "no timestamp", is never refused, as in Kafka).
 */
function checkTimestampBounds(
  records: Buffer,
  span: BatchSpan,
  now: number,
  config: LogConfig,
): void {
  const firstTimestamp = readInt64(records, span.position + BatchField.baseTimestamp);
  const earliest = now - config.messageTimestampBeforeMaxMs;
  const latest = now + config.messageTimestampAfterMaxMs;
  const tooOld = firstTimestamp >= 0 && firstTimestamp < earliest;
  const tooNew = span.maxTimestamp >= 0 && span.maxTimestamp > latest;
  if (!tooOld && !tooNew) return;
  const [timestamp, setting] = tooOld
    ? [firstTimestamp, 'message.timestamp.before.max.ms']
    : [span.maxTimestamp, 'message.timestamp.after.max.ms'];
  throw new RecordError(
    RecordErrorCode.INVALID_TIMESTAMP,
    `batch at position ${span.position} has timestamp ${timestamp}, ${tooOld ? 'older' : 'newer'} than ${setting} allows (broker time ${now})`,
  );
}
