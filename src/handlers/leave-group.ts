// LeaveGroup (key 13): members leave; the rest rebalance at once instead of waiting out a
// session timeout. v0–2 carry one member id; v3+ a batch of members, static ones by instance id.

import type { GroupCoordinator, LeaveGroupResult } from '../coordinator/group/group-coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { LeaveGroupResponseInput } from '../protocol/generated/leave-group.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

const batchedMembersVersionMin = 3;

function toResponse(result: LeaveGroupResult, version: number): LeaveGroupResponseInput {
  if (version >= batchedMembersVersionMin) {
    return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
  }
  // One member: its error is the response's error.
  const memberError = result.members[0]?.errorCode ?? ErrorCode.NONE;
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError,
  };
}

export function createLeaveGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.LeaveGroup, {
    ...servedVersions[ApiKey.LeaveGroup],
    handle(request, context) {
      const leaving =
        context.apiVersion >= batchedMembersVersionMin
          ? request.members.map((member) => ({
              memberId: member.memberId,
              groupInstanceId: member.groupInstanceId,
            }))
          : [{ memberId: request.memberId, groupInstanceId: null }];
      return toResponse(coordinator.leaveGroup(request.groupId, leaving), context.apiVersion);
    },
    errorResponse(_request, errorCode, context) {
      return toResponse({ errorCode, members: [] }, context.apiVersion);
    },
  });
}
