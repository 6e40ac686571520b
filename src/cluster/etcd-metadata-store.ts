// Cluster metadata in etcd, and the in-memory view of it that the broker reads.
//
// Keys, under etcd.prefix (which ends with '/'):
//
//   cluster-id                  the cluster id, written once by the first broker
//   brokers/<id>                BrokerEndpoint JSON, under the broker's lease (broker-registry.ts)
//   controller/<lease hex>      a broker id, under its lease: the candidate with the lowest
//                               create revision is controller, that revision is its epoch
//   topics/<name>               { topicId (hex), partitions: replica ids per partition, configs }
//   partitions/<name>/<index>   PartitionState JSON
//   reassignments/<name>/<index> { target, original } replica ids: a reassignment in progress
//   shutting-down/<id>          a broker id, under its lease: the broker asks the controller to
//                               move its leaderships away (controlled shutdown)
//   offline-replicas/<id>       { <topic>: [partition, ...] }, under its lease, written with the
//                               registration: the broker's replicas whose logs are offline
//   producer-id-block           { blockEnd }: the end of the last block of producer ids claimed
//                               by any broker (claimProducerIdBlock)
//
// The view is loaded with one range read and then kept current by one watch on the whole prefix,
// starting at the revision after that read, so no change is missed between the two. Every read
// the broker makes is answered from memory: the data path never waits on etcd, and when etcd is
// unreachable the view keeps its last state while the watch reconnects and resumes where it
// stopped (etcd replays the missed revisions).
//
// Writes are transactions. A partition state is changed only if the key's etcd version still
// equals partitionEpoch + 1 (created at epoch 0 with version 1, and every put raises both by one),
// so a writer holding an older state is refused. A controller's writes also compare the create
// revision of its own candidate key: once its lease is gone (deposed) the key is gone and the
// write is refused, whatever the controller believes.
//
// Owned by the broker. Writes from several callers may interleave across awaits; each is atomic
// in etcd and the view applies a key's change only when its mod revision is newer than the one it
// holds, so the order in which write answers and watch events arrive does not matter.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Etcd3, IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import {
  type BrokerEndpoint,
  type ClusterChange,
  type ClusterView,
  type ControllerInfo,
  type PartitionState,
  type ReplicaName,
  type TopicAssignment,
} from '../metadata/cluster-metadata.js';
import { ClusterError, ClusterErrorCode } from './errors.js';

export const clusterKeys = {
  clusterId: 'cluster-id',
  brokers: 'brokers/',
  broker: (brokerId: number): string => `brokers/${brokerId}`,
  controllerCandidates: 'controller/',
  topics: 'topics/',
  topic: (name: string): string => `topics/${name}`,
  partitions: (topic: string): string => `partitions/${topic}/`,
  partition: (topic: string, partition: number): string => `partitions/${topic}/${partition}`,
  reassignment: (topic: string, partition: number): string => `reassignments/${topic}/${partition}`,
  shuttingDown: 'shutting-down/',
  shuttingDownBroker: (brokerId: number): string => `shutting-down/${brokerId}`,
  offlineReplicas: (brokerId: number): string => `offline-replicas/${brokerId}`,
  producerIdBlock: 'producer-id-block',
} as const;

/** A partition moving from `original` to `target` replicas (AlterPartitionReassignments). */
export interface PartitionReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly target: readonly number[];
  readonly original: readonly number[];
}

/** Proof of controllership: the candidate key and the create revision it had when elected. */
export interface ControllerFence {
  readonly key: string;
  readonly epoch: number;
}

/** etcd's default --max-txn-ops is 128; a topic's partitions are written in chunks below it. */
const TRANSACTION_OPERATIONS_MAX = 100;

interface StoredTopic {
  topicId: string;
  partitions: number[][];
  configs: Record<string, string>;
}

