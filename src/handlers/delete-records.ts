// DeleteRecords (API key 21): advances partitions' log start offsets, making earlier records
// unreadable and letting storage drop whole segments below it. Offset -1 means the high
// watermark; an offset past the high watermark is OFFSET_OUT_OF_RANGE, since records a consumer
// cannot yet see must not be deleted. The answer is the new low watermark (log start offset).

import type { PartitionLeadership } from '../cluster/partition-leadership.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { DeleteRecordsResponseDeleteRecordsPartitionResultInput } from '../protocol/generated/delete-records.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { isDeleteRetained } from '../storage/log-config.js';
import { adminErrorOf } from './shared/errors.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

/** The offset that means "everything up to the high watermark". */
const HIGH_WATERMARK = -1n;

export function createDeleteRecordsHandler(dependencies: {
  readonly replicas: ReplicaManager;
  /** Cluster mode: only a partition's leader deletes its records. */
  readonly leadership?: PartitionLeadership;
}) {
  const { replicas } = dependencies;
  return defineHandler(ApiKey.DeleteRecords, {
    ...servedVersions[ApiKey.DeleteRecords],

    async handle(request) {
      const topics = await Promise.all(
        request.topics.map(async (topic) => ({
          name: topic.name,
          partitions: await Promise.all(
            topic.partitions.map((requested) =>
              deleteBefore(topic.name, requested.partitionIndex, requested.offset),
            ),
          ),
        })),
      );
      return { throttleTimeMs: 0, topics };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((requested) => ({
            partitionIndex: requested.partitionIndex,
            lowWatermark: -1n,
            errorCode,
          })),
        })),
      };
    },
  });

  async function deleteBefore(
    topicName: string,
    partitionIndex: number,
    requestedOffset: bigint,
  ): Promise<DeleteRecordsResponseDeleteRecordsPartitionResultInput> {
    const failed = (errorCode: number) => ({ partitionIndex, lowWatermark: -1n, errorCode });
    if (dependencies.leadership?.notLeader(topicName, partitionIndex) != null) {
      return failed(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    const partition = replicas.partition(topicName, partitionIndex);
    if (partition === undefined) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Its log directory could not be opened (storage/offline-log.ts).
    if (partition.log.offline) return failed(ErrorCode.KAFKA_STORAGE_ERROR);
    // Kafka refuses to delete records of a compacted topic: compaction decides what it keeps.
    if (!isDeleteRetained(partition.log.config)) return failed(ErrorCode.POLICY_VIOLATION);
    const highWatermark = partition.highWatermark;
    const offset = requestedOffset === HIGH_WATERMARK ? highWatermark : Number(requestedOffset);
    if (offset < 0 || offset > highWatermark) return failed(ErrorCode.OFFSET_OUT_OF_RANGE);
    try {
      const logStartOffset = await partition.log.deleteRecordsBefore(offset);
      return { partitionIndex, lowWatermark: BigInt(logStartOffset), errorCode: ErrorCode.NONE };
    } catch (error) {
      return failed(adminErrorOf(error).errorCode);
    }
  }
}
