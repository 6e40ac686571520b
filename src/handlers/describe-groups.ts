// DescribeGroups (key 15): state, protocol and members of groups, with each member's metadata
// and assignment while the group is Stable (Kafka's rule).

import type { GroupCoordinator, GroupDescription } from '../coordinator/group/group-coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../security/acl.js';
import type { DescribeGroupsResponseDescribedGroupInput } from '../protocol/generated/describe-groups.js';
import { defineHandler } from './registry.js';

const authorizedOperationsVersionMin = 3;
const groupInstanceIdVersionMin = 4;

function toDescribedGroup(
  description: GroupDescription,
  version: number,
): DescribeGroupsResponseDescribedGroupInput {
  return {
    errorCode: description.errorCode,
    groupId: description.groupId,
    groupState: description.state,
    protocolType: description.protocolType,
    protocolData: description.protocolName,
    members: description.members.map((member) => ({
      memberId: member.memberId,
      groupInstanceId: version >= groupInstanceIdVersionMin ? member.groupInstanceId : null,
      clientId: member.clientId,
      clientHost: member.clientHost,
      memberMetadata: member.metadata,
      memberAssignment: member.assignment,
    })),
    // Kafka reports a group's authorized operations only when it could describe the group.
    authorizedOperations:
      version >= authorizedOperationsVersionMin && description.errorCode === ErrorCode.NONE
        ? description.authorizedOperations
        : AUTHORIZED_OPERATIONS_OMITTED,
  };
}

export function createDescribeGroupsHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.DescribeGroups, {
    minVersion: 0,
    maxVersion: 5,
    handle(request, context) {
      const version = context.apiVersion;
      const include =
        version >= authorizedOperationsVersionMin && request.includeAuthorizedOperations;
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((groupId) =>
          toDescribedGroup(coordinator.describeGroup(groupId, include), version),
        ),
      };
    },
    errorResponse(request, errorCode, context) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((groupId) =>
          toDescribedGroup(
            {
              groupId,
              errorCode,
              state: '',
              protocolType: '',
              protocolName: '',
              authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
              members: [],
            },
            context.apiVersion,
          ),
        ),
      };
    },
  });
}
