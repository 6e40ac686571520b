// The shared-subscription engine: every subscription of this broker, their durable state in the
// internal compacted topic __share_group_state, and the dead-letter topics they write to. Its
// front doors are the HTTP door (src/http/push-api.ts) and KIP-932 share groups (share/kafka/).
//
// __share_group_state holds two kinds of records, keyed so compaction keeps the latest of each:
//
//   key ["s", name]             value: the subscription's definition (JSON); null when deleted
//   key ["p", name, partition]  value: that source partition's SharePartitionSnapshot (JSON)
//
// Every record of one subscription goes to the same state partition (the name's hash; in cluster
// mode, for a share group's subscriptions `share-group/<group>/<topic>`, the group id's hash, so
// all the topics of one group are on one partition), so they are read back in the order they
// were written. Loading a state partition reads it whole and
// brings every subscription of it back where its last durable state left it.
//
// One broker: the topic is local, and `start` loads every partition.
//
// Cluster mode (the HTTP door and KIP-932 share groups; issues 10 and 12): __share_group_state
// is a replicated topic of the cluster (like __consumer_offsets, replication factor
// offsets.topic.replication.factor), and a subscription is served by exactly one broker, the
// leader of its state partition; a share group likewise (`shareGroupOwnership`), since all its
// subscriptions share one state partition: other brokers pass its requests on to it
// (share/kafka/share-forwarder.ts) or answer NOT_COORDINATOR.
// CoordinatorLeadership calls `loadPartition` when this broker comes to lead one (after the
// replica fetcher took the leadership up, so the log read is the one appends extend) and
// `unloadPartition` when it stops: its subscriptions close here at once and their streams end.
// State writes are acks=all on the replicated partition, so an acknowledgement answered is on
// every in-sync replica and the next leader loads it: it redelivers what was acquired and not
// acknowledged (count + 1), never what was acknowledged. A request for a subscription of a state
// partition not loaded here is refused with 'subscription-moved' naming the leader (the HTTP door
// answers 307 to its HTTP listener) or 'subscription-unavailable' (503) while it loads or has no
// leader. Source partitions are read from this broker's replica when it holds one (leader or
// follower: every replica holds what is below the high watermark, and reads never pass the last
// stable offset), else from their leader over Fetch (remote-source-partition.ts). Records the
// engine writes (dead letters) and the door's produce go to each partition's leader, as an
// idempotent producer's (cluster-record-writer.ts); dead-letter topics are created in the cluster.
// Each broker lists the subscriptions it serves; the door's list asks the others for theirs
// (src/http/cluster-subscription-list.ts).
//
// Owned by the broker (broker.ts): started after the replica manager opened every partition,
// closed before the logs close. Creating and deleting subscriptions is serialised.

import { partitionForKey } from '../client/partitioner.js';
import { buildKeyValueBatch, readKeyValueRecords } from '../record/key-value-batch.js';
import type { InternalTopicStorage } from '../replica/internal-topic.js';
import { CoordinatorAppendError } from '../replica/replicated-internal-topic.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { type RecordWriterPorts, localRecordWriter, writeRecords } from './record-writer.js';
import { ShareError } from './share-errors.js';
import { SHARE_STATE_TOPIC_NAME } from './share-state-topic.js';
import type { SharePartitionSnapshot, SourcePartition, TrackedRecord } from './share-partition.js';
import { Subscription, type SubscriptionStats } from './subscription.js';
import { type WebhookStatus, WebhookDispatcher } from './webhook-dispatcher.js';
import {
  type SubscriptionDefaults,
  type SubscriptionDefinition,
  type SubscriptionRequest,
  resolveDefinition,
} from './subscription-definition.js';

export { SHARE_STATE_TOPIC_NAME };

