// Where groups live: the groups of every loaded `__consumer_offsets` partition, which partitions
// are loaded, the answer to "does this coordinator serve that group now", and the one way records
// reach the offsets topic (issue order kept, failures turned into error codes).
//
// Owned by the GroupCoordinator and shared by its modules (loader, membership, offset store,
// admin), which read and change groups only through it. Single-threaded: nothing here awaits
// except appendRecords, which takes its append sequence and hands the batch to the log in the
// turn it is called.

import { ErrorCode } from '../../protocol/errors.js';
import {
  buildKeyValueBatch,
  type KeyValueRecord,
  type TransactionalProducer,
} from '../../record/key-value-batch.js';
import { ClassicGroup } from './classic-group.js';
import type { GroupCoordinatorConfig } from './group-coordinator-config.js';
import type { CoordinatorClock, GroupCoordinatorPorts } from './ports.js';
import { PendingTransactionalOffsets } from './transactional-offsets.js';

/** Kafka's partitioner for the offsets topic: Java's String.hashCode, Utils.abs, modulo. */
export function offsetsPartitionFor(groupId: string, partitionCount: number): number {
  let hash = 0;
  for (let index = 0; index < groupId.length; index++) {
    hash = (Math.imul(hash, 31) + groupId.charCodeAt(index)) | 0;
  }
  const positive = hash === -2147483648 ? 0 : Math.abs(hash);
  return positive % partitionCount;
}

export function topicPartitionKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

export function splitTopicPartitionKey(key: string): [string, number] {
  const colon = key.indexOf(':');
  return [key.slice(colon + 1), Number(key.slice(0, colon))];
}

/** What an append came to: NONE once durable, or the error to answer with. */
export interface AppendResult {
  errorCode: number;
  /** The append's place in issue order; see CommittedOffset.appendSequence. */
  appendSequence: number;
}

/**
 * A partition being loaded, or loaded. A load carries a token of its own, so a load that an
 * unload (and perhaps a newer load) overtook knows it is stale and installs nothing.
 */
type PartitionLoad = { state: 'loading'; token: object } | { state: 'loaded' };

export class GroupRegistry {
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly partitionLoads = new Map<number, PartitionLoad>();
  /** Offsets of open transactions in the loaded partitions (transactional-offsets.ts). */
  readonly pendingTransactionalOffsets = new PendingTransactionalOffsets();
  /** Issue order of appends; see CommittedOffset.appendSequence. */
  private appendSequence = 1;
  private closed = false;
  /** Moves whenever a group comes or goes or a partition's load state changes (`figuresLayout`). */
  private layoutVersion = 0;
  /** The last `figuresLayout` answer, with the version it was made at. */
  private lastLayout:
    { readonly version: number; readonly partitions: number; readonly text: string } | undefined;

  constructor(
    readonly ports: GroupCoordinatorPorts,
    readonly clock: CoordinatorClock,
    readonly config: GroupCoordinatorConfig,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.layoutVersion++;
  }

  /**
   * Changes whenever groups come or go or this coordinator starts or stops answering for some
   * (a partition loads, unloads or changes leader; the coordinator closes): what a metrics scrape
   * that keeps group figures between scrapes checks once, instead of asking every group.
   */
  figuresLayout(): string {
    // Each scrape asks: the last answer is checked in place, not built again (a string per
    // partition of the offsets topic, on every scrape).
    const last = this.lastLayout;
    if (
      last !== undefined &&
      last.version === this.layoutVersion &&
      last.partitions === this.partitionLoads.size
    ) {
      // forEach: a for-of over the keys makes an iterator result per partition.
      let at = last.text.length - last.partitions;
      let same = true;
      this.partitionLoads.forEach((_load, partition) => {
        same &&= last.text.charCodeAt(at++) === (this.isLeader(partition) ? 0x2b : 0x2d);
      });
      if (same) return last.text;
    }
    let layout = String(this.layoutVersion);
    for (const partition of this.partitionLoads.keys())
      layout += this.isLeader(partition) ? '+' : '-';
    this.lastLayout = {
      version: this.layoutVersion,
      partitions: this.partitionLoads.size,
      text: layout,
    };
    return layout;
  }

  // -------------------------------------------------------------------------------------------
  // Partitions.

  partitionFor(groupId: string): number {
    return offsetsPartitionFor(groupId, this.ports.offsetsTopic.partitionCount);
  }

  isLeader(partition: number): boolean {
    return this.ports.offsetsTopic.isLeader?.(partition) ?? true;
  }

  isPartitionLoaded(partition: number): boolean {
    return this.partitionLoads.get(partition)?.state === 'loaded';
  }

  /** Whether the partition is loading or loaded (a second load of it does nothing). */
  isPartitionKnown(partition: number): boolean {
    return this.partitionLoads.has(partition);
  }

  /** Marks the partition as loading; the token identifies this load until it finishes. */
  beginLoad(partition: number): object {
    const token = {};
    this.partitionLoads.set(partition, { state: 'loading', token });
    this.layoutVersion++;
    return token;
  }

  /** Whether `token`'s load is still the partition's current one (not unloaded meanwhile). */
  isCurrentLoad(partition: number, token: object): boolean {
    const load = this.partitionLoads.get(partition);
    return load?.state === 'loading' && load.token === token;
  }

  finishLoad(partition: number): void {
    this.partitionLoads.set(partition, { state: 'loaded' });
    this.layoutVersion++;
  }

