// Heartbeat (key 12): keeps a member's session alive and tells it when to rejoin
// (REBALANCE_IN_PROGRESS).

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createHeartbeatHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.Heartbeat, {
    ...servedVersions[ApiKey.Heartbeat],
    handle(request) {
      const errorCode = coordinator.heartbeat({
        groupId: request.groupId,
        memberId: request.memberId,
        generationId: request.generationId,
        groupInstanceId: request.groupInstanceId,
      });
      return { throttleTimeMs: 0, errorCode };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode };
    },
  });
}