export interface ShareEngineOptions extends SubscriptionDefaults {
  readonly sharePartitionMaxRecordLocks: number;
  readonly now?: () => number;
  readonly log: (message: string, error: unknown) => void;
  /**
   * Cluster mode: who owns a state partition (the broker the view names its leader; undefined
   * while it has none). Absent on one broker, which owns them all and loads them at start.
   */
  readonly ownerOf?: (statePartition: number) => number | undefined;
  /** This broker's id, compared with `ownerOf` (cluster mode). */
  readonly brokerId?: number;
  /** Where records the engine writes go (dead letters); the local leader's append without it. */
  readonly writer?: RecordWriterPorts;
  /**
   * Cluster mode: a reader of a source partition this broker holds no replica of, from its
   * leader. Absent: such partitions are not read (one broker holds them all).
   */
  readonly remoteSource?: (topic: string, partition: number) => RemoteSource;
}

/** A source partition read from another broker; closed with its subscription. */
export interface RemoteSource extends SourcePartition {
  /** Resolves once its offsets are known (the first answer of its leader). */
  readonly ready: Promise<void>;
  close(): void;
}

/** How long creating a subscription waits for its remote partitions' offsets. */
const REMOTE_READY_TIMEOUT_MS = 10_000;

export interface SubscriptionDescription extends SubscriptionDefinition {
  readonly stats: SubscriptionStats;
  /** Whether the webhook's receiver answers; null without a webhook. */
  readonly webhookStatus: WebhookStatus | null;
}

export class ShareEngine {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly webhooks = new Map<string, WebhookDispatcher>();
  /**
   * The state partitions served here: 'loading' while their records are read, then the
   * generation of the load (an unload during a load makes the load's result stale).
   */
  private readonly creatingTopics = new Map<string, Promise<void>>();
  /** By subscription: the source partitions read from other brokers (cluster mode). */
  private readonly remoteSources = new Map<string, Map<number, RemoteSource>>();
  private readonly loaded = new Map<number, { generation: number; ready: boolean }>();
  private generation = 0;
  private readonly closeListeners = new Set<(name: string) => void>();
  private serial: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly now: () => number;
  private readonly writer: RecordWriterPorts;

  constructor(
    private readonly stateTopic: Pick<
      InternalTopicStorage,
      'partitionCount' | 'append' | 'readAll'
    >,
    private readonly replicas: ReplicaManager,
    private readonly options: ShareEngineOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.writer = options.writer ?? localRecordWriter(replicas);
    replicas.onReplicasRemoved((topic, partitions) => this.readFromLeaders(topic, partitions));
  }

  /**
   * Cluster mode: this broker no longer holds a replica of `partitions` of `topic` (a
   * reassignment moved them away). The subscriptions that read them from that replica read them
   * from their leaders from now on, where they left off.
   */
  private readFromLeaders(topic: string, partitions: readonly number[]): void {
    if (this.options.remoteSource === undefined) return;
    for (const [name, subscription] of this.subscriptions) {
      if (subscription.definition.topic !== topic) continue;
      const remote = this.remoteSources.get(name);
      for (const index of partitions) {
        const current = subscription.sourceOf(index);
        if (current === undefined || current === remote?.get(index)) continue;
        const source = this.sourceOf(name, topic, index);
        if (source !== undefined && source !== current) subscription.swapSource(index, source);
      }
    }
  }

  /** One broker: reads every partition of __share_group_state and brings back every subscription. */
  async start(): Promise<void> {
    if (this.options.ownerOf !== undefined) return; // cluster mode: loadPartition as led
    for (let index = 0; index < this.stateTopic.partitionCount; index += 1)
      await this.loadPartition(index);
  }

