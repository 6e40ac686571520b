// ShareGroupDescribe (key 77, v1): the members of share groups, their subscriptions and
// assignments (every partition of the subscribed topics).

import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type {
  ShareGroupDescribeRequest,
  ShareGroupDescribeResponseDescribedGroupInput,
} from '../../protocol/generated/share-group-describe.js';
import type { ReplicaManager } from '../../replica/replica-manager.js';
import { defineHandler } from '../../handlers/registry.js';
import type { ShareGroups } from './share-groups.js';

/** Kafka's only share-group assignor hands every member every partition, as this one does. */
const assignorName = 'simple';

/** A group not described here: its id and why, with nothing else. */
function undescribed(
  groupId: string,
  errorCode: number,
  errorMessage?: string,
): ShareGroupDescribeResponseDescribedGroupInput {
  return {
    errorCode,
    ...(errorMessage === undefined ? {} : { errorMessage }),
    groupId,
    groupState: '',
    groupEpoch: -1,
    assignmentEpoch: -1,
    assignorName: '',
    members: [],
  };
}

export function createShareGroupDescribeHandler(groups: ShareGroups, replicas: ReplicaManager) {
  const describe = (groupId: string): ShareGroupDescribeResponseDescribedGroupInput => {
    // Cluster mode: only the group's coordinator describes it.
    const notServed = groups.coordinatorError(groupId);
    if (notServed !== null)
      return undescribed(groupId, notServed.errorCode, notServed.errorMessage);
    const group = groups.group(groupId);
    // A group known only by its durable state (after a restart, before a member joins) is Empty.
    if (group === undefined && groups.has(groupId))
      return {
        errorCode: 0,
        groupId,
        groupState: 'Empty',
        groupEpoch: 0,
        assignmentEpoch: 0,
        assignorName,
        members: [],
      };
    if (group === undefined)
      return {
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        errorMessage: groups.notFoundMessage(groupId),
        groupId,
        groupState: 'Dead',
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: '',
        members: [],
      };
    return {
      errorCode: 0,
      groupId,
      groupState: group.members.size === 0 ? 'Empty' : 'Stable',
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.groupEpoch,
      assignorName,
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        rackId: member.rackId,
        memberEpoch: member.epoch,
        clientId: member.clientId,
        clientHost: member.clientHost,
        subscribedTopicNames: member.subscribedTopicNames,
        assignment: {
          topicPartitions: member.subscribedTopicNames.flatMap((name) => {
            const topic = replicas.topic(name);
            if (topic === undefined) return [];
            return [
              {
                topicId: topic.metadata.topicId,
                topicName: name,
                partitions: groups.partitionIndexesOf(topic),
              },
            ];
          }),
        },
      })),
    };
  };
  return defineHandler(ApiKey.ShareGroupDescribe, {
    minVersion: 1,
    maxVersion: 1,
    handle: (request) => ({ throttleTimeMs: 0, groups: request.groupIds.map(describe) }),
    errorResponse: (request: ShareGroupDescribeRequest, errorCode) => ({
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => undescribed(groupId, errorCode)),
    }),
  });
}
