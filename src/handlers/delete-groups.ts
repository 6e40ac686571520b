// DeleteGroups (key 42): removes groups that have no members, with their committed offsets.

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';

export function createDeleteGroupsHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.DeleteGroups, {
    minVersion: 0,
    maxVersion: 2,
    async handle(request) {
      return { throttleTimeMs: 0, results: await coordinator.deleteGroups(request.groupsNames) };
    },
    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        results: request.groupsNames.map((groupId) => ({ groupId, errorCode })),
      };
    },
  });
}
