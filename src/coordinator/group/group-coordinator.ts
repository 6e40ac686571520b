// The classic group coordinator: membership, rebalances and committed offsets for every group
// whose `__consumer_offsets` partition this broker has loaded. A thin front over its modules:
//
//   group-registry.ts  where groups live, which partitions are loaded, appends to the topic
//   group-loader.ts    loading and unloading one partition's groups at a time
//   membership.ts      JoinGroup, SyncGroup, Heartbeat, LeaveGroup
//   rebalance.ts       rebalances, member sessions, the group metadata record
//   offset-store.ts    commits, fetches, expiry, tombstones
//   transactional-offsets.ts  TxnOffsetCommit's offsets, held until the transaction's marker
//   group-admin.ts     FindCoordinator, DescribeGroups, ListGroups, DeleteGroups, lag
//
// One group id names one group of one type at a time (Kafka's rule): while no classic group holds
// an id that another coordinator owns (`ports.otherGroupType`, a KIP-932 share group), every
// request for it is answered as Kafka answers a group of another type, before any module sees it.
// `groupType` is the same question asked the other way, for the share-group coordinator.
//
// Owned by the broker (one per broker). Single-threaded: every transition runs to completion
// without awaiting; the only awaits are appends to the offsets topic (after which the code checks
// again that the group is still in the generation and state it started from) and partition reads
// while loading.

import { ErrorCode } from '../../protocol/errors.js';
import { BrookError } from '../../util/errors.js';
import type { ChangeMark } from '../../util/change-set.js';
import type {
  ClassicGroup,
  GroupState,
  JoinGroupResult,
  SyncGroupResult,
} from './classic-group.js';
import {
  defaultGroupCoordinatorConfig,
  type GroupCoordinatorConfig,
} from './group-coordinator-config.js';
import { GroupAdmin } from './group-admin.js';
import { GroupLoader } from './group-loader.js';
import { GroupRegistry } from './group-registry.js';
import type {
  FindCoordinatorResult,
  GroupDescription,
  GroupFigures,
  GroupLag,
  GroupListing,
  HeartbeatParams,
  JoinGroupParams,
  LeaveGroupResult,
  LeavingMember,
  OffsetCommitParams,
  OffsetFetchResult,
  SyncGroupParams,
  TopicPartitionErrors,
} from './group-requests.js';
import { Membership } from './membership.js';
import { OffsetStore } from './offset-store.js';
import { systemClock, type GroupCoordinatorPorts } from './ports.js';
import { joinError, Rebalancer, syncError } from './rebalance.js';
import {
  TransactionalOffsetStore,
  type TransactionalOffsetCommitParams,
} from './transactional-offsets.js';

export { offsetsPartitionFor } from './group-registry.js';
export type * from './group-requests.js';

export class GroupCoordinator {
  private readonly registry: GroupRegistry;
  private readonly loader: GroupLoader;
  private readonly membership: Membership;
  private readonly offsetStore: OffsetStore;
  private readonly transactionalOffsets: TransactionalOffsetStore;
  private readonly admin: GroupAdmin;
  private readonly otherGroupType: (groupId: string) => string | undefined;

