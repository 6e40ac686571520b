// Reads of one partition's log: recent appends from the tail cache (no file access), everything
// else from the segment files, whole batches at a time, with length, offset-order and (closed
// segments) CRC-32C checks on every batch served. Also the timestamp lookups (ListOffsets).
//
// The tail cache holds the appends the writer has not yet written and the most recent written
// ones up to its byte budget, and within the broker's bound on all caches together
// (tail-cache-budget.ts); the group-commit pipeline fills and trims it, truncation and compaction
// drop what they take away. Past its cap for unreplicated appends, or given up to the broker's
// bound, it keeps only weak references to a leader's unreplicated appends, which serve replica
// fetches while something else still holds the bytes. An append in a reused block (a large
// produce request's, util/reused-memory.ts) is served from a copy made on its first read, and
// holds the block until it is written and either copied out or dropped; never weakly.

import {
  AttributeBit,
  BATCH_HEADER_BYTES,
  BatchField,
  CURRENT_MAGIC,
  LOG_OVERHEAD_BYTES,
  hasValidCrc,
  readInt64,
} from '../record/batch.js';
import { forEachRecord } from '../record/records.js';
import { AppendQueue, type PendingAppend } from './append-queue.js';
import { KafkaStorageErrorCode, StorageError, StorageErrorCode } from './errors.js';
import type { ReadResult } from './log.js';
import { decompressionLimitOf, type LogConfig } from './log-config.js';
import type { LogSegments } from './log-segments.js';
import type { Segment } from './segment.js';
import { type BudgetedCache, type BudgetLink, TailCacheBudget } from './tail-cache-budget.js';
import { reusedBlockOf } from '../util/reused-memory.js';

/**
 * Default budget, per partition, of the tail cache of recently appended record sets: enough for
 * consumers at the tail to be served from memory; lagging consumers read the page cache.
 */
export const DEFAULT_TAIL_CACHE_BYTES = 1024 * 1024;

/**
 * The most appends the tail cache keeps within its budget: a producer with linger.ms=0 appends a
 * record or two at a time, and a 1 MiB budget of those is thousands of appends, each with a few
 * small objects that live long enough to be promoted to V8's old generation and die there: the
 * broker's heap doubled in bench:broker's end-to-end run (issue 14). 1,024 of them (0.1 s of such
 * a stream at 10k appends/s) were still most of what each scavenge copied and promoted; 128 (13 ms
 * of it) cut the end-to-end run's mark-compacts from 5-13 to 4 and its GC time by a quarter, and
 * are still more than a consumer at the tail is behind when the high watermark wakes it. Appends
 * a follower has yet to fetch stay regardless (TAIL_CACHE_UNREPLICATED_BYTES_MAX).
 */
export const TAIL_CACHE_APPENDS_MAX = 128;

/**
 * The most the tail cache keeps of appends its followers have not fetched yet, past its budget:
 * a leader's followers then copy whole produce requests from memory instead of re-reading them
 * from the segment file. Under acks=all those buffers are held until the followers have them
 * anyway (by the produce requests waiting for the high watermark), so this costs memory only
 * when followers lag under acks=0/1 or while one is about to leave the ISR.
 */
export const TAIL_CACHE_UNREPLICATED_BYTES_MAX = 32 * 1024 * 1024;

/**
 * An append of at most this many bytes that is a small part of a larger buffer (a slice of
 * Node's 8 KiB pool, a view of a socket read) is cached as a copy, in chunks every tail cache of
 * the process shares: kept as it came, a 200-byte append keeps its whole pool slab alive, and a
 * budget of 1 MiB of such appends held up to 30 MiB (bench:broker's end-to-end run, issue 14).
 * The chunks are shared so that many partitions with one small append each fill one chunk
 * between them, as they shared pool slabs; a chunk is freed once no cache holds a copy in it.
 */
const COPIED_APPEND_BYTES_MAX = 4 * 1024;
const COPY_CHUNK_BYTES = 16 * 1024;
let copyChunk: Buffer | null = null;
let copyChunkFilled = 0;

/** `records` copied into the shared chunks (see COPIED_APPEND_BYTES_MAX). */
function copiedToChunk(records: Buffer): Buffer {
  if (copyChunk === null || copyChunk.length - copyChunkFilled < records.length) {
    copyChunk = Buffer.allocUnsafeSlow(COPY_CHUNK_BYTES);
    copyChunkFilled = 0;
  }
  const start = copyChunkFilled;
  copyChunkFilled += records.copy(copyChunk, start);
  return copyChunk.subarray(start, copyChunkFilled);
}

