// The aborted-transaction index of one partition, kept as Kafka keeps it: one file per segment,
// `<20-digit segment base offset>.txnindex`, beside the segment's `.log`. An entry lives in the
// file of the segment that holds its ABORT marker (its lastOffset), so it goes when that segment
// goes: PartitionLog deletes a segment's `.txnindex` with its other files. Entries use Kafka's
// 34-byte layout:
//
//   | version int16 (0) | producerId int64 | firstOffset int64 | lastOffset int64 | lastStableOffset int64 |
//
// Entries are appended in marker order (increasing lastOffset), and only once the ABORT marker
// they describe is durable in the log (lastOffset below the flushed offset): a marker whose append
// fails never reaches a file. After an unclean stop the files may lack the newest entries; the
// partition rewrites them on recovery from the snapshot's offset on, by replaying the log tail.
//
// Owned by a Partition; writes are chained on one promise, so they never interleave.

import type { FileIo } from '../storage/file-io.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { segmentFileName } from '../storage/segment.js';
import { readInt64, writeInt64 } from '../record/batch.js';
import type { AbortedTransaction } from './producer-state.js';

const ENTRY_BYTES = 34;
const ENTRY_VERSION = 0;
const FILE_PATTERN = /^(\d{20})\.txnindex$/;

function encodeEntries(entries: readonly AbortedTransaction[]): Buffer {
  const buffer = Buffer.alloc(entries.length * ENTRY_BYTES);
  entries.forEach((entry, index) => {
    const position = index * ENTRY_BYTES;
    buffer.writeInt16BE(ENTRY_VERSION, position);
    writeInt64(buffer, position + 2, entry.producerId);
    writeInt64(buffer, position + 10, entry.firstOffset);
    writeInt64(buffer, position + 18, entry.lastOffset);
    writeInt64(buffer, position + 26, entry.lastStableOffset);
  });
  return buffer;
}

/** The whole entries of one file (a torn last entry is ignored). */
function decodeEntries(data: Buffer): AbortedTransaction[] {
  const entries: AbortedTransaction[] = [];
  for (let position = 0; position + ENTRY_BYTES <= data.length; position += ENTRY_BYTES) {
    if (data.readInt16BE(position) !== ENTRY_VERSION) break;
    entries.push({
      producerId: readInt64(data, position + 2),
      firstOffset: readInt64(data, position + 10),
      lastOffset: readInt64(data, position + 18),
      lastStableOffset: readInt64(data, position + 26),
    });
  }
  return entries;
}

export class TransactionIndex {
  private readonly io: FileIo;
  /** Every entry with a lastOffset up to this one is in a file. */
  private persistedThrough = -1;
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly log: PartitionLog) {
    this.io = log.fileIo;
  }

  /** The entries of every segment's file, in marker order. */
  async read(): Promise<AbortedTransaction[]> {
    const entries: AbortedTransaction[] = [];
    for (const baseOffset of await this.fileBaseOffsets()) {
      const data = await this.io.readFile(this.pathOf(baseOffset));
      if (data !== null) entries.push(...decodeEntries(data));
    }
    return entries;
  }

  /**
   * Replaces the files with exactly `entries` (recovery): a file whose content is already right
   * is left alone, and files of segments that no longer exist, or with no entries left, go.
   */
  rewrite(entries: readonly AbortedTransaction[]): Promise<void> {
    return this.enqueue(async () => {
      const bySegment = this.groupBySegment(entries);
      for (const baseOffset of await this.fileBaseOffsets()) {
        if (!bySegment.has(baseOffset)) await this.io.unlink(this.pathOf(baseOffset));
      }
      for (const [baseOffset, group] of bySegment) {
        const data = encodeEntries(group);
        const current = await this.io.readFile(this.pathOf(baseOffset));
        if (current === null || !current.equals(data))
          await this.io.writeFileAtomic(this.pathOf(baseOffset), data);
      }
      this.persistedThrough = entries.at(-1)?.lastOffset ?? -1;
    });
  }

  /** Appends to their segments' files the entries not yet written whose marker lies below `offset`. */
  persistBelow(entries: readonly AbortedTransaction[], offset: number): Promise<void> {
    const pending = (): AbortedTransaction[] => {
      let start = entries.length;
      while (start > 0 && entries[start - 1].lastOffset > this.persistedThrough) start -= 1;
      let end = start;
      while (end < entries.length && entries[end].lastOffset < offset) end += 1;
      return entries.slice(start, end);
    };
    if (pending().length === 0) return this.writes;
    return this.enqueue(async () => {
      const batch = pending();
      if (batch.length === 0) return;
      for (const [baseOffset, group] of this.groupBySegment(batch)) {
        const file = await this.io.open(this.pathOf(baseOffset), { create: true });
        try {
          // After the whole entries already there (a torn one from a failed write is
          // overwritten), and without those a failed attempt already wrote.
          const size = await file.size();
          const end = size - (size % ENTRY_BYTES);
          let lastInFile = -1;
          if (end > 0) {
            const last = Buffer.alloc(ENTRY_BYTES);
            await file.read(last, 0, ENTRY_BYTES, end - ENTRY_BYTES);
            lastInFile = readInt64(last, 18);
          }
          const fresh = group.filter((entry) => entry.lastOffset > lastInFile);
          if (fresh.length > 0) await file.write([encodeEntries(fresh)], end);
          await file.datasync();
        } finally {
          await file.close();
        }
      }
      this.persistedThrough = batch.at(-1)!.lastOffset;
    });
  }

  /** Resolves once every write queued so far has finished. */
  idle(): Promise<void> {
    return this.writes;
  }

  private groupBySegment(
    entries: readonly AbortedTransaction[],
  ): Map<number, AbortedTransaction[]> {
    const bySegment = new Map<number, AbortedTransaction[]>();
    for (const entry of entries) {
      const baseOffset = this.log.segmentBaseOffsetOf(entry.lastOffset);
      // A marker below the first segment was deleted with its segment: nowhere to keep it.
      if (entry.lastOffset < baseOffset) continue;
      let group = bySegment.get(baseOffset);
      if (group === undefined) bySegment.set(baseOffset, (group = []));
      group.push(entry);
    }
    return bySegment;
  }

  private async fileBaseOffsets(): Promise<number[]> {
    return (await this.io.readdir(this.log.directory))
      .map((name) => FILE_PATTERN.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
  }

  private pathOf(baseOffset: number): string {
    return `${this.log.directory}/${segmentFileName(baseOffset, '.txnindex')}`;
  }

  private enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.writes.then(operation);
    this.writes = run.catch(() => undefined);
    return run;
  }
}
