// `<base offset>.appendtime`: when this broker appended the batches of one segment, so that time
// retention can measure a record's age from its append (retention.timestamp.type = append, the
// default) instead of trusting the producer's clock, and keep doing so across restarts.
//
//   entry (16 bytes):  appendTimeMs: int64 | endOffset - baseOffset: int32 | CRC-32C of the 12 bytes before
//
//   offsets   base ─────────── end0 ─────────── end1 ─────── end2 = segment's next offset
//   entries        (t0, end0)       (t1, end1)     (t2, end2)        t0 <= t1 <= t2
//
// Entry i promises: every batch at or after entry i-1's end and below its own end was appended
// at or before t_i. Appends whose times lie within one resolution step of the entry's first
// append share that entry, which then holds the latest of their times; so an entry may make a
// record look younger than it is (kept up to one step longer), never older (deleted early).
//
// Durability: the writer notes entries only for batches already in the file; the flusher writes
// them beside an fsync of the log (a small write, not covered by it) when `writeDue`: an entry
// was started since the last write. An entry that only moved its end waits for the next one to
// start (a resolution step after it at most, a minute under the default retention, while appends
// go on), so a log taking a batch per fsync, one of ten thousand, does not pay a second file
// operation per fsync; they are fsynced only when the segment rolls or the log closes, which
// write them all: the produce path gains no fsync and no step of its own. A crash can therefore
// lose the last entry's extensions: those batches count as appended at recovery, kept longer (by
// up to a step and the time the broker was down, while appends went on), never deleted early.
// On open, entries that fail their CRC or go backwards are dropped with everything after them,
// one reaching past the recovered log end is cut there, and the batches no valid entry covers
// count as appended at the open: a lost entry only keeps records longer.
//
// Owned by its Segment. PartitionLog's writer calls `record`; its flusher, a roll and close call
// `writeDirty` (one write at a time); everything else runs under the maintenance lock with the
// writer paused.

import { crc32c } from '../util/commonjs-packages.js';
import { readInt64, writeInt64 } from '../record/batch.js';
import { assert } from '../util/assert.js';
import type { FileIo, LogFile } from './file-io.js';

export const APPEND_TIME_ENTRY_BYTES = 16;
/** The coarsest step appends are grouped by: a record outlives retention.ms by at most this. */
export const APPEND_TIME_RESOLUTION_MS_MAX = 60_000;
/** Steps per retention.ms: entries per segment stay bounded, lateness stays a tiny fraction of retention. */
const RESOLUTION_STEPS_PER_RETENTION = 10_000;

/** The grouping step for a topic's retention.ms: 1/10,000 of it, between 1 ms and one minute. */
export function appendTimeResolutionMs(retentionMs: number): number {
  if (retentionMs < 0) return APPEND_TIME_RESOLUTION_MS_MAX;
  return Math.min(
    APPEND_TIME_RESOLUTION_MS_MAX,
    Math.max(1, Math.floor(retentionMs / RESOLUTION_STEPS_PER_RETENTION)),
  );
}

/** Where an expiry walk over the entries stopped. */
export interface ExpiryWalk {
  /** Every batch below it was appended before the cutoff (and lies below the limit). */
  endOffset: number;
  /** The append time of the entry that stopped the walk; null when the entries ran out. */
  blockingAppendTimeMs: number | null;
}

export class AppendTimeIndex {
  readonly path: string;
  private readonly baseOffset: number;
  private appendTimesMs: number[] = [];
  private endOffsets: number[] = [];
  /** The first append time of the last entry while later appends may still join it. */
  private openSinceMs: number | null = null;
  /** Entries from this one on are not in the file yet (or differ from it). */
  private firstDirty = 0;
  /** Open only for the active segment. */
  private file: LogFile | null = null;
  /** The write in progress: the flusher and a roll or close may both ask for one. */
  private writing: Promise<void> | null = null;
  /** Entries written since the last fsync of the file. */
  private unsynced = false;
  /** An entry was started since the entries were last written (see `writeDue`). */
  private entryStartedSinceWrite = false;

  constructor(path: string, baseOffset: number) {
    this.path = path;
    this.baseOffset = baseOffset;
  }

  get length(): number {
    return this.appendTimesMs.length;
  }

  /** The latest append time in the segment, or -1 while it has none. */
  get maxAppendTimeMs(): number {
    const count = this.appendTimesMs.length;
    return count === 0 ? -1 : this.appendTimesMs[count - 1];
  }

