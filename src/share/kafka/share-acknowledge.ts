// ShareAcknowledge (key 79, v1–2): a share-group member settles records it holds without
// fetching more: accept (1), release (2), reject (3: to the dead-letter topic, as the engine
// does), renew (4, v2: hold them for another lock duration). Answered once the new states are
// durable. Epoch -1 closes the share session after the acknowledgements.

import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type {
  ShareAcknowledgeRequest,
  ShareAcknowledgeResponse,
  ShareAcknowledgeResponseInput,
  ShareAcknowledgeResponseShareAcknowledgeTopicResponseInput,
} from '../../protocol/generated/share-acknowledge.js';
import { defineHandler } from '../../handlers/registry.js';
import { type ShareForwarder, forwardedOrigin } from './share-forwarder.js';
import type { ShareGroups } from './share-groups.js';

/** `forwarder` (cluster mode): as ShareFetch's, a group served elsewhere is asked there. */
export function createShareAcknowledgeHandler(
  groups: ShareGroups,
  nodeId: number,
  forwarder?: ShareForwarder,
) {
  const topLevel = (
    errorCode: number,
    errorMessage: string | null,
  ): ShareAcknowledgeResponseInput => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    acquisitionLockTimeoutMs: groups.lockDurationMs,
    responses: [],
    nodeEndpoints: [],
  });

  return defineHandler(ApiKey.ShareAcknowledge, {
    minVersion: 1,
    maxVersion: 2,
    handle: async (request, context) => {
      const { groupId, memberId, shareSessionEpoch } = request;
      if (groupId === null || groupId === '' || memberId === null || memberId === '')
        return topLevel(ErrorCode.INVALID_REQUEST, 'GroupId and MemberId are required');
      const origin = forwardedOrigin(context);
      const owner = origin === '' ? groups.servedElsewhere(groupId) : undefined;
      if (owner !== undefined && forwarder !== undefined) {
        try {
          return await forwarder.forward<ShareAcknowledgeResponse>(owner, context, request);
        } catch (error) {
          return topLevel(
            ErrorCode.NOT_COORDINATOR,
            `share group ${groupId} is served by broker ${owner}, which did not answer: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      const checked = groups.checkSession(
        groupId,
        memberId,
        shareSessionEpoch,
        'must-exist',
        origin,
      );
      if (checked.errorCode !== 0)
        return topLevel(checked.errorCode, 'errorMessage' in checked ? checked.errorMessage : null);

      const responses: ShareAcknowledgeResponseShareAcknowledgeTopicResponseInput[] = [];
      for (const topic of request.topics) {
        const topicName = groups.resolveTopicName(topic.topicId);
        const subscription =
          topicName === null ? null : await groups.subscriptionFor(groupId, topicName);
        const partitions = [];
        for (const partition of topic.partitions) {
          const resolved = groups.resolve(topic.topicId, partition.partitionIndex);
          if (subscription === null || 'errorCode' in resolved) {
            partitions.push({
              partitionIndex: partition.partitionIndex,
              errorCode: 'errorCode' in resolved ? resolved.errorCode : ErrorCode.UNKNOWN_TOPIC_ID,
              currentLeader: { leaderId: -1, leaderEpoch: -1 },
            });
            continue;
          }
          const result = await groups.acknowledge(
            subscription,
            partition.partitionIndex,
            memberId,
            partition.acknowledgementBatches,
          );
          partitions.push({
            partitionIndex: partition.partitionIndex,
            errorCode: result.errorCode,
            errorMessage: result.errorMessage,
            currentLeader: { leaderId: nodeId, leaderEpoch: resolved.leaderEpoch },
          });
        }
        responses.push({ topicId: topic.topicId, partitions });
      }
      if (shareSessionEpoch === -1)
        groups.closeSession(groupId, memberId, 'closed' in checked ? checked.closed : undefined);
      return { ...topLevel(0, null), responses };
    },
    errorResponse: (_request: ShareAcknowledgeRequest, errorCode) => topLevel(errorCode, null),
  });
}
