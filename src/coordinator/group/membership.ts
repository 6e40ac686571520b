// JoinGroup, SyncGroup, Heartbeat and LeaveGroup: who may join and in what role, the checks each
// request makes against the group, and the parking of JoinGroup/SyncGroup until the rebalance
// (rebalance.ts) answers them.
//
// It follows Kafka's GroupCoordinator: a JoinGroup parks until the rebalance completes (everyone
// rejoined, or the rebalance timeout passed); the leader's SyncGroup carries the assignment,
// which is written to the offsets topic before any member receives its share. Owned by the
// GroupCoordinator; nothing here awaits except through the append promises of storeGroup, after
// which the code checks the group is still in the generation and state it started from.

import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/errors.js';
import {
  emptyBuffer,
  GroupMember,
  type ClassicGroup,
  type JoinGroupResult,
  type SyncGroupResult,
} from './classic-group.js';
import type { GroupRegistry } from './group-registry.js';
import type {
  HeartbeatParams,
  JoinGroupParams,
  LeaveGroupResult,
  LeavingMember,
  SyncGroupParams,
} from './group-requests.js';
import { answerJoin, answerSync, joinError, syncError, type Rebalancer } from './rebalance.js';
import { assert } from '../../util/assert.js';

/** How long a brand-new member may stay parked in its first join (Kafka's value). */
const newMemberJoinTimeoutMs = 300_000;

export class Membership {
  constructor(
    private readonly registry: GroupRegistry,
    private readonly rebalancer: Rebalancer,
  ) {}

