// The coordinator's offsets-topic port over real PartitionLog directories, as the broker does it
// (compacted, fsync before acknowledgement). Used by tests that restart from the files.

import { join } from 'node:path';
import type { OffsetsTopicStorage } from '../../src/coordinator/group/ports.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';

const readBytesMax = 1024 * 1024;

export class LogOffsetsTopic implements OffsetsTopicStorage {
  private constructor(
    readonly partitionCount: number,
    private readonly logs: PartitionLog[],
  ) {}

  static async open(directory: string, partitionCount: number): Promise<LogOffsetsTopic> {
    const logs: PartitionLog[] = [];
    for (let partition = 0; partition < partitionCount; partition++) {
      logs.push(
        await PartitionLog.open({
          directory: join(directory, `__consumer_offsets-${partition}`),
          config: { ...defaultLogConfig, cleanupPolicy: 'compact' },
        }),
      );
    }
    return new LogOffsetsTopic(partitionCount, logs);
  }

  log(partition: number): PartitionLog {
    return this.logs[partition];
  }

  async append(partition: number, batch: Buffer): Promise<void> {
    await this.logs[partition].append(batch, { leaderEpoch: 0, origin: 'coordinator' })
      .acknowledged;
  }

  async *readAll(partition: number): AsyncIterable<Buffer> {
    const log = this.logs[partition];
    let offset = log.logStartOffset;
    const end = log.flushedOffset;
    while (offset < end) {
      const { chunks, byteLength } = await log.read(offset, {
        maxBytes: readBytesMax,
        maxOffset: end,
      });
      if (byteLength === 0) break;
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, byteLength);
      // Skip past the last whole batch read: its base offset plus its last offset delta.
      let position = 0;
      let next = offset;
      while (position + 61 <= bytes.length) {
        const batchEnd = position + 12 + bytes.readInt32BE(position + 8);
        if (batchEnd > bytes.length) break;
        next = Number(bytes.readBigInt64BE(position)) + bytes.readInt32BE(position + 23) + 1;
        position = batchEnd;
      }
      yield bytes.subarray(0, position);
      if (next <= offset) throw new Error(`assertion: reading ${offset} made no progress`);
      offset = next;
    }
  }

  async close(): Promise<void> {
    for (const log of this.logs) await log.close();
  }
}
