// The aborted-transaction index of one partition, persisted as ONE file per partition directory
// (`aborted-transactions.txnindex`), not one per segment as Kafka keeps them. Entries use Kafka's
// 34-byte .txnindex layout:
//
//   | version int16 (0) | producerId int64 | firstOffset int64 | lastOffset int64 | lastStableOffset int64 |
//
// Entries are appended in marker order (increasing lastOffset), and only once the ABORT marker
// they describe is durable in the log (lastOffset below the flushed offset): a marker whose append
// fails never reaches the file. After an unclean stop the file may lack the newest entries; the
// partition rewrites it on recovery from the snapshot's offset on, by replaying the log tail.
//
// Owned by a Partition; writes are chained on one promise, so they never interleave.

import type { FileIo } from '../storage/file-io.js';
import { readInt64, writeInt64 } from '../record/batch.js';
import type { AbortedTransaction } from './producer-state.js';

export const TRANSACTION_INDEX_FILE = 'aborted-transactions.txnindex';
const ENTRY_BYTES = 34;
const ENTRY_VERSION = 0;

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

export class TransactionIndexFile {
  private readonly path: string;
  /** How many entries of the partition's list are in the file. */
  private persistedCount = 0;
  private persistedBytes = 0;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly io: FileIo,
    directory: string,
  ) {
    this.path = `${directory}/${TRANSACTION_INDEX_FILE}`;
  }

  /** The whole entries of the file (a torn last entry is ignored). */
  async read(): Promise<AbortedTransaction[]> {
    const data = await this.io.readFile(this.path);
    if (data === null) return [];
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

  /** Replaces the file with exactly `entries` (recovery). */
  rewrite(entries: readonly AbortedTransaction[]): Promise<void> {
    return this.enqueue(async () => {
      const data = encodeEntries(entries);
      await this.io.writeFileAtomic(this.path, data);
      this.persistedCount = entries.length;
      this.persistedBytes = data.length;
    });
  }

  /** Appends the entries of `entries` not yet in the file whose marker lies below `offset`. */
  persistBelow(entries: readonly AbortedTransaction[], offset: number): Promise<void> {
    if (
      this.persistedCount >= entries.length ||
      entries[this.persistedCount].lastOffset >= offset
    ) {
      return this.writes;
    }
    return this.enqueue(async () => {
      let end = this.persistedCount;
      while (end < entries.length && entries[end].lastOffset < offset) end += 1;
      if (end <= this.persistedCount) return;
      const data = encodeEntries(entries.slice(this.persistedCount, end));
      const file = await this.io.open(this.path, { create: true });
      try {
        await file.write([data], this.persistedBytes);
        await file.datasync();
      } finally {
        await file.close();
      }
      this.persistedCount = end;
      this.persistedBytes += data.length;
    });
  }

  /** Resolves once every write queued so far has finished. */
  idle(): Promise<void> {
    return this.writes;
  }

  private enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.writes.then(operation);
    this.writes = run.catch(() => undefined);
    return run;
  }
}
