// One segment of a partition log: `<base offset>.log` and its sparse `.index` / `.timeindex`,
// laid out as Kafka lays them out.
//
//   .index      entries of (offset - baseOffset: int32, position of the batch in .log: int32),
//               one per index.interval.bytes; the offset is the batch's last offset, so the
//               batch holding offset O starts at or after the floor entry for O.
//   .timeindex  entries of (largest timestamp so far: int64, its offset - baseOffset: int32).
//   .appendtime when the broker appended the batches, for time retention (append-time-index.ts).
//
// The index of the active segment lives in memory and is written out when the segment rolls and
// when the log closes; after an unclean stop the active segment is rescanned, so its index files
// never need to be written on the append path.

import {
  BATCH_HEADER_BYTES,
  BatchField,
  CURRENT_MAGIC,
  LOG_OVERHEAD_BYTES,
  hasValidCrc,
  readInt64,
} from '../record/batch.js';
import { AppendTimeIndex } from './append-time-index.js';
import type { FileIo, LogFile } from './file-io.js';
import { assert } from '../util/assert.js';

const EMPTY = Buffer.alloc(0);
export const OFFSET_INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;
/** Scans read this much of a segment at a time, so memory stays bounded. */
export const SCAN_WINDOW_BYTES = 1024 * 1024;

export function segmentFileName(
  baseOffset: number,
  suffix: '.log' | '.index' | '.timeindex' | '.txnindex' | '.appendtime',
): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

export function parseSegmentBaseOffset(name: string): number | null {
  const match = /^(\d{20})\.log$/.exec(name);
  return match ? Number(match[1]) : null;
}

const NO_VALUES = new Float64Array(0);
const FIRST_CAPACITY = 64;

/** A growable array of numbers backed by a typed array, for index entries. */
class NumberColumn {
  /** Allocated at the first push: most segments of an idle broker never index anything. */
  private values = NO_VALUES;
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(Math.max(FIRST_CAPACITY, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  get(index: number): number {
    return this.values[index];
  }

  /** Index of the last value <= target (the column is sorted), or -1. */
  floorIndex(target: number): number {
    let low = 0;
    let high = this.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.values[middle] <= target) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Index of the last value < target, or -1 (values are whole numbers: offsets, positions, timestamps). */
  lowerIndex(target: number): number {
    return this.floorIndex(Math.ceil(target) - 1);
  }

  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }
}

/** What a scan found at one batch. */
export interface ScannedBatch {
  /** The buffer holding the whole batch, and where in it the batch starts. */
  buffer: Buffer;
  offsetInBuffer: number;
  /** Where the batch starts in the segment file. */
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export interface ScanResult {
  /** The position after the last valid batch. */
  validBytes: number;
  /** Why the scan stopped early, or null when it reached `end`. */
  problem: string | null;
  /** Set when the visitor asked to stop: the position of the batch it declined. */
  stoppedAt?: number;
}

export class Segment {
  readonly baseOffset: number;
  readonly directory: string;
  logFile: LogFile;
  /** Bytes of whole batches in the file (the file may be longer only while a write is failing). */
  sizeBytes = 0;
  /** The index files' bytes as last loaded or written; null when unknown or since changed on disk. */
  private persistedIndexes: { offsetIndex: Buffer; timeIndex: Buffer } | null = null;
  /** The offset after this segment's last batch; baseOffset while it is empty. */
  nextOffset: number;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** The moment segment.ms counts from: the first batch's timestamp or its first append. */
  rollStartMs = -1;
  /** Reads in progress; the file is closed only when none remain. */
  readers = 0;
  /** When the broker appended each batch (what time retention measures by default). */
  appendTimes: AppendTimeIndex;
  private closeRequested: (() => void) | null = null;

  private bytesSinceLastIndexEntry = 0;
  private readonly indexRelativeOffsets = new NumberColumn();
  private readonly indexPositions = new NumberColumn();
  private readonly timeIndexTimestamps = new NumberColumn();
  private readonly timeIndexRelativeOffsets = new NumberColumn();

  constructor(directory: string, baseOffset: number, logFile: LogFile) {
    this.directory = directory;
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.logFile = logFile;
    this.appendTimes = new AppendTimeIndex(
      `${directory}/${segmentFileName(baseOffset, '.appendtime')}`,
      baseOffset,
    );
  }