  // -------------------------------------------------------------------------------------------
  // JoinGroup.

  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult> {
    const { groupId, memberId } = params;
    if (groupId === '') return Promise.resolve(joinError(memberId, ErrorCode.INVALID_GROUP_ID));
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) {
      return Promise.resolve(joinError(memberId, coordinatorError));
    }
    const config = this.registry.config;
    if (
      params.sessionTimeoutMs < config.groupMinSessionTimeoutMs ||
      params.sessionTimeoutMs > config.groupMaxSessionTimeoutMs
    ) {
      return Promise.resolve(joinError(memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const isNewMember = memberId === '';
    let group = this.registry.get(groupId);
    if (group === undefined) {
      if (!isNewMember) return Promise.resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = this.registry.create(groupId);
    }
    if (group.state === 'Dead') {
      return Promise.resolve(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
    if (!this.acceptsJoiningMember(group, memberId)) {
      const member = group.members.get(memberId);
      if (member !== undefined) this.rebalancer.removeMemberAndUpdateGroup(group, member);
      return Promise.resolve(joinError(memberId, ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    const joiningGroup = group;
    return new Promise((resolve) => {
      if (isNewMember) this.joinNewMember(joiningGroup, params, resolve);
      else this.joinCurrentMember(joiningGroup, params, resolve);
    });
  }

  private acceptsJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const max = this.registry.config.groupMaxSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance': {
        const member = group.members.get(memberId);
        return (
          (member !== undefined && member.awaitingJoin !== null) || group.awaitingJoinCount() < max
        );
      }
      default:
        return group.has(memberId) || group.members.size < max;
    }
  }

  private joinNewMember(
    group: ClassicGroup,
    params: JoinGroupParams,
    resolve: (result: JoinGroupResult) => void,
  ): void {
    if (!group.supportsProtocols(params.protocolType, params.protocols)) {
      resolve(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      this.registry.dropIfUnused(group);
      return;
    }
    const newMemberId = `${params.groupInstanceId ?? params.clientId}-${randomUUID()}`;
    if (params.groupInstanceId !== null) {
      this.joinStaticMember(group, newMemberId, params, resolve);
    } else if (params.requireKnownMemberId) {
      // The member must come back with this id; until it does (or its session passes) a
      // rebalance waits for it.
      const timer = this.registry.clock.setTimer(params.sessionTimeoutMs, () => {
        if (group.pendingMembers.delete(newMemberId)) this.rebalancer.tryCompleteJoin(group);
      });
      group.pendingMembers.set(newMemberId, timer);
      resolve(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, params, resolve);
    }
  }

  private joinStaticMember(
    group: ClassicGroup,
    newMemberId: string,
    params: JoinGroupParams,
    resolve: (result: JoinGroupResult) => void,
  ): void {
    const instanceId = params.groupInstanceId!;
    const oldMemberId = group.staticMembers.get(instanceId);
    if (oldMemberId === undefined) {
      this.addMemberAndRebalance(group, newMemberId, params, resolve);
      return;
    }
    // A known static member restarted: it takes over its old place under a new member id, and
    // whoever still holds the old id is fenced.
    const member = group.members.get(oldMemberId)!;
    answerJoin(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    answerSync(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    group.replaceStaticMemberId(oldMemberId, newMemberId);
    this.rebalancer.scheduleSessionExpiry(group, member);

    if (group.state === 'Stable' && member.matches(params.protocols)) {
      // Nothing changed for the group: persist the new id and hand back the current generation.
      const generationId = group.generationId;
      void this.rebalancer.storeGroup(group, null).then((errorCode) => {
        if (errorCode !== ErrorCode.NONE) {
          if (group.members.get(newMemberId) === member) {
            group.replaceStaticMemberId(newMemberId, oldMemberId);
          }
          resolve(joinError(newMemberId, errorCode));
          return;
        }
        const isLeader = group.isLeader(newMemberId);
        resolve({
          errorCode: ErrorCode.NONE,
          generationId,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          leaderId: group.leaderId ?? '',
          memberId: newMemberId,
          skipAssignment: isLeader,
          members: isLeader ? this.rebalancer.currentMemberMetadata(group) : [],
        });
      });
      return;
    }
    assert(
      group.state !== 'Empty' && group.state !== 'Dead',
      `static member ${instanceId} in a ${group.state} group`,
    );
    this.updateMemberAndRebalance(group, member, params, resolve);
  }

  private joinCurrentMember(
    group: ClassicGroup,
    params: JoinGroupParams,
    resolve: (result: JoinGroupResult) => void,
  ): void {
    const { memberId, groupInstanceId } = params;
    const pendingTimer = group.pendingMembers.get(memberId);
    if (pendingTimer !== undefined) {
      pendingTimer.cancel();
      group.pendingMembers.delete(memberId);
      if (!group.supportsProtocols(params.protocolType, params.protocols)) {
        resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
        this.rebalancer.tryCompleteJoin(group);
        this.registry.dropIfUnused(group);
        return;
      }
      this.addMemberAndRebalance(group, memberId, params, resolve);
      return;
    }
    if (group.isStaticMemberFenced(groupInstanceId, memberId)) {
      resolve(joinError(memberId, ErrorCode.FENCED_INSTANCE_ID));
      return;
    }
    const member = group.members.get(memberId);
    if (
      member === undefined ||
      (groupInstanceId !== null && !group.staticMembers.has(groupInstanceId))
    ) {
      resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    if (!group.supportsProtocols(params.protocolType, params.protocols)) {
      resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, params, resolve);
        return;
      case 'CompletingRebalance':
        if (member.matches(params.protocols)) {
          // A repeated join (the response was lost): hand back the same generation.
          resolve(this.rebalancer.currentGenerationResult(group, member));
        } else {
          this.updateMemberAndRebalance(group, member, params, resolve);
        }
        return;
      case 'Stable':
        if (group.isLeader(memberId) || !member.matches(params.protocols)) {
          // The leader rejoining, or anyone with new metadata (a new subscription), means a
          // rebalance: the leader may want to reassign (cooperative rebalancing relies on it).
          this.updateMemberAndRebalance(group, member, params, resolve);
        } else {
          this.rebalancer.scheduleSessionExpiry(group, member);
          resolve(this.rebalancer.currentGenerationResult(group, member));
        }
        return;
      case 'Empty':
      case 'Dead':
        resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  private addMemberAndRebalance(
    group: ClassicGroup,
    memberId: string,
    params: JoinGroupParams,
    resolve: (result: JoinGroupResult) => void,
  ): void {
    const member = new GroupMember(
      memberId,
      params.groupInstanceId,
      params.clientId,
      params.clientHost,
      params.rebalanceTimeoutMs,
      params.sessionTimeoutMs,
      params.protocolType,
      params.protocols,
    );
    member.isNew = true;
    member.awaitingJoin = resolve;
    group.addMember(member);
    if (group.state === 'PreparingRebalance' && group.initialJoinRemainingMs !== null) {
      group.newMemberAdded = true;
    }
    this.rebalancer.scheduleSessionExpiry(group, member, newMemberJoinTimeoutMs);
    this.rebalancer.maybePrepareRebalance(group);
  }

  private updateMemberAndRebalance(
    group: ClassicGroup,
    member: GroupMember,
    params: JoinGroupParams,
    resolve: (result: JoinGroupResult) => void,
  ): void {
    // A second join while the first is parked: the first must be answered, or the connection's
    // in-order responses would stall behind it.
    answerJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    member.protocols = params.protocols;
    member.rebalanceTimeoutMs = params.rebalanceTimeoutMs;
    member.sessionTimeoutMs = params.sessionTimeoutMs;
    member.clientId = params.clientId;
    member.clientHost = params.clientHost;
    member.awaitingJoin = resolve;
    this.rebalancer.scheduleSessionExpiry(group, member);
    this.rebalancer.maybePrepareRebalance(group);
  }

  // -------------------------------------------------------------------------------------------
  // SyncGroup.

  syncGroup(params: SyncGroupParams): Promise<SyncGroupResult> {
    const { groupId, memberId } = params;
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return Promise.resolve(syncError(coordinatorError));
    const group = this.registry.get(groupId);
    if (group === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.state === 'Dead') {
      return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
    if (group.isStaticMemberFenced(params.groupInstanceId, memberId)) {
      return Promise.resolve(syncError(ErrorCode.FENCED_INSTANCE_ID));
    }
    const member = group.members.get(memberId);
    if (member === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (params.generationId !== group.generationId) {
      return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    }
    if (
      (params.protocolType !== null && params.protocolType !== group.protocolType) ||
      (params.protocolName !== null && params.protocolName !== group.protocolName)
    ) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case 'Empty':
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'Stable':
        group.pendingSyncMembers.delete(memberId);
        this.rebalancer.scheduleSessionExpiry(group, member);
        return Promise.resolve(syncResult(group, member.assignment));
      case 'CompletingRebalance':
        break;
    }
    return new Promise((resolve) => {
      answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      member.awaitingSync = resolve;
      group.pendingSyncMembers.delete(memberId);
      this.rebalancer.scheduleSessionExpiry(group, member);
      if (!group.isLeader(memberId)) return;

      const assignments = new Map<string, Buffer>();
      for (const entry of params.assignments) assignments.set(entry.memberId, entry.assignment);
      const generationId = group.generationId;
      void this.rebalancer.storeGroup(group, assignments).then((errorCode) => {
        if (group.state !== 'CompletingRebalance' || group.generationId !== generationId) return;
        if (errorCode !== ErrorCode.NONE) {
          this.rebalancer.resetAndPropagateAssignmentError(group, errorCode);
          this.rebalancer.prepareRebalance(group);
          return;
        }
        for (const each of group.members.values()) {
          each.assignment = assignments.get(each.memberId) ?? emptyBuffer;
        }
        group.transitionTo('Stable', this.registry.clock.wallClockNowMs());
        for (const each of group.members.values()) {
          if (each.awaitingSync !== null) {
            this.rebalancer.scheduleSessionExpiry(group, each);
            answerSync(each, syncResult(group, each.assignment));
          }
        }
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeat and LeaveGroup.

  heartbeat(params: HeartbeatParams): number {
    const coordinatorError = this.registry.coordinatorError(params.groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const group = this.registry.get(params.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(params.groupInstanceId, params.memberId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    const member = group.members.get(params.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (params.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.rebalancer.scheduleSessionExpiry(group, member);
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leaveGroup(groupId: string, leaving: readonly LeavingMember[]): LeaveGroupResult {
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, members: [] };
    const group = this.registry.get(groupId);
    const answer = (entry: LeavingMember, errorCode: number) => ({
      memberId: entry.memberId,
      groupInstanceId: entry.groupInstanceId,
      errorCode,
    });
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        members: leaving.map((entry) => answer(entry, ErrorCode.UNKNOWN_MEMBER_ID)),
      };
    }
    if (group.state === 'Dead') {
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    }
    const members = leaving.map((entry) => {
      let memberId = entry.memberId;
      if (entry.groupInstanceId !== null) {
        const owner = group.staticMembers.get(entry.groupInstanceId);
        if (owner === undefined) return answer(entry, ErrorCode.UNKNOWN_MEMBER_ID);
        if (memberId !== '' && owner !== memberId) {
          return answer(entry, ErrorCode.FENCED_INSTANCE_ID);
        }
        memberId = owner;
      }
      const pendingTimer = group.pendingMembers.get(memberId);
      if (pendingTimer !== undefined) {
        pendingTimer.cancel();
        group.pendingMembers.delete(memberId);
        this.rebalancer.tryCompleteJoin(group);
        return answer(entry, ErrorCode.NONE);
      }
      const member = group.members.get(memberId);
      if (member === undefined) return answer(entry, ErrorCode.UNKNOWN_MEMBER_ID);
      this.rebalancer.removeMemberAndUpdateGroup(group, member);
      return answer(entry, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members };
  }
}

function syncResult(group: ClassicGroup, assignment: Buffer): SyncGroupResult {
  return {
    errorCode: ErrorCode.NONE,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    assignment,
  };
}
