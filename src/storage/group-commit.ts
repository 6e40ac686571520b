// The append pipeline of one partition's log: the single writer that writes queued appends in
// order and the flusher that makes them durable, and the offsets and sticky error they own.
//
// Owned by one PartitionLog. Concurrency rules, since everything runs on one event loop:
// - `PartitionLog.append` does all of its bookkeeping synchronously (validation, offset
//   assignment, tail cache) and only queues the write (`enqueue`); the single writer task writes
//   queued appends in order.
// - At most one fsync is in flight; appends written while it runs are covered by the next one.
//   A roll waits for the flusher's fsync of the closed segment rather than making its own.
// - Truncation, retention, record deletion and compaction swaps take the log's maintenance lock
//   and `pause` the pipeline, so they never interleave with each other or with a write.
// - A failed fsync is sticky: the page cache may have dropped the data, so nothing pending is
//   ever acknowledged and every later append and flush is refused with the same error until the
//   log is reopened. A failed write is cut back to the last whole batch; only a full disk
//   (ENOSPC) clears once that cut succeeds.
// - An invariant failure (a bug) is never caught here: it is not a disk failure and is never
//   reported as one.
//
//   append ─► pending ─► writer (writev) ─► writtenOffset ─► flusher (fdatasync) ─► flushedOffset
//     └──────► tail cache (serves reads of recent batches without touching the file)
//
// Small groups: under the default policy (acknowledged after the fsync) a group of at most
// WRITE_SYNC_BYTES_MAX bytes is written with a synchronous writev on the event loop when its file
// has a descriptor at hand, not through the thread pool. Many small produce requests (linger.ms
// 0) make groups of a few hundred bytes: there a thread-pool round trip costs some 30 us of CPU
// and a wake-up of the loop per group, and delays the fsync it is waiting for, where the syscall
// itself takes a microsecond or two (the page cache takes the bytes; with an fsync after every
// group, dirty pages never pile up to where the kernel would make the write wait). Larger groups,
// a file being reopened, and looser flush policies (whose dirty pages can pile up) keep the
// asynchronous write. Either way a failure takes the same path (handleWriteFailure). A write to
// the page cache can still wait (ext4 starting a journal handle while a commit has the
// transaction locked, a lost core): one that held the loop WRITE_SYNC_SLOW_MS or more sends the
// groups through the pool for WRITE_SYNC_BACKOFF_MS: those of every log sharing its
// WriteSyncBackoff (a LogManager gives one to all the logs of its directory, whose file system
// makes them all wait alike; with thousands of partitions, a back-off per log would let each of
// them stall the loop in turn).

import { assert } from '../util/assert.js';
import { AppendQueue, rejectItem, settle, type PendingAppend } from './append-queue.js';
import { appendTimeResolutionMs } from './append-time-index.js';
import { KafkaStorageErrorCode, StorageError, StorageErrorCode } from './errors.js';
import type { FileIo } from './file-io.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import { acknowledgesAfterFsync, type LogConfig } from './log-config.js';
import type { LogSegments } from './log-segments.js';
import type { Segment } from './segment.js';
import type { TailCache } from './segment-reader.js';

/** setTimeout's largest delay. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/** The longest a deferFlush append stays unflushed when nothing else asks for an fsync. */
export const DEFERRED_FLUSH_MS = 1000;
/**
 * A group of at most this many bytes is written on the event loop (LogFile.writeSync) under the
 * default flush policy: see "Small groups" in the header.
 */
export const WRITE_SYNC_BYTES_MAX = 64 * 1024;
/** A synchronous write that held the event loop this long... */
export const WRITE_SYNC_SLOW_MS = 1;
/** ...turns them off for this long: the pool's writes take the wait off the loop meanwhile. */
export const WRITE_SYNC_BACKOFF_MS = 1000;

/** Until `offUntilMs` (performance.now()) the logs sharing it write small groups through the pool. */
export interface WriteSyncBackoff {
  offUntilMs: number;
}

