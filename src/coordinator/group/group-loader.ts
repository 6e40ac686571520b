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
import type { KeyValueBatch, KeyValueRecord } from '../../record/key-value-batch.js';
import { ClassicGroup, GroupMember, type CommittedOffset } from './classic-group.js';
import { splitTopicPartitionKey, topicPartitionKey, type GroupRegistry } from './group-registry.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  OffsetsTopicRecordError,
  readOffsetsTopicBatches,
  type GroupMetadataValue,
} from './offsets-topic-records.js';
import type { Rebalancer } from './rebalance.js';
import type { PendingTransactionalOffset } from './transactional-offsets.js';

/**
 * What replaying a partition leaves per group: the newest metadata and offsets, null = deleted;
 * and per producer, the offsets of its open transaction (no marker yet).
 */
interface ReplayedPartition {
  metadataByGroup: Map<string, GroupMetadataValue | null>;
  offsetsByGroup: Map<string, Map<string, CommittedOffset | null>>;
  openTransactions: Map<number, PendingTransactionalOffset[]>;
  /**
   * The append sequence of the next replayed offset: below every live append's (which count from
   * 1), rising in log order, so a transaction's offsets committed by its marker replace only
   * offsets written before them, on replay as live.
   */
  nextSequence: number;
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
    const replayed: ReplayedPartition = {
      metadataByGroup: new Map(),
      offsetsByGroup: new Map(),
      openTransactions: new Map(),
      nextSequence: Number.MIN_SAFE_INTEGER,
    };
    try {
      for await (const chunk of this.registry.ports.offsetsTopic.readAll(partition)) {
        for (const batch of readOffsetsTopicBatches(chunk)) this.replayBatch(batch, replayed);
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

  private replayBatch(batch: KeyValueBatch, replayed: ReplayedPartition): void {
    if (batch.kind === 'marker') {
      const entries = replayed.openTransactions.get(batch.producerId);
      replayed.openTransactions.delete(batch.producerId);
      if (!batch.committed || entries === undefined) return;
      for (const entry of entries) {
        const offsets = offsetsOf(replayed, entry.groupId);
        const key = topicPartitionKey(entry.topic, entry.partition);
        const current = offsets.get(key);
        if (current == null || current.appendSequence < entry.committed.appendSequence) {
          offsets.set(key, entry.committed);
        }
      }
      return;
    }
    for (const record of batch.records) {
      this.replayRecord(record, batch.transactionalProducerId, replayed);
    }
  }

  private replayRecord(
    record: KeyValueRecord,
    transactionalProducerId: number | null,
    replayed: ReplayedPartition,
  ): void {
    try {
      const key = decodeOffsetsTopicKey(record.key);
      if (key.type === 'group') {
        if (transactionalProducerId !== null) return; // only offsets are written in transactions
        replayed.metadataByGroup.set(
          key.groupId,
          record.value === null ? null : decodeGroupMetadataValue(record.value),
        );
        return;
      }
      const value = record.value === null ? null : decodeOffsetCommitValue(record.value);
      const committed =
        value === null ? null : { ...value, appendSequence: replayed.nextSequence++ };
      if (transactionalProducerId === null) {
        offsetsOf(replayed, key.groupId).set(
          topicPartitionKey(key.topic, key.partition),
          committed,
        );
        return;
      }
      if (committed === null) return;
      let entries = replayed.openTransactions.get(transactionalProducerId);
      if (entries === undefined) {
        entries = [];
        replayed.openTransactions.set(transactionalProducerId, entries);
      }
      entries.push({
        groupId: key.groupId,
        topic: key.topic,
        partition: key.partition,
        committed,
        written: true,
      });
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
    for (const [producerId, entries] of replayed.openTransactions) {
      this.registry.pendingTransactionalOffsets.add(partition, producerId, entries);
    }
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
    group.figuresMoved();
    for (const member of group.members.values()) {
      this.rebalancer.scheduleSessionExpiry(group, member);
    }
  }
}

function offsetsOf(
  replayed: ReplayedPartition,
  groupId: string,
): Map<string, CommittedOffset | null> {
  let offsets = replayed.offsetsByGroup.get(groupId);
  if (offsets === undefined) {
    offsets = new Map();
    replayed.offsetsByGroup.set(groupId, offsets);
  }
  return offsets;
}
