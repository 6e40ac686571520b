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

/**
 * Where records go: one broker's own partitions (`localRecordWriter`), or in cluster mode each
 * partition's leader, this broker or another (`cluster-record-writer.ts`).
 */
export interface RecordWriterPorts {
  /** The topic's partition count; undefined when it does not exist. */
  partitionCount(topic: string): number | undefined;
  /**
   * Appends one batch to the partition; resolves with its base offset once acknowledged (with
   * acks 'all', once the high watermark covers it). Rejects with a ShareError. The batch is the
   * writer's from then (the cluster writer stamps its producer id and sequence into it).
   */
  append(topic: string, partition: number, batch: Buffer, acks: 'all' | 'leader'): Promise<number>;
  /** Creates a topic of one partition (a dead-letter topic) with the broker's defaults. */
  createTopic(name: string): Promise<void>;
}

/** One broker: every partition is this broker's own. */
export function localRecordWriter(replicas: ReplicaManager): RecordWriterPorts {
  return {
    partitionCount: (topic) => replicas.topic(topic)?.partitions.length,
    async append(topic, partitionIndex, batch, acks) {
      const partition = replicas.topic(topic)?.partitions[partitionIndex];
      if (partition === undefined) {
        throw new ShareError('partition-not-found', `${topic} has no partition ${partitionIndex}`);
      }
      let appended;
      try {
        appended = partition.append(batch, 'client');
      } catch (error) {
        throw new ShareError(
          'produce-failed',
          `${topic}-${partitionIndex} refused the records: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      try {
        await appended.acknowledged;
        if (acks === 'all') await partition.waitForHighWatermark(appended.lastOffset + 1);
      } catch (error) {
        throw new ShareError(
          'produce-failed',
          `${topic}: the append failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      return appended.baseOffset;
    },
    async createTopic(name) {
      await replicas.createTopic({ name, partitionCount: 1 });
    },
  };
}

let roundRobin = 0;

/** Appends `records` to `topic`; resolves with each record's partition and offset, in order. */
export async function writeRecords(
  writer: RecordWriterPorts,
  topic: string,
  records: readonly RecordToWrite[],
  acks: 'all' | 'leader' = 'all',
): Promise<WrittenOffset[]> {
  const partitionCount = writer.partitionCount(topic);
  if (partitionCount === undefined)
    throw new ShareError('topic-not-found', `no topic named ${topic}`);
  const byPartition = new Map<number, number[]>();
  records.forEach((record, index) => {
    let partition = record.partition;
    if (partition === undefined) {
      partition =
        record.key === null
          ? (roundRobin++ & 0x7fffffff) % partitionCount
          : partitionForKey(record.key, partitionCount);
    } else if (partition >= partitionCount) {
      throw new ShareError(
        'partition-not-found',
        `${topic} has no partition ${partition} (it has ${partitionCount})`,
      );
    }
    const indexes = byPartition.get(partition) ?? [];
    indexes.push(index);
    byPartition.set(partition, indexes);
  });
  const offsets: WrittenOffset[] = new Array(records.length);
  const nowMs = Date.now();
  // The batches are built and handed over in order before any is awaited, so they are appended
  // in partition order as before.
  const appends = [...byPartition].map(([partitionIndex, indexes]) => {
    const batch = buildUncompressedBatch({
      records: indexes.map((index) => ({
        key: records[index].key,
        value: records[index].value,
        headers: [...records[index].headers],
        timestamp: records[index].timestamp ?? nowMs,
      })),
    });
    return writer.append(topic, partitionIndex, batch, acks).then((baseOffset) => {
      indexes.forEach((index, position) => {
        offsets[index] = { partition: partitionIndex, offset: baseOffset + position };
      });
    });
  });
  await Promise.all(appends);
  return offsets;
}