export class EtcdMetadataStore implements ClusterView {
  private readonly brokersById = new Map<number, BrokerEndpoint>();
  private readonly candidates = new Map<string, { brokerId: number; createRevision: number }>();
  private readonly topicsByName = new Map<string, TopicAssignment>();
  private readonly partitionStates = new Map<string, PartitionState>();
  private readonly shuttingDownIds = new Set<number>();
  /** Per broker, per topic, the partitions whose replica there is offline (`offline-replicas/<id>`). */
  private readonly offlineReplicasByBroker = new Map<
    number,
    ReadonlyMap<string, ReadonlySet<number>>
  >();
  private readonly reassignmentsByKey = new Map<string, PartitionReassignment>();
  /** The mod revision each key was last applied at, so an older change never overwrites. */
  private readonly appliedRevisions = new Map<string, number>();
  private readonly listeners = new Set<(change: ClusterChange) => void>();
  private currentController: ControllerInfo | null = null;
  private watcher: Watcher | undefined;
  private watchConnected = false;
  private closed = false;
  /** The newest revision the watch has delivered (not the writes this store applied itself). */
  private watchedRevision = 0;
  private readonly watchedWaiters = new Set<() => void>();
  /** While a watch response is applied: the changes its listeners will hear of after. */
  private heldChanges: ClusterChange[] | null = null;

  private constructor(
    readonly client: Etcd3,
    readonly namespace: Namespace,
    readonly prefix: string,
    readonly clusterId: string,
  ) {}

  /**
   * Reads the whole prefix and starts watching it. `clusterId`, when given (cluster.id, or the id
   * kept in the log directory), must match the one in etcd; the first broker writes it.
   */
  static async open(
    client: Etcd3,
    prefix: string,
    options: { clusterId?: string | null } = {},
  ): Promise<EtcdMetadataStore> {
    const namespace = client.namespace(prefix);
    const proposed = options.clusterId ?? newClusterId();
    const result = await namespace
      .if(clusterKeys.clusterId, 'Version', '==', 0)
      .then(namespace.put(clusterKeys.clusterId).value(proposed))
      .else(namespace.get(clusterKeys.clusterId))
      .commit();
    const clusterId = result.succeeded
      ? proposed
      : result.responses[0]!.response_range.kvs[0]!.value.toString('utf8');
    if (options.clusterId != null && options.clusterId !== clusterId) {
      throw new ClusterError(
        ClusterErrorCode.CLUSTER_ID_MISMATCH,
        `etcd prefix ${prefix} holds cluster ${clusterId}, but this broker belongs to cluster ${options.clusterId}; use that cluster's etcd.prefix or a new log directory`,
      );
    }
    const store = new EtcdMetadataStore(client, namespace, prefix, clusterId);
    await store.load();
    return store;
  }

  // --- the view

  brokers(): ReadonlyMap<number, BrokerEndpoint> {
    return this.brokersById;
  }

  controller(): ControllerInfo | null {
    return this.currentController;
  }

  /** Live brokers that asked for a controlled shutdown: no leadership moves to them. */
  shuttingDownBrokers(): ReadonlySet<number> {
    return this.shuttingDownIds;
  }

  isReplicaOffline(brokerId: number, topic: string, partition: number): boolean {
    return this.offlineReplicasByBroker.get(brokerId)?.get(topic)?.has(partition) ?? false;
  }

  /** Reassignments in progress, by `reassignments/<topic>/<partition>` key. */
  reassignments(): ReadonlyMap<string, PartitionReassignment> {
    return this.reassignmentsByKey;
  }

  reassignment(topic: string, partition: number): PartitionReassignment | undefined {
    return this.reassignmentsByKey.get(clusterKeys.reassignment(topic, partition));
  }

  topics(): ReadonlyMap<string, TopicAssignment> {
    return this.topicsByName;
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.partitionStates.get(clusterKeys.partition(topic, partition));
  }

