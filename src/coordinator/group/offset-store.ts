// Committed offsets: OffsetCommit, OffsetFetch, the transaction coordinator's offsets, OffsetDelete,
// expiry by offsets.retention.ms, and the offsets of deleted topics. Every removal goes through one
// helper, writeTombstones: build the tombstones, append them, and only once they are durable forget
// the offsets (or, for a dying group, roll its Dead state back if they could not be written).
//
// Owned by the GroupCoordinator. A commit is applied in memory only after its records are durable;
// a settled append replaces a cached offset only if it was issued later (appendSequence), so a slow
// early commit never overwrites a later one.

import { ErrorCode } from '../../protocol/errors.js';
import type { KeyValueRecord } from '../../record/key-value-batch.js';
import type { ClassicGroup, CommittedOffset } from './classic-group.js';
import { subscribedTopicsOf } from '../../protocol/consumer-protocol.js';
import { topicPartitionKey, type GroupRegistry } from './group-registry.js';
import type {
  OffsetCommitParams,
  OffsetFetchResult,
  TopicPartitionErrors,
} from './group-requests.js';
import {
  encodeGroupMetadataKey,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from './offsets-topic-records.js';
import type { Rebalancer } from './rebalance.js';

export const consumerProtocolType = 'consumer';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export class OffsetStore {
  private retentionTimer: { cancel(): void } | null = null;

  constructor(
    private readonly registry: GroupRegistry,
    private readonly rebalancer: Rebalancer,
  ) {}

  // -------------------------------------------------------------------------------------------
  // OffsetCommit and OffsetFetch.

  async commitOffsets(params: OffsetCommitParams): Promise<TopicPartitionErrors[]> {
    const groupError = (errorCode: number): TopicPartitionErrors[] =>
      params.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((entry) => ({ partition: entry.partition, errorCode })),
      }));
    const coordinatorError = this.registry.coordinatorError(params.groupId);
    if (coordinatorError !== ErrorCode.NONE) return groupError(coordinatorError);

    let group = this.registry.get(params.groupId);
    if (group === undefined) {
      // Only a consumer outside group management (generation -1, manual assignment) may
      // commit to a group that does not exist; it creates an Empty group holding its offsets.
      if (params.generationId >= 0) return groupError(ErrorCode.ILLEGAL_GENERATION);
      group = this.registry.create(params.groupId);
    }
    const validation = this.validateCommit(group, params);
    if (validation !== ErrorCode.NONE) return groupError(validation);

    const now = this.registry.clock.wallClockNowMs();
    const records: KeyValueRecord[] = [];
    const accepted: (TopicPartition & { value: Omit<CommittedOffset, 'appendSequence'> })[] = [];
    const results = params.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((entry) => {
        let errorCode: number = ErrorCode.NONE;
        const metadata = entry.metadata ?? '';
        if (Buffer.byteLength(metadata) > this.registry.config.offsetMetadataMaxBytes) {
          errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        } else if (!this.partitionExists(topic.name, entry.partition)) {
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
    const { errorCode, appendSequence } = await this.registry.appendWithinCommitTimeout(
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
    this.applyCommitted(committingGroup, accepted, appendSequence);
    return results;
  }

  private partitionExists(topic: string, partition: number): boolean {
    const lookup = this.registry.ports.partitions;
    return lookup.exists?.(topic, partition) ?? lookup.logEndOffset(topic, partition) !== undefined;
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
    if (member !== undefined) this.rebalancer.scheduleSessionExpiry(group, member);
    return ErrorCode.NONE;
  }

  /** Makes durable commits visible, unless the group was deleted or reloaded meanwhile. */
  private applyCommitted(
    group: ClassicGroup,
    committed: readonly (TopicPartition & { value: Omit<CommittedOffset, 'appendSequence'> })[],
    appendSequence: number,
  ): void {
    if (!this.registry.isCurrent(group) || group.state === 'Dead') return;
    for (const { topic, partition, value } of committed) {
      group.setOffset(topic, partition, { ...value, appendSequence });
    }
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
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, topics: [] };
    const group = this.registry.get(groupId);
    let unstable: Set<string> | null = null;
    if (requireStable) {
      unstable = new Set();
      const pending = this.registry.pendingTransactionalOffsets;
      for (const { topic, partition } of pending.ofGroup(
        groupId,
        this.registry.partitionFor(groupId),
      )) {
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

  // -------------------------------------------------------------------------------------------
  // Transactional offsets.

  /**
   * The offsets of a committed transaction that the transaction coordinator held in its own
   * state (Brook before transactional batches in `__consumer_offsets`; a Prepare* record of that
   * time found at start-up still brings them): written and made visible without membership
   * checks. Resolves with NONE once durable, or the error.
   */
  async commitOffsetsHeldByTransaction(
    groupId: string,
    offsets: readonly {
      topic: string;
      partition: number;
      offset: bigint;
      leaderEpoch: number;
      metadata: string;
    }[],
  ): Promise<number> {
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    if (offsets.length === 0) return ErrorCode.NONE;
    const group = this.registry.get(groupId) ?? this.registry.create(groupId);
    const now = this.registry.clock.wallClockNowMs();
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
    const { errorCode, appendSequence } = await this.registry.appendRecords(
      group.offsetsPartition,
      records,
    );
    if (errorCode !== ErrorCode.NONE) return errorCode;
    this.applyCommitted(group, values, appendSequence);
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------------------------
  // Removal: OffsetDelete, expiry, deleted topics, deleted groups.

  /**
   * The one way offsets (and, with `deleteGroup`, the group itself) leave: tombstones for them
   * are appended, and only once durable are the offsets forgotten. A dying group is Dead before
   * the write, so nothing may join or commit while the tombstones are on their way; if they
   * cannot be written it goes back to Empty, and once they are durable it leaves the registry.
   * Resolves with NONE or the append's error.
   */
  async writeTombstones(
    group: ClassicGroup,
    offsets: readonly TopicPartition[],
    deleteGroup: boolean,
  ): Promise<number> {
    const records: KeyValueRecord[] = offsets.map(({ topic, partition }) => ({
      key: encodeOffsetCommitKey(group.groupId, topic, partition),
      value: null,
    }));
    if (deleteGroup) {
      records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
      group.transitionTo('Dead', this.registry.clock.wallClockNowMs());
    }
    const { errorCode, appendSequence } = await this.registry.appendRecords(
      group.offsetsPartition,
      records,
    );
    if (errorCode !== ErrorCode.NONE) {
      // The group lives on; it keeps the time it became Dead as the time it became Empty again.
      if (deleteGroup && group.state === 'Dead' && this.registry.isCurrent(group)) {
        group.transitionTo('Empty', group.currentStateTimestampMs);
      }
      return errorCode;
    }
    for (const { topic, partition } of offsets) {
      group.deleteOffset(topic, partition, appendSequence);
    }
    if (deleteGroup) this.registry.remove(group);
    return ErrorCode.NONE;
  }

  /** OffsetDelete: removes committed offsets of topics the group is not consuming. */
  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: TopicPartitionErrors[] }> {
    const coordinatorError = this.registry.coordinatorError(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { errorCode: coordinatorError, topics: [] };
    const group = this.registry.get(groupId);
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
      subscribed = subscribedTopics(group) ?? 'unknown';
    }
    const deleting: TopicPartition[] = [];
    const results = topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => {
        if (subscribed === 'unknown' || (subscribed !== null && subscribed.has(topic.name))) {
          return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        }
        if (group.getOffset(topic.name, partition) !== undefined) {
          deleting.push({ topic: topic.name, partition });
        }
        return { partition, errorCode: ErrorCode.NONE as number };
      }),
    }));
    if (deleting.length > 0) {
      const errorCode = await this.writeTombstones(group, deleting, false);
      if (errorCode !== ErrorCode.NONE) return { errorCode, topics: [] };
    }
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  /**
   * Removes expired offsets (Kafka's rules): in a group without members, every offset once
   * offsets.retention.ms has passed since the group became empty (or since the commit, if
   * later); in a consumer group with members, offsets of topics no member subscribes to, once
   * that long has passed since their commit. An empty group left with no offsets dies.
   */
  async expireOffsets(): Promise<number> {
    const now = this.registry.clock.wallClockNowMs();
    const retentionMs = this.registry.config.offsetsRetentionMs;
    let expiredCount = 0;
    const work: Promise<number>[] = [];
    for (const group of this.registry.inLoadedPartitions()) {
      let isExpired: ((topic: string, committed: CommittedOffset) => boolean) | null = null;
      if (group.state === 'Empty') {
        isExpired = (_topic, committed) =>
          Math.max(committed.commitTimestampMs, group.currentStateTimestampMs) + retentionMs <= now;
      } else if (group.state === 'Stable' && group.protocolType === consumerProtocolType) {
        const subscribed = subscribedTopics(group);
        if (subscribed !== null) {
          isExpired = (topic, committed) =>
            !subscribed.has(topic) && committed.commitTimestampMs + retentionMs <= now;
        }
      }
      if (isExpired === null) continue;
      const expired: TopicPartition[] = [];
      for (const [topic, partitions] of group.offsets) {
        for (const [partition, committed] of partitions) {
          if (isExpired(topic, committed)) expired.push({ topic, partition });
        }
      }
      const diesToo =
        group.state === 'Empty' &&
        group.pendingMembers.size === 0 &&
        expired.length === group.offsetCount();
      if (expired.length === 0 && !diesToo) continue;
      expiredCount += expired.length;
      work.push(this.writeTombstones(group, expired, diesToo));
    }
    await Promise.all(work);
    return expiredCount;
  }

  /**
   * Forgets every group's committed offsets for deleted topics (the broker calls this after
   * DeleteTopics), with tombstones, so a topic created again under the same name starts with no
   * committed offsets. Resolves when the tombstones are durable.
   */
  async deleteOffsetsOfTopics(topics: readonly string[]): Promise<void> {
    const deleted = new Set(topics);
    const work: Promise<number>[] = [];
    for (const group of this.registry.inLoadedPartitions()) {
      const removed: TopicPartition[] = [];
      for (const [topic, partitions] of group.offsets) {
        if (!deleted.has(topic)) continue;
        for (const partition of partitions.keys()) removed.push({ topic, partition });
      }
      if (removed.length > 0) work.push(this.writeTombstones(group, removed, false));
    }
    await Promise.all(work);
  }

  /** Every offsets.retention.check.interval.ms until stop(). */
  startRetentionChecks(): void {
    if (this.registry.isClosed) return;
    this.retentionTimer = this.registry.clock.setTimer(
      this.registry.config.offsetsRetentionCheckIntervalMs,
      () => {
        void this.expireOffsets().finally(() => this.startRetentionChecks());
      },
    );
  }

  stop(): void {
    this.retentionTimer?.cancel();
    this.retentionTimer = null;
  }
}

/**
 * Topics any member subscribes to, from the consumer protocol's subscriptions; null when a
 * subscription cannot be read (then no topic may be treated as unsubscribed).
 */
function subscribedTopics(group: ClassicGroup): Set<string> | null {
  const topics = new Set<string>();
  for (const member of group.members.values()) {
    const protocol =
      member.protocols.find((candidate) => candidate.name === group.protocolName) ??
      member.protocols[0];
    if (protocol === undefined) return null;
    const subscription = subscribedTopicsOf(protocol.metadata);
    if (subscription === null) return null;
    for (const topic of subscription) topics.add(topic);
  }
  return topics;
}
