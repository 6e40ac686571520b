// Heartbeat (key 12): keeps a member's session alive and tells it when to rejoin
// (REBALANCE_IN_PROGRESS).

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import type { HeartbeatRequest, HeartbeatResponseInput } from '../protocol/generated/heartbeat.js';
import type { Handler } from './registry.js';

const heartbeatKey = 12;

export function createHeartbeatHandler(
  coordinator: GroupCoordinator,
): Handler<HeartbeatRequest, HeartbeatResponseInput> {
  return {
    apiKey: heartbeatKey,
    minVersion: 0,
    maxVersion: 4,
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
  };
}