  /**
   * The current controller's candidate key and epoch, as the view knows them: what a broker that
   * is not controller stamps its topic writes with, so etcd refuses them once that controller is
   * gone (the write is then retried against the next one). Null with no controller.
   */
  controllerFence(): ControllerFence | null {
    const controller = this.currentController;
    if (controller === null) return null;
    for (const [key, candidate] of this.candidates) {
      if (candidate.createRevision === controller.epoch) return { key, epoch: controller.epoch };
    }
    return null;
  }

  subscribe(listener: (change: ClusterChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the watch is connected now; while it is not, the view may be behind etcd. */
  get watching(): boolean {
    return this.watchConnected;
  }

  /**
   * Resolves true once the watch has delivered `revision` (a change under the prefix), and so
   * every change before it; false after `timeoutMs`. A broker back from a cut-off learns this
   * way that its view holds whatever was decided while it was away.
   */
  whenWatched(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.watchedRevision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.watchedRevision < revision) return;
        finish(true);
      };
      const finish = (reached: boolean): void => {
        clearTimeout(timer);
        this.watchedWaiters.delete(check);
        resolve(reached);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.watchedWaiters.add(check);
    });
  }

  // --- writes

  /**
   * Changes one partition's state if its partition epoch is still `expectedPartitionEpoch`.
   * Returns the state written (partitionEpoch + 1). Throws STALE_PARTITION_EPOCH, or
   * NOT_CONTROLLER when `fence` is given and no longer holds.
   */
  async updatePartitionState(
    topic: string,
    partition: number,
    expectedPartitionEpoch: number,
    next: Omit<PartitionState, 'partitionEpoch'>,
    fence: ControllerFence | null,
  ): Promise<PartitionState> {
    const key = clusterKeys.partition(topic, partition);
    const state: PartitionState = { ...next, partitionEpoch: expectedPartitionEpoch + 1 };
    assertPartitionState(state, key);
    let comparison = this.namespace.if(key, 'Version', '==', expectedPartitionEpoch + 1);
    if (fence !== null) comparison = comparison.and(fence.key, 'Create', '==', fence.epoch);
    const result = await comparison
      .then(this.namespace.put(key).value(JSON.stringify(state)))
      .commit();
    if (!result.succeeded) {
      if (fence !== null) await this.assertFence(fence);
      const current = await this.namespace.get(key).string();
      throw new ClusterError(
        ClusterErrorCode.STALE_PARTITION_EPOCH,
        `partition ${topic}-${partition} has moved past epoch ${expectedPartitionEpoch} (now ${current === null ? 'deleted' : (JSON.parse(current) as PartitionState).partitionEpoch}); re-read it and decide again`,
      );
    }
    // Applied now so the writer reads its own write; the watch event of the same revision is then
    // skipped, so listeners hear of the change here.
    const change = this.apply(key, JSON.stringify(state), Number(result.header.revision));
    if (change !== null) this.emit(change);
    return state;
  }

  /**
   * Creates a topic with its assignment and each partition's first state, all or nothing for up
   * to TRANSACTION_OPERATIONS_MAX partitions; beyond that the remaining states follow in further
   * fenced transactions (a controller that dies between them leaves states for its successor to
   * fill in from the assignment: reconcile()).
   */
  async createTopic(
    name: string,
    partitions: readonly (readonly number[])[],
    initialStates: readonly Omit<PartitionState, 'partitionEpoch'>[],
    configs: Readonly<Record<string, string>>,
    fence: ControllerFence,
  ): Promise<TopicAssignment> {
    const stored: StoredTopic = {
      topicId: newTopicId().toString('hex'),
      partitions: partitions.map((replicas) => [...replicas]),
      configs: { ...configs },
    };
    const puts = initialStates.map((state, index) =>
      this.namespace
        .put(clusterKeys.partition(name, index))
        .value(JSON.stringify({ ...state, partitionEpoch: 0 })),
    );
    const first = puts.slice(0, TRANSACTION_OPERATIONS_MAX);
    const result = await this.namespace
      .if(clusterKeys.topic(name), 'Version', '==', 0)
      .and(fence.key, 'Create', '==', fence.epoch)
      .then(this.namespace.put(clusterKeys.topic(name)).value(JSON.stringify(stored)), ...first)
      .commit();
    if (!result.succeeded) {
      await this.assertFence(fence);
      throw new ClusterError(ClusterErrorCode.TOPIC_EXISTS, `topic ${name} already exists`);
    }
    for (
      let start = TRANSACTION_OPERATIONS_MAX;
      start < puts.length;
      start += TRANSACTION_OPERATIONS_MAX
    ) {
      await this.namespace
        .if(fence.key, 'Create', '==', fence.epoch)
        .then(...puts.slice(start, start + TRANSACTION_OPERATIONS_MAX))
        .commit();
    }
    return parseTopic(name, JSON.stringify(stored));
  }

  /**
   * CreatePartitions: appends `added` replica sets to the assignment `existing` (as read from the
   * view) with their first states. Refused (STALE_PARTITION_EPOCH) if the topic changed since.
   */
  async addPartitions(
    name: string,
    existing: TopicAssignment,
    added: readonly (readonly number[])[],
    initialStates: readonly Omit<PartitionState, 'partitionEpoch'>[],
    fence: ControllerFence,
  ): Promise<void> {
    const key = clusterKeys.topic(name);
    const stored: StoredTopic = {
      topicId: existing.topicId.toString('hex'),
      partitions: [...existing.partitions, ...added].map((replicas) => [...replicas]),
      configs: { ...existing.configs },
    };
    const puts = initialStates.map((state, index) =>
      this.namespace
        .put(clusterKeys.partition(name, existing.partitions.length + index))
        .value(JSON.stringify({ ...state, partitionEpoch: 0 })),
    );
    const result = await this.namespace
      .if(key, 'Mod', '==', this.appliedRevisions.get(key) ?? 0)
      .and(fence.key, 'Create', '==', fence.epoch)
      .then(
        this.namespace.put(key).value(JSON.stringify(stored)),
        ...puts.slice(0, TRANSACTION_OPERATIONS_MAX),
      )
      .commit();
    if (!result.succeeded) {
      await this.assertFence(fence);
      throw new ClusterError(
        ClusterErrorCode.STALE_PARTITION_EPOCH,
        `topic ${name} changed while its partitions were being added; try again`,
      );
    }
    // Any states beyond one transaction are filled in by the controller's next pass (reconcile).
  }

  /**
   * Replaces a topic's config overrides (AlterConfigs, IncrementalAlterConfigs), keeping its id
   * and assignment as `existing` (read from the view) has them. Refused (STALE_PARTITION_EPOCH)
   * if the topic changed since, so two brokers altering at once never lose one change silently.
   * Not fenced by the controller: configs are no leadership decision, and the compare suffices.
   */
  async setTopicConfigs(
    name: string,
    existing: TopicAssignment,
    configs: Readonly<Record<string, string>>,
  ): Promise<void> {
    const key = clusterKeys.topic(name);
    const stored: StoredTopic = {
      topicId: existing.topicId.toString('hex'),
      partitions: existing.partitions.map((replicas) => [...replicas]),
      configs: { ...configs },
    };
    const result = await this.namespace
      .if(key, 'Mod', '==', this.appliedRevisions.get(key) ?? 0)
      .then(this.namespace.put(key).value(JSON.stringify(stored)))
      .commit();
    if (!result.succeeded) {
      throw new ClusterError(
        ClusterErrorCode.STALE_PARTITION_EPOCH,
        `topic ${name} changed while its configs were being altered; try again`,
      );
    }
  }

  /**
   * Claims the next `size` producer ids for this broker alone and answers the first: the end of
   * the last claimed block is one key, moved on with a compare-and-swap on its mod revision, so
   * two brokers claiming at once get different blocks (the loser reads again and retries).
   * Not fenced by the controller: a block is no leadership decision, and the compare suffices.
   */
  async claimProducerIdBlock(size: number): Promise<number> {
    for (;;) {
      const read = await this.namespace.get(clusterKeys.producerIdBlock).exec();
      const current = read.kvs[0];
      const start =
        current === undefined ? 0 : Number(JSON.parse(current.value.toString()).blockEnd);
      const result = await this.namespace
        .if(
          clusterKeys.producerIdBlock,
          'Mod',
          '==',
          current === undefined ? 0 : Number(current.mod_revision),
        )
        .then(
          this.namespace
            .put(clusterKeys.producerIdBlock)
            .value(JSON.stringify({ version: 1, blockEnd: start + size })),
        )
        .commit();
      if (result.succeeded) return start;
    }
  }

  /** Removes a topic's assignment and partition states (fenced). */
  async deleteTopic(name: string, fence: ControllerFence): Promise<void> {
    const result = await this.namespace
      .if(clusterKeys.topic(name), 'Version', '>', 0)
      .and(fence.key, 'Create', '==', fence.epoch)
      .then(
        this.namespace.delete().key(clusterKeys.topic(name)),
        this.namespace.delete().prefix(clusterKeys.partitions(name)),
        this.namespace.delete().prefix(`reassignments/${name}/`),
      )
      .commit();
    if (!result.succeeded) {
      await this.assertFence(fence);
      throw new ClusterError(ClusterErrorCode.UNKNOWN_TOPIC, `topic ${name} does not exist`);
    }
  }

  /** Writes a missing partition state (fenced, only if the key is still absent). */
  async createPartitionState(
    topic: string,
    partition: number,
    state: Omit<PartitionState, 'partitionEpoch'>,
    fence: ControllerFence,
  ): Promise<boolean> {
    const key = clusterKeys.partition(topic, partition);
    const result = await this.namespace
      .if(key, 'Version', '==', 0)
      .and(fence.key, 'Create', '==', fence.epoch)
      .then(this.namespace.put(key).value(JSON.stringify({ ...state, partitionEpoch: 0 })))
      .commit();
    if (!result.succeeded) await this.assertFence(fence);
    return result.succeeded;
  }

  /** Records a reassignment for the controller to carry out (fenced; replaces one in progress). */
  async putReassignment(
    topic: string,
    partition: number,
    reassignment: { target: readonly number[]; original: readonly number[] },
    fence: ControllerFence,
  ): Promise<void> {
    const result = await this.namespace
      .if(fence.key, 'Create', '==', fence.epoch)
      .then(
        this.namespace.put(clusterKeys.reassignment(topic, partition)).value(
          JSON.stringify({
            target: [...reassignment.target],
            original: [...reassignment.original],
          }),
        ),
      )
      .commit();
    if (!result.succeeded) await this.assertFence(fence);
  }

  /**
   * One step of a reassignment, in one transaction: the partition's state (compared on its
   * partition epoch), its replicas in the topic's assignment (compared on the topic key's mod
   * revision), and the reassignment key kept or, with `finished`, deleted. STALE_PARTITION_EPOCH
   * when either moved on.
   */
  async writeReassignmentStep(
    topic: string,
    partition: number,
    expectedPartitionEpoch: number,
    next: Omit<PartitionState, 'partitionEpoch'>,
    finished: boolean,
    fence: ControllerFence,
  ): Promise<void> {
    const topicKey = clusterKeys.topic(topic);
    const existing = this.topicsByName.get(topic);
    if (existing === undefined) {
      throw new ClusterError(ClusterErrorCode.UNKNOWN_TOPIC, `topic ${topic} does not exist`);
    }
    const partitionKey = clusterKeys.partition(topic, partition);
    const state: PartitionState = { ...next, partitionEpoch: expectedPartitionEpoch + 1 };
    assertPartitionState(state, partitionKey);
    const stored: StoredTopic = {
      topicId: existing.topicId.toString('hex'),
      partitions: existing.partitions.map((replicas, index) =>
        index === partition ? [...next.replicas] : [...replicas],
      ),
      configs: { ...existing.configs },
    };
    const operations = [
      this.namespace.put(partitionKey).value(JSON.stringify(state)),
      this.namespace.put(topicKey).value(JSON.stringify(stored)),
      ...(finished
        ? [this.namespace.delete().key(clusterKeys.reassignment(topic, partition))]
        : []),
    ];
    const result = await this.namespace
      .if(partitionKey, 'Version', '==', expectedPartitionEpoch + 1)
      .and(topicKey, 'Mod', '==', this.appliedRevisions.get(topicKey) ?? 0)
      .and(fence.key, 'Create', '==', fence.epoch)
      .then(...operations)
      .commit();
    if (!result.succeeded) {
      await this.assertFence(fence);
      throw new ClusterError(
        ClusterErrorCode.STALE_PARTITION_EPOCH,
        `partition ${topic}-${partition} or its topic changed during a reassignment step; deciding again`,
      );
    }
  }

  /** Stops watching. The client belongs to the caller. */
  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel();
  }

  // --- loading and watching

  private async load(): Promise<void> {
    const response = await this.namespace.getAll().exec();
    for (const kv of response.kvs) this.applyKeyValue(kv, false);
    this.recomputeController(false);
    const startRevision = Number(response.header.revision) + 1;
    const watcher = await this.namespace
      .watch()
      .prefix('')
      .startRevision(String(startRevision))
      .create();
    this.watcher = watcher;
    this.watchConnected = true;
    // One watch response holds the events of whole transactions (a topic deletion removes its
    // assignment and partition states in one). Listeners hear of them only once all are applied,
    // so no one sees a topic without its partitions.
    watcher.on('data', (response: IWatchResponse) => this.applyWatchResponse(response));
    watcher.on('connected', () => (this.watchConnected = true));
    watcher.on('disconnected', () => (this.watchConnected = false));
    // A watch error (etcd compacted past our revision) cannot be resumed; the broker must reload.
    watcher.on('error', () => (this.watchConnected = false));
  }

  private async assertFence(fence: ControllerFence): Promise<void> {
    const kv = (await this.namespace.get(fence.key).exec()).kvs[0];
    if (kv === undefined || Number(kv.create_revision) !== fence.epoch) {
      throw new ClusterError(
        ClusterErrorCode.NOT_CONTROLLER,
        `controller epoch ${fence.epoch} is over (its election key is gone); the write was refused`,
      );
    }
  }

  private applyWatchResponse(response: IWatchResponse): void {
    const held: ClusterChange[] = [];
    this.heldChanges = held;
    try {
      for (const event of response.events) {
        if (event.type === 'Put') this.applyKeyValue(event.kv, true);
        else this.applyDelete(event.kv);
      }
    } finally {
      this.heldChanges = null;
    }
    for (const change of held) this.emit(change);
    for (const event of response.events)
      this.watchedRevision = Math.max(this.watchedRevision, Number(event.kv.mod_revision));
    for (const check of [...this.watchedWaiters]) check();
  }

  private applyKeyValue(kv: IKeyValue, notify: boolean): void {
    const key = kv.key.toString('utf8');
    if (key.startsWith(clusterKeys.controllerCandidates)) {
      const revision = Number(kv.mod_revision);
      if ((this.appliedRevisions.get(key) ?? 0) >= revision) return;
      this.appliedRevisions.set(key, revision);
      this.candidates.set(key, {
        brokerId: Number(kv.value.toString('utf8')),
        createRevision: Number(kv.create_revision),
      });
      this.recomputeController(notify);
      return;
    }
    const change = this.apply(
      key,
      kv.value.toString('utf8'),
      Number(kv.mod_revision),
      Number(kv.version),
    );
    if (change !== null && notify) this.emit(change);
  }

  private applyDelete(kv: IKeyValue): void {
    if (this.closed) return;
    const key = kv.key.toString('utf8');
    const revision = Number(kv.mod_revision);
    if ((this.appliedRevisions.get(key) ?? 0) >= revision) return;
    this.appliedRevisions.delete(key);
    if (key.startsWith(clusterKeys.controllerCandidates)) {
      this.candidates.delete(key);
      this.recomputeController(true);
      return;
    }
    const [kind, name, index] = key.split('/');
    if (kind === 'brokers') {
      this.brokersById.delete(Number(name));
      this.emit({ kind: 'brokers' });
    } else if (kind === 'shutting-down') {
      this.shuttingDownIds.delete(Number(name));
      this.emit({ kind: 'brokers' });
    } else if (kind === 'offline-replicas') {
      this.offlineReplicasByBroker.delete(Number(name));
      this.emit({ kind: 'brokers' });
    } else if (kind === 'reassignments' && name !== undefined) {
      this.reassignmentsByKey.delete(key);
      this.emit({ kind: 'topic', topic: name });
    } else if (kind === 'topics' && name !== undefined) {
      this.topicsByName.delete(name);
      this.emit({ kind: 'topic', topic: name });
    } else if (kind === 'partitions' && name !== undefined && index !== undefined) {
      this.partitionStates.delete(key);
      this.emit({ kind: 'partition', topic: name, partition: Number(index) });
    }
  }

  /** Applies a put if newer than what the view holds; returns the change, or null. */
  private apply(
    key: string,
    value: string,
    revision: number,
    version?: number,
  ): ClusterChange | null {
    if ((this.appliedRevisions.get(key) ?? 0) >= revision) return null;
    this.appliedRevisions.set(key, revision);
    const [kind, name, index] = key.split('/');
    try {
      if (kind === 'brokers') {
        this.brokersById.set(Number(name), parseBroker(value, key));
        return { kind: 'brokers' };
      }
      if (kind === 'shutting-down') {
        this.shuttingDownIds.add(Number(name));
        return { kind: 'brokers' };
      }
      if (kind === 'offline-replicas' && name !== undefined) {
        this.offlineReplicasByBroker.set(Number(name), parseOfflineReplicas(value, key));
        return { kind: 'brokers' };
      }
      if (kind === 'reassignments' && name !== undefined && index !== undefined) {
        const parsed = JSON.parse(value) as { target: number[]; original: number[] };
        if (!Array.isArray(parsed.target) || !Array.isArray(parsed.original)) {
          throw new Error(`${key} is not a reassignment`);
        }
        this.reassignmentsByKey.set(key, {
          topic: name,
          partition: Number(index),
          target: Object.freeze([...parsed.target]),
          original: Object.freeze([...parsed.original]),
        });
        return { kind: 'topic', topic: name };
      }
      if (kind === 'topics' && name !== undefined) {
        this.topicsByName.set(name, parseTopic(name, value));
        return { kind: 'topic', topic: name };
      }
      if (kind === 'partitions' && name !== undefined && index !== undefined) {
        const state = parsePartitionState(value, key);
        if (version !== undefined && state.partitionEpoch !== version - 1) {
          throw new Error(`partition epoch ${state.partitionEpoch} but etcd version ${version}`);
        }
        this.partitionStates.set(key, state);
        return { kind: 'partition', topic: name, partition: Number(index) };
      }
    } catch (error) {
      // A value Brook did not write: keep the last good state rather than stop serving.
      process.emitWarning(`ignoring ${this.prefix}${key}: ${(error as Error).message}`, {
        code: ClusterErrorCode.METADATA_CORRUPT,
      });
    }
    return null;
  }

  private recomputeController(notify: boolean): void {
    let lowest: { brokerId: number; createRevision: number } | undefined;
    for (const candidate of this.candidates.values()) {
      if (lowest === undefined || candidate.createRevision < lowest.createRevision)
        lowest = candidate;
    }
    const next =
      lowest === undefined ? null : { brokerId: lowest.brokerId, epoch: lowest.createRevision };
    const previous = this.currentController;
    if (previous?.brokerId === next?.brokerId && previous?.epoch === next?.epoch) return;
    this.currentController = next;
    if (notify) this.emit({ kind: 'controller' });
  }

  private emit(change: ClusterChange): void {
    if (this.closed) return;
    if (this.heldChanges !== null) {
      this.heldChanges.push(change);
      return;
    }
    for (const listener of this.listeners) listener(change);
  }
}