/**
 * An unreplicated append dropped past TAIL_CACHE_UNREPLICATED_BYTES_MAX, held weakly: under
 * acks=all its produce request keeps the memory until the high watermark passes it, so while the
 * followers catch up after a burst they are served from it instead of the segment file, at no
 * cost in memory (the reference is to the ArrayBuffer, alive as long as any view of it is).
 */
interface WeakAppend {
  readonly memory: WeakRef<ArrayBufferLike>;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly baseOffset: number;
  readonly nextOffset: number;
  readonly spans: PendingAppend['spans'];
  readonly lastOffsets: readonly number[];
}

/**
 * A read is about to serve `item`, whose records lie in a reused block: what a read hands out
 * may live on in a response for as long as the socket takes, so it gets a copy of its own, and
 * the append now serves from that. The block is released once the append is written (until
 * then the writer may be reading the block's view); `evict` releases it then.
 */
function copyOut(item: PendingAppend): void {
  if (item.reused!.covers(item.records)) item.records = Buffer.from(item.records);
  if (item.written) release(item);
}

/** The cache no longer needs `item`'s reused block: neither the writer nor a read will. */
function release(item: PendingAppend): void {
  const block = item.reused!;
  item.reused = null;
  block.release();
}

/** Recent appends, oldest first, as the producers' own buffers. */
export class TailCache implements BudgetedCache {
  private readonly items = new AppendQueue();
  private bytes = 0;
  /** Appends ending above this offset are not yet on every follower (Infinity: no followers). */
  private replicatedOffset: () => number = () => Number.POSITIVE_INFINITY;
  /** Unreplicated appends dropped past the cap, oldest first, just below `items`. */
  private weak: WeakAppend[] = [];
  /** The broker's bound on every cache together; without one, a budget of this cache alone. */
  private readonly budget: TailCacheBudget;
  private readonly budgetLink: BudgetLink;
  /**
   * How many appends, from the oldest, are charged to the budget: the written ones, charged as
   * `evict` finds them written. An append is charged only once written, so the bound never
   * asks for one the writer still needs.
   */
  private charged = 0;

  constructor(
    private readonly bytesMax: number,
    private readonly unreplicatedBytesMax = TAIL_CACHE_UNREPLICATED_BYTES_MAX,
    budget?: TailCacheBudget,
  ) {
    this.budget = budget ?? new TailCacheBudget(Number.POSITIVE_INFINITY);
    this.budgetLink = this.budget.linkFor(this);
  }

  /**
   * While this log leads followers: `replicatedOffset` tells how far every in-sync follower has
   * fetched (the high watermark), and appends above it stay cached up to
   * TAIL_CACHE_UNREPLICATED_BYTES_MAX. Null: only the budget counts again.
   */
  retainUnreplicated(replicatedOffset: (() => number) | null): void {
    this.replicatedOffset = replicatedOffset ?? (() => Number.POSITIVE_INFINITY);
    if (replicatedOffset === null) this.weak = [];
  }

  /**
   * Caches an append (stamped: its bytes no longer change). A small append that is a view of a
   * much larger buffer is replaced by a copy, before its write, which then writes the copy. One
   * in a reused block (a large produce request's) holds the block: see `release`.
   */
  push(item: PendingAppend): void {
    const records = item.records;
    if (
      records.length <= COPIED_APPEND_BYTES_MAX &&
      records.buffer.byteLength >= 2 * records.length
    ) {
      item.records = copiedToChunk(records);
    }
    const block = reusedBlockOf(item.records);
    if (block !== null) {
      block.hold();
      item.reused = block;
    }
    this.items.push(item);
    this.bytes += item.records.length;
  }

  /**
   * After a write: charges the appends it wrote to the broker's bound, drops written appends from
   * the head while over budget or over TAIL_CACHE_APPENDS_MAX (the newest always stays), except
   * those a follower has yet to fetch, up to TAIL_CACHE_UNREPLICATED_BYTES_MAX; then holds the
   * broker's bound, which may take more.
   */
  evict(): void {
    while (this.charged < this.items.length && this.items.at(this.charged).written) {
      const item = this.items.at(this.charged);
      this.budget.took(this.budgetLink, item.records.length);
      if (item.reused !== null && !item.reused.covers(item.records)) release(item);
      this.charged++;
    }
    const replicatedOffset = this.replicatedOffset();
    const weak = this.weak;
    let replicated = 0;
    while (
      replicated < weak.length &&
      (weak[replicated].nextOffset <= replicatedOffset ||
        weak[replicated].memory.deref() === undefined)
    )
      replicated++;
    if (replicated > 0) weak.splice(0, replicated);
    while (
      (this.bytes > this.bytesMax || this.items.length > TAIL_CACHE_APPENDS_MAX) &&
      this.items.length > 1 &&
      this.items.at(0).written
    ) {
      const unreplicated = this.items.at(0).nextOffset > replicatedOffset;
      if (unreplicated && this.bytes <= this.unreplicatedBytesMax) break;
      this.dropOldest(unreplicated);
    }
    if (this.budget.isOver) this.budget.enforce();
  }

