// Loading and unloading the groups of one `__consumer_offsets` partition at a time: on start, and
// (in a cluster) when this broker gains or loses the partition's leadership.
//
//   unknown ──loadPartition──► loading ──read, replayed──► loaded ──unloadPartition──► unknown
//                                 └────────────unloadPartition─────────────────────────┘
//
// While a partition loads, requests for its groups are answered COORDINATOR_LOAD_IN_PROGRESS;
// for a partition not loaded here, NOT_COORDINATOR (group-registry.ts). A load installs nothing
// if an unload overtook it, even when a newer load of the same partition started meanwhile: each
// load carries its own token. An unloaded group is abandoned: its parked requests are answered
// NOT_COORDINATOR, its timers stop and it becomes Dead, so nothing still in flight for it acts.
//
// Owned by the GroupCoordinator. The only awaits are the partition reads.

import { ErrorCode } from '../../protocol/errors.js';
import { ProtocolDecodeError } from '../../protocol/reader.js';
import type { KeyValueRecord } from '../../record/key-value-batch.js';
import { ClassicGroup, GroupMember, type CommittedOffset } from './classic-group.js';
import { splitTopicPartitionKey, topicPartitionKey, type GroupRegistry } from './group-registry.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  OffsetsTopicRecordError,
  readOffsetsTopicRecords,
  type GroupMetadataValue,
} from './offsets-topic-records.js';
import type { Rebalancer } from './rebalance.js';

/** What replaying a partition leaves per group: the newest metadata and offsets, null = deleted. */
interface ReplayedPartition {
  metadataByGroup: Map<string, GroupMetadataValue | null>;
  offsetsByGroup: Map<string, Map<string, CommittedOffset | null>>;
}

export class GroupLoader {
  /** Records of `__consumer_offsets` that could not be read while loading (skipped). */
  skippedRecordCount = 0;

  constructor(
    private readonly registry: GroupRegistry,
    private readonly rebalancer: Rebalancer,
  ) {}

  /**
   * Reads the partition and rebuilds its groups and offsets. Does nothing when the partition is
   * already loading or loaded. Rejects when the partition cannot be read (a malformed batch); the
   * partition is then not loaded and may be loaded again.
   */
  async loadPartition(partition: number): Promise<void> {
    if (this.registry.isPartitionKnown(partition)) return;
    const token = this.registry.beginLoad(partition);
    const replayed: ReplayedPartition = { metadataByGroup: new Map(), offsetsByGroup: new Map() };
    try {
      for await (const chunk of this.registry.ports.offsetsTopic.readAll(partition)) {
        for (const record of readOffsetsTopicRecords(chunk)) this.replayRecord(record, replayed);
      }
    } catch (error) {
      if (this.registry.isCurrentLoad(partition, token)) this.registry.forgetPartition(partition);
      throw error;
    }
    if (!this.registry.isCurrentLoad(partition, token)) return; // unloaded meanwhile
    this.installGroups(partition, replayed);
    this.registry.finishLoad(partition);
  }

  /** Forgets the partition's groups (on losing leadership, or at shutdown). */
  unloadPartition(partition: number): void {
    this.registry.forgetPartition(partition);
    for (const group of this.registry.removePartitionGroups(partition)) {
      this.rebalancer.abandonGroup(group, ErrorCode.NOT_COORDINATOR);
    }
  }

  private replayRecord(record: KeyValueRecord, replayed: ReplayedPartition): void {
    try {
      const key = decodeOffsetsTopicKey(record.key);
      if (key.type === 'group') {
        replayed.metadataByGroup.set(
          key.groupId,
          record.value === null ? null : decodeGroupMetadataValue(record.value),
        );
        return;
      }
      let offsets = replayed.offsetsByGroup.get(key.groupId);
      if (offsets === undefined) {
        offsets = new Map();
        replayed.offsetsByGroup.set(key.groupId, offsets);
      }
      const value = record.value === null ? null : decodeOffsetCommitValue(record.value);
      offsets.set(
        topicPartitionKey(key.topic, key.partition),
        value === null ? null : { ...value, appendSequence: 0 },
      );
    } catch (error) {
      // A record this code cannot read (another version's layout) must not keep every other
      // group of the partition from loading: it is counted and skipped.
      if (!(error instanceof OffsetsTopicRecordError) && !(error instanceof ProtocolDecodeError)) {
        throw error;
      }
      this.skippedRecordCount++;
    }
  }

  private installGroups(partition: number, replayed: ReplayedPartition): void {
    const { metadataByGroup, offsetsByGroup } = replayed;
    const groupIds = new Set([...metadataByGroup.keys(), ...offsetsByGroup.keys()]);
    for (const groupId of groupIds) {
      const metadata = metadataByGroup.get(groupId) ?? null;
      const liveOffsets = [...(offsetsByGroup.get(groupId) ?? new Map()).entries()].filter(
        (entry): entry is [string, CommittedOffset] => entry[1] !== null,
      );
      if (metadata === null && liveOffsets.length === 0) continue;
      // A loaded group with members is Stable; members that do not come back time out.
      const group = new ClassicGroup(
        groupId,
        partition,
        this.registry.clock.wallClockNowMs(),
        metadata !== null && metadata.members.length > 0 ? 'Stable' : 'Empty',
      );
      for (const [key, committed] of liveOffsets) {
        const [topic, partitionIndex] = splitTopicPartitionKey(key);
        group.setOffset(topic, partitionIndex, committed);
      }
      if (metadata !== null) this.restoreGroupMetadata(group, metadata);
      this.registry.install(group);
    }
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
    if (group.leaderId !== null && !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value ?? null;
    }
    for (const member of group.members.values()) {
      this.rebalancer.scheduleSessionExpiry(group, member);
    }
  }
}
