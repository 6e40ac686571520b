// The rebalance of a classic group and the life of its members: preparing a rebalance, the delayed
// join and its completion into a new generation, member sessions, removal, and the group metadata
// record that makes a generation durable. The request entry points (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup) are in membership.ts and call in here.
//
// Owned by the GroupCoordinator. Every transition runs to completion without awaiting; the only
// await is storeGroup's append, after which callers check the group is still in the generation and
// state they started from. Every parked JoinGroup/SyncGroup is answered exactly once, through
// answerJoin/answerSync, which clear the member's callback before calling it.

import { ErrorCode } from '../../protocol/errors.js';
import {
  emptyBuffer,
  type ClassicGroup,
  type GroupMember,
  type JoinGroupResult,
  type SyncGroupResult,
} from './classic-group.js';
import type { GroupRegistry } from './group-registry.js';
import { type Logger, asLogger, silentLogger } from '../../util/logger.js';
import { encodeGroupMetadataKey, encodeGroupMetadataValue } from './offsets-topic-records.js';

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leaderId: '',
    memberId,
    skipAssignment: false,
    members: [],
  };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: emptyBuffer };
}

/** Answers the member's parked JoinGroup, if any. */
export function answerJoin(member: GroupMember, result: JoinGroupResult): void {
  const callback = member.awaitingJoin;
  if (callback === null) return;
  member.awaitingJoin = null;
  callback(result);
}

/** Answers the member's parked SyncGroup, if any. */
export function answerSync(member: GroupMember, result: SyncGroupResult): void {
  const callback = member.awaitingSync;
  if (callback === null) return;
  member.awaitingSync = null;
  callback(result);
}

export class Rebalancer {
  private readonly logger: Logger;

  constructor(private readonly registry: GroupRegistry) {
    this.logger = asLogger(registry.ports.logger ?? silentLogger);
  }

  private get clock() {
    return this.registry.clock;
  }