  /**
   * The broker's bound is over and this cache is among those written to least recently: its
   * written appends go, oldest first, the newest too, until the bound is met.
   */
  giveUp(): void {
    const replicatedOffset = this.replicatedOffset();
    while (this.budget.isOver && this.charged > 0)
      this.dropOldest(this.items.at(0).nextOffset > replicatedOffset);
  }

  /**
   * Drops the oldest append, holding it weakly if a follower has yet to fetch it (unless its
   * memory is a reused block's, which outlives the append).
   */
  private dropOldest(unreplicated: boolean): void {
    const inReusedBlock = this.items.at(0).reused?.covers(this.items.at(0).records) === true;
    const item = this.shiftOldest();
    if (unreplicated && !inReusedBlock) {
      this.weak.push({
        memory: new WeakRef(item.records.buffer),
        byteOffset: item.records.byteOffset,
        byteLength: item.records.length,
        baseOffset: item.baseOffset,
        nextOffset: item.nextOffset,
        spans: item.spans,
        lastOffsets: item.lastOffsets,
      });
    }
  }

  /** Every append leaving from the head passes here: this cache's bytes and the broker's bound. */
  private shiftOldest(): PendingAppend {
    const item = this.items.shift()!;
    // Unwritten, the writer may still need the block; it is left to the collector then.
    if (item.reused !== null && item.written) release(item);
    this.bytes -= item.records.length;
    if (this.charged > 0) {
      this.charged--;
      this.budget.dropped(this.budgetLink, item.records.length, this.charged === 0);
    }
    return item;
  }

  /** Drops the appends a failed write refused (at the end, never charged). */
  dropUnwritten(): void {
    while (this.items.length > this.charged && !this.items.at(this.items.length - 1).written)
      this.bytes -= this.items.pop()!.records.length;
  }

  /** Drops appends that start below `offset` (compaction rewrote them). */
  dropBelow(offset: number): void {
    this.weak = this.weak.filter((append) => append.baseOffset >= offset);
    while (this.items.length > 0 && this.items.at(0).baseOffset < offset) this.shiftOldest();
  }

  clear(): void {
    while (this.items.length > 0) this.shiftOldest();
    this.items.clear();
    this.weak = [];
  }

  /** The largest timestamp of an append not yet written (so not yet in any segment). */
  maxUnwrittenTimestamp(best: { offset: number; timestamp: number }): {
    offset: number;
    timestamp: number;
  } {
    for (let index = 0; index < this.items.length; index++) {
      const item = this.items.at(index);
      if (item.written) continue;
      item.maxTimestamps.forEach((value, spanIndex) => {
        if (value > best.timestamp)
          best = { offset: item.lastOffsets[spanIndex], timestamp: value };
      });
    }
    return best;
  }

  /** As SegmentReader.read, or null when `offset` is older than the cache. */
  read(
    offset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch: boolean,
  ): ReadResult | null {
    const cache = this.items;
    if (cache.length === 0) return null;
    const into: ReadResult = { chunks: [], byteLength: 0 };
    const bounds = { offset, maxBytes, maxOffset, minOneBatch };
    let entry = 0;
    if (offset < cache.at(0).baseOffset) {
      // Below the cached appends: from the weakly held ones while their memory is alive, then on
      // into the cache; null (read the file) when the one holding `offset` is gone or unknown.
      const weak = this.weak;
      let index = weak.length - 1;
      while (index >= 0 && weak[index].baseOffset > offset) index--;
      if (index < 0 || weak[index].nextOffset <= offset) return null;
      for (; index < weak.length; index++) {
        const append = weak[index];
        const memory = append.memory.deref();
        if (memory === undefined) return into.chunks.length > 0 ? into : null;
        const records = Buffer.from(memory, append.byteOffset, append.byteLength);
        if (!collect(records, append.spans, append.lastOffsets, bounds, into)) return into;
      }
    } else {
      let low = 0;
      let high = cache.length - 1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        if (cache.at(middle).baseOffset <= offset) {
          entry = middle;
          low = middle + 1;
        } else {
          high = middle - 1;
        }
      }
    }
    for (; entry < cache.length; entry++) {
      const item = cache.at(entry);
      if (item.reused !== null) copyOut(item);
      if (!collect(item.records, item.spans, item.lastOffsets, bounds, into)) return into;
    }
    return into;
  }
}

