// The group coordinator's answers for tools: FindCoordinator, DescribeGroups, ListGroups,
// DeleteGroups and lag. Reads only, except DeleteGroups, whose tombstones go through the offset
// store's one removal path.
//
// Owned by the GroupCoordinator. Nothing here awaits except DeleteGroups' append.

import { ErrorCode } from '../../protocol/errors.js';
import {
  emptyBuffer,
  type ClassicGroup,
  type GroupMember,
  type GroupState,
} from './classic-group.js';
import { assignedPartitionsOf } from '../../protocol/consumer-protocol.js';
import { splitTopicPartitionKey, topicPartitionKey, type GroupRegistry } from './group-registry.js';
import type {
  FindCoordinatorResult,
  GroupDescription,
  GroupFigures,
  GroupLag,
  GroupListing,
  PartitionLag,
} from './group-requests.js';
import { consumerProtocolType, type OffsetStore } from './offset-store.js';
import { OFFSETS_TOPIC_NAME } from './ports.js';

/** DescribeGroups' authorized operations when no authorizer runs: READ, DELETE, DESCRIBE. */
const allGroupOperations = (1 << 3) | (1 << 6) | (1 << 8);

export class GroupAdmin {
  constructor(
    private readonly registry: GroupRegistry,
    private readonly offsetStore: OffsetStore,
  ) {}

  findCoordinator(keyType: number, key: string): FindCoordinatorResult {
    const ports = this.registry.ports;
    if (keyType === 1) {
      // Transactions: this broker answers for every transactional id for now.
      return { key, errorCode: ErrorCode.NONE, errorMessage: null, node: ports.node() };
    }
    if (keyType !== 0) {
      return {
        key,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `unknown coordinator key type ${keyType}`,
        node: null,
      };
    }
    const partition = this.registry.partitionFor(key);
    const node =
      ports.offsetsTopic.leaderOf?.(partition) ??
      (this.registry.isLeader(partition) && !this.registry.isClosed ? ports.node() : undefined);
    if (node === undefined) {
      return {
        key,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: `no leader for ${OFFSETS_TOPIC_NAME}-${partition}`,
        node: null,
      };
    }
    return { key, errorCode: ErrorCode.NONE, errorMessage: null, node };
  }

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
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return description('', coordinatorError);
    const group = this.registry.get(groupId);
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
    const errorCode = this.registry.isAnyPartitionLoading()
      ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
      : ErrorCode.NONE;
    const states = new Set(statesFilter.map((state) => state.toLowerCase()));
    const types = new Set(typesFilter.map((type) => type.toLowerCase()));
    const groups: GroupListing[] = [];
    if (types.size > 0 && !types.has('classic')) return { errorCode, groups };
    for (const group of this.registry.all()) {
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

  /**
   * Every listed group's state, members and lag, read for a metrics scrape: the figures
   * `listGroups`, `describeGroup` and `groupLag` give, without building their answers (a scrape
   * of 1,000 groups reads them every few seconds).
   */
  *groupFigures(): Generator<GroupFigures> {
    for (const group of this.listedGroups()) yield this.figuresOf(group);
  }

  /** The groups `groupFigures` reads, in its order. */
  *listedGroups(): Generator<ClassicGroup> {
    for (const group of this.registry.all()) if (group.state !== 'Dead') yield group;
  }

  /**
   * Changes whenever the listed groups come or go, or `figuresOf` of some moves with no mark of
   * theirs registering: this broker starts or stops answering for them (it then shows no
   * members and no lag). A group's own figures register its mark (ClassicGroup.figuresChanges);
   * lag that moves with a partition's end is the reader's to follow (it tracks partitions).
   */
  figuresLayout(): string {
    return this.registry.figuresLayout();
  }

  /** One listed group's figures, as `groupFigures` gives them. */
  figuresOf(group: ClassicGroup): GroupFigures {
    const { groupId, state } = group;
    if (this.registry.coordinatorError(groupId) !== ErrorCode.NONE)
      return { groupId, state, members: 0, lag: [] };
    const highWatermarks = this.registry.ports.partitions;
    const lag: Array<{ topic: string; partition: number; lag: number }> = [];
    const topics = group.offsets.size > 1 ? [...group.offsets.keys()].sort() : group.offsets.keys();
    for (const topic of topics) {
      const committed = group.offsets.get(topic)!;
      for (const partition of [...committed.keys()].sort((a, b) => a - b)) {
        const highWatermark = highWatermarks.logEndOffset(topic, partition);
        if (highWatermark === undefined) continue;
        const offset = Number(committed.get(partition)!.offset);
        lag.push({ topic, partition, lag: Math.max(0, highWatermark - offset) });
      }
    }
    return { groupId, state, members: group.members.size, lag };
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
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const group = this.registry.get(groupId);
    if (group === undefined || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.state !== 'Empty') return ErrorCode.NON_EMPTY_GROUP;
    const offsets: { topic: string; partition: number }[] = [];
    for (const [topic, partitions] of group.offsets) {
      for (const partition of partitions.keys()) offsets.push({ topic, partition });
    }
    return this.offsetStore.writeTombstones(group, offsets, true);
  }

  /**
   * For each partition the group has committed or been assigned: the committed offset, the log
   * end offset and the lag, with the member that owns it.
   */
  groupLag(groupId: string): GroupLag {
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) {
      return { groupId, errorCode: coordinatorError, state: '', partitions: [] };
    }
    const group = this.registry.get(groupId);
    if (group === undefined) {
      return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, state: 'Dead', partitions: [] };
    }
    const owners = new Map<string, GroupMember>();
    if (group.state === 'Stable' && group.protocolType === consumerProtocolType) {
      for (const member of group.members.values()) {
        for (const { topic, partitions } of assignedPartitionsOf(member.assignment)) {
          for (const partition of partitions) {
            owners.set(topicPartitionKey(topic, partition), member);
          }
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
      const logEndOffset = this.registry.ports.partitions.logEndOffset(topic, partition) ?? null;
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
}
