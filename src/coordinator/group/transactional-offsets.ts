// Offsets a transaction commits for a group (TxnOffsetCommit), from their write to the
// transaction's marker. The group coordinator writes them into the group's `__consumer_offsets`
// partition as the producer's transactional batch and holds them as pending; the transaction
// coordinator, wherever it runs, adds that partition to the transaction (AddOffsetsToTxn) and so
// sends it a marker like any other: COMMIT makes them the group's committed offsets, ABORT drops
// them. The loader replays the partition into the same state (group-loader.ts).
//
//   TxnOffsetCommit ─► staged ─► written (the batch is durable; the client is answered)
//   marker ─► appendMarker: the producer's pending entries so far ─► marker durable ─►
//             COMMIT: the written ones are applied; ABORT: dropped; either way they leave
//
// Ordering: a batch is staged in the turn its append is issued, and offsets are assigned in
// call order, so the entries a marker takes are exactly the ones before it in the log. An entry
// not yet written when its marker is durable belongs to a zombie (its producer was fenced and
// the transaction ended without it): it is dropped, as Kafka drops it. Applied offsets keep the
// append sequence of their write, so a plain commit issued after them still wins, as it does
// when the partition is replayed.
//
// Owned by the GroupCoordinator; the pending entries live in the registry with the partition's
// groups and leave with them when the partition is unloaded.

import { ErrorCode } from '../../protocol/errors.js';
import type { TransactionalProducer } from '../../record/key-value-batch.js';
import type { CommittedOffset } from './classic-group.js';
import type { GroupRegistry } from './group-registry.js';
import { encodeOffsetCommitKey, encodeOffsetCommitValue } from './offsets-topic-records.js';

/** One offset a transaction commits, from its TxnOffsetCommit until its marker. */
export interface PendingTransactionalOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: CommittedOffset;
  /** Whether its batch is durable (a live TxnOffsetCommit, once answered; always on replay). */
  written: boolean;
}

/** The pending entries of the loaded partitions: offsets partition → producer id → entries. */
export class PendingTransactionalOffsets {
  private readonly byPartition = new Map<number, Map<number, PendingTransactionalOffset[]>>();

  add(offsetsPartition: number, producerId: number, entries: PendingTransactionalOffset[]): void {
    let producers = this.byPartition.get(offsetsPartition);
    if (producers === undefined) {
      producers = new Map();
      this.byPartition.set(offsetsPartition, producers);
    }
    const existing = producers.get(producerId);
    if (existing === undefined) producers.set(producerId, [...entries]);
    else existing.push(...entries);
  }

  /** The producer's entries in the partition so far, in write order (a copy). */
  of(offsetsPartition: number, producerId: number): PendingTransactionalOffset[] {
    return [...(this.byPartition.get(offsetsPartition)?.get(producerId) ?? [])];
  }

  /** Removes `entries` where still present; returns the ones it removed. */
  remove(
    offsetsPartition: number,
    producerId: number,
    entries: readonly PendingTransactionalOffset[],
  ): PendingTransactionalOffset[] {
    const producers = this.byPartition.get(offsetsPartition);
    const current = producers?.get(producerId);
    if (producers === undefined || current === undefined) return [];
    const leaving = new Set(entries);
    const removed = current.filter((entry) => leaving.has(entry));
    const kept = current.filter((entry) => !leaving.has(entry));
    if (kept.length > 0) producers.set(producerId, kept);
    else producers.delete(producerId);
    if (producers.size === 0) this.byPartition.delete(offsetsPartition);
    return removed;
  }

  /** The pending entries of `groupId` (its data partitions an open transaction holds offsets for). */
  *ofGroup(groupId: string, offsetsPartition: number): Generator<PendingTransactionalOffset> {
    for (const entries of this.byPartition.get(offsetsPartition)?.values() ?? []) {
      for (const entry of entries) if (entry.groupId === groupId) yield entry;
    }
  }

  dropPartition(offsetsPartition: number): void {
    this.byPartition.delete(offsetsPartition);
  }
}

/** TxnOffsetCommit's request, as the coordinator takes it. */
export interface TransactionalOffsetCommitParams {
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly memberId: string;
  readonly generationId: number;
  readonly groupInstanceId: string | null;
  readonly offsets: readonly {
    topic: string;
    partition: number;
    offset: bigint;
    leaderEpoch: number;
    metadata: string;
  }[];
}

export class TransactionalOffsetStore {
  constructor(private readonly registry: GroupRegistry) {}