/**
 * Adds to `into` the batches of one append (`records`, its spans and their last offsets) from
 * the one holding `offset`, as one view; false once a batch does not fit in `maxBytes` (the first
 * one always does with `minOneBatch`) or reaches `maxOffset`: the read ends there.
 */
function collect(
  records: Buffer,
  spans: PendingAppend['spans'],
  lastOffsets: readonly number[],
  bounds: { offset: number; maxBytes: number; maxOffset: number; minOneBatch: boolean },
  into: ReadResult,
): boolean {
  const { offset, maxBytes, maxOffset, minOneBatch } = bounds;
  let runStart = -1;
  let runEnd = -1;
  for (let spanIndex = 0; spanIndex < spans.length; spanIndex++) {
    const lastOffset = lastOffsets[spanIndex];
    if (lastOffset < offset) continue;
    const span = spans[spanIndex];
    const fits =
      into.byteLength + span.sizeBytes <= maxBytes || (into.byteLength === 0 && minOneBatch);
    if (lastOffset >= maxOffset || !fits) {
      if (runStart >= 0) into.chunks.push(records.subarray(runStart, runEnd));
      return false;
    }
    if (runStart < 0) runStart = span.position;
    runEnd = span.position + span.sizeBytes;
    into.byteLength += span.sizeBytes;
  }
  if (runStart >= 0) into.chunks.push(records.subarray(runStart, runEnd));
  return true;
}

export class SegmentReader {
  constructor(
    private readonly segments: LogSegments,
    private readonly tailCache: TailCache,
    private readonly config: () => LogConfig,
    /** Told of every corrupt batch found (before the read fails with it). */
    private readonly onCorruption: (error: StorageError) => void,
  ) {}

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch unless
   * minOneBatch is false), never one whose last offset reaches `maxOffset`. The caller checks
   * that `offset` is inside the log and clips `maxOffset` to its end.
   */
  async read(
    offset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch: boolean,
  ): Promise<ReadResult> {
    const cached = this.tailCache.read(offset, maxBytes, maxOffset, minOneBatch);
    if (cached) return cached;
    const segments = this.segments;
    let searchFrom = offset;
    while (true) {
      let index = segments.indexFor(searchFrom);
      while (
        index < segments.count &&
        (searchFrom >= segments.at(index).nextOffset || segments.at(index).isEmpty)
      )
        index++;
      if (index >= segments.count) break;
      const segment = segments.at(index);
      const isActive = index === segments.count - 1;
      const result = await this.readSegment(
        segment,
        offset,
        maxBytes,
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
        Math.max(maxBytes, 0) + this.config().indexIntervalBytes + BATCH_HEADER_BYTES * 4;
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
    this.onCorruption(error);
    return error;
  }

  /** The first record at or above `logStartOffset` whose timestamp is >= `timestamp`, or null. */
  async offsetForTimestamp(
    timestamp: number,
    logStartOffset: () => number,
  ): Promise<{ offset: number; timestamp: number } | null> {
    for (const segment of this.segments.snapshot()) {
      if (
        segment.isEmpty ||
        segment.maxTimestamp < timestamp ||
        segment.nextOffset <= logStartOffset()
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
            if (batch.maxTimestamp < timestamp || batch.lastOffset < logStartOffset()) return true;
            // Records are read as they decompress, and reading stops at the first match.
            const limit = decompressionLimitOf(this.config());
            const isLogAppendTime =
              (batch.buffer.readInt16BE(batch.offsetInBuffer + BatchField.attributes) &
                AttributeBit.logAppendTime) !==
              0;
            forEachRecord(batch.buffer, batch.offsetInBuffer, limit, (record) => {
              const recordTimestamp = isLogAppendTime ? batch.maxTimestamp : record.timestamp;
              if (recordTimestamp >= timestamp && record.offset >= logStartOffset()) {
                found = { offset: record.offset, timestamp: recordTimestamp };
                return false;
              }
              return true;
            });
            if (found) return false;
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
    return this.tailCache.maxUnwrittenTimestamp(best);
  }
}
