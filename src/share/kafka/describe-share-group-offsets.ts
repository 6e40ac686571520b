// DescribeShareGroupOffsets (key 90, v0): each share-partition's start offset (every record below
// it is acknowledged, dead-lettered or expired for the group), for the topics asked or, with
// null topics, every topic the group reads. A topic the group never read answers -1.

import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type {
  DescribeShareGroupOffsetsRequest,
  DescribeShareGroupOffsetsRequestGroup,
  DescribeShareGroupOffsetsResponseGroupInput,
} from '../../protocol/generated/describe-share-group-offsets.js';
import type { ReplicaManager } from '../../replica/replica-manager.js';
import { defineHandler } from '../../handlers/registry.js';
import type { ShareGroups } from './share-groups.js';

export function createDescribeShareGroupOffsetsHandler(
  groups: ShareGroups,
  replicas: ReplicaManager,
) {
  const describe = (
    request: DescribeShareGroupOffsetsRequestGroup,
  ): DescribeShareGroupOffsetsResponseGroupInput => {
    // Cluster mode: only the group's coordinator answers for it.
    const notServed = groups.coordinatorError(request.groupId);
    if (notServed !== null) return { groupId: request.groupId, topics: [], ...notServed };
    const read = groups.readTopics(request.groupId);
    if (read === null)
      return {
        groupId: request.groupId,
        topics: [],
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        errorMessage: groups.notFoundMessage(request.groupId),
      };
    const asked =
      request.topics ??
      [...read.keys()].sort().map((topicName) => {
        const topic = replicas.topic(topicName);
        return {
          topicName,
          partitions: topic === undefined ? [] : groups.partitionIndexesOf(topic),
        };
      });
    return {
      groupId: request.groupId,
      errorCode: 0,
      topics: asked.map(({ topicName, partitions }) => {
        const topic = replicas.topic(topicName);
        const subscription = read.get(topicName);
        return {
          topicName,
          topicId: topic?.metadata.topicId ?? Buffer.alloc(16),
          partitions: partitions.map((partitionIndex) => {
            if (
              topic === undefined ||
              partitionIndex < 0 ||
              partitionIndex >= topic.metadata.partitionCount
            )
              return {
                partitionIndex,
                startOffset: -1n,
                leaderEpoch: -1,
                errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              };
            const startOffset = subscription?.startOffsetOf(partitionIndex);
            return {
              partitionIndex,
              startOffset: BigInt(startOffset ?? -1),
              leaderEpoch: topic.partitions[partitionIndex]?.leaderEpoch ?? -1,
              errorCode: 0,
            };
          }),
        };
      }),
    };
  };

  return defineHandler(ApiKey.DescribeShareGroupOffsets, {
    minVersion: 0,
    maxVersion: 0,
    handle: (request) => ({ throttleTimeMs: 0, groups: request.groups.map(describe) }),
    errorResponse: (request: DescribeShareGroupOffsetsRequest, errorCode) => ({
      throttleTimeMs: 0,
      groups: request.groups.map((group) => ({ groupId: group.groupId, topics: [], errorCode })),
    }),
  });
}