  constructor(ports: GroupCoordinatorPorts, config: Partial<GroupCoordinatorConfig> = {}) {
    const fullConfig = { ...defaultGroupCoordinatorConfig };
    for (const key of Object.keys(
      defaultGroupCoordinatorConfig,
    ) as (keyof GroupCoordinatorConfig)[]) {
      const value = config[key];
      if (typeof value === 'number') fullConfig[key] = value;
    }
    this.registry = new GroupRegistry(ports, ports.clock ?? systemClock, fullConfig);
    const rebalancer = new Rebalancer(this.registry);
    this.loader = new GroupLoader(this.registry, rebalancer);
    this.membership = new Membership(this.registry, rebalancer);
    this.offsetStore = new OffsetStore(this.registry, rebalancer);
    this.transactionalOffsets = new TransactionalOffsetStore(this.registry);
    this.admin = new GroupAdmin(this.registry, this.offsetStore);
    this.otherGroupType = ports.otherGroupType ?? (() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle and partitions of __consumer_offsets.

  /**
   * Loads every partition this broker leads and starts the offset-expiry timer. Requests for a
   * group whose partition is still loading get COORDINATOR_LOAD_IN_PROGRESS; the promise
   * settles when every partition is loaded.
   */
  async start(): Promise<void> {
    this.offsetStore.startRetentionChecks();
    const loads: Promise<void>[] = [];
    const partitionCount = this.registry.ports.offsetsTopic.partitionCount;
    for (let partition = 0; partition < partitionCount; partition++) {
      if (!this.registry.isLeader(partition)) continue;
      // A partition whose log directory is offline stays unloaded: its groups answer
      // NOT_COORDINATOR until a restart opens the directory, the others are served.
      loads.push(this.loadPartition(partition).catch(rethrowUnlessStorageError));
    }
    await Promise.all(loads);
  }

  /** Reads the partition and rebuilds its groups and offsets (on start, or on becoming leader). */
  loadPartition(partition: number): Promise<void> {
    return this.loader.loadPartition(partition);
  }

  /** Forgets the partition's groups (on losing leadership, or at shutdown). */
  unloadPartition(partition: number): void {
    this.loader.unloadPartition(partition);
  }

  /** Stops every timer and answers every parked request; the coordinator is unusable after. */
  close(): void {
    this.registry.close();
    this.offsetStore.stop();
    for (const partition of this.registry.knownPartitions()) this.unloadPartition(partition);
  }

  partitionFor(groupId: string): number {
    return this.registry.partitionFor(groupId);
  }

  /** Whether every partition this broker leads is loaded. */
  isLoaded(): boolean {
    return this.registry.isLoaded();
  }

  /** Records of `__consumer_offsets` that could not be read while loading (skipped). */
  get skippedRecordCount(): number {
    return this.loader.skippedRecordCount;
  }

  // -------------------------------------------------------------------------------------------
  // The group id namespace.

  /** 'classic' when a classic group (with members or only offsets) holds `groupId` here. */
  groupType(groupId: string): 'classic' | undefined {
    const group = this.registry.get(groupId);
    return group !== undefined && group.state !== 'Dead' ? 'classic' : undefined;
  }

  /**
   * Whether `groupId` belongs to a group of another type: no classic group holds it and another
   * coordinator owns it. Asked only where this coordinator serves the id, so NOT_COORDINATOR
   * and COORDINATOR_LOAD_IN_PROGRESS still come first.
   */
  private ownedElsewhere(groupId: string): boolean {
    return (
      this.registry.coordinatorError(groupId) === ErrorCode.NONE &&
      this.groupType(groupId) === undefined &&
      this.otherGroupType(groupId) !== undefined
    );
  }

  // -------------------------------------------------------------------------------------------
  // Membership. For an id of another type Kafka answers JoinGroup INCONSISTENT_GROUP_PROTOCOL
  // and SyncGroup, Heartbeat and LeaveGroup UNKNOWN_MEMBER_ID.

  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult> {
    if (this.ownedElsewhere(params.groupId))
      return Promise.resolve(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    return this.membership.joinGroup(params);
  }

  syncGroup(params: SyncGroupParams): Promise<SyncGroupResult> {
    if (this.ownedElsewhere(params.groupId))
      return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    return this.membership.syncGroup(params);
  }

  heartbeat(params: HeartbeatParams): number {
    if (this.ownedElsewhere(params.groupId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    return this.membership.heartbeat(params);
  }

  leaveGroup(groupId: string, leaving: readonly LeavingMember[]): LeaveGroupResult {
    if (this.ownedElsewhere(groupId))
      return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] };
    return this.membership.leaveGroup(groupId, leaving);
  }

  // -------------------------------------------------------------------------------------------
  // Offsets. A group of another type keeps no committed offsets: Kafka answers
  // GROUP_ID_NOT_FOUND, even to a commit from outside group management (generation -1).

  commitOffsets(params: OffsetCommitParams): Promise<TopicPartitionErrors[]> {
    if (this.ownedElsewhere(params.groupId))
      return Promise.resolve(
        params.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map(({ partition }) => ({
            partition,
            errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
          })),
        })),
      );
    return this.offsetStore.commitOffsets(params);
  }

  fetchOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[] | null,
    requireStable = false,
  ): OffsetFetchResult {
    if (this.ownedElsewhere(groupId))
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    return this.offsetStore.fetchOffsets(groupId, topics, requireStable);
  }

  /**
   * TxnOffsetCommit: writes the offsets as the producer's transactional batch; the transaction's
   * marker into the group's partition commits or drops them (transactional-offsets.ts).
   */
  commitTransactionalOffsets(params: TransactionalOffsetCommitParams): Promise<number> {
    if (this.ownedElsewhere(params.groupId)) return Promise.resolve(ErrorCode.GROUP_ID_NOT_FOUND);
    return this.transactionalOffsets.commit(params);
  }

  /**
   * A transaction marker for an offsets partition this broker leads, appended by this coordinator
   * so that the producer's pending offsets there settle with it. Resolves with the error code to
   * answer the marker's writer with.
   */
  appendTransactionMarker(
    offsetsPartition: number,
    batch: Buffer,
    marker: { producerId: number; committed: boolean },
  ): Promise<number> {
    return this.transactionalOffsets.appendMarker(offsetsPartition, batch, marker);
  }

  /** See OffsetStore.commitOffsetsHeldByTransaction (transaction state written by older Brook). */
  commitOffsetsHeldByTransaction(
    groupId: string,
    offsets: readonly {
      topic: string;
      partition: number;
      offset: bigint;
      leaderEpoch: number;
      metadata: string;
    }[],
  ): Promise<number> {
    return this.offsetStore.commitOffsetsHeldByTransaction(groupId, offsets);
  }

  deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: TopicPartitionErrors[] }> {
    if (this.ownedElsewhere(groupId))
      return Promise.resolve({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] });
    return this.offsetStore.deleteOffsets(groupId, topics);
  }

  expireOffsets(): Promise<number> {
    return this.offsetStore.expireOffsets();
  }

  deleteOffsetsOfTopics(topics: readonly string[]): Promise<void> {
    return this.offsetStore.deleteOffsetsOfTopics(topics);
  }

  // -------------------------------------------------------------------------------------------
  // Admin.

  findCoordinator(keyType: number, key: string): FindCoordinatorResult {
    return this.admin.findCoordinator(keyType, key);
  }

  describeGroup(groupId: string, includeAuthorizedOperations = false): GroupDescription {
    return this.admin.describeGroup(groupId, includeAuthorizedOperations);
  }

  listGroups(
    statesFilter: readonly string[] = [],
    typesFilter: readonly string[] = [],
  ): { errorCode: number; groups: GroupListing[] } {
    return this.admin.listGroups(statesFilter, typesFilter);
  }

  deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    return this.admin.deleteGroups(groupIds);
  }

  groupLag(groupId: string): GroupLag {
    return this.admin.groupLag(groupId);
  }

  /** Every listed group's state, members and lag, for a metrics scrape. */
  groupFigures(): Iterable<GroupFigures> {
    return this.admin.groupFigures();
  }

  /**
   * The same figures for a reader that keeps them between scrapes: the listed groups in
   * `groupFigures`' order, what changes when they come or go (`layout`), a mark per group that
   * registers when its figures move (lag moving with a partition's end excepted: the reader
   * watches the partitions), and one group's figures.
   */
  readonly trackedGroupFigures = {
    items: (): Iterable<ClassicGroup> => this.admin.listedGroups(),
    layout: (): string => this.admin.figuresLayout(),
    changes: (group: ClassicGroup): ChangeMark => group.figuresChanges,
    figures: (group: ClassicGroup): GroupFigures => this.admin.figuresOf(group),
  };

  /** The group's state, for tests and the admin surface; undefined when it does not exist. */
  groupState(groupId: string): GroupState | undefined {
    return this.registry.get(groupId)?.state;
  }
}

/**
 * For the loads at start: a partition whose log answers KAFKA_STORAGE_ERROR (its log directory
 * could not be opened, or its disk fails) stays unloaded and is no reason to fail the start.
 */
function rethrowUnlessStorageError(error: unknown): void {
  if (error instanceof BrookError && error.kafkaErrorCode === ErrorCode.KAFKA_STORAGE_ERROR) return;
  throw error;
}
