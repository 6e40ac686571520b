// ListGroups (key 16): every group this broker coordinates, filtered by state (v4+) and type
// (v5+; every group here is "classic").

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';

const stateVersionMin = 4;
const typeVersionMin = 5;

export function createListGroupsHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.ListGroups, {
    minVersion: 0,
    maxVersion: 5,
    handle(request, context) {
      const version = context.apiVersion;
      const { errorCode, groups } = coordinator.listGroups(
        version >= stateVersionMin ? request.statesFilter : [],
        version >= typeVersionMin ? request.typesFilter : [],
      );
      return {
        throttleTimeMs: 0,
        errorCode,
        groups: groups.map((group) => ({
          groupId: group.groupId,
          protocolType: group.protocolType,
          ...(version >= stateVersionMin ? { groupState: group.state } : {}),
          ...(version >= typeVersionMin ? { groupType: group.groupType } : {}),
        })),
      };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, groups: [] };
    },
  });
}
