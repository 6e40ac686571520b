// The classic group coordinator: membership, rebalances and committed offsets for every group
// whose `__consumer_offsets` partition this broker has loaded.
//
// It follows Kafka's GroupCoordinator: a JoinGroup parks until the rebalance completes (everyone
// rejoined, or the rebalance timeout passed); the leader's SyncGroup carries the assignment,
// which is written to the offsets topic before any member receives its share; a commit is
// acknowledged only after its records are durable. Responses to parked requests go through the
// callbacks stored on the members.
//
// Owned by the broker (one per broker). Single-threaded: every transition runs to completion
// without awaiting; the only awaits are appends to the offsets topic, after which the code checks
// again that the group is still in the generation and state it started from.

import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/errors.js';
import { ProtocolDecodeError } from '../../protocol/reader.js';
import {
  ClassicGroup,
  GroupMember,
  emptyBuffer,
  type CommittedOffset,
  type GroupProtocol,
  type GroupState,
  type JoinGroupResult,
  type SyncGroupResult,
} from './classic-group.js';
import { decodeConsumerAssignment, decodeConsumerSubscriptionTopics } from './consumer-protocol.js';
import {
  defaultGroupCoordinatorConfig,
  type GroupCoordinatorConfig,
} from './group-coordinator-config.js';
import { buildKeyValueBatch, type KeyValueRecord } from '../../record/key-value-batch.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  OffsetsTopicRecordError,
  readOffsetsTopicRecords,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from './offsets-topic-records.js';
import {
  systemClock,
  type CoordinatorClock,
  type CoordinatorNode,
  type GroupCoordinatorPorts,
} from './ports.js';

/** How long a brand-new member may stay parked in its first join (Kafka's value). */
const newMemberJoinTimeoutMs = 300_000;
const consumerProtocolType = 'consumer';
/** DescribeGroups' authorized operations when no authorizer runs: READ, DELETE, DESCRIBE. */
const allGroupOperations = (1 << 3) | (1 << 6) | (1 << 8);

// ---------------------------------------------------------------------------------------------
// Requests and results, in the coordinator's own terms (handlers translate to and from the wire).

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

/** Kafka's partitioner for the offsets topic: Java's String.hashCode, Utils.abs, modulo. */
export function offsetsPartitionFor(groupId: string, partitionCount: number): number {
  let hash = 0;
  for (let index = 0; index < groupId.length; index++) {
    hash = (Math.imul(hash, 31) + groupId.charCodeAt(index)) | 0;
  }
  const positive = hash === -2147483648 ? 0 : Math.abs(hash);
  return positive % partitionCount;
}

type PartitionLoadState = 'loading' | 'loaded';

export class GroupCoordinator {
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly partitionStates = new Map<number, PartitionLoadState>();
  private readonly clock: CoordinatorClock;
  private readonly config: GroupCoordinatorConfig;
  /** Issue order of appends; see CommittedOffset.appendSequence. */
  private appendSequence = 1;
  private retentionTimer: { cancel(): void } | null = null;
  /** Records of `__consumer_offsets` that could not be read while loading (skipped). */
  skippedRecordCount = 0;
  private closed = false;

