// ShareGroupHeartbeat (key 76, v1): a member joins a share group (epoch 0), stays in it, or
// leaves (epoch -1); the answer carries its epoch and, when it changed, its assignment: every
// partition of the topics it subscribes to.

import { ApiKey } from '../../protocol/generated/index.js';
import type {
  ShareGroupHeartbeatRequest,
  ShareGroupHeartbeatResponseInput,
} from '../../protocol/generated/share-group-heartbeat.js';
import { defineHandler } from '../../handlers/registry.js';
import { originalClient } from './share-forwarder.js';
import type { ShareGroups } from './share-groups.js';

export function createShareGroupHeartbeatHandler(groups: ShareGroups) {
  return defineHandler(ApiKey.ShareGroupHeartbeat, {
    minVersion: 1,
    maxVersion: 1,
    handle: async (request, context): Promise<ShareGroupHeartbeatResponseInput> => {
      const answer = await groups.heartbeat({
        groupId: request.groupId,
        memberId: request.memberId,
        memberEpoch: request.memberEpoch,
        rackId: request.rackId,
        subscribedTopicNames: request.subscribedTopicNames,
        // A heartbeat passed on by the id's classic coordinator names the client it came from.
        ...originalClient(context),
      });
      return {
        throttleTimeMs: 0,
        errorCode: answer.errorCode,
        errorMessage: answer.errorMessage,
        memberId: answer.memberId,
        memberEpoch: answer.memberEpoch,
        heartbeatIntervalMs: answer.heartbeatIntervalMs,
        assignment: answer.assignment === null ? null : { topicPartitions: [...answer.assignment] },
      };
    },
    errorResponse: (_request: ShareGroupHeartbeatRequest, errorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
    }),
  });
}
