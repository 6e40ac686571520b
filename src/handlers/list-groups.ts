// ListGroups (key 16): every group this broker coordinates, filtered by state (v4+) and type
// (v5+; every group here is "classic").

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import type {
  ListGroupsRequest,
  ListGroupsResponseInput,
} from '../protocol/generated/list-groups.js';
import type { Handler } from './registry.js';

const listGroupsKey = 16;
const stateVersionMin = 4;
const typeVersionMin = 5;

export function createListGroupsHandler(
  coordinator: GroupCoordinator,
): Handler<ListGroupsRequest, ListGroupsResponseInput> {
  return {
    apiKey: listGroupsKey,
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
  };
}