  forgetPartition(partition: number): void {
    this.partitionLoads.delete(partition);
    this.layoutVersion++;
    this.pendingTransactionalOffsets.dropPartition(partition);
  }

  knownPartitions(): number[] {
    return [...this.partitionLoads.keys()];
  }

  /** Whether every partition this broker leads is loaded. */
  isLoaded(): boolean {
    for (const load of this.partitionLoads.values()) if (load.state !== 'loaded') return false;
    return this.partitionLoads.size > 0;
  }

  isAnyPartitionLoading(): boolean {
    for (const load of this.partitionLoads.values()) if (load.state === 'loading') return true;
    return false;
  }

  /**
   * NONE when this coordinator serves the group now, otherwise the error to answer with:
   * COORDINATOR_LOAD_IN_PROGRESS while its partition loads, NOT_COORDINATOR when the partition is
   * not loaded here (another broker leads it, or it was unloaded) or the coordinator is closed.
   */
  coordinatorError(groupId: string): number {
    if (this.closed) return ErrorCode.NOT_COORDINATOR;
    const partition = this.partitionFor(groupId);
    if (!this.isLeader(partition)) return ErrorCode.NOT_COORDINATOR;
    const load = this.partitionLoads.get(partition);
    if (load === undefined) return ErrorCode.NOT_COORDINATOR;
    if (load.state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------------------------
  // Groups.

  get(groupId: string): ClassicGroup | undefined {
    return this.groups.get(groupId);
  }

  /** A new Empty group, registered under its id. */
  create(groupId: string): ClassicGroup {
    const group = new ClassicGroup(
      groupId,
      this.partitionFor(groupId),
      this.clock.wallClockNowMs(),
    );
    this.groups.set(groupId, group);
    this.layoutVersion++;
    return group;
  }

  /** Registers a group rebuilt by the loader. */
  install(group: ClassicGroup): void {
    this.groups.set(group.groupId, group);
    this.layoutVersion++;
  }

  /** Whether `group` is still the one registered under its id (not deleted, not reloaded). */
  isCurrent(group: ClassicGroup): boolean {
    return this.groups.get(group.groupId) === group;
  }

  /** Forgets `group` if it is still the registered one. */
  remove(group: ClassicGroup): void {
    if (!this.isCurrent(group)) return;
    this.groups.delete(group.groupId);
    this.layoutVersion++;
  }

  all(): IterableIterator<ClassicGroup> {
    return this.groups.values();
  }

  /** Groups whose partition is loaded (a loading partition's groups are not served yet). */
  *inLoadedPartitions(): Generator<ClassicGroup> {
    for (const group of this.groups.values()) {
      if (this.isPartitionLoaded(group.offsetsPartition)) yield group;
    }
  }

  /** Removes and returns the groups of one partition. */
  removePartitionGroups(partition: number): ClassicGroup[] {
    const removed: ClassicGroup[] = [];
    for (const [groupId, group] of this.groups) {
      if (group.offsetsPartition !== partition) continue;
      this.groups.delete(groupId);
      removed.push(group);
    }
    if (removed.length > 0) this.layoutVersion++;
    return removed;
  }

  /** Forgets a group that a failed join created and that holds nothing worth keeping. */
  dropIfUnused(group: ClassicGroup): void {
    if (
      group.state === 'Empty' &&
      group.members.size === 0 &&
      group.pendingMembers.size === 0 &&
      !group.hasOffsets() &&
      group.generationId === 0
    ) {
      this.remove(group);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Appends to the offsets topic.

  /** The append sequence the next appendRecords call takes. */
  get nextAppendSequence(): number {
    return this.appendSequence;
  }

  /**
   * Appends and waits for durability; never throws (failures come back as an error code). With
   * `transaction`, the records are that producer's transactional batch (TxnOffsetCommit), and a
   * producer epoch the partition has seen superseded answers INVALID_PRODUCER_EPOCH.
   */
  async appendRecords(
    partition: number,
    records: KeyValueRecord[],
    transaction?: TransactionalProducer,
  ): Promise<AppendResult> {
    const appendSequence = this.appendSequence++;
    if (!this.isPartitionLoaded(partition)) {
      return { errorCode: ErrorCode.NOT_COORDINATOR, appendSequence };
    }
    const batch = buildKeyValueBatch(records, this.clock.wallClockNowMs(), transaction);
    try {
      await this.ports.offsetsTopic.append(partition, batch);
      return { errorCode: ErrorCode.NONE, appendSequence };
    } catch (error) {
      if (transaction !== undefined && isFencedProducer(error)) {
        return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, appendSequence };
      }
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
  appendWithinCommitTimeout(partition: number, records: KeyValueRecord[]): Promise<AppendResult> {
    return this.withinCommitTimeout(this.appendRecords(partition, records));
  }

  /** An append's result, or REQUEST_TIMED_OUT once offsets.commit.timeout.ms has passed. */
  withinCommitTimeout(appended: Promise<AppendResult>): Promise<AppendResult> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(this.config.offsetsCommitTimeoutMs, () =>
        resolve({ errorCode: ErrorCode.REQUEST_TIMED_OUT, appendSequence: -1 }),
      );
      void appended.then((result) => {
        timer.cancel();
        resolve(result);
      });
    });
  }
}

/** Whether an append was refused for its producer epoch (a newer producer with the id exists). */
function isFencedProducer(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'kafkaErrorCode' in error &&
    (error as { kafkaErrorCode: unknown }).kafkaErrorCode === ErrorCode.INVALID_PRODUCER_EPOCH
  );
}