interface FlushWaiter {
  offset: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** What the pipeline needs of its log, and how it tells the log's listeners. */
export interface GroupCommitContext {
  readonly segments: LogSegments;
  readonly tailCache: TailCache;
  readonly leaderEpochCache: LeaderEpochCache;
  readonly io: FileIo;
  config(): LogConfig;
  clock(): number;
  notify(event: 'written' | 'flush' | 'error', value: unknown): void;
  /** Shared by the logs of one directory; a log of its own when absent. */
  readonly writeSyncBackoff?: WriteSyncBackoff;
}

/** A failed write: the error and the appends of the group that did not reach the file. */
interface WriteFailure {
  error: unknown;
  unwritten: PendingAppend[];
}

export function storageFailure(error: unknown, what: string): StorageError {
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

export class GroupCommit {
  /** The offset the next append gets (includes appends not yet written). */
  private logEndOffsetValue: number;
  /** Everything below it is in the segment files (page cache at least). */
  private writtenOffsetValue: number;
  /** Everything below it survived an fdatasync. */
  private flushedOffsetValue: number;
  private unflushedRecords = 0;

  private readonly pending = new AppendQueue();
  private readonly awaitingFlush = new AppendQueue();
  private flushWaiters: FlushWaiter[] = [];

  private writing = false;
  private writeScheduled = false;
  private flushing = false;
  private paused = 0;
  private idleWaiters: Array<() => void> = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly writeSyncBackoff: WriteSyncBackoff;

  /** Set after a failed write or fsync: appends are refused with it. */
  private stickyError: StorageError | null = null;

  /** Starts with everything below `logEndOffset` written and durable (as recovery leaves it). */
  constructor(
    private readonly context: GroupCommitContext,
    logEndOffset: number,
  ) {
    this.logEndOffsetValue = logEndOffset;
    this.writtenOffsetValue = logEndOffset;
    this.flushedOffsetValue = logEndOffset;
    this.writeSyncBackoff = context.writeSyncBackoff ?? { offUntilMs: 0 };
  }

  get logEndOffset(): number {
    return this.logEndOffsetValue;
  }

  get writtenOffset(): number {
    return this.writtenOffsetValue;
  }

  get flushedOffset(): number {
    return this.flushedOffsetValue;
  }

  get error(): StorageError | null {
    return this.stickyError;
  }

  /** A log whose directory could not be opened (offline-log.ts): `error` refuses every append. */
  refuseFromOpen(error: StorageError): void {
    this.stickyError = error;
  }

  /** Whether a write or fsync failure made the log unusable until it is reopened. */
  get failed(): boolean {
    return this.stickyError?.code === StorageErrorCode.STORAGE_FAILED;
  }

  /** Queues an append whose offsets were assigned from `logEndOffset`; it moves the log end to its end. */
  enqueue(item: PendingAppend): void {
    assert(
      item.nextOffset > this.logEndOffsetValue,
      `append would move the log end offset from ${this.logEndOffsetValue} to ${item.nextOffset}`,
    );
    this.logEndOffsetValue = item.nextOffset;
    this.pending.push(item);
    this.context.tailCache.push(item);
    this.scheduleWrite();
  }

  /** The flush policy changed: what is written may be due now. */
  configChanged(): void {
    if (this.writtenOffsetValue > this.flushedOffsetValue) this.requestFlush();
  }

  /** Resolves once everything below `offset` has survived an fsync. Rejects if that can no longer happen. */
  waitForFlush(offset: number): Promise<void> {
    if (offset <= this.flushedOffsetValue) return Promise.resolve();
    if (this.failed) return Promise.reject(this.stickyError!);
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ offset, resolve, reject });
      if (this.writtenOffsetValue > this.flushedOffsetValue) this.startFlush();
    });
  }

  /** Forces an fsync of everything written so far (close, tests, looser flush policies). */
  async flush(): Promise<void> {
    await this.waitForIdle();
    await this.waitForFlush(this.writtenOffsetValue);
  }

  // ───────────────────────────── writer ─────────────────────────────

  private scheduleWrite(): void {
    if (this.writing || this.writeScheduled || this.paused > 0 || this.pending.length === 0) return;
    this.writeScheduled = true;
    // Deferred to the end of the current microtask queue so that appends made in the same tick
    // (many producers woken by one fsync) share one writev.
    queueMicrotask(() => {
      this.writeScheduled = false;
      if (this.writing || this.paused > 0 || this.pending.length === 0) {
        this.notifyIdle();
        return;
      }
      this.writing = true;
      void this.writeLoop();
    });
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.pending.length > 0 && this.paused === 0 && !this.stickyError) {
        const failure = await this.writeGroup(this.pending.takeAll());
        if (failure !== null) {
          await this.handleWriteFailure(failure.error, failure.unwritten);
          break;
        }
        this.context.tailCache.evict();
        this.requestFlush();
      }
    } finally {
      this.writing = false;
      if (this.pending.length > 0 && !this.stickyError) this.scheduleWrite();
      else this.notifyIdle();
    }
  }

  /**
   * Writes a group of appends, one writev per segment it reaches. Only the I/O is guarded: a
   * failure there is returned with the appends not written; the bookkeeping after each write
   * (and its invariant checks) runs outside, so a bug is never mistaken for a disk failure.
   */
  private async writeGroup(group: PendingAppend[]): Promise<WriteFailure | null> {
    const { leaderEpochCache } = this.context;
    const config = this.context.config();
    const segmentBytes = config.segmentBytes;
    const writeSyncBytesMax =
      acknowledgesAfterFsync(config) && performance.now() >= this.writeSyncBackoff.offUntilMs
        ? WRITE_SYNC_BYTES_MAX
        : 0;
    let index = 0;
    while (index < group.length) {
      const start = index;
      let segment: Segment;
      let position: number;
      try {
        if (index === 0 && leaderEpochCache.dirty) await leaderEpochCache.persist();
        if (this.shouldRoll(this.context.segments.active, group[index]))
          await this.roll(group[index].baseOffset);
        segment = this.context.segments.active;
        const buffers: Buffer[] = [];
        let bytes = 0;
        while (
          index < group.length &&
          (buffers.length === 0 ||
            segment.sizeBytes + bytes + group[index].records.length <= segmentBytes)
        ) {
          buffers.push(group[index].records);
          bytes += group[index].records.length;
          index++;
        }
        position = segment.sizeBytes;
        if (!(bytes <= writeSyncBytesMax && this.writeSync(segment, buffers, position)))
          await segment.logFile.write(buffers, position);
      } catch (error) {
        return { error, unwritten: group.slice(start) };
      }
      this.noteWritten(segment, group, start, index, position);
    }
    return null;
  }

  /** A small group's write on the event loop (see the header); false when the file offers none. */
  private writeSync(segment: Segment, buffers: Buffer[], position: number): boolean {
    const startedMs = performance.now();
    const written = segment.logFile.writeSync?.(buffers, position) ?? false;
    const tookMs = performance.now() - startedMs;
    if (tookMs >= WRITE_SYNC_SLOW_MS)
      this.writeSyncBackoff.offUntilMs = startedMs + tookMs + WRITE_SYNC_BACKOFF_MS;
    return written;
  }

  /** Indexes appends `group[start..end)`, now in `segment` from `position`, and hands them to the flusher. */
  private noteWritten(
    segment: Segment,
    group: PendingAppend[],
    start: number,
    end: number,
    position: number,
  ): void {
    const config = this.context.config();
    // Append times are noted only for batches now in the file, and reach the disk later
    // (with the next fsync): an entry for bytes a failed write takes back could otherwise
    // date the offsets' next owners too early.
    const resolutionMs = appendTimeResolutionMs(config.retentionMs);
    for (let itemIndex = start; itemIndex < end; itemIndex++)
      segment.appendTimes.record(
        group[itemIndex].appendTimeMs,
        group[itemIndex].nextOffset,
        resolutionMs,
      );
    const afterFsync = acknowledgesAfterFsync(config);
    let at = position;
    for (let itemIndex = start; itemIndex < end; itemIndex++) {
      const item = group[itemIndex];
      item.spans.forEach((span, spanIndex) => {
        segment.onBatch(
          {
            position: at + span.position,
            sizeBytes: span.sizeBytes,
            lastOffset: item.lastOffsets[spanIndex],
            maxTimestamp: item.maxTimestamps[spanIndex],
          },
          config.indexIntervalBytes,
        );
      });
      at += item.records.length;
      item.written = true;
      this.writtenOffsetValue = item.nextOffset;
      this.unflushedRecords += item.recordsCount;
      if (afterFsync && !item.deferFlush) this.awaitingFlush.push(item);
      else settle(item);
    }
    assert(
      segment.sizeBytes === at,
      `segment ${segment.baseOffset} size ${segment.sizeBytes} != written end ${at}`,
    );
    this.context.notify('written', this.writtenOffsetValue);
  }

  private shouldRoll(segment: Segment, next: PendingAppend): boolean {
    if (segment.isEmpty) return false;
    const config = this.context.config();
    return (
      segment.sizeBytes + next.records.length > config.segmentBytes ||
      this.context.clock() - segment.rollStartMs >= config.segmentMs ||
      next.nextOffset - 1 - segment.baseOffset > 0x7fffffff
    );
  }

  /**
   * Makes the active segment durable with its indexes, then starts a new one at `baseOffset`.
   * The segment's fsync is the flusher's, awaited: an fsync of its own could run beside the
   * flusher's on the same descriptor, and the kernel reports a writeback error to only one of
   * two such fsyncs, so the other could acknowledge appends whose pages were lost. A failure
   * is therefore the flusher's too (sticky, every unacknowledged append refused).
   */
  private async roll(baseOffset: number): Promise<void> {
    const { segments, io } = this.context;
    const old = segments.active;
    old.maybeAppendTimeIndexEntry();
    await this.waitForFlush(this.writtenOffsetValue);
    await old.appendTimes.syncAndClose();
    await old.writeIndexFiles(io);
    segments.push(await segments.create(baseOffset));
  }

  /**
   * A write failed. Everything not yet written is refused and the log end offset goes back to the
   * last whole batch on disk; the file is cut back there so no partial batch remains. A full disk
   * is recoverable (appends work again once the cut succeeds); any other error is sticky.
   */
  private async handleWriteFailure(error: unknown, unwritten: PendingAppend[]): Promise<void> {
    const segment = this.context.segments.active;
    // Already failed: the flusher's fsync failed while a roll waited for it, and the log refused
    // what it held then; the group in hand goes the same way, nothing is cut back.
    const fsyncFailed = this.failed;
    const failure = fsyncFailed
      ? this.stickyError!
      : storageFailure(error, `write to ${segment.logPath}`);
    this.stickyError = failure;
    const refused = [...unwritten, ...this.pending.takeAll()];
    for (const item of refused) rejectItem(item, failure);
    this.context.tailCache.dropUnwritten();
    this.logEndOffsetValue = this.writtenOffsetValue;
    this.context.leaderEpochCache.truncateFromEnd(this.logEndOffsetValue);
    if (fsyncFailed) return;
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
    // A failed log starts no fsync again: the appends written before this one and still waiting
    // for theirs are refused too, never left waiting (a full disk's cut, once done, flushes them);
    // an fsync in flight settles those it covers first, and the flusher refuses the rest.
    if (this.failed && !this.flushing) this.refuseAll(this.stickyError!);
    this.context.notify('error', failure);
  }

  // ───────────────────────────── flusher ─────────────────────────────

  private requestFlush(): void {
    if (this.writtenOffsetValue <= this.flushedOffsetValue) return;
    const config = this.context.config();
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
    if (this.flushing || this.failed) return;
    this.flushing = true;
    void this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    let target = 0;
    let records = 0;
    try {
      while (this.writtenOffsetValue > this.flushedOffsetValue && !this.failed) {
        target = this.writtenOffsetValue;
        records = this.unflushedRecords;
        const segment = this.context.segments.active;
        // The append times of what was written go out beside the fsync (not covered by it) when
        // an entry started since their last write, none on the writer's path.
        try {
          if (segment.appendTimes.writeDue)
            await Promise.all([segment.logFile.datasync(), segment.appendTimes.writeDirty()]);
          else await segment.logFile.datasync();
        } catch (error) {
          this.failFsync(error);
          break;
        }
        this.unflushedRecords = Math.max(0, this.unflushedRecords - records);
        this.markFlushed(target);
        // Go on only for appends or waiters asking for it (not for deferFlush appends alone).
        if (this.awaitingFlush.length === 0 && this.flushWaiters.length === 0) break;
      }
    } finally {
      this.flushing = false;
      // Failed meanwhile (a write): nothing will flush what is left.
      if (this.failed) this.refuseAll(this.stickyError!);
      this.notifyIdle();
      if (this.writtenOffsetValue > this.flushedOffsetValue && !this.stickyError)
        this.requestFlush();
    }
  }

  private markFlushed(offset: number): void {
    if (offset <= this.flushedOffsetValue) return;
    this.flushedOffsetValue = offset;
    if (this.flushTimer && this.writtenOffsetValue <= offset) {
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
    this.context.notify('flush', offset);
  }

  /** An fsync failed: the page cache may have dropped the data, so nothing pending is ever acknowledged. */
  private failFsync(error: unknown): void {
    const failure = storageFailure(error, `fdatasync of ${this.context.segments.active.logPath}`);
    const permanent = new StorageError(
      StorageErrorCode.STORAGE_FAILED,
      failure.message,
      failure.kafkaErrorCode,
      { cause: error },
    );
    this.stickyError = permanent;
    this.refuseAll(permanent);
    this.context.notify('error', permanent);
  }

  // ───────────────────────────── pausing and stopping ─────────────────────────────

  private notifyIdle(): void {
    if (this.writing || this.flushing || this.writeScheduled) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Resolves once nothing is being written or flushed and nothing writable is queued. */
  private waitForIdle(): Promise<void> {
    if (
      !this.writing &&
      !this.flushing &&
      !this.writeScheduled &&
      (this.pending.length === 0 || this.paused > 0 || this.stickyError)
    ) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
    }).then(() => this.waitForIdle());
  }

  /** Stops the writer and flusher, for operations that change segments under them. */
  async pause(): Promise<void> {
    this.paused++;
    while (this.writing || this.flushing || this.writeScheduled) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  resume(): void {
    this.paused--;
    this.scheduleWrite();
  }

  /** Refuses every append not yet written (truncation takes their offsets back; the caller resets them). */
  refusePending(error: Error): void {
    for (const item of this.pending.takeAll()) rejectItem(item, error);
  }

  /** Refuses every append and flush waiter not yet settled (fsync failure, close). */
  refuseAll(error: Error): void {
    while (this.awaitingFlush.length > 0) rejectItem(this.awaitingFlush.shift()!, error);
    this.refusePending(error);
    for (const waiter of this.flushWaiters) waiter.reject(error);
    this.flushWaiters = [];
  }

  /**
   * After truncation (paused, nothing pending): the log now ends at `logEndOffset`, all of it
   * written, and `flushedOffset` of it durable.
   */
  restartAt(logEndOffset: number, flushedOffset: number): void {
    this.logEndOffsetValue = logEndOffset;
    this.writtenOffsetValue = logEndOffset;
    this.flushedOffsetValue = flushedOffset;
    this.unflushedRecords = 0;
  }

  /** For close: no timer may fire after this. */
  stopTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }
}