  /**
   * TxnOffsetCommit: checks the committer against the group (Kafka's rules: generation −1 always
   * passes; otherwise the member and generation must be current), writes the offsets as the
   * producer's transactional batch and holds them until the transaction's marker. Resolves with
   * NONE once the batch is durable, or the error (PRODUCER_FENCED for a fenced epoch).
   */
  async commit(params: TransactionalOffsetCommitParams): Promise<number> {
    const checked = this.check(params);
    if (checked !== ErrorCode.NONE) return checked;
    if (params.offsets.length === 0) return ErrorCode.NONE;
    const { groupId, producerId } = params;
    const offsetsPartition = this.registry.partitionFor(groupId);
    const commitTimestampMs = this.registry.clock.wallClockNowMs();
    const appendSequence = this.registry.nextAppendSequence;
    const entries: PendingTransactionalOffset[] = params.offsets.map((entry) => ({
      groupId,
      topic: entry.topic,
      partition: entry.partition,
      committed: {
        offset: entry.offset,
        leaderEpoch: entry.leaderEpoch,
        metadata: entry.metadata,
        commitTimestampMs,
        appendSequence,
      },
      written: false,
    }));
    const producer: TransactionalProducer = { producerId, producerEpoch: params.producerEpoch };
    const appended = this.registry.appendRecords(
      offsetsPartition,
      entries.map((entry) => ({
        key: encodeOffsetCommitKey(groupId, entry.topic, entry.partition),
        value: encodeOffsetCommitValue(entry.committed),
      })),
      producer,
    );
    // Same turn as the append: a marker issued after it finds these entries.
    this.registry.pendingTransactionalOffsets.add(offsetsPartition, producerId, entries);
    void appended.then(({ errorCode }) => {
      if (errorCode === ErrorCode.NONE) {
        for (const entry of entries) entry.written = true;
      } else {
        this.registry.pendingTransactionalOffsets.remove(offsetsPartition, producerId, entries);
      }
    });
    const { errorCode } = await this.registry.withinCommitTimeout(appended);
    return errorCode === ErrorCode.INVALID_PRODUCER_EPOCH ? ErrorCode.PRODUCER_FENCED : errorCode;
  }

  private check(params: TransactionalOffsetCommitParams): number {
    const coordinatorError = this.registry.coordinatorError(params.groupId);
    if (coordinatorError !== ErrorCode.NONE) return coordinatorError;
    const group = this.registry.get(params.groupId);
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
   * Appends a transaction's marker (`batch`, a control batch of `producerId`) to an offsets
   * partition this coordinator has loaded, and once it is durable (replicated, in a cluster)
   * settles the producer's pending offsets there: applied on COMMIT, dropped on ABORT. Resolves
   * with the Kafka error code to answer the marker's writer with: COORDINATOR_LOAD_IN_PROGRESS
   * while the partition is not loaded here yet (the writer retries), the append's error
   * otherwise. Never rejects.
   */
  async appendMarker(
    offsetsPartition: number,
    batch: Buffer,
    marker: { producerId: number; committed: boolean },
  ): Promise<number> {
    if (!this.registry.isPartitionLoaded(offsetsPartition)) {
      return this.registry.isLeader(offsetsPartition)
        ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        : ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    const pending = this.registry.pendingTransactionalOffsets;
    const taken = pending.of(offsetsPartition, marker.producerId);
    try {
      await this.registry.ports.offsetsTopic.append(offsetsPartition, batch);
    } catch (error) {
      return markerErrorCodeOf(error);
    }
    const settled = pending.remove(offsetsPartition, marker.producerId, taken);
    if (marker.committed) {
      for (const entry of settled) {
        if (!entry.written) continue;
        const group = this.registry.get(entry.groupId) ?? this.registry.create(entry.groupId);
        if (group.state !== 'Dead') group.setOffset(entry.topic, entry.partition, entry.committed);
      }
    }
    return ErrorCode.NONE;
  }
}

/**
 * A marker append's failure as the code a partition leader answers WriteTxnMarkers with: the
 * coordinator topic's "not the coordinator (yet)" become the partition's "not the leader (yet)",
 * which the marker's writer retries; a fenced producer or coordinator keeps its own code.
 */
function markerErrorCodeOf(error: unknown): number {
  if (typeof error === 'object' && error !== null && 'kafkaErrorCode' in error) {
    const code = (error as { kafkaErrorCode: unknown }).kafkaErrorCode;
    if (code === ErrorCode.NOT_COORDINATOR) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (code === ErrorCode.COORDINATOR_NOT_AVAILABLE) return ErrorCode.LEADER_NOT_AVAILABLE;
    if (typeof code === 'number' && code !== ErrorCode.UNKNOWN_SERVER_ERROR) return code;
  }
  return ErrorCode.KAFKA_STORAGE_ERROR;
}
