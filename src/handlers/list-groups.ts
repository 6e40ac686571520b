// ListGroups (key 16): every group this broker coordinates, filtered by state (v4+) and type
// (v5+): classic groups from the group coordinator, and KIP-932 share groups (group type and
// protocol type "share") when they are enabled. Versions before 5 carry no type, and list both.

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import { SHARE_GROUP_TYPE, type ShareGroupAdmin } from './shared/share-group-admin.js';

const stateVersionMin = 4;
const typeVersionMin = 5;

export function createListGroupsHandler(
  coordinator: GroupCoordinator,
  shareGroups: ShareGroupAdmin | null = null,
) {
  return defineHandler(ApiKey.ListGroups, {
    ...servedVersions[ApiKey.ListGroups],
    handle(request, context) {
      const version = context.apiVersion;
      const statesFilter = version >= stateVersionMin ? request.statesFilter : [];
      const typesFilter = version >= typeVersionMin ? request.typesFilter : [];
      const { errorCode, groups } = coordinator.listGroups(statesFilter, typesFilter);
      const states = new Set(statesFilter.map((state) => state.toLowerCase()));
      const types = new Set(typesFilter.map((type) => type.toLowerCase()));
      const shared =
        shareGroups === null || (types.size > 0 && !types.has(SHARE_GROUP_TYPE))
          ? []
          : shareGroups
              .list()
              .filter((group) => states.size === 0 || states.has(group.state.toLowerCase()))
              .map((group) => ({
                groupId: group.groupId,
                protocolType: SHARE_GROUP_TYPE,
                state: group.state,
                groupType: SHARE_GROUP_TYPE,
              }));
      return {
        throttleTimeMs: 0,
        errorCode,
        groups: [...groups, ...shared].map((group) => ({
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
