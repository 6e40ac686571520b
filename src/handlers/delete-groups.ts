// DeleteGroups (key 42): removes groups that have no members, with their committed offsets.

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponseInput,
} from '../protocol/generated/delete-groups.js';
import type { Handler } from './registry.js';

const deleteGroupsKey = 42;

export function createDeleteGroupsHandler(
  coordinator: GroupCoordinator,
): Handler<DeleteGroupsRequest, DeleteGroupsResponseInput> {
  return {
    apiKey: deleteGroupsKey,
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
  };
}
