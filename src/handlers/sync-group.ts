// SyncGroup (key 14): the leader hands in the assignment; every member gets its share once it is
// durable in __consumer_offsets.

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import type { SyncGroupResult } from '../coordinator/group/classic-group.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { SyncGroupResponseInput } from '../protocol/generated/sync-group.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

function toResponse(result: SyncGroupResult, version: number): SyncGroupResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    protocolType: version >= 5 ? result.protocolType : null,
    protocolName: version >= 5 ? result.protocolName : null,
    assignment: result.assignment,
  };
}

export function createSyncGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.SyncGroup, {
    ...servedVersions[ApiKey.SyncGroup],
    async handle(request, context) {
      const result = await coordinator.syncGroup({
        groupId: request.groupId,
        memberId: request.memberId,
        generationId: request.generationId,
        groupInstanceId: request.groupInstanceId,
        protocolType: request.protocolType,
        protocolName: request.protocolName,
        // Copied: the request's buffer is the connection's, and assignments outlive the request.
        assignments: request.assignments.map((entry) => ({
          memberId: entry.memberId,
          assignment: Buffer.from(entry.assignment),
        })),
      });
      return toResponse(result, context.apiVersion);
    },
    errorResponse(_request, errorCode, context) {
      return toResponse(
        { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) },
        context.apiVersion,
      );
    },
  });
}
