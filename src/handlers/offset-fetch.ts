// OffsetFetch (key 9): committed offsets of one group (v0–7) or several (v8+); all of a group's
// partitions when the topics are null (v2+). v0–1 have no group-level error, so a coordinator
// error is reported on every requested partition.

import type {
  GroupCoordinator,
  OffsetFetchResult,
} from '../coordinator/group/group-coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { OffsetFetchResponsePartitionInput } from '../protocol/generated/offset-fetch.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

const groupErrorVersionMin = 2;
const batchedGroupsVersionMin = 8;

type RequestedTopics = { name: string; partitions: number[] }[] | null;

function requested(topics: { name: string; partitionIndexes: number[] }[] | null): RequestedTopics {
  return topics === null
    ? null
    : topics.map((topic) => ({ name: topic.name, partitions: topic.partitionIndexes }));
}

function partitionsOf(
  result: OffsetFetchResult,
  topics: RequestedTopics,
  version: number,
): { name: string; partitions: OffsetFetchResponsePartitionInput[] }[] {
  if (result.errorCode !== ErrorCode.NONE && version < groupErrorVersionMin) {
    return (topics ?? []).map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({
        partitionIndex: partition,
        committedOffset: -1n,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: result.errorCode,
      })),
    }));
  }
  return result.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((entry) => ({
      partitionIndex: entry.partition,
      committedOffset: entry.offset,
      committedLeaderEpoch: entry.leaderEpoch,
      metadata: entry.metadata,
      errorCode: entry.errorCode,
    })),
  }));
}

export function createOffsetFetchHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.OffsetFetch, {
    ...servedVersions[ApiKey.OffsetFetch],
    handle(request, context) {
      const version = context.apiVersion;
      // require_stable (v7+): partitions with offsets in an open transaction answer
      // UNSTABLE_OFFSET_COMMIT until it ends.
      const requireStable = version >= 7 && request.requireStable;
      if (version >= batchedGroupsVersionMin) {
        return {
          throttleTimeMs: 0,
          groups: request.groups.map((group) => {
            const topics = requested(group.topics);
            const result = coordinator.fetchOffsets(group.groupId, topics, requireStable);
            return {
              groupId: group.groupId,
              errorCode: result.errorCode,
              topics: partitionsOf(result, topics, version),
            };
          }),
        };
      }
      const topics = requested(request.topics);
      const result = coordinator.fetchOffsets(request.groupId, topics, requireStable);
      return {
        throttleTimeMs: 0,
        errorCode: version >= groupErrorVersionMin ? result.errorCode : ErrorCode.NONE,
        topics: partitionsOf(result, topics, version),
      };
    },
    errorResponse(request, errorCode, context) {
      const version = context.apiVersion;
      const failed = { errorCode, topics: [] };
      if (version >= batchedGroupsVersionMin) {
        return {
          throttleTimeMs: 0,
          groups: request.groups.map((group) => ({
            groupId: group.groupId,
            errorCode,
            topics: [],
          })),
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: version >= groupErrorVersionMin ? errorCode : ErrorCode.NONE,
        topics: partitionsOf(failed, requested(request.topics), version),
      };
    },
  });
}
