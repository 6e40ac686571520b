// Requests and results of the group coordinator, in its own terms: handlers translate them to and
// from the wire, so the coordinator's modules never see a protocol version.

import type { GroupProtocol, GroupState } from './classic-group.js';
import type { CoordinatorNode } from './ports.js';

export interface JoinGroupParams {
  groupId: string;
  /** '' for a member joining for the first time. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  /** JoinGroup v4+: a new member is first handed an id with MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
}

export interface SyncGroupParams {
  groupId: string;
  memberId: string;
  generationId: number;
  groupInstanceId: string | null;
  /** SyncGroup v5+; null when the request does not say. */
  protocolType: string | null;
  protocolName: string | null;
  /** Only the leader sends assignments. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface HeartbeatParams {
  groupId: string;
  memberId: string;
  generationId: number;
  groupInstanceId: string | null;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface OffsetCommitParams {
  groupId: string;
  memberId: string;
  generationId: number;
  groupInstanceId: string | null;
  topics: {
    name: string;
    partitions: {
      partition: number;
      offset: bigint;
      leaderEpoch: number;
      metadata: string | null;
    }[];
  }[];
}

export interface TopicPartitionErrors {
  name: string;
  partitions: { partition: number; errorCode: number }[];
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: {
    name: string;
    partitions: {
      partition: number;
      offset: bigint;
      leaderEpoch: number;
      metadata: string;
      errorCode: number;
    }[];
  }[];
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  /** '' with an error; 'Dead' for a group that does not exist. */
  state: GroupState | '';
  protocolType: string;
  /** The selected protocol while Stable, otherwise ''. */
  protocolName: string;
  authorizedOperations: number;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: GroupState;
  groupType: 'classic';
}

export interface FindCoordinatorResult {
  key: string;
  errorCode: number;
  errorMessage: string | null;
  node: CoordinatorNode | null;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** null when the group has no committed offset for an assigned partition. */
  committedOffset: bigint | null;
  metadata: string;
  /** null when the partition no longer exists. */
  logEndOffset: number | null;
  /** logEndOffset − committedOffset, null when either is unknown. */
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  clientHost: string | null;
}

export interface GroupLag {
  groupId: string;
  errorCode: number;
  state: GroupState | '';
  partitions: PartitionLag[];
}

/**
 * One listed group as a metrics scrape reads it: what ListGroups, DescribeGroups and `groupLag`
 * say of it (members 0 and no lag when this broker cannot answer for it).
 */
export interface GroupFigures {
  readonly groupId: string;
  readonly state: GroupState;
  readonly members: number;
  /** The partitions with a committed offset that exist, by topic then partition. */
  readonly lag: ReadonlyArray<{ topic: string; partition: number; lag: number }>;
}