  /** The end of what the entries cover. */
  get lastEndOffset(): number {
    const count = this.endOffsets.length;
    return count === 0 ? this.baseOffset : this.endOffsets[count - 1];
  }

  /** Notes that everything below `endOffset` was appended at `appendTimeMs` (or earlier). */
  record(appendTimeMs: number, endOffset: number, resolutionMs: number): void {
    assert(
      endOffset > this.lastEndOffset,
      `append time entry ending at ${endOffset} does not follow ${this.lastEndOffset}`,
    );
    const count = this.appendTimesMs.length;
    // A clock that steps back must not make later appends look older than earlier ones.
    const timeMs = Math.max(appendTimeMs, this.maxAppendTimeMs);
    if (this.openSinceMs !== null && count > 0 && timeMs - this.openSinceMs < resolutionMs) {
      this.appendTimesMs[count - 1] = timeMs;
      this.endOffsets[count - 1] = endOffset;
      this.firstDirty = Math.min(this.firstDirty, count - 1);
      return;
    }
    this.appendTimesMs.push(timeMs);
    this.endOffsets.push(endOffset);
    this.openSinceMs = timeMs;
    this.entryStartedSinceWrite = true;
    this.firstDirty = Math.min(this.firstDirty, count);
  }

  /** When the batch holding `offset` was appended, at the latest; null when no entry covers it. */
  appendTimeOf(offset: number): number | null {
    const index = this.entryIndexFor(offset);
    return index < this.appendTimesMs.length ? this.appendTimesMs[index] : null;
  }

  /**
   * Walks the entries from the one covering `fromOffset` while they were appended before
   * `cutoffMs` and end at or below `limitOffset` (what is durable).
   */
  walkExpired(fromOffset: number, cutoffMs: number, limitOffset: number): ExpiryWalk {
    let endOffset = fromOffset;
    for (let index = this.entryIndexFor(fromOffset); index < this.endOffsets.length; index++) {
      const appendTimeMs = this.appendTimesMs[index];
      if (appendTimeMs >= cutoffMs || this.endOffsets[index] > limitOffset)
        return { endOffset, blockingAppendTimeMs: appendTimeMs };
      endOffset = this.endOffsets[index];
    }
    return { endOffset, blockingAppendTimeMs: null };
  }

  /** The first entry whose end lies above `offset`. */
  private entryIndexFor(offset: number): number {
    let low = 0;
    let high = this.endOffsets.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.endOffsets[middle] > offset) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /**
   * Loads the file of a segment whose batches end at `nextOffset`. Entries that fail their check
   * are dropped with everything after them; batches left uncovered count as appended at
   * `recoveryTimeMs`. The file is rewritten when that changed anything, so the recovery time
   * stays what it was at this open instead of moving forwards with every restart.
   */
  async load(io: FileIo, nextOffset: number, recoveryTimeMs: number): Promise<void> {
    this.appendTimesMs = [];
    this.endOffsets = [];
    this.openSinceMs = null;
    if (nextOffset === this.baseOffset && (await io.fileSize(this.path)) === 0) {
      // An empty segment with an empty file (every idle log at start): nothing to read or fix.
      this.firstDirty = 0;
      return;
    }
    const data = await io.readFile(this.path);
    let validBytes = 0;
    if (data !== null) {
      for (let at = 0; at + APPEND_TIME_ENTRY_BYTES <= data.length; at += APPEND_TIME_ENTRY_BYTES) {
        const appendTimeMs = readInt64(data, at);
        const endOffset = this.baseOffset + data.readInt32BE(at + 8);
        const intact = crc32c(data.subarray(at, at + 12)) >>> 0 === data.readUInt32BE(at + 12);
        if (
          !intact ||
          appendTimeMs < this.maxAppendTimeMs ||
          endOffset <= this.lastEndOffset ||
          this.lastEndOffset >= nextOffset
        )
          break;
        // An entry reaching past the recovered end (a torn tail, or batches compaction removed
        // from the segment's end) still dates the batches below it correctly.
        this.appendTimesMs.push(appendTimeMs);
        this.endOffsets.push(Math.min(endOffset, nextOffset));
        if (endOffset > nextOffset) break;
        validBytes = at + APPEND_TIME_ENTRY_BYTES;
      }
    }
    let changed = data === null || validBytes !== data.length;
    if (this.lastEndOffset < nextOffset) {
      this.appendTimesMs.push(Math.max(recoveryTimeMs, this.maxAppendTimeMs));
      this.endOffsets.push(nextOffset);
      changed = true;
    }
    if (changed) await io.writeFileAtomic(this.path, this.encode(0));
    this.firstDirty = this.appendTimesMs.length;
  }