  get logPath(): string {
    return `${this.directory}/${segmentFileName(this.baseOffset, '.log')}`;
  }

  get indexPath(): string {
    return `${this.directory}/${segmentFileName(this.baseOffset, '.index')}`;
  }

  get timeIndexPath(): string {
    return `${this.directory}/${segmentFileName(this.baseOffset, '.timeindex')}`;
  }

  get appendTimePath(): string {
    return this.appendTimes.path;
  }

  /** The aborted-transaction index of the segment, written by the partition (src/replica/transaction-index.ts). */
  get txnIndexPath(): string {
    return `${this.directory}/${segmentFileName(this.baseOffset, '.txnindex')}`;
  }

  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  get indexEntries(): number {
    return this.indexPositions.length;
  }

  /** Records one whole batch that now lies at `position`: advances the sparse indexes. */
  onBatch(
    batch: { position: number; sizeBytes: number; lastOffset: number; maxTimestamp: number },
    indexIntervalBytes: number,
  ): void {
    if (batch.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batch.maxTimestamp;
      this.offsetOfMaxTimestamp = batch.lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      this.indexRelativeOffsets.push(batch.lastOffset - this.baseOffset);
      this.indexPositions.push(batch.position);
      this.maybeAppendTimeIndexEntry();
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batch.sizeBytes;
    this.nextOffset = batch.lastOffset + 1;
    this.sizeBytes = Math.max(this.sizeBytes, batch.position + batch.sizeBytes);
  }

  /** Kafka adds a last time index entry when a segment stops being active, so lookups see its maximum. */
  maybeAppendTimeIndexEntry(): void {
    if (this.maxTimestamp < 0) return;
    const count = this.timeIndexTimestamps.length;
    if (count > 0 && this.timeIndexTimestamps.get(count - 1) >= this.maxTimestamp) return;
    this.timeIndexTimestamps.push(this.maxTimestamp);
    this.timeIndexRelativeOffsets.push(this.offsetOfMaxTimestamp - this.baseOffset);
  }

  /** The file position to start scanning from for `offset`: the batch holding it starts there or later. */
  lookupPosition(offset: number): number {
    const entry = this.indexRelativeOffsets.floorIndex(offset - this.baseOffset);
    return entry < 0 ? 0 : this.indexPositions.get(entry);
  }

  /** The position from which a scan finds the first batch whose maxTimestamp is >= `timestamp`. */
  lookupTimestampPosition(timestamp: number): number {
    const entry = this.timeIndexTimestamps.lowerIndex(timestamp);
    if (entry < 0) return 0;
    return this.lookupPosition(this.timeIndexRelativeOffsets.get(entry) + this.baseOffset);
  }

  /** Forgets everything at or after `position` (the caller truncates the file). */
  truncateIndexes(position: number, lastOffsetBefore: number): void {
    let keep = this.indexPositions.length;
    while (keep > 0 && this.indexPositions.get(keep - 1) >= position) keep--;
    this.indexPositions.truncate(keep);
    this.indexRelativeOffsets.truncate(keep);
    let keepTime = this.timeIndexTimestamps.length;
    while (
      keepTime > 0 &&
      this.timeIndexRelativeOffsets.get(keepTime - 1) + this.baseOffset > lastOffsetBefore
    )
      keepTime--;
    this.timeIndexTimestamps.truncate(keepTime);
    this.timeIndexRelativeOffsets.truncate(keepTime);
  }

  resetIndexes(): void {
    this.persistedIndexes = null;
    this.indexPositions.truncate(0);
    this.indexRelativeOffsets.truncate(0);
    this.timeIndexTimestamps.truncate(0);
    this.timeIndexRelativeOffsets.truncate(0);
    this.bytesSinceLastIndexEntry = 0;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.rollStartMs = -1;
    this.sizeBytes = 0;
    this.nextOffset = this.baseOffset;
  }

  encodeOffsetIndex(): Buffer {
    const count = this.indexPositions.length;
    const buffer = Buffer.alloc(count * OFFSET_INDEX_ENTRY_BYTES);
    for (let entry = 0; entry < count; entry++) {
      buffer.writeInt32BE(this.indexRelativeOffsets.get(entry), entry * OFFSET_INDEX_ENTRY_BYTES);
      buffer.writeInt32BE(this.indexPositions.get(entry), entry * OFFSET_INDEX_ENTRY_BYTES + 4);
    }
    return buffer;
  }

  encodeTimeIndex(): Buffer {
    const count = this.timeIndexTimestamps.length;
    const buffer = Buffer.alloc(count * TIME_INDEX_ENTRY_BYTES);
    for (let entry = 0; entry < count; entry++) {
      const at = entry * TIME_INDEX_ENTRY_BYTES;
      const timestamp = this.timeIndexTimestamps.get(entry);
      buffer.writeInt32BE(Math.floor(timestamp / 4294967296), at);
      buffer.writeUInt32BE(timestamp >>> 0, at + 4);
      buffer.writeInt32BE(this.timeIndexRelativeOffsets.get(entry), at + 8);
    }
    return buffer;
  }

  /**
   * Loads index files written by a previous run. Returns false (leaving the indexes empty) when
   * either is missing or fails its sanity check, so the caller rebuilds them by scanning.
   */
  loadIndexes(offsetIndex: Buffer | null, timeIndex: Buffer | null, fileBytes: number): boolean {
    this.resetIndexes();
    if (offsetIndex === null && timeIndex === null && fileBytes === 0) {
      // An empty segment has nothing to index: its index files need not exist (a new log writes
      // none until it holds records).
      this.persistedIndexes = { offsetIndex: EMPTY, timeIndex: EMPTY };
      return true;
    }
    if (offsetIndex === null || timeIndex === null) return false;
    if (
      offsetIndex.length % OFFSET_INDEX_ENTRY_BYTES !== 0 ||
      timeIndex.length % TIME_INDEX_ENTRY_BYTES !== 0
    )
      return false;
    let previousRelative = -1;
    let previousPosition = -1;
    for (let at = 0; at < offsetIndex.length; at += OFFSET_INDEX_ENTRY_BYTES) {
      const relative = offsetIndex.readInt32BE(at);
      const position = offsetIndex.readInt32BE(at + 4);
      if (relative <= previousRelative || position <= previousPosition || position >= fileBytes) {
        this.resetIndexes();
        return false;
      }
      this.indexRelativeOffsets.push(relative);
      this.indexPositions.push(position);
      previousRelative = relative;
      previousPosition = position;
    }
    let previousTimestamp = -Infinity;
    for (let at = 0; at < timeIndex.length; at += TIME_INDEX_ENTRY_BYTES) {
      const timestamp = readInt64(timeIndex, at);
      const relative = timeIndex.readInt32BE(at + 8);
      if (timestamp <= previousTimestamp || relative < 0) {
        this.resetIndexes();
        return false;
      }
      this.timeIndexTimestamps.push(timestamp);
      this.timeIndexRelativeOffsets.push(relative);
      previousTimestamp = timestamp;
      this.maxTimestamp = timestamp;
      this.offsetOfMaxTimestamp = relative + this.baseOffset;
    }
    this.persistedIndexes = { offsetIndex, timeIndex };
    return true;
  }

  /** The position of the last offset index entry: scanning the tail starts there. */
  lastIndexedPosition(): number {
    const count = this.indexPositions.length;
    return count === 0 ? 0 : this.indexPositions.get(count - 1);
  }

  /**
   * Reads whole batches from `start` up to `end`, checking each one's length, magic and (when
   * asked) CRC, and hands them to `visit`. Stops at the first batch that is torn or corrupt and
   * reports where the valid bytes end. `pause` is awaited between windows so long scans yield.
   */
  async scan(
    start: number,
    end: number,
    options: { verifyCrc: boolean; pause?: () => Promise<void> },
    visit: (batch: ScannedBatch) => boolean | void | Promise<boolean | void>,
  ): Promise<ScanResult> {
    let position = start;
    while (position < end) {
      const windowBytes = Math.min(SCAN_WINDOW_BYTES, end - position);
      const window = Buffer.allocUnsafe(windowBytes);
      const bytesRead = await this.logFile.read(window, 0, windowBytes, position);
      let at = 0;
      while (true) {
        const batchPosition = position + at;
        const remaining = end - batchPosition;
        if (remaining === 0) break;
        if (remaining < BATCH_HEADER_BYTES)
          return { validBytes: batchPosition, problem: `torn batch header (${remaining} bytes)` };
        if (bytesRead - at < BATCH_HEADER_BYTES) break;
        const batchLength = window.readInt32BE(at + BatchField.batchLength);
        const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
        const magic = window.readInt8(at + BatchField.magic);
        if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES || magic !== CURRENT_MAGIC) {
          return {
            validBytes: batchPosition,
            problem: `invalid batch header (batchLength ${batchLength}, magic ${magic})`,
          };
        }
        if (sizeBytes > remaining)
          return {
            validBytes: batchPosition,
            problem: `torn batch (${sizeBytes} bytes, ${remaining} on disk)`,
          };
        let buffer = window;
        let offsetInBuffer = at;
        if (at + sizeBytes > bytesRead) {
          // The batch runs past this window: start the next window at it, or read it alone when
          // it is larger than a window.
          if (at > 0) break;
          buffer = Buffer.allocUnsafe(sizeBytes);
          const read = await this.logFile.read(buffer, 0, sizeBytes, batchPosition);
          if (read < sizeBytes)
            return { validBytes: batchPosition, problem: 'torn batch (short read)' };
          offsetInBuffer = 0;
        }
        if (options.verifyCrc && !hasValidCrc(buffer, offsetInBuffer, sizeBytes)) {
          return { validBytes: batchPosition, problem: 'batch fails its CRC-32C check' };
        }
        const baseOffset = readInt64(buffer, offsetInBuffer + BatchField.baseOffset);
        const lastOffset =
          baseOffset + buffer.readInt32BE(offsetInBuffer + BatchField.lastOffsetDelta);
        if (
          baseOffset < this.baseOffset ||
          lastOffset < baseOffset ||
          lastOffset - this.baseOffset > 0x7fffffff
        ) {
          return {
            validBytes: batchPosition,
            problem: `batch offsets ${baseOffset}..${lastOffset} do not belong in this segment`,
          };
        }
        const keepGoing = await visit({
          buffer,
          offsetInBuffer,
          position: batchPosition,
          sizeBytes,
          baseOffset,
          lastOffset,
          maxTimestamp: readInt64(buffer, offsetInBuffer + BatchField.maxTimestamp),
        });
        if (keepGoing === false)
          return { validBytes: batchPosition, problem: null, stoppedAt: batchPosition };
        at += sizeBytes;
        if (buffer !== window) break;
      }
      if (at === 0) {
        if (position >= end) break;
        return { validBytes: position, problem: 'file shorter than expected' };
      }
      position += at;
      if (options.pause) await options.pause();
    }
    return { validBytes: position, problem: null };
  }

