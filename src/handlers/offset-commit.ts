// OffsetCommit (key 8): answered only once the commit's records are durable in
// __consumer_offsets. v0 commits outside group management (generation −1); v1+ carry the
// generation and member id, which must be current unless the group has no members.

import type {
  GroupCoordinator,
  TopicPartitionErrors,
} from '../coordinator/group/group-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { OffsetCommitResponseInput } from '../protocol/generated/offset-commit.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

function toResponse(topics: TopicPartitionErrors[]): OffsetCommitResponseInput {
  return {
    throttleTimeMs: 0,
    topics: topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((entry) => ({
        partitionIndex: entry.partition,
        errorCode: entry.errorCode,
      })),
    })),
  };
}

export function createOffsetCommitHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.OffsetCommit, {
    ...servedVersions[ApiKey.OffsetCommit],
    async handle(request) {
      const topics = await coordinator.commitOffsets({
        groupId: request.groupId,
        memberId: request.memberId,
        generationId: request.generationIdOrMemberEpoch,
        groupInstanceId: request.groupInstanceId,
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((entry) => ({
            partition: entry.partitionIndex,
            offset: entry.committedOffset,
            leaderEpoch: entry.committedLeaderEpoch,
            metadata: entry.committedMetadata,
          })),
        })),
      });
      return toResponse(topics);
    },
    errorResponse(request, errorCode) {
      return toResponse(
        request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((entry) => ({
            partition: entry.partitionIndex,
            errorCode,
          })),
        })),
      );
    },
  });
}
