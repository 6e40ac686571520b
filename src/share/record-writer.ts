// Appends records the broker writes on someone's behalf (HTTP produce, dead-letter records) to a
// data topic, through the same Partition.append the Produce handler uses: one uncompressed batch
// per partition, answered once acknowledged under the topic's flush policy and, with acks=all,
// once the high watermark covers it.

import { partitionForKey } from '../client/partitioner.js';
import type { RecordHeader } from '../record/records.js';
import { buildUncompressedBatch } from '../record/records.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { ShareError } from './share-errors.js';

export interface RecordToWrite {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  /** Absent: by the key's hash (as Kafka clients do), else round-robin. */
  readonly partition?: number;
  readonly timestamp?: number;
}

export interface WrittenOffset {
  readonly partition: number;
  readonly offset: number;
}

let roundRobin = 0;

/** Appends `records` to `topic`; resolves with each record's partition and offset, in order. */
export async function writeRecords(
  replicas: ReplicaManager,
  topic: string,
  records: readonly RecordToWrite[],
  acks: 'all' | 'leader' = 'all',
): Promise<WrittenOffset[]> {
  const partitions = replicas.topic(topic)?.partitions;
  if (partitions === undefined) throw new ShareError('topic-not-found', `no topic named ${topic}`);
  const partitionCount = partitions.length;
  const byPartition = new Map<number, number[]>();
  records.forEach((record, index) => {
    let partition = record.partition;
    if (partition === undefined) {
      partition =
        record.key === null
          ? (roundRobin++ & 0x7fffffff) % partitionCount
          : partitionForKey(record.key, partitionCount);
    } else if (partition >= partitionCount || partitions[partition] === undefined) {
      throw new ShareError(
        'partition-not-found',
        `${topic} has no partition ${partition} here (it has ${partitionCount})`,
      );
    }
    const indexes = byPartition.get(partition) ?? [];
    indexes.push(index);
    byPartition.set(partition, indexes);
  });
  const offsets: WrittenOffset[] = new Array(records.length);
  const waits: Promise<void>[] = [];
  const nowMs = Date.now();
  for (const [partitionIndex, indexes] of byPartition) {
    const partition = partitions[partitionIndex];
    const batch = buildUncompressedBatch({
      records: indexes.map((index) => ({
        key: records[index].key,
        value: records[index].value,
        headers: [...records[index].headers],
        timestamp: records[index].timestamp ?? nowMs,
      })),
    });
    let appended;
    try {
      appended = partition.append(batch, 'client');
    } catch (error) {
      throw new ShareError(
        'produce-failed',
        `${topic}-${partitionIndex} refused the records: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    indexes.forEach((index, position) => {
      offsets[index] = { partition: partitionIndex, offset: appended.baseOffset + position };
    });
    waits.push(
      appended.acknowledged.then(() =>
        acks === 'all' ? partition.waitForHighWatermark(appended.lastOffset + 1) : undefined,
      ),
    );
  }
  try {
    await Promise.all(waits);
  } catch (error) {
    throw new ShareError(
      'produce-failed',
      `${topic}: the append failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return offsets;
}
