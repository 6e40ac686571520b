// AlterShareGroupOffsets (key 91, v0): sets a share group's start offset per partition, as
// `kafka-share-groups --reset-offsets` does. Kafka allows it only while the group has no
// members (NON_EMPTY_GROUP otherwise); a topic the group did not read yet is read from the given
// offsets on. Answered once the new state is durable.

import { ApiKey } from '../../protocol/generated/index.js';
import type { AlterShareGroupOffsetsRequest } from '../../protocol/generated/alter-share-group-offsets.js';
import { defineHandler } from '../../handlers/registry.js';
import type { ShareGroups } from './share-groups.js';

export function createAlterShareGroupOffsetsHandler(groups: ShareGroups) {
  return defineHandler(ApiKey.AlterShareGroupOffsets, {
    minVersion: 0,
    maxVersion: 0,
    handle: async (request) => {
      const answer = await groups.alterStartOffsets(request.groupId, request.topics);
      return {
        throttleTimeMs: 0,
        errorCode: answer.errorCode,
        errorMessage: answer.errorMessage,
        responses: answer.topics,
      };
    },
    errorResponse: (request: AlterShareGroupOffsetsRequest, errorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      responses: request.topics.map((topic) => ({
        topicName: topic.topicName,
        topicId: Buffer.alloc(16),
        partitions: topic.partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode })),
      })),
    }),
  });
}
