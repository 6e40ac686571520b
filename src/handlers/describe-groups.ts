// DescribeGroups (key 15): state, protocol and members of groups, with each member's metadata
// and assignment while the group is Stable (Kafka's rule). It describes classic groups only: a
// group it does not know, a KIP-932 share group among them, is Dead, and from v6 (KIP-1043)
// GROUP_ID_NOT_FOUND with a message saying which (a share group is not a classic group: the
// client asks ShareGroupDescribe).

import type { GroupCoordinator, GroupDescription } from '../coordinator/group/group-coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../security/acl.js';
import type { DescribeGroupsResponseDescribedGroupInput } from '../protocol/generated/describe-groups.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import type { ShareGroupAdmin } from './shared/share-group-admin.js';

const authorizedOperationsVersionMin = 3;
const groupInstanceIdVersionMin = 4;
const groupNotFoundVersionMin = 6;

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

/** From v6 a group the coordinator does not know is GROUP_ID_NOT_FOUND, as in Kafka 4.x. */
function notFound(
  described: DescribeGroupsResponseDescribedGroupInput,
  shareGroups: ShareGroupAdmin | null,
): DescribeGroupsResponseDescribedGroupInput {
  const { groupId } = described;
  if (described.errorCode !== ErrorCode.NONE || described.groupState !== 'Dead') return described;
  return {
    ...described,
    errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
    authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    errorMessage:
      shareGroups?.has(groupId) === true
        ? `Group ${groupId} is not a classic group.`
        : `Group ${groupId} not found.`,
  };
}

export function createDescribeGroupsHandler(
  coordinator: GroupCoordinator,
  shareGroups: ShareGroupAdmin | null = null,
) {
  return defineHandler(ApiKey.DescribeGroups, {
    ...servedVersions[ApiKey.DescribeGroups],
    handle(request, context) {
      const version = context.apiVersion;
      const include =
        version >= authorizedOperationsVersionMin && request.includeAuthorizedOperations;
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((groupId) => {
          const described = toDescribedGroup(coordinator.describeGroup(groupId, include), version);
          return version >= groupNotFoundVersionMin ? notFound(described, shareGroups) : described;
        }),
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