  constructor(
    private readonly ports: GroupCoordinatorPorts,
    config: Partial<GroupCoordinatorConfig> = {},
  ) {
    this.clock = ports.clock ?? systemClock;
    this.config = { ...defaultGroupCoordinatorConfig };
    for (const key of Object.keys(
      defaultGroupCoordinatorConfig,
    ) as (keyof GroupCoordinatorConfig)[]) {
      const value = config[key];
      if (typeof value === 'number') this.config[key] = value;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Loading and unloading partitions of __consumer_offsets.

  /**
   * Loads every partition this broker leads and starts the offset-expiry timer. Requests for a
   * group whose partition is still loading get COORDINATOR_LOAD_IN_PROGRESS; the promise
   * settles when every partition is loaded.
   */
  async start(): Promise<void> {
    this.scheduleRetentionCheck();
    const loads: Promise<void>[] = [];
    for (let partition = 0; partition < this.ports.offsetsTopic.partitionCount; partition++) {
      if (this.isLeader(partition)) loads.push(this.loadPartition(partition));
    }
    await Promise.all(loads);
  }

  /** Reads the partition and rebuilds its groups and offsets (on start, or on becoming leader). */
  async loadPartition(partition: number): Promise<void> {
    if (this.partitionStates.has(partition)) return;
    this.partitionStates.set(partition, 'loading');
    const metadataByGroup = new Map<string, GroupMetadataValue | null>();
    const offsetsByGroup = new Map<string, Map<string, CommittedOffset | null>>();
    try {
      for await (const chunk of this.ports.offsetsTopic.readAll(partition)) {
        for (const record of readOffsetsTopicRecords(chunk)) {
          try {
            this.replayRecord(record, metadataByGroup, offsetsByGroup);
          } catch (error) {
            // A record this code cannot read (another version's layout) must not keep every
            // other group of the partition from loading: it is counted and skipped.
            if (
              !(error instanceof OffsetsTopicRecordError) &&
              !(error instanceof ProtocolDecodeError)
            ) {
              throw error;
            }
            this.skippedRecordCount++;
          }
        }
      }
    } catch (error) {
      this.partitionStates.delete(partition);
      throw error;
    }
    if (this.partitionStates.get(partition) !== 'loading') return; // unloaded meanwhile

    const groupIds = new Set([...metadataByGroup.keys(), ...offsetsByGroup.keys()]);
    for (const groupId of groupIds) {
      const metadata = metadataByGroup.get(groupId) ?? null;
      const offsets = offsetsByGroup.get(groupId);
      const liveOffsets = [...(offsets ?? new Map()).entries()].filter(
        (entry): entry is [string, CommittedOffset] => entry[1] !== null,
      );
      if (metadata === null && liveOffsets.length === 0) continue;
      const group = new ClassicGroup(groupId, partition, this.clock.wallClockNowMs());
      for (const [key, committed] of liveOffsets) {
        const [topic, partitionIndex] = splitTopicPartitionKey(key);
        group.setOffset(topic, partitionIndex, committed);
      }
      if (metadata !== null) this.restoreGroupMetadata(group, metadata);
      this.groups.set(groupId, group);
    }
    this.partitionStates.set(partition, 'loaded');
  }

  private replayRecord(
    record: KeyValueRecord,
    metadataByGroup: Map<string, GroupMetadataValue | null>,
    offsetsByGroup: Map<string, Map<string, CommittedOffset | null>>,
  ): void {
    const key = decodeOffsetsTopicKey(record.key);
    if (key.type === 'group') {
      metadataByGroup.set(
        key.groupId,
        record.value === null ? null : decodeGroupMetadataValue(record.value),
      );
      return;
    }
    let offsets = offsetsByGroup.get(key.groupId);
    if (offsets === undefined) {
      offsets = new Map();
      offsetsByGroup.set(key.groupId, offsets);
    }
    const value = record.value === null ? null : decodeOffsetCommitValue(record.value);
    offsets.set(
      topicPartitionKey(key.topic, key.partition),
      value === null ? null : { ...value, appendSequence: 0 },
    );
  }

  private restoreGroupMetadata(group: ClassicGroup, metadata: GroupMetadataValue): void {
    group.protocolType = metadata.protocolType === '' ? null : metadata.protocolType;
    group.generationId = metadata.generationId;
    group.protocolName = metadata.protocolName;
    group.leaderId = metadata.leaderId;
    if (metadata.currentStateTimestampMs >= 0) {
      group.currentStateTimestampMs = metadata.currentStateTimestampMs;
    }
    for (const value of metadata.members) {
      const member = new GroupMember(
        value.memberId,
        value.groupInstanceId,
        value.clientId,
        value.clientHost,
        value.rebalanceTimeoutMs,
        value.sessionTimeoutMs,
        metadata.protocolType,
        [{ name: metadata.protocolName ?? '', metadata: value.subscription }],
      );
      member.assignment = value.assignment;
      group.members.set(member.memberId, member);
      if (member.groupInstanceId !== null) {
        group.staticMembers.set(member.groupInstanceId, member.memberId);
      }
    }
    // A loaded group with members is Stable; members that do not come back time out.
    group.state = group.members.size > 0 ? 'Stable' : 'Empty';
    if (group.leaderId !== null && !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value ?? null;
    }
    for (const member of group.members.values()) this.scheduleSessionExpiry(group, member);
  }

  /** Forgets the partition's groups (on losing leadership, or at shutdown). */
  unloadPartition(partition: number): void {
    this.partitionStates.delete(partition);
    for (const [groupId, group] of this.groups) {
      if (group.offsetsPartition !== partition) continue;
      this.abandonGroup(group, ErrorCode.NOT_COORDINATOR);
      this.groups.delete(groupId);
    }
  }

  /** Stops every timer and answers every parked request; the coordinator is unusable after. */
  close(): void {
    this.closed = true;
    this.retentionTimer?.cancel();
    this.retentionTimer = null;
    for (const partition of [...this.partitionStates.keys()]) this.unloadPartition(partition);
  }

  private abandonGroup(group: ClassicGroup, errorCode: number): void {
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.pendingSyncTimer?.cancel();
    group.pendingSyncTimer = null;
    for (const timer of group.pendingMembers.values()) timer.cancel();
    group.pendingMembers.clear();
    for (const member of group.members.values()) {
      member.sessionTimer?.cancel();
      member.sessionTimer = null;
      this.answerJoin(member, this.joinError(member.memberId, errorCode));
      this.answerSync(member, this.syncError(errorCode));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Where groups live.

  partitionFor(groupId: string): number {
    return offsetsPartitionFor(groupId, this.ports.offsetsTopic.partitionCount);
  }

  private isLeader(partition: number): boolean {
    return this.ports.offsetsTopic.isLeader?.(partition) ?? true;
  }

  /** NONE when this coordinator serves the group now, otherwise the error to answer with. */
  private coordinatorError(groupId: string): number {
    if (this.closed) return ErrorCode.NOT_COORDINATOR;
    const partition = this.partitionFor(groupId);
    if (!this.isLeader(partition)) return ErrorCode.NOT_COORDINATOR;
    const state = this.partitionStates.get(partition);
    if (state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (state === undefined) return ErrorCode.NOT_COORDINATOR;
    return ErrorCode.NONE;
  }

  /** Whether every partition this broker leads is loaded. */
  isLoaded(): boolean {
    for (const state of this.partitionStates.values()) if (state !== 'loaded') return false;
    return this.partitionStates.size > 0;
  }

  findCoordinator(keyType: number, key: string): FindCoordinatorResult {
    if (keyType === 1) {
      // Transactions: this broker answers for every transactional id for now.
      return { key, errorCode: ErrorCode.NONE, errorMessage: null, node: this.ports.node() };
    }
    if (keyType !== 0) {
      return {
        key,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `unknown coordinator key type ${keyType}`,
        node: null,
      };
    }
    const partition = this.partitionFor(key);
    const node =
      this.ports.offsetsTopic.leaderOf?.(partition) ??
      (this.isLeader(partition) && !this.closed ? this.ports.node() : undefined);
    if (node === undefined) {
      return {
        key,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: `no leader for ${'__consumer_offsets'}-${partition}`,
        node: null,
      };
    }
    return { key, errorCode: ErrorCode.NONE, errorMessage: null, node };
  }

  // -------------------------------------------------------------------------------------------
  // JoinGroup.

  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult> {
    const { groupId, memberId } = params;
    if (groupId === '')
      return Promise.resolve(this.joinError(memberId, ErrorCode.INVALID_GROUP_ID));
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) {
      return Promise.resolve(this.joinError(memberId, coordinatorError));
    }
    if (
      params.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs ||
      params.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs
    ) {
      return Promise.resolve(this.joinError(memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const isNewMember = memberId === '';
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (!isNewMember)
        return Promise.resolve(this.joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new ClassicGroup(groupId, this.partitionFor(groupId), this.clock.wallClockNowMs());
      this.groups.set(groupId, group);
    }
    if (group.state === 'Dead') {
      return Promise.resolve(this.joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
    if (!this.acceptsJoiningMember(group, memberId)) {
      const member = group.members.get(memberId);
      if (member !== undefined) this.removeMemberAndUpdateGroup(group, member);
      return Promise.resolve(this.joinError(memberId, ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    const joiningGroup = group;
    return new Promise((resolve) => {
      if (isNewMember) this.joinNewMember(joiningGroup, params, resolve);
      else this.joinCurrentMember(joiningGroup, params, resolve);
    });
  }

  private acceptsJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const max = this.config.groupMaxSize;
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
      resolve(this.joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      this.dropGroupIfUnused(group);
      return;
    }
    const newMemberId = `${params.groupInstanceId ?? params.clientId}-${randomUUID()}`;
    if (params.groupInstanceId !== null) {
      this.joinStaticMember(group, newMemberId, params, resolve);
    } else if (params.requireKnownMemberId) {
      // The member must come back with this id; until it does (or its session passes) a
      // rebalance waits for it.
      const timer = this.clock.setTimer(params.sessionTimeoutMs, () => {
        if (group.pendingMembers.delete(newMemberId)) this.tryCompleteJoin(group);
      });
      group.pendingMembers.set(newMemberId, timer);
      resolve(this.joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
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
    this.answerJoin(member, this.joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.answerSync(member, this.syncError(ErrorCode.FENCED_INSTANCE_ID));
    group.replaceStaticMemberId(oldMemberId, newMemberId);
    this.scheduleSessionExpiry(group, member);

    if (group.state === 'Stable' && member.matches(params.protocols)) {
      // Nothing changed for the group: persist the new id and hand back the current generation.
      const generationId = group.generationId;
      void this.storeGroup(group, null).then((errorCode) => {
        if (errorCode !== ErrorCode.NONE) {
          if (group.members.get(newMemberId) === member) {
            group.replaceStaticMemberId(newMemberId, oldMemberId);
          }
          resolve(this.joinError(newMemberId, errorCode));
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
          members: isLeader ? this.currentMemberMetadata(group) : [],
        });
      });
      return;
    }
    if (group.state === 'Empty' || group.state === 'Dead') {
      throw new Error(`assertion: static member ${instanceId} in a ${group.state} group`);
    }
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
        resolve(this.joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
        this.tryCompleteJoin(group);
        this.dropGroupIfUnused(group);
        return;
      }
      this.addMemberAndRebalance(group, memberId, params, resolve);
      return;
    }
    if (group.isStaticMemberFenced(groupInstanceId, memberId)) {
      resolve(this.joinError(memberId, ErrorCode.FENCED_INSTANCE_ID));
      return;
    }
    const member = group.members.get(memberId);
    if (
      member === undefined ||
      (groupInstanceId !== null && !group.staticMembers.has(groupInstanceId))
    ) {
      resolve(this.joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    if (!group.supportsProtocols(params.protocolType, params.protocols)) {
      resolve(this.joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, params, resolve);
        return;
      case 'CompletingRebalance':
        if (member.matches(params.protocols)) {
          // A repeated join (the response was lost): hand back the same generation.
          resolve(this.currentGenerationResult(group, member));
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
          this.scheduleSessionExpiry(group, member);
          resolve(this.currentGenerationResult(group, member));
        }
        return;
      case 'Empty':
      case 'Dead':
        resolve(this.joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
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
    this.scheduleSessionExpiry(group, member, newMemberJoinTimeoutMs);
    this.maybePrepareRebalance(group);
  }

  private updateMemberAndRebalance(
    group: ClassicGroup,
    member: GroupMember,
    params: JoinGroupParams,
    resolve: (result: JoinGroupResult) => void,
  ): void {
    // A second join while the first is parked: the first must be answered, or the connection's
    // in-order responses would stall behind it.
    this.answerJoin(member, this.joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    member.protocols = params.protocols;
    member.rebalanceTimeoutMs = params.rebalanceTimeoutMs;
    member.sessionTimeoutMs = params.sessionTimeoutMs;
    member.clientId = params.clientId;
    member.clientHost = params.clientHost;
    member.awaitingJoin = resolve;
    this.scheduleSessionExpiry(group, member);
    this.maybePrepareRebalance(group);
  }

  private maybePrepareRebalance(group: ClassicGroup): void {
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

  private prepareRebalance(group: ClassicGroup): void {
    if (group.state === 'CompletingRebalance') {
      this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.clearPendingSync(group);
    const wasEmpty = group.state === 'Empty';
    group.transitionTo('PreparingRebalance', this.clock.wallClockNowMs());
    group.joinTimer?.cancel();
    if (wasEmpty) {
      // A new group waits group.initial.rebalance.delay.ms for more members, extended while
      // members keep arriving, up to the rebalance timeout.
      const delayMs = this.config.groupInitialRebalanceDelayMs;
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
      const delayMs = Math.min(this.config.groupInitialRebalanceDelayMs, remainingMs);
      group.initialJoinRemainingMs = remainingMs - delayMs;
      group.joinTimer = this.clock.setTimer(delayMs, () => this.onInitialJoinTimer(group));
      return;
    }
    group.initialJoinRemainingMs = null;
    this.completeJoin(group);
  }

  private tryCompleteJoin(group: ClassicGroup): void {
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
      void this.storeGroup(group, null);
      return;
    }
    if (group.leaderId === null || !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value!;
    }
    group.protocolName = group.selectProtocol();
    group.transitionTo('CompletingRebalance', now);
    const generationId = group.generationId;
    for (const member of group.members.values()) {
      const result = this.currentGenerationResult(group, member);
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
      this.scheduleSessionExpiry(group, member);
      this.answerJoin(member, result);
    }
    // Members that never send SyncGroup for this generation are removed after the rebalance
    // timeout, so one stuck member cannot hold the group in CompletingRebalance forever.
    group.pendingSyncTimer = this.clock.setTimer(group.rebalanceTimeoutMs(), () => {
      group.pendingSyncTimer = null;
      this.onPendingSyncExpired(group, generationId);
    });
  }

  private currentGenerationResult(group: ClassicGroup, member: GroupMember): JoinGroupResult {
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

  private currentMemberMetadata(group: ClassicGroup): JoinGroupResult['members'] {
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

  private joinError(memberId: string, errorCode: number): JoinGroupResult {
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

  private answerJoin(member: GroupMember, result: JoinGroupResult): void {
    const callback = member.awaitingJoin;
    if (callback === null) return;
    member.awaitingJoin = null;
    callback(result);
  }

  // -------------------------------------------------------------------------------------------
  // SyncGroup.

  syncGroup(params: SyncGroupParams): Promise<SyncGroupResult> {
    const { groupId, memberId } = params;
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE)
      return Promise.resolve(this.syncError(coordinatorError));
    const group = this.groups.get(groupId);
    if (group === undefined) return Promise.resolve(this.syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.state === 'Dead') {
      return Promise.resolve(this.syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
    if (group.isStaticMemberFenced(params.groupInstanceId, memberId)) {
      return Promise.resolve(this.syncError(ErrorCode.FENCED_INSTANCE_ID));
    }
    const member = group.members.get(memberId);
    if (member === undefined) return Promise.resolve(this.syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (params.generationId !== group.generationId) {
      return Promise.resolve(this.syncError(ErrorCode.ILLEGAL_GENERATION));
    }
    if (
      (params.protocolType !== null && params.protocolType !== group.protocolType) ||
      (params.protocolName !== null && params.protocolName !== group.protocolName)
    ) {
      return Promise.resolve(this.syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case 'Empty':
        return Promise.resolve(this.syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(this.syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'Stable':
        group.pendingSyncMembers.delete(memberId);
        this.scheduleSessionExpiry(group, member);
        return Promise.resolve(this.syncResult(group, member.assignment));
      case 'CompletingRebalance':
        break;
    }
    return new Promise((resolve) => {
      this.answerSync(member, this.syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      member.awaitingSync = resolve;
      group.pendingSyncMembers.delete(memberId);
      this.scheduleSessionExpiry(group, member);
      if (!group.isLeader(memberId)) return;

      const assignments = new Map<string, Buffer>();
      for (const entry of params.assignments) assignments.set(entry.memberId, entry.assignment);
      const generationId = group.generationId;
      void this.storeGroup(group, assignments).then((errorCode) => {
        if (group.state !== 'CompletingRebalance' || group.generationId !== generationId) return;
        if (errorCode !== ErrorCode.NONE) {
          this.resetAndPropagateAssignmentError(group, errorCode);
          this.prepareRebalance(group);
          return;
        }
        for (const each of group.members.values()) {
          each.assignment = assignments.get(each.memberId) ?? emptyBuffer;
        }
        group.transitionTo('Stable', this.clock.wallClockNowMs());
        for (const each of group.members.values()) {
          if (each.awaitingSync !== null) {
            this.scheduleSessionExpiry(group, each);
            this.answerSync(each, this.syncResult(group, each.assignment));
          }
        }
      });
    });
  }

  private syncResult(group: ClassicGroup, assignment: Buffer): SyncGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment,
    };
  }

  private syncError(errorCode: number): SyncGroupResult {
    return { errorCode, protocolType: null, protocolName: null, assignment: emptyBuffer };
  }

  private answerSync(member: GroupMember, result: SyncGroupResult): void {
    const callback = member.awaitingSync;
    if (callback === null) return;
    member.awaitingSync = null;
    callback(result);
  }

  private resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const member of group.members.values()) {
      member.assignment = emptyBuffer;
      this.answerSync(member, this.syncError(errorCode));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeat, LeaveGroup, session expiry.

  heartbeat(params: HeartbeatParams): number {
    const coordinatorError = this.coordinatorError(params.groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const group = this.groups.get(params.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(params.groupInstanceId, params.memberId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    const member = group.members.get(params.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (params.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.scheduleSessionExpiry(group, member);
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leaveGroup(groupId: string, leaving: readonly LeavingMember[]): LeaveGroupResult {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, members: [] };
    const group = this.groups.get(groupId);
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
    if (group.state === 'Dead')
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((entry) => {
      let memberId = entry.memberId;
      if (entry.groupInstanceId !== null) {
        const owner = group.staticMembers.get(entry.groupInstanceId);
        if (owner === undefined) return answer(entry, ErrorCode.UNKNOWN_MEMBER_ID);
        if (memberId !== '' && owner !== memberId)
          return answer(entry, ErrorCode.FENCED_INSTANCE_ID);
        memberId = owner;
      }
      const pendingTimer = group.pendingMembers.get(memberId);
      if (pendingTimer !== undefined) {
        pendingTimer.cancel();
        group.pendingMembers.delete(memberId);
        this.tryCompleteJoin(group);
        return answer(entry, ErrorCode.NONE);
      }
      const member = group.members.get(memberId);
      if (member === undefined) return answer(entry, ErrorCode.UNKNOWN_MEMBER_ID);
      this.removeMemberAndUpdateGroup(group, member);
      return answer(entry, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  private removeMemberAndUpdateGroup(group: ClassicGroup, member: GroupMember): void {
    this.answerJoin(member, this.joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    this.answerSync(member, this.syncError(ErrorCode.UNKNOWN_MEMBER_ID));
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
   * (Re)arms the member's session: it is removed when nothing is heard from it for its session
   * timeout. One timer per member, re-armed lazily when it fires early.
   */
  private scheduleSessionExpiry(
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
  private async storeGroup(
    group: ClassicGroup,
    assignments: Map<string, Buffer> | null,
  ): Promise<number> {
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
    return (await this.appendRecords(group.offsetsPartition, records)).errorCode;
  }

  /** Appends and waits for durability; never throws (failures come back as an error code). */
  private async appendRecords(
    partition: number,
    records: KeyValueRecord[],
  ): Promise<{ errorCode: number; appendSequence: number }> {
    const appendSequence = this.appendSequence++;
    if (this.partitionStates.get(partition) !== 'loaded') {
      return { errorCode: ErrorCode.NOT_COORDINATOR, appendSequence };
    }
    const batch = buildKeyValueBatch(records, this.clock.wallClockNowMs());
    try {
      await this.ports.offsetsTopic.append(partition, batch);
      return { errorCode: ErrorCode.NONE, appendSequence };
    } catch {
      return {
        errorCode: this.isLeader(partition)
          ? ErrorCode.COORDINATOR_NOT_AVAILABLE
          : ErrorCode.NOT_COORDINATOR,
        appendSequence,
      };
    }
  }

  /**
   * appendRecords bounded by offsets.commit.timeout.ms. Past it the commit is answered
   * REQUEST_TIMED_OUT and not applied in memory, though its records may still become durable
   * (as in Kafka, the client cannot know which; a reload of the partition then shows them).
   */
  private appendWithinCommitTimeout(
    partition: number,
    records: KeyValueRecord[],
  ): Promise<{ errorCode: number; appendSequence: number }> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(this.config.offsetsCommitTimeoutMs, () =>
        resolve({ errorCode: ErrorCode.REQUEST_TIMED_OUT, appendSequence: -1 }),
      );
      void this.appendRecords(partition, records).then((result) => {
        timer.cancel();
        resolve(result);
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Offsets.

  async commitOffsets(params: OffsetCommitParams): Promise<TopicPartitionErrors[]> {
    const groupError = (errorCode: number): TopicPartitionErrors[] =>
      params.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((entry) => ({ partition: entry.partition, errorCode })),
      }));
    const coordinatorError = this.coordinatorError(params.groupId);
    if (coordinatorError !== ErrorCode.NONE) return groupError(coordinatorError);

    let group = this.groups.get(params.groupId);
    if (group === undefined) {
      // Only a consumer outside group management (generation -1, manual assignment) may
      // commit to a group that does not exist; it creates an Empty group holding its offsets.
      if (params.generationId >= 0) return groupError(ErrorCode.ILLEGAL_GENERATION);
      group = new ClassicGroup(
        params.groupId,
        this.partitionFor(params.groupId),
        this.clock.wallClockNowMs(),
      );
      this.groups.set(params.groupId, group);
    }
    const validation = this.validateCommit(group, params);
    if (validation !== ErrorCode.NONE) return groupError(validation);

    const now = this.clock.wallClockNowMs();
    const records: KeyValueRecord[] = [];
    const accepted: {
      topic: string;
      partition: number;
      value: Omit<CommittedOffset, 'appendSequence'>;
    }[] = [];
    const results = params.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((entry) => {
        let errorCode: number = ErrorCode.NONE;
        const metadata = entry.metadata ?? '';
        if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) {
          errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        } else if (this.ports.partitions.logEndOffset(topic.name, entry.partition) === undefined) {
          errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else {
          const value = {
            offset: entry.offset,
            leaderEpoch: entry.leaderEpoch,
            metadata,
            commitTimestampMs: now,
          };
          records.push({
            key: encodeOffsetCommitKey(params.groupId, topic.name, entry.partition),
            value: encodeOffsetCommitValue(value),
          });
          accepted.push({ topic: topic.name, partition: entry.partition, value });
        }
        return { partition: entry.partition, errorCode };
      }),
    }));
    if (records.length === 0) return results;

    const committingGroup = group;
    const { errorCode, appendSequence } = await this.appendWithinCommitTimeout(
      group.offsetsPartition,
      records,
    );
    if (errorCode !== ErrorCode.NONE) {
      for (const topic of results) {
        for (const entry of topic.partitions) {
          if (entry.errorCode === ErrorCode.NONE) entry.errorCode = errorCode;
        }
      }
      return results;
    }
    if (this.groups.get(params.groupId) === committingGroup && committingGroup.state !== 'Dead') {
      for (const { topic, partition, value } of accepted) {
        committingGroup.setOffset(topic, partition, { ...value, appendSequence });
      }
    }
    return results;
  }

  private validateCommit(group: ClassicGroup, params: OffsetCommitParams): number {
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (params.generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    if (group.isStaticMemberFenced(params.groupInstanceId, params.memberId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    const member = group.members.get(params.memberId);
    if (params.memberId !== '' && member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (params.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    if (member !== undefined) this.scheduleSessionExpiry(group, member);
    return ErrorCode.NONE;
  }

  /**
   * Committed offsets of a group: the requested partitions (−1 where nothing is committed), or
   * every committed partition when `topics` is null. With `requireStable` (OffsetFetch v7+), a
   * partition an open transaction has offsets for answers UNSTABLE_OFFSET_COMMIT, so the client
   * retries until the transaction ends.
   */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[] | null,
    requireStable = false,
  ): OffsetFetchResult {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, topics: [] };
    const group = this.groups.get(groupId);
    let unstable: Set<string> | null = null;
    if (requireStable && this.ports.pendingTransactionalOffsets !== undefined) {
      unstable = new Set();
      for (const { topic, partition } of this.ports.pendingTransactionalOffsets(groupId)) {
        unstable.add(topicPartitionKey(topic, partition));
      }
    }
    const entry = (topic: string, partition: number) => {
      if (unstable?.has(topicPartitionKey(topic, partition))) {
        return {
          partition,
          offset: -1n,
          leaderEpoch: -1,
          metadata: '',
          errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT as number,
        };
      }
      const committed = group?.getOffset(topic, partition);
      return {
        partition,
        offset: committed?.offset ?? -1n,
        leaderEpoch: committed?.leaderEpoch ?? -1,
        metadata: committed?.metadata ?? '',
        errorCode: ErrorCode.NONE as number,
      };
    };
    if (topics === null) {
      const all: OffsetFetchResult['topics'] = [];
      if (group !== undefined) {
        for (const [name, partitions] of group.offsets) {
          all.push({
            name,
            partitions: [...partitions.keys()].map((partition) => entry(name, partition)),
          });
        }
      }
      return { errorCode: ErrorCode.NONE, topics: all };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => entry(topic.name, partition)),
      })),
    };
  }

  /**
   * TxnOffsetCommit's check of the committer against the group (Kafka's rules: a generation of
   * −1 is always allowed; otherwise the member and generation must be current). The offsets
   * themselves wait in the transaction until it commits.
   */
  checkTransactionalOffsetCommit(params: {
    groupId: string;
    memberId: string;
    generationId: number;
    groupInstanceId: string | null;
  }): number {
    const coordinatorError = this.coordinatorError(params.groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const group = this.groups.get(params.groupId);
    if (group === undefined) {
      return params.generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    }
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.isStaticMemberFenced(params.groupInstanceId, params.memberId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (params.memberId !== '' && !group.has(params.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (params.generationId >= 0 && params.generationId !== group.generationId) {
      return ErrorCode.ILLEGAL_GENERATION;
    }
    return ErrorCode.NONE;
  }

  /**
   * The offsets of a committed transaction: written and made visible without membership checks
   * (those were made at TxnOffsetCommit). Resolves with NONE once durable, or the error.
   */
  async commitTransactionalOffsets(
    groupId: string,
    offsets: readonly {
      topic: string;
      partition: number;
      offset: bigint;
      leaderEpoch: number;
      metadata: string;
    }[],
  ): Promise<number> {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    if (offsets.length === 0) return ErrorCode.NONE;
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new ClassicGroup(groupId, this.partitionFor(groupId), this.clock.wallClockNowMs());
      this.groups.set(groupId, group);
    }
    const now = this.clock.wallClockNowMs();
    const values = offsets.map((entry) => ({
      topic: entry.topic,
      partition: entry.partition,
      value: {
        offset: entry.offset,
        leaderEpoch: entry.leaderEpoch,
        metadata: entry.metadata,
        commitTimestampMs: now,
      },
    }));
    const records = values.map(({ topic, partition, value }) => ({
      key: encodeOffsetCommitKey(groupId, topic, partition),
      value: encodeOffsetCommitValue(value),
    }));
    const committingGroup = group;
    const { errorCode, appendSequence } = await this.appendRecords(group.offsetsPartition, records);
    if (errorCode !== ErrorCode.NONE) return errorCode;
    if (this.groups.get(groupId) === committingGroup && committingGroup.state !== 'Dead') {
      for (const { topic, partition, value } of values) {
        committingGroup.setOffset(topic, partition, { ...value, appendSequence });
      }
    }
    return ErrorCode.NONE;
  }

  /** OffsetDelete: removes committed offsets of topics the group is not consuming. */
  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: TopicPartitionErrors[] }> {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, topics: [] };
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    }
    // Which topics the members consume; null = none (Empty), 'unknown' = unreadable
    // subscriptions, which protect every topic.
    let subscribed: Set<string> | 'unknown' | null = null;
    if (group.state !== 'Empty') {
      if (group.protocolType !== consumerProtocolType) {
        return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
      }
      subscribed = this.subscribedTopics(group) ?? 'unknown';
    }
    const records: KeyValueRecord[] = [];
    const deleting: { topic: string; partition: number }[] = [];
    const results = topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => {
        if (subscribed === 'unknown' || (subscribed !== null && subscribed.has(topic.name))) {
          return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        }
        if (group.getOffset(topic.name, partition) !== undefined) {
          records.push({ key: encodeOffsetCommitKey(groupId, topic.name, partition), value: null });
          deleting.push({ topic: topic.name, partition });
        }
        return { partition, errorCode: ErrorCode.NONE as number };
      }),
    }));
    if (records.length > 0) {
      const { errorCode, appendSequence } = await this.appendRecords(
        group.offsetsPartition,
        records,
      );
      if (errorCode !== ErrorCode.NONE) return { errorCode, topics: [] };
      for (const { topic, partition } of deleting)
        group.deleteOffset(topic, partition, appendSequence);
    }
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  /**
   * Topics any member subscribes to, from the consumer protocol's subscriptions; null when a
   * subscription cannot be read (then no topic may be treated as unsubscribed).
   */
  private subscribedTopics(group: ClassicGroup): Set<string> | null {
    const topics = new Set<string>();
    for (const member of group.members.values()) {
      const protocol =
        member.protocols.find((candidate) => candidate.name === group.protocolName) ??
        member.protocols[0];
      if (protocol === undefined) return null;
      const subscription = decodeConsumerSubscriptionTopics(protocol.metadata);
      if (subscription === null) return null;
      for (const topic of subscription) topics.add(topic);
    }
    return topics;
  }

  /**
   * Removes expired offsets (Kafka's rules): in a group without members, every offset once
   * offsets.retention.ms has passed since the group became empty (or since the commit, if
   * later); in a consumer group with members, offsets of topics no member subscribes to, once
   * that long has passed since their commit. An empty group left with no offsets dies.
   */
  async expireOffsets(): Promise<number> {
    const now = this.clock.wallClockNowMs();
    const retentionMs = this.config.offsetsRetentionMs;
    let expiredCount = 0;
    const work: Promise<void>[] = [];
    for (const group of this.groups.values()) {
      if (this.partitionStates.get(group.offsetsPartition) !== 'loaded') continue;
      let isExpired: ((topic: string, committed: CommittedOffset) => boolean) | null = null;
      if (group.state === 'Empty') {
        isExpired = (_topic, committed) =>
          Math.max(committed.commitTimestampMs, group.currentStateTimestampMs) + retentionMs <= now;
      } else if (group.state === 'Stable' && group.protocolType === consumerProtocolType) {
        const subscribed = this.subscribedTopics(group);
        if (subscribed !== null) {
          isExpired = (topic, committed) =>
            !subscribed.has(topic) && committed.commitTimestampMs + retentionMs <= now;
        }
      }
      if (isExpired === null) continue;
      const records: KeyValueRecord[] = [];
      const expired: { topic: string; partition: number }[] = [];
      for (const [topic, partitions] of group.offsets) {
        for (const [partition, committed] of partitions) {
          if (!isExpired(topic, committed)) continue;
          records.push({
            key: encodeOffsetCommitKey(group.groupId, topic, partition),
            value: null,
          });
          expired.push({ topic, partition });
        }
      }
      const diesToo =
        group.state === 'Empty' &&
        group.pendingMembers.size === 0 &&
        expired.length === group.offsetCount();
      if (expired.length === 0 && !diesToo) continue;
      if (diesToo) {
        // Dead before the write: nothing may join or commit while the tombstones are on their way.
        group.transitionTo('Dead', now);
        records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
      }
      expiredCount += expired.length;
      work.push(
        this.appendRecords(group.offsetsPartition, records).then(
          ({ errorCode, appendSequence }) => {
            if (errorCode !== ErrorCode.NONE) {
              if (diesToo && group.state === 'Dead') group.state = 'Empty';
              return;
            }
            for (const { topic, partition } of expired) {
              group.deleteOffset(topic, partition, appendSequence);
            }
            if (diesToo && this.groups.get(group.groupId) === group) {
              this.groups.delete(group.groupId);
            }
          },
        ),
      );
    }
    await Promise.all(work);
    return expiredCount;
  }

  private scheduleRetentionCheck(): void {
    if (this.closed) return;
    this.retentionTimer = this.clock.setTimer(this.config.offsetsRetentionCheckIntervalMs, () => {
      void this.expireOffsets().finally(() => this.scheduleRetentionCheck());
    });
  }

  // -------------------------------------------------------------------------------------------
  // Admin: DescribeGroups, ListGroups, DeleteGroups, lag.

  describeGroup(groupId: string, includeAuthorizedOperations = false): GroupDescription {
    const authorizedOperations = includeAuthorizedOperations ? allGroupOperations : -2147483648;
    const description = (state: GroupState | '', errorCode: number): GroupDescription => ({
      groupId,
      errorCode,
      state,
      protocolType: '',
      protocolName: '',
      authorizedOperations,
      members: [],
    });
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return description('', coordinatorError);
    const group = this.groups.get(groupId);
    if (group === undefined) return description('Dead', ErrorCode.NONE);
    const stable = group.state === 'Stable';
    return {
      groupId,
      errorCode: ErrorCode.NONE,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolName: stable ? (group.protocolName ?? '') : '',
      authorizedOperations,
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable ? member.metadataFor(group.protocolName!) : emptyBuffer,
        assignment: stable ? member.assignment : emptyBuffer,
      })),
    };
  }

  /** Groups in every loaded partition; states and types filter case-insensitively when given. */
  listGroups(
    statesFilter: readonly string[] = [],
    typesFilter: readonly string[] = [],
  ): { errorCode: number; groups: GroupListing[] } {
    let errorCode: number = ErrorCode.NONE;
    for (const state of this.partitionStates.values()) {
      if (state === 'loading') errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    }
    const states = new Set(statesFilter.map((state) => state.toLowerCase()));
    const types = new Set(typesFilter.map((type) => type.toLowerCase()));
    const groups: GroupListing[] = [];
    if (types.size > 0 && !types.has('classic')) return { errorCode, groups };
    for (const group of this.groups.values()) {
      if (group.state === 'Dead') continue;
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
      groups.push({
        groupId: group.groupId,
        protocolType: group.protocolType ?? '',
        state: group.state,
        groupType: 'classic',
      });
    }
    return { errorCode, groups };
  }

  /** DeleteGroups: only groups without members; their offsets and metadata get tombstones. */
  async deleteGroups(
    groupIds: readonly string[],
  ): Promise<{ groupId: string; errorCode: number }[]> {
    return Promise.all(
      groupIds.map(async (groupId) => ({ groupId, errorCode: await this.deleteGroup(groupId) })),
    );
  }

  private async deleteGroup(groupId: string): Promise<number> {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.state !== 'Empty') return ErrorCode.NON_EMPTY_GROUP;
    const records: KeyValueRecord[] = [];
    for (const [topic, partitions] of group.offsets) {
      for (const partition of partitions.keys()) {
        records.push({ key: encodeOffsetCommitKey(groupId, topic, partition), value: null });
      }
    }
    records.push({ key: encodeGroupMetadataKey(groupId), value: null });
    // Dead before the write: nothing may join or commit while the tombstones are on their way.
    group.transitionTo('Dead', this.clock.wallClockNowMs());
    const { errorCode } = await this.appendRecords(group.offsetsPartition, records);
    if (errorCode !== ErrorCode.NONE) {
      group.state = 'Empty';
      return errorCode;
    }
    if (this.groups.get(groupId) === group) this.groups.delete(groupId);
    return ErrorCode.NONE;
  }

  /**
   * For each partition the group has committed or been assigned: the committed offset, the log
   * end offset and the lag, with the member that owns it.
   */
  groupLag(groupId: string): GroupLag {
    const coordinatorError = this.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) {
      return { groupId, errorCode: coordinatorError, state: '', partitions: [] };
    }
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, state: 'Dead', partitions: [] };
    }
    const owners = new Map<string, GroupMember>();
    if (group.state === 'Stable' && group.protocolType === consumerProtocolType) {
      for (const member of group.members.values()) {
        for (const { topic, partitions } of decodeConsumerAssignment(member.assignment)) {
          for (const partition of partitions)
            owners.set(topicPartitionKey(topic, partition), member);
        }
      }
    }
    const keys = new Set<string>(owners.keys());
    for (const [topic, partitions] of group.offsets) {
      for (const partition of partitions.keys()) keys.add(topicPartitionKey(topic, partition));
    }
    const partitions = [...keys].map((key): PartitionLag => {
      const [topic, partition] = splitTopicPartitionKey(key);
      const committed = group.getOffset(topic, partition);
      const logEndOffset = this.ports.partitions.logEndOffset(topic, partition) ?? null;
      const owner = owners.get(key);
      return {
        topic,
        partition,
        committedOffset: committed?.offset ?? null,
        metadata: committed?.metadata ?? '',
        logEndOffset,
        lag:
          committed === undefined || logEndOffset === null
            ? null
            : Math.max(0, logEndOffset - Number(committed.offset)),
        memberId: owner?.memberId ?? null,
        clientId: owner?.clientId ?? null,
        clientHost: owner?.clientHost ?? null,
      };
    });
    partitions.sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
    return { groupId, errorCode: ErrorCode.NONE, state: group.state, partitions };
  }

  /**
   * Forgets every group's committed offsets for deleted topics (the broker calls this after
   * DeleteTopics), with tombstones, so a topic created again under the same name starts with no
   * committed offsets. Resolves when the tombstones are durable.
   */
  async deleteOffsetsOfTopics(topics: readonly string[]): Promise<void> {
    const deleted = new Set(topics);
    const work: Promise<void>[] = [];
    for (const group of this.groups.values()) {
      if (this.partitionStates.get(group.offsetsPartition) !== 'loaded') continue;
      const records: KeyValueRecord[] = [];
      const removed: { topic: string; partition: number }[] = [];
      for (const [topic, partitions] of group.offsets) {
        if (!deleted.has(topic)) continue;
        for (const partition of partitions.keys()) {
          records.push({
            key: encodeOffsetCommitKey(group.groupId, topic, partition),
            value: null,
          });
          removed.push({ topic, partition });
        }
      }
      if (records.length === 0) continue;
      work.push(
        this.appendRecords(group.offsetsPartition, records).then(
          ({ errorCode, appendSequence }) => {
            if (errorCode !== ErrorCode.NONE) return;
            for (const { topic, partition } of removed) {
              group.deleteOffset(topic, partition, appendSequence);
            }
          },
        ),
      );
    }
    await Promise.all(work);
  }

  /** The group's state, for tests and the admin surface; undefined when it does not exist. */
  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  private dropGroupIfUnused(group: ClassicGroup): void {
    if (
      group.state === 'Empty' &&
      group.members.size === 0 &&
      group.pendingMembers.size === 0 &&
      !group.hasOffsets() &&
      group.generationId === 0 &&
      this.groups.get(group.groupId) === group
    ) {
      this.groups.delete(group.groupId);
    }
  }
}

function topicPartitionKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

function splitTopicPartitionKey(key: string): [string, number] {
  const colon = key.indexOf(':');
  return [key.slice(colon + 1), Number(key.slice(0, colon))];
}
