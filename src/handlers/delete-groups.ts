// DeleteGroups (key 42): removes groups that have no members, with their committed offsets; a
// KIP-932 share group (when enabled) with its durable share state. A group with members is
// refused NON_EMPTY_GROUP.

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import type { ShareGroupAdmin } from './shared/share-group-admin.js';

export function createDeleteGroupsHandler(
  coordinator: GroupCoordinator,
  shareGroups: ShareGroupAdmin | null = null,
) {
  return defineHandler(ApiKey.DeleteGroups, {
    ...servedVersions[ApiKey.DeleteGroups],
    async handle(request) {
      // Which store each group is in is decided once, before anything awaits.
      const share = new Set(request.groupsNames.filter((groupId) => shareGroups?.has(groupId)));
      const [classic, shared] = await Promise.all([
        coordinator.deleteGroups(request.groupsNames.filter((groupId) => !share.has(groupId))),
        Promise.all(
          [...share].map(async (groupId) => ({
            groupId,
            errorCode: await shareGroups!.deleteGroup(groupId),
          })),
        ),
      ]);
      const byGroup = new Map([...classic, ...shared].map((result) => [result.groupId, result]));
      return {
        throttleTimeMs: 0,
        results: request.groupsNames.map((groupId) => byGroup.get(groupId)!),
      };
    },
    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        results: request.groupsNames.map((groupId) => ({ groupId, errorCode })),
      };
    },
  });
}