  /** Told the name of each subscription closed here (deleted, unloaded, or the engine closed). */
  onSubscriptionClosed(listener: (name: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /**
   * Takes up the subscriptions of one state partition (cluster mode: this broker became its
   * leader): reads it whole and brings each back where its last durable state left it, so what
   * was acquired and not acknowledged is delivered again, and nothing acknowledged is.
   */
  async loadPartition(index: number): Promise<void> {
    this.generation += 1;
    const generation = this.generation;
    this.loaded.set(index, { generation, ready: false });
    try {
      await this.load(index, generation);
    } catch (error) {
      // Not loaded: its subscriptions are unavailable here until the next leadership change.
      if (this.loaded.get(index)?.generation === generation) this.loaded.delete(index);
      throw error;
    }
  }

  private async load(index: number, generation: number): Promise<void> {
    const definitions = new Map<string, SubscriptionDefinition>();
    const snapshots = new Map<string, Map<number, SharePartitionSnapshot>>();
    for await (const chunk of this.stateTopic.readAll(index)) {
      if (this.loaded.get(index)?.generation !== generation) return;
      for (const { key, value } of readKeyValueRecords(chunk)) {
        const parsedKey = JSON.parse(key.toString('utf8')) as [string, string, number?];
        const [kind, name] = parsedKey;
        if (kind === 's') {
          if (value === null) {
            definitions.delete(name);
            snapshots.delete(name);
          } else {
            definitions.set(name, JSON.parse(value.toString('utf8')) as SubscriptionDefinition);
          }
        } else if (kind === 'p' && value !== null) {
          const partitions = snapshots.get(name) ?? new Map<number, SharePartitionSnapshot>();
          partitions.set(
            parsedKey[2] ?? 0,
            JSON.parse(value.toString('utf8')) as SharePartitionSnapshot,
          );
          snapshots.set(name, partitions);
        }
      }
    }
    if (this.closed || this.loaded.get(index)?.generation !== generation) return;
    for (const [name, definition] of definitions) {
      const subscription = this.open(definition);
      this.attachPartitions(subscription, snapshots.get(name) ?? new Map());
      this.startWebhook(subscription);
    }
    this.loaded.set(index, { generation, ready: true });
  }

  /**
   * Gives up the subscriptions of one state partition (cluster mode: another broker leads it, or
   * none): they close here at once, their streams end, and their state stays what was written.
   */
  unloadPartition(index: number): void {
    this.loaded.delete(index);
    for (const subscription of [...this.subscriptions.values()]) {
      if (this.statePartitionOf(subscription.name) !== index) continue;
      this.closeSubscription(subscription.name);
    }
  }

  private closeSubscription(name: string): void {
    this.webhooks.get(name)?.stop();
    this.webhooks.delete(name);
    this.subscriptions.get(name)?.close();
    this.subscriptions.delete(name);
    for (const source of this.remoteSources.get(name)?.values() ?? []) source.close();
    this.remoteSources.delete(name);
    for (const listener of [...this.closeListeners]) listener(name);
  }

  /**
   * Refuses a request for a subscription this broker does not own: 'subscription-moved' naming
   * the owner (`ownerBrokerId`), or 'subscription-unavailable' while it is loaded or unowned.
   */
  checkServedHere(name: string): void {
    const index = this.statePartitionOf(name);
    const state = this.loaded.get(index);
    if (state?.ready === true) return;
    if (state !== undefined) {
      throw new ShareError(
        'subscription-unavailable',
        `the subscriptions of ${SHARE_STATE_TOPIC_NAME}-${index} are being loaded here; try again`,
      );
    }
    const owner = this.options.ownerOf?.(index);
    if (owner === undefined || owner === this.options.brokerId) {
      throw new ShareError(
        'subscription-unavailable',
        `${SHARE_STATE_TOPIC_NAME}-${index}, which holds subscription ${name}, has no leader ready yet; try again`,
      );
    }
    throw new ShareError(
      'subscription-moved',
      `subscription ${name} is served by broker ${owner} (the leader of ${SHARE_STATE_TOPIC_NAME}-${index})`,
      [],
      owner,
    );
  }

  /**
   * The state partition holding a subscription: its name's hash, except in cluster mode for a
   * share group's subscriptions (`share-group/<group>/<topic>`), which hash the group id, so
   * every topic a group reads is on one state partition and one broker owns the whole group.
   * One broker keeps the name's hash, the layout its existing state was written in: it loads
   * every partition, so where a subscription lives changes nothing there.
   */
  private statePartitionOf(name: string): number {
    const group = this.options.ownerOf === undefined ? null : shareGroupOfSubscription(name);
    return partitionForKey(Buffer.from(group ?? name), this.stateTopic.partitionCount);
  }

  /** The state partition of share group `groupId` (and of every subscription it reads by). */
  shareGroupStatePartition(groupId: string): number {
    return partitionForKey(Buffer.from(groupId), this.stateTopic.partitionCount);
  }

  /**
   * Whether this broker serves share group `groupId`: 'served' once it owns the group's state
   * partition and has loaded it, 'loading' before that, else the owner (undefined: none yet).
   */
  shareGroupOwnership(groupId: string): 'served' | 'loading' | { owner: number | undefined } {
    const index = this.shareGroupStatePartition(groupId);
    const state = this.loaded.get(index);
    if (state !== undefined) return state.ready ? 'served' : 'loading';
    const owner = this.options.ownerOf?.(index);
    return { owner: owner === this.options.brokerId ? undefined : owner };
  }

  /** (Re)starts the subscription's webhook dispatcher after its definition changed. */
  private startWebhook(subscription: Subscription): void {
    this.webhooks.get(subscription.name)?.stop();
    this.webhooks.delete(subscription.name);
    const webhook = subscription.definition.webhook;
    if (webhook === null) return;
    const dispatcher = new WebhookDispatcher(subscription, webhook, this.options.log);
    this.webhooks.set(subscription.name, dispatcher);
    dispatcher.start();
  }

  close(): void {
    this.closed = true;
    this.loaded.clear();
    for (const name of [...this.subscriptions.keys()]) this.closeSubscription(name);
  }

  /** Cluster mode: whether the state partition is loaded here (its subscriptions served). */
  servesStatePartition(index: number): boolean {
    return this.loaded.get(index)?.ready === true;
  }

  /** The subscriptions served here (in cluster mode, those of the state partitions it leads). */
  list(): string[] {
    return [...this.subscriptions.keys()].sort();
  }

  /** The subscription, with partitions added since it was created picked up. */
  subscription(name: string): Subscription {
    this.checkServedHere(name);
    const subscription = this.subscriptions.get(name);
    if (subscription === undefined)
      throw new ShareError('subscription-not-found', `no subscription named ${name}`);
    this.attachPartitions(subscription, new Map());
    return subscription;
  }

  describe(name: string): SubscriptionDescription {
    const subscription = this.subscription(name);
    return {
      ...subscription.definition,
      stats: subscription.stats(),
      webhookStatus: this.webhooks.get(name)?.status() ?? null,
    };
  }

  /**
   * Creates the subscription, or changes the limits of an existing one (same topic; the start
   * position counts only at creation). Resolves once its state is durable.
   */
  put(name: string, request: SubscriptionRequest): Promise<{ created: boolean }> {
    this.checkServedHere(name);
    return this.serialise(async () => {
      this.checkServedHere(name);
      // Cluster mode: the state partition may move away (and even back) during an await; what
      // was written then stays durable, and the subscription is the next load's to open.
      const served = this.loaded.get(this.statePartitionOf(name))?.generation;
      const stillServed = (): void => {
        if (!this.closed && this.loaded.get(this.statePartitionOf(name))?.generation === served)
          return;
        if (!this.subscriptions.has(name)) {
          for (const source of this.remoteSources.get(name)?.values() ?? []) source.close();
          this.remoteSources.delete(name);
        }
        throw new ShareError(
          'subscription-unavailable',
          `subscription ${name} moved to another broker while it was written; try again`,
        );
      };
      const definition = resolveDefinition(name, request, this.options);
      if (this.writer.partitionCount(definition.topic) === undefined)
        throw new ShareError('topic-not-found', `no topic named ${definition.topic}`);
      const existing = this.subscriptions.get(name);
      if (existing !== undefined) {
        if (existing.definition.topic !== definition.topic) {
          throw new ShareError(
            'subscription-conflict',
            `subscription ${name} reads ${existing.definition.topic}, not ${definition.topic}; delete it first`,
          );
        }
        const redefined = { ...definition, start: existing.definition.start };
        await this.appendState(name, [this.definitionRecord(redefined)]);
        stillServed();
        existing.redefine(redefined);
        this.startWebhook(existing);
        return { created: false };
      }
      await this.appendState(name, [this.definitionRecord(definition)]);
      stillServed();
      // Partitions read from other brokers start where their leaders say (start: latest).
      await this.remoteSourcesReady(name, definition.topic);
      stillServed();
      const subscription = this.open(definition);
      this.attachPartitions(subscription, new Map());
      await this.writeSnapshots(name, subscription.snapshots());
      this.startWebhook(subscription);
      return { created: true };
    });
  }

  /**
   * The subscription behind a KIP-932 share group's reading of `topic` (the Kafka door), made on
   * first use. Its name, `share-group/<group>/<topic>`, cannot come from the HTTP door, whose
   * names are one path segment. Like Kafka's `share.auto.offset.reset` default, it starts at the
   * end of the topic; a member may hold as many records as a partition's window.
   */
  async shareGroupSubscription(group: string, topic: string): Promise<Subscription> {
    const name = shareGroupSubscriptionName(group, topic);
    this.checkServedHere(name);
    if (!this.subscriptions.has(name)) {
      await this.put(name, {
        topic,
        start: 'latest',
        maxInFlight: this.options.sharePartitionMaxRecordLocks,
      });
    }
    return this.subscription(name);
  }

  delete(name: string): Promise<void> {
    this.checkServedHere(name);
    return this.serialise(async () => {
      const subscription = this.subscription(name);
      this.closeSubscription(name);
      const tombstones = [...subscription.snapshots().keys()].map((partition) => ({
        key: stateKey(['p', name, partition]),
        value: null,
      }));
      await this.appendState(name, [...tombstones, { key: stateKey(['s', name]), value: null }]);
    });
  }

  private open(definition: SubscriptionDefinition): Subscription {
    const subscription: Subscription = new Subscription(definition, {
      now: this.now,
      maxRecordLocks: this.options.sharePartitionMaxRecordLocks,
      writeState: (snapshots) => this.writeSnapshots(definition.name, snapshots),
      deadLetter: (record, reason): Promise<void> => this.deadLetter(subscription, record, reason),
      log: this.options.log,
    });
    this.subscriptions.set(definition.name, subscription);
    return subscription;
  }

  /** Tracks every partition of the subscription's topic not tracked yet. */
  private attachPartitions(
    subscription: Subscription,
    snapshots: ReadonlyMap<number, SharePartitionSnapshot>,
  ): void {
    const topic = subscription.definition.topic;
    const partitionCount = this.writer.partitionCount(topic) ?? 0;
    for (let index = 0; index < partitionCount; index += 1) {
      if (subscription.hasPartition(index)) continue;
      const partition = this.sourceOf(subscription.name, topic, index);
      if (partition === undefined) continue;
      const snapshot = snapshots.get(index);
      // A partition added after the subscription was created is read from its beginning.
      const startOffset =
        subscription.definition.start === 'latest' && snapshots.size === 0
          ? partition.highWatermark
          : partition.logStartOffset;
      subscription.addPartition(partition, snapshot ?? { startOffset });
    }
  }

  /**
   * The partition as the subscription reads it: this broker's replica (leader or follower: both
   * hold every record below the high watermark), else (cluster mode) a reader of its leader.
   */
  private sourceOf(name: string, topic: string, index: number): SourcePartition | undefined {
    const local = this.replicas.topic(topic)?.partitions[index];
    if (local !== undefined) return local;
    if (this.options.remoteSource === undefined) return undefined;
    const sources = this.remoteSources.get(name) ?? new Map<number, RemoteSource>();
    this.remoteSources.set(name, sources);
    let source = sources.get(index);
    if (source === undefined) {
      source = this.options.remoteSource(topic, index);
      sources.set(index, source);
    }
    return source;
  }

  /** Opens the readers of the topic's remote partitions and waits (bounded) for their offsets. */
  private async remoteSourcesReady(name: string, topic: string): Promise<void> {
    const partitionCount = this.writer.partitionCount(topic) ?? 0;
    for (let index = 0; index < partitionCount; index += 1) this.sourceOf(name, topic, index);
    const waits = [...(this.remoteSources.get(name)?.values() ?? [])].map((source) => source.ready);
    if (waits.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise((resolve) => (timer = setTimeout(resolve, REMOTE_READY_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  private definitionRecord(definition: SubscriptionDefinition): { key: Buffer; value: Buffer } {
    return {
      key: stateKey(['s', definition.name]),
      value: Buffer.from(JSON.stringify(definition)),
    };
  }

  private writeSnapshots(
    name: string,
    snapshots: ReadonlyMap<number, SharePartitionSnapshot>,
  ): Promise<void> {
    if (snapshots.size === 0 || !this.subscriptions.has(name)) return Promise.resolve();
    const records = [...snapshots].map(([partition, snapshot]) => ({
      key: stateKey(['p', name, partition]),
      value: Buffer.from(JSON.stringify(snapshot)),
    }));
    return this.appendState(name, records);
  }

  private appendState(
    name: string,
    records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>,
  ): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the share engine is closed'));
    const index = this.statePartitionOf(name);
    return this.stateTopic
      .append(index, buildKeyValueBatch(records, this.now()))
      .catch((error: unknown) => {
        // Cluster mode: no longer the leader, too few in-sync replicas, or a timeout: nothing
        // was acknowledged, and the client may try again (at the new owner).
        if (error instanceof CoordinatorAppendError) {
          throw new ShareError(
            'subscription-unavailable',
            `the state of subscription ${name} could not be written to ${SHARE_STATE_TOPIC_NAME}-${index}: ${error.message}; try again`,
          );
        }
        throw error;
      });
  }

  /** Appends `record` to the subscription's dead-letter topic, creating the topic if needed. */
  private async deadLetter(
    subscription: Subscription,
    record: TrackedRecord,
    reason: 'rejected' | 'max-deliveries' | 'expired',
  ): Promise<void> {
    const { topic, deadLetterTopic } = subscription.definition;
    await this.ensureTopic(deadLetterTopic);
    const partitionCount = this.writer.partitionCount(deadLetterTopic) ?? 1;
    const text = (value: string | number): Buffer => Buffer.from(String(value), 'utf8');
    const headers = [
      ...record.headers,
      { key: 'dlq.source.topic', value: text(topic) },
      { key: 'dlq.source.partition', value: text(record.partition) },
      { key: 'dlq.source.offset', value: text(record.offset) },
      { key: 'dlq.source.timestamp', value: text(record.timestamp) },
      { key: 'dlq.delivery.count', value: text(record.deliveryCount) },
      { key: 'dlq.reason', value: text(reason) },
      { key: 'dlq.subscription', value: text(subscription.name) },
      ...(record.lastError === null ? [] : [{ key: 'dlq.error', value: text(record.lastError) }]),
    ];
    await writeRecords(
      this.writer,
      deadLetterTopic,
      [
        {
          key: record.key,
          value: record.value,
          headers,
          timestamp: this.now(),
          partition: record.partition % Math.max(1, partitionCount),
        },
      ],
      'all',
    );
  }

  private ensureTopic(name: string): Promise<void> {
    if (this.writer.partitionCount(name) !== undefined) return Promise.resolve();
    let creating = this.creatingTopics.get(name);
    if (creating === undefined) {
      creating = this.writer
        .createTopic(name)
        .catch((error: unknown) => {
          // Another path (a client's CreateTopics) may have won the race.
          if (this.writer.partitionCount(name) === undefined) throw error;
        })
        .finally(() => this.creatingTopics.delete(name));
      this.creatingTopics.set(name, creating);
    }
    return creating;
  }

  private serialise<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.serial.then(operation);
    this.serial = result.catch(() => undefined);
    return result;
  }
}

/** What every share-group subscription's name starts with; no HTTP subscription name can. */
export const SHARE_GROUP_SUBSCRIPTION_PREFIX = 'share-group/';

export function shareGroupSubscriptionName(group: string, topic: string): string {
  return `${SHARE_GROUP_SUBSCRIPTION_PREFIX}${group}/${topic}`;
}

/**
 * The share group a subscription name belongs to, or null for an HTTP subscription. Topic names
 * have no '/', so the group id is everything between the prefix and the last '/'.
 */
export function shareGroupOfSubscription(name: string): string | null {
  if (!name.startsWith(SHARE_GROUP_SUBSCRIPTION_PREFIX)) return null;
  return name.slice(SHARE_GROUP_SUBSCRIPTION_PREFIX.length, name.lastIndexOf('/'));
}

function stateKey(parts: readonly (string | number)[]): Buffer {
  return Buffer.from(JSON.stringify(parts), 'utf8');
}