  maybePrepareRebalance(group: ClassicGroup): void {
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
      case 'Empty':
        this.prepareRebalance(group);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
      case 'Dead':
        return;
    }
  }

  prepareRebalance(group: ClassicGroup): void {
    if (group.state === 'CompletingRebalance') {
      this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.clearPendingSync(group);
    const wasEmpty = group.state === 'Empty';
    this.logger.info('group rebalance started', {
      group: group.groupId,
      from: group.state,
      generationId: group.generationId,
      members: group.members.size,
    });
    group.transitionTo('PreparingRebalance', this.clock.wallClockNowMs());
    group.joinTimer?.cancel();
    if (wasEmpty) {
      // A new group waits group.initial.rebalance.delay.ms for more members, extended while
      // members keep arriving, up to the rebalance timeout.
      const delayMs = this.registry.config.groupInitialRebalanceDelayMs;
      group.initialJoinRemainingMs = Math.max(group.rebalanceTimeoutMs() - delayMs, 0);
      group.newMemberAdded = false;
      group.joinTimer = this.clock.setTimer(delayMs, () => this.onInitialJoinTimer(group));
    } else {
      group.initialJoinRemainingMs = null;
      group.joinTimer = this.clock.setTimer(group.rebalanceTimeoutMs(), () => {
        group.joinTimer = null;
        this.completeJoin(group);
      });
      this.tryCompleteJoin(group);
    }
  }

  private onInitialJoinTimer(group: ClassicGroup): void {
    group.joinTimer = null;
    const remainingMs = group.initialJoinRemainingMs ?? 0;
    if (group.newMemberAdded && remainingMs > 0) {
      group.newMemberAdded = false;
      const delayMs = Math.min(this.registry.config.groupInitialRebalanceDelayMs, remainingMs);
      group.initialJoinRemainingMs = remainingMs - delayMs;
      group.joinTimer = this.clock.setTimer(delayMs, () => this.onInitialJoinTimer(group));
      return;
    }
    group.initialJoinRemainingMs = null;
    this.completeJoin(group);
  }

  tryCompleteJoin(group: ClassicGroup): void {
    if (
      group.state === 'PreparingRebalance' &&
      group.initialJoinRemainingMs === null &&
      group.hasAllMembersJoined()
    ) {
      this.completeJoin(group);
    }
  }

  /** The rebalance's join phase ends: the next generation starts with whoever rejoined. */
  private completeJoin(group: ClassicGroup): void {
    if (group.state !== 'PreparingRebalance') return;
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.initialJoinRemainingMs = null;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null) group.removeMember(member.memberId);
    }
    const now = this.clock.wallClockNowMs();
    group.generationId += 1;
    group.newMemberAdded = false;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.transitionTo('Empty', now);
      group.leaderId = null;
      this.logger.info('group rebalance completed', {
        group: group.groupId,
        generationId: group.generationId,
        members: 0,
      });
      void this.storeGroup(group, null);
      return;
    }
    if (group.leaderId === null || !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value!;
    }
    group.protocolName = group.selectProtocol();
    group.transitionTo('CompletingRebalance', now);
    const generationId = group.generationId;
    this.logger.info('group rebalance completed', {
      group: group.groupId,
      generationId,
      members: group.members.size,
      protocol: group.protocolName,
      leader: group.leaderId,
    });
    for (const member of group.members.values()) {
      const result = this.currentGenerationResult(group, member);
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
      this.scheduleSessionExpiry(group, member);
      answerJoin(member, result);
    }
    // Members that never send SyncGroup for this generation are removed after the rebalance
    // timeout, so one stuck member cannot hold the group in CompletingRebalance forever.
    group.pendingSyncTimer = this.clock.setTimer(group.rebalanceTimeoutMs(), () => {
      group.pendingSyncTimer = null;
      this.onPendingSyncExpired(group, generationId);
    });
  }

  currentGenerationResult(group: ClassicGroup, member: GroupMember): JoinGroupResult {
    const isLeader = group.isLeader(member.memberId);
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId ?? '',
      memberId: member.memberId,
      skipAssignment: false,
      members: isLeader ? this.currentMemberMetadata(group) : [],
    };
  }

  currentMemberMetadata(group: ClassicGroup): JoinGroupResult['members'] {
    const protocolName = group.protocolName!;
    return [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadataFor(protocolName),
    }));
  }

  private onPendingSyncExpired(group: ClassicGroup, generationId: number): void {
    if (group.generationId !== generationId) return;
    if (group.state !== 'CompletingRebalance' && group.state !== 'Stable') return;
    for (const memberId of [...group.pendingSyncMembers]) {
      const member = group.members.get(memberId);
      if (member !== undefined) this.removeMemberAndUpdateGroup(group, member);
    }
    group.pendingSyncMembers.clear();
  }

  private clearPendingSync(group: ClassicGroup): void {
    group.pendingSyncMembers.clear();
    group.pendingSyncTimer?.cancel();
    group.pendingSyncTimer = null;
  }

  resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const member of group.members.values()) {
      member.assignment = emptyBuffer;
      answerSync(member, syncError(errorCode));
    }
  }

  removeMemberAndUpdateGroup(group: ClassicGroup, member: GroupMember): void {
    answerJoin(member, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.removeMember(member.memberId);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
      default:
        return;
    }
  }

  /**
   * Stops the group's timers, answers every parked request with `errorCode` and marks it Dead, so
   * that nothing still in flight for it (an append's continuation, a timer) acts on it again. For
   * a partition being unloaded, or a coordinator closing.
   */
  abandonGroup(group: ClassicGroup, errorCode: number): void {
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.pendingSyncTimer?.cancel();
    group.pendingSyncTimer = null;
    for (const timer of group.pendingMembers.values()) timer.cancel();
    group.pendingMembers.clear();
    for (const member of group.members.values()) {
      member.sessionTimer?.cancel();
      member.sessionTimer = null;
      answerJoin(member, joinError(member.memberId, errorCode));
      answerSync(member, syncError(errorCode));
    }
    group.transitionTo('Dead', this.clock.wallClockNowMs());
  }

  // -------------------------------------------------------------------------------------------
  // Sessions.

  /**
   * (Re)arms the member's session: it is removed when nothing is heard from it for its session
   * timeout. One timer per member, re-armed lazily when it fires early.
   */
  scheduleSessionExpiry(
    group: ClassicGroup,
    member: GroupMember,
    timeoutMs = member.sessionTimeoutMs,
  ): void {
    member.sessionDeadlineMs = this.clock.monotonicNowMs() + timeoutMs;
    member.sessionTimer?.cancel();
    member.sessionTimer = this.clock.setTimer(timeoutMs, () => this.onSessionTimer(group, member));
  }

  private onSessionTimer(group: ClassicGroup, member: GroupMember): void {
    member.sessionTimer = null;
    if (group.members.get(member.memberId) !== member) return;
    // A member parked in JoinGroup or SyncGroup is alive: its request is waiting on us. A new
    // member parked in its first join is the exception (its deadline is the new-member timeout).
    const parked = (member.awaitingJoin !== null && !member.isNew) || member.awaitingSync !== null;
    if (parked) {
      this.scheduleSessionExpiry(group, member);
      return;
    }
    const remainingMs = member.sessionDeadlineMs - this.clock.monotonicNowMs();
    if (remainingMs > 0) {
      member.sessionTimer = this.clock.setTimer(remainingMs, () =>
        this.onSessionTimer(group, member),
      );
      return;
    }
    this.removeMemberAndUpdateGroup(group, member);
  }

  // -------------------------------------------------------------------------------------------
  // Group metadata in the offsets topic.

  /**
   * Writes the group's metadata (with `assignments` in place of the members' current ones when
   * given) and resolves with NONE once it is durable, or with the error to report.
   */
  async storeGroup(group: ClassicGroup, assignments: Map<string, Buffer> | null): Promise<number> {
    const protocolName = group.protocolName;
    const value = encodeGroupMetadataValue({
      protocolType: group.protocolType ?? '',
      generationId: group.generationId,
      protocolName,
      leaderId: group.leaderId,
      currentStateTimestampMs: group.currentStateTimestampMs,
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        subscription: protocolName === null ? emptyBuffer : member.metadataFor(protocolName),
        assignment:
          assignments === null
            ? member.assignment
            : (assignments.get(member.memberId) ?? emptyBuffer),
      })),
    });
    const records = [{ key: encodeGroupMetadataKey(group.groupId), value }];
    return (await this.registry.appendRecords(group.offsetsPartition, records)).errorCode;
  }
}
