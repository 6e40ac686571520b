// JoinGroup (key 11): a member (re)joins its group. The response is sent when the rebalance's
// join phase completes, which may take up to the group's rebalance timeout; the connection's
// later responses wait behind it, as with Kafka.

import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import type { JoinGroupResult } from '../coordinator/group/classic-group.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { JoinGroupResponseInput } from '../protocol/generated/join-group.js';
import { defineHandler, type RequestContext } from './registry.js';
import { servedVersions } from './served-versions.js';

/** From v4 a new member first gets MEMBER_ID_REQUIRED and a member id to join with. */
const requireKnownMemberIdVersionMin = 4;

/** Kafka reports the client host with a leading slash (InetAddress.toString). */
export function clientHostOf(context: RequestContext): string {
  return `/${context.remoteAddress}`;
}

function toResponse(result: JoinGroupResult, version: number): JoinGroupResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: version >= 7 ? result.protocolType : null,
    // Before v7 the protocol name is not nullable.
    protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
    leader: result.leaderId,
    skipAssignment: version >= 9 ? result.skipAssignment : false,
    memberId: result.memberId,
    members: result.members.map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadata,
    })),
  };
}

export function createJoinGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler(ApiKey.JoinGroup, {
    ...servedVersions[ApiKey.JoinGroup],
    async handle(request, context) {
      const result = await coordinator.joinGroup({
        groupId: request.groupId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        clientId: context.clientId ?? '',
        clientHost: clientHostOf(context),
        sessionTimeoutMs: request.sessionTimeoutMs,
        // v0 has no rebalance timeout: the session timeout served as both.
        rebalanceTimeoutMs:
          request.rebalanceTimeoutMs >= 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols.map((protocol) => ({
          name: protocol.name,
          metadata: Buffer.from(protocol.metadata),
        })),
        requireKnownMemberId: context.apiVersion >= requireKnownMemberIdVersionMin,
      });
      return toResponse(result, context.apiVersion);
    },
    errorResponse(request, errorCode, context) {
      return toResponse(
        {
          errorCode,
          generationId: -1,
          protocolType: null,
          protocolName: null,
          leaderId: '',
          memberId: request.memberId,
          skipAssignment: false,
          members: [],
        },
        context.apiVersion,
      );
    },
  });
}
