// OffsetDelete (key 47): removes a group's committed offsets for topics it no longer consumes
// (GROUP_SUBSCRIBED_TO_TOPIC for those it still does).

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createOffsetDeleteHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.OffsetDelete, {
    ...servedVersions[ApiKey.OffsetDelete],
    async handle(request) {
      const result = await coordinator.deleteOffsets(
        request.groupId,
        request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((entry) => entry.partitionIndex),
        })),
      );
      return {
        errorCode: result.errorCode,
        throttleTimeMs: 0,
        topics: result.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map((entry) => ({
            partitionIndex: entry.partition,
            errorCode: entry.errorCode,
          })),
        })),
      };
    },
    errorResponse(_request, errorCode) {
      return { errorCode, throttleTimeMs: 0, topics: [] };
    },
  });
}
