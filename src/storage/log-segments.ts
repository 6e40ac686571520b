// The segments of one partition directory, oldest first; the last one is the active segment.
// Owns their creation and deletion on disk; what goes into them is the writer's business
// (group-commit.ts), what comes out the reader's (segment-reader.ts).
//
// Owned by one PartitionLog. Removing a segment awaits its readers, so callers that change the
// list do it under the log's maintenance lock with the writer paused.

import { assert } from '../util/assert.js';
import type { FileIo } from './file-io.js';
import type { SegmentInfo } from './log.js';
import { Segment, segmentFileName } from './segment.js';

export class LogSegments {
  private segments: Segment[] = [];

  constructor(
    readonly directory: string,
    private readonly io: FileIo,
    private readonly clock: () => number,
  ) {}

  get count(): number {
    return this.segments.length;
  }

  /** The segment at `index` (0 is the oldest). */
  at(index: number): Segment {
    return this.segments[index];
  }

  get first(): Segment {
    return this.segments[0];
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /** Closed segments, oldest first. */
  closed(): Segment[] {
    return this.segments.slice(0, -1);
  }

  /** A copy of the list, for walks that await between segments while the list may change. */
  snapshot(): Segment[] {
    return [...this.segments];
  }

  [Symbol.iterator](): Iterator<Segment> {
    return this.segments[Symbol.iterator]();
  }

  get sizeInBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  infos(): SegmentInfo[] {
    return this.segments.map((segment) => ({
      baseOffset: segment.baseOffset,
      nextOffset: segment.nextOffset,
      sizeBytes: segment.sizeBytes,
      maxTimestamp: segment.maxTimestamp,
      path: segment.logPath,
    }));
  }

  /** The index of the segment holding `offset` (the first segment's for offsets below it). */
  indexFor(offset: number): number {
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

  /** Adds a segment after the last one (recovery, roll). */
  push(segment: Segment): void {
    this.segments.push(segment);
  }

  /** Takes the segments from `index` on out of the list (their files stay until `remove`). */
  takeFrom(index: number): Segment[] {
    return this.segments.splice(index);
  }

  /** Puts `replacement` (same base offset) in place of the closed segment `old`. */
  replace(old: Segment, replacement: Segment): void {
    const index = this.segments.indexOf(old);
    assert(
      index >= 0 && index < this.segments.length - 1,
      `only a closed, live segment is replaced (segment ${old.baseOffset})`,
    );
    assert(
      replacement.baseOffset === old.baseOffset,
      `a replacement keeps its base offset (${replacement.baseOffset} for ${old.baseOffset})`,
    );
    this.segments[index] = replacement;
  }

  /** Creates an empty segment file at `baseOffset` (not yet in the list). */
  async create(baseOffset: number): Promise<Segment> {
    const logFile = await this.io.open(`${this.directory}/${segmentFileName(baseOffset, '.log')}`, {
      create: true,
    });
    await logFile.truncate(0);
    const segment = new Segment(this.directory, baseOffset, logFile);
    segment.markIndexesPersistedEmpty();
    await segment.appendTimes.openForAppend(this.io, { empty: true });
    await this.io.syncDirectory(this.directory);
    segment.rollStartMs = this.clock();
    return segment;
  }

  /** Deletes the files of a segment that was never opened (recovery cuts it away). */
  async deleteFiles(baseOffset: number): Promise<void> {
    for (const suffix of ['.log', '.index', '.timeindex', '.txnindex', '.appendtime'] as const) {
      await this.io.unlink(`${this.directory}/${segmentFileName(baseOffset, suffix)}`);
    }
    await this.io.syncDirectory(this.directory);
  }

  /** Renames a segment's files to `.deleted` (so a crash finishes the job on open), then deletes them once unread. */
  async remove(segment: Segment): Promise<void> {
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

  /** Deletes closed segments that hold nothing at or above `logStartOffset`; returns how many. */
  async removeBelow(logStartOffset: number): Promise<number> {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[1].baseOffset <= logStartOffset) {
      const [old] = this.segments.splice(0, 1);
      await this.remove(old);
      deleted++;
    }
    if (deleted > 0) await this.io.syncDirectory(this.directory);
    return deleted;
  }

  checkOrder(): void {
    for (let index = 1; index < this.segments.length; index++) {
      assert(
        this.segments[index - 1].nextOffset <= this.segments[index].baseOffset,
        `segment ${this.segments[index - 1].baseOffset} ends at ${this.segments[index - 1].nextOffset}, past the next segment's base ${this.segments[index].baseOffset}`,
      );
    }
  }

  /** Closes every segment's files once its readers are done. */
  async closeAll(): Promise<void> {
    for (const segment of this.segments) await segment.closeWhenIdle();
  }
}