  /** Closes the file once no read holds it. */
  async closeWhenIdle(): Promise<void> {
    if (this.readers > 0) {
      await new Promise<void>((resolve) => {
        this.closeRequested = resolve;
      });
    }
    await this.appendTimes.close();
    await this.logFile.close();
  }

  releaseReader(): void {
    this.readers--;
    if (this.readers === 0 && this.closeRequested) {
      const resolve = this.closeRequested;
      this.closeRequested = null;
      resolve();
    }
  }

  /**
   * Writes both index files, unless they already hold exactly these bytes (loaded or written
   * earlier and unchanged since): an idle log's stop then costs no index fsyncs.
   */
  async writeIndexFiles(io: FileIo): Promise<void> {
    const offsetIndex = this.encodeOffsetIndex();
    const timeIndex = this.encodeTimeIndex();
    const persisted = this.persistedIndexes;
    if (
      persisted !== null &&
      persisted.offsetIndex.equals(offsetIndex) &&
      persisted.timeIndex.equals(timeIndex)
    )
      return;
    this.persistedIndexes = null;
    await io.writeFileAtomic(this.indexPath, offsetIndex);
    await io.writeFileAtomic(this.timeIndexPath, timeIndex);
    this.persistedIndexes = { offsetIndex, timeIndex };
  }

  /** A new, empty segment: its absent index files already say what its empty indexes say. */
  markIndexesPersistedEmpty(): void {
    assert(this.sizeBytes === 0, `segment ${this.baseOffset} is not empty`);
    this.persistedIndexes = { offsetIndex: EMPTY, timeIndex: EMPTY };
  }
}
