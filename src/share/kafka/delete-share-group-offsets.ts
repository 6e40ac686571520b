// DeleteShareGroupOffsets (key 92, v0): forgets a share group's state for whole topics (its
// start offsets and record states in __share_group_state). Kafka allows it only while the group
// has no members (NON_EMPTY_GROUP otherwise); a topic the group has no state for answers
// UNKNOWN_TOPIC_OR_PARTITION. Answered once the deletion is durable.

import { ApiKey } from '../../protocol/generated/index.js';
import type { DeleteShareGroupOffsetsRequest } from '../../protocol/generated/delete-share-group-offsets.js';
import { defineHandler } from '../../handlers/registry.js';
import type { ShareGroups } from './share-groups.js';

export function createDeleteShareGroupOffsetsHandler(groups: ShareGroups) {
  return defineHandler(ApiKey.DeleteShareGroupOffsets, {
    minVersion: 0,
    maxVersion: 0,
    handle: async (request) => {
      const answer = await groups.deleteTopicState(
        request.groupId,
        request.topics.map((topic) => topic.topicName),
      );
      return {
        throttleTimeMs: 0,
        errorCode: answer.errorCode,
        errorMessage: answer.errorMessage,
        responses: answer.topics,
      };
    },
    errorResponse: (_request: DeleteShareGroupOffsetsRequest, errorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      responses: [],
    }),
  });
}
