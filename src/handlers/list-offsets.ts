// ListOffsets (API key 2): the earliest, latest or max-timestamp offset of a partition, or the
// first offset whose timestamp is at least a given time (through the time index).
//
// Version 0 answers with a list of offsets (`oldStyleOffsets`, at most `maxNumOffsets` of them)
// instead of one offset and timestamp. Burrow and every Sarama-based tool configured for a Kafka
// older than 0.10.1 send it, and Kafka served it up to 3.9. Its by-time answer is simplified:
// Kafka lists the base offsets of segments last modified before the time, which depends on file
// modification times; Brook answers with the single offset v1 would give (the first whose
// timestamp is at least the time), or the high watermark when no record is that recent, which is
// what Kafka's list starts with when every segment is older.

import type { PartitionLeadership } from '../cluster/partition-leadership.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ListOffsetsResponseListOffsetsPartitionResponseInput } from '../protocol/generated/list-offsets.js';
import type { Partition } from '../replica/partition.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { kafkaErrorCodeOf } from './shared/errors.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

/** The special timestamps a ListOffsets request may carry instead of a time. */
const LATEST_TIMESTAMP = -1n;
const EARLIEST_TIMESTAMP = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL_TIMESTAMP = -4n;
const LATEST_TIERED_TIMESTAMP = -5n;
const READ_COMMITTED = 1;

export function createListOffsetsHandler(dependencies: {
  readonly replicas: ReplicaManager;
  /** Cluster mode: only a partition's leader answers for it. */
  readonly leadership?: PartitionLeadership;
}) {
  const { replicas } = dependencies;
  return defineHandler(ApiKey.ListOffsets, {
    ...servedVersions[ApiKey.ListOffsets],

    async handle(request, context) {
      const oldStyle = context.apiVersion === 0;
      const readCommitted = request.isolationLevel === READ_COMMITTED;
      const topics = [];
      for (const topic of request.topics) {
        const partitions: ListOffsetsResponseListOffsetsPartitionResponseInput[] = [];
        for (const requested of topic.partitions) {
          if (dependencies.leadership?.notLeader(topic.name, requested.partitionIndex) != null) {
            partitions.push({
              partitionIndex: requested.partitionIndex,
              errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
              timestamp: -1n,
              offset: -1n,
            });
            continue;
          }
          // An internal topic is not among the data topics until a client reads it.
          const partition = (
            replicas.topic(topic.name) ?? (await replicas.topicForClientRead(topic.name))
          )?.partitions[requested.partitionIndex];
          if (partition === undefined) {
            partitions.push({
              partitionIndex: requested.partitionIndex,
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              timestamp: -1n,
              offset: -1n,
            });
            continue;
          }
          // Its directory could not be opened at start (storage/offline-log.ts).
          if (partition.log.offline) {
            partitions.push({
              partitionIndex: requested.partitionIndex,
              errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
              timestamp: -1n,
              offset: -1n,
            });
            continue;
          }
          try {
            if (oldStyle) {
              partitions.push({
                partitionIndex: requested.partitionIndex,
                errorCode: ErrorCode.NONE,
                oldStyleOffsets: await lookUpOldStyle(
                  partition,
                  requested.timestamp,
                  requested.maxNumOffsets,
                ),
              });
              continue;
            }
            const found = await lookUp(partition, requested.timestamp, readCommitted);
            partitions.push({
              partitionIndex: requested.partitionIndex,
              errorCode: ErrorCode.NONE,
              timestamp: BigInt(found.timestamp),
              offset: BigInt(found.offset),
              leaderEpoch: found.offset >= 0 ? partition.leaderEpoch : -1,
            });
          } catch (error) {
            partitions.push({
              partitionIndex: requested.partitionIndex,
              errorCode: kafkaErrorCodeOf(error),
              timestamp: -1n,
              offset: -1n,
            });
          }
        }
        topics.push({ name: topic.name, partitions });
      }
      return { throttleTimeMs: 0, topics };
    },
  });
}

async function lookUp(
  partition: Partition,
  timestamp: bigint,
  readCommitted: boolean,
): Promise<{ offset: number; timestamp: number }> {
  // Offsets past what a consumer may read are never returned.
  const visibleEnd = readCommitted ? partition.lastStableOffset : partition.highWatermark;
  switch (timestamp) {
    case LATEST_TIMESTAMP:
    case LATEST_TIERED_TIMESTAMP:
      return { offset: visibleEnd, timestamp: -1 };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP:
      return { offset: partition.logStartOffset, timestamp: -1 };
    case MAX_TIMESTAMP: {
      const found = partition.log.maxTimestampOffset();
      if (found.offset < 0 || found.offset >= visibleEnd) return { offset: -1, timestamp: -1 };
      return found;
    }
    default: {
      const found = await partition.log.offsetForTimestamp(Number(timestamp));
      if (found === null || found.offset >= visibleEnd) return { offset: -1, timestamp: -1 };
      return found;
    }
  }
}

/** Version 0's answer: a list of at most `maxNumOffsets` offsets, newest first. */
async function lookUpOldStyle(
  partition: Partition,
  timestamp: bigint,
  maxNumOffsets: number,
): Promise<bigint[]> {
  if (maxNumOffsets <= 0) return [];
  const found = await lookUp(partition, timestamp, false);
  const offset =
    found.offset >= 0 || timestamp === MAX_TIMESTAMP ? found.offset : partition.highWatermark;
  return offset >= 0 ? [BigInt(offset)] : [];
}