  /**
   * Opens the file for the writer (the segment is active); creates it empty for a new segment.
   * `deferred`: the file exists (`load` read or wrote it), and needs no descriptor before the
   * first append.
   */
  async openForAppend(io: FileIo, options: { empty: boolean; deferred?: boolean }): Promise<void> {
    if (this.file !== null) return;
    this.file = await io.open(this.path, {
      create: true,
      bestEffort: true,
      deferred: options.deferred === true && !options.empty,
    });
    if (options.empty) {
      assert(this.appendTimesMs.length === 0, 'a new segment has no append times');
      await this.file.truncate(0);
    }
  }

  /**
   * Whether the flusher should write the entries now: some are not in the file, and an entry was
   * started since the last write.
   */
  get writeDue(): boolean {
    return (
      this.entryStartedSinceWrite &&
      this.file !== null &&
      this.firstDirty < this.appendTimesMs.length
    );
  }

  /** Writes the entries the file lacks (all of them describe batches already written). */
  async writeDirty(): Promise<void> {
    while (this.writing !== null) await this.writing;
    if (this.file === null || this.firstDirty >= this.appendTimesMs.length) return;
    const from = this.firstDirty;
    const to = this.appendTimesMs.length;
    const bytes = this.encode(from, to);
    // Marked clean before the write, so that entries recorded (or extended) meanwhile mark
    // themselves dirty again for the next write.
    this.firstDirty = to;
    this.entryStartedSinceWrite = false;
    this.unsynced = true;
    this.writing = this.file.write([bytes], from * APPEND_TIME_ENTRY_BYTES);
    try {
      await this.writing;
    } catch (error) {
      this.firstDirty = Math.min(this.firstDirty, from);
      this.entryStartedSinceWrite = true;
      throw error;
    } finally {
      this.writing = null;
    }
  }

  /** Makes the entries durable (the segment rolls or the log closes) and closes the file. */
  async syncAndClose(): Promise<void> {
    if (this.file === null) return;
    await this.writeDirty();
    // Nothing written since the last fsync (an idle log stopping): nothing to make durable.
    if (this.unsynced) await this.file.datasync();
    this.unsynced = false;
    await this.close();
  }

  async close(): Promise<void> {
    while (this.writing !== null) await this.writing.catch(() => undefined);
    const file = this.file;
    this.file = null;
    await file?.close();
  }

  /**
   * Forgets everything at or after `offset` (the log is truncated there) and rewrites the file.
   * The entry that covered `offset` keeps its time: the batches it still covers were appended
   * no later than that.
   */
  async truncateTo(io: FileIo, offset: number): Promise<void> {
    let keep = this.endOffsets.length;
    while (keep > 0 && (keep === 1 ? this.baseOffset : this.endOffsets[keep - 2]) >= offset) keep--;
    this.appendTimesMs.length = keep;
    this.endOffsets.length = keep;
    if (keep > 0 && this.endOffsets[keep - 1] > offset) this.endOffsets[keep - 1] = offset;
    this.openSinceMs = null;
    const wasOpen = this.file !== null;
    await this.close();
    await io.writeFileAtomic(this.path, this.encode(0));
    this.firstDirty = this.appendTimesMs.length;
    if (wasOpen) await this.openForAppend(io, { empty: false });
  }

  /** Adopts the entries of the segment this one replaces (compaction keeps offsets and files). */
  adopt(other: AppendTimeIndex): void {
    assert(other.baseOffset === this.baseOffset, 'append times move only within one segment');
    this.appendTimesMs = other.appendTimesMs;
    this.endOffsets = other.endOffsets;
    this.firstDirty = other.firstDirty;
    this.entryStartedSinceWrite = other.entryStartedSinceWrite;
    this.openSinceMs = null;
  }

  private encode(from: number, to = this.appendTimesMs.length): Buffer {
    const count = to - from;
    const buffer = Buffer.alloc(count * APPEND_TIME_ENTRY_BYTES);
    for (let entry = 0; entry < count; entry++) {
      const at = entry * APPEND_TIME_ENTRY_BYTES;
      writeInt64(buffer, at, this.appendTimesMs[from + entry]);
      buffer.writeInt32BE(this.endOffsets[from + entry] - this.baseOffset, at + 8);
      buffer.writeUInt32BE(crc32c(buffer.subarray(at, at + 12)) >>> 0, at + 12);
    }
    return buffer;
  }
}