function parseBroker(value: string, key: string): BrokerEndpoint {
  const parsed = JSON.parse(value) as BrokerEndpoint;
  if (
    !Number.isInteger(parsed.brokerId) ||
    typeof parsed.host !== 'string' ||
    !Number.isInteger(parsed.port)
  ) {
    throw new Error(`${key} is not a broker endpoint`);
  }
  const listeners = parsed.listeners;
  if (
    listeners !== undefined &&
    (!Array.isArray(listeners) ||
      !listeners.every(
        (listener) =>
          typeof listener?.name === 'string' &&
          typeof listener.host === 'string' &&
          Number.isInteger(listener.port),
      ))
  ) {
    throw new Error(`${key} has malformed listeners`);
  }
  return Object.freeze({
    brokerId: parsed.brokerId,
    host: parsed.host,
    port: parsed.port,
    rack: parsed.rack ?? null,
    ...(listeners === undefined
      ? {}
      : {
          listeners: Object.freeze(
            listeners.map(({ name, host, port }) => Object.freeze({ name, host, port })),
          ),
        }),
  });
}

/** The value of `offline-replicas/<id>`: partitions by topic. */
export function offlineReplicasValue(replicas: readonly ReplicaName[]): string {
  const byTopic: Record<string, number[]> = {};
  for (const { topic, partition } of replicas) (byTopic[topic] ??= []).push(partition);
  for (const partitions of Object.values(byTopic)) partitions.sort((a, b) => a - b);
  return JSON.stringify(byTopic);
}

function parseOfflineReplicas(
  value: string,
  key: string,
): ReadonlyMap<string, ReadonlySet<number>> {
  const parsed = JSON.parse(value) as Record<string, unknown>;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${key} is not a map of topics to partitions`);
  const byTopic = new Map<string, ReadonlySet<number>>();
  for (const [topic, partitions] of Object.entries(parsed)) {
    if (!Array.isArray(partitions) || !partitions.every((p) => Number.isInteger(p)))
      throw new Error(`${key}: the partitions of ${topic} are not integers`);
    byTopic.set(topic, new Set(partitions as number[]));
  }
  return byTopic;
}

function parseTopic(name: string, value: string): TopicAssignment {
  const parsed = JSON.parse(value) as StoredTopic;
  if (!/^[0-9a-f]{32}$/.test(parsed.topicId) || !Array.isArray(parsed.partitions)) {
    throw new Error(`topic ${name} has no valid topicId or partitions`);
  }
  return Object.freeze({
    name,
    topicId: Buffer.from(parsed.topicId, 'hex'),
    partitions: parsed.partitions.map((replicas) => Object.freeze([...replicas])),
    configs: Object.freeze({ ...parsed.configs }),
  });
}

function parsePartitionState(value: string, key: string): PartitionState {
  const state = JSON.parse(value) as PartitionState;
  assertPartitionState(state, key);
  return Object.freeze({
    ...state,
    isr: Object.freeze([...state.isr]),
    replicas: Object.freeze([...state.replicas]),
  });
}

function assertPartitionState(state: PartitionState, key: string): void {
  const valid =
    Number.isInteger(state.leader) &&
    Number.isInteger(state.leaderEpoch) &&
    Number.isInteger(state.partitionEpoch) &&
    Array.isArray(state.isr) &&
    Array.isArray(state.replicas) &&
    state.isr.length > 0 &&
    state.isr.every((id) => state.replicas.includes(id)) &&
    (state.leader === -1 || state.isr.includes(state.leader));
  if (!valid) throw new Error(`${key}: invalid partition state ${JSON.stringify(state)}`);
}

/** Kafka's form: 16 random bytes in URL-safe base64 without padding. */
function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

function newTopicId(): Buffer {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
}
