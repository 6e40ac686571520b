// The partitions this broker serves, by topic, and the topic lifecycle that touches both the
// metadata store and the logs (create, grow, reconfigure, delete).
//
// Owned by the broker. Topic lifecycle operations are serialised through one promise chain: a
// CreateTopics and a DeleteTopics of the same name must never interleave their metadata write
// and their log creation or deletion.

import type { MetadataStore, TopicMetadata } from '../metadata/metadata-store.js';
import type { LogConfig } from '../storage/log-config.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { InternalTopicStorage } from './internal-topic.js';
import { Partition } from './partition.js';

/** How many of a topic's new partitions open their logs at the same time. */
const PARTITION_OPEN_CONCURRENCY = 16;

/** What the replica layer needs from storage: logs by topic and partition. */
export interface LogStore {
  openLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog>;
  deleteLog(topic: string, partition: number): Promise<void>;
}

export interface TopicPartitions {
  readonly metadata: TopicMetadata;
  /**
   * By partition index. In cluster mode a partition this broker holds no replica of is a hole
   * (`partitions[i]` undefined; map, filter and flatMap skip it, for..of does not).
   */
  readonly partitions: readonly Partition[];
}

export class ReplicaManager {
  private readonly topicsByName = new Map<string, TopicPartitions>();
  private readonly topicsById = new Map<string, TopicPartitions>();
  private readonly internalTopics = new Map<string, InternalTopicStorage>();
  private lifecycle: Promise<unknown> = Promise.resolve();
  private readonly topicDeletedListeners: Array<(topic: string) => void | Promise<void>> = [];
  private readonly replicasRemovedListeners: Array<(topic: string, partitions: number[]) => void> =
    [];
  private layoutVersionValue = 0;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly logs: LogStore,
    /** The effective log config of a topic: broker defaults under the topic's overrides. */
    private readonly logConfigOf: (topic: TopicMetadata) => LogConfig,
    /** producer.id.expiration.ms for every partition's producer state, read when checked. */
    private readonly producerIdExpirationMs?: () => number,
    /**
     * Cluster mode: whether this broker holds a replica of the partition. Partitions it does not
     * hold have no log here and are holes in `TopicPartitions.partitions`. Absent: every one.
     * Undefined from it: the view holds no such topic (it is being deleted); its logs stay as
     * they are until the topic itself goes.
     */
    private readonly hostsReplica?: (topic: string, partition: number) => boolean | undefined,
  ) {}

  /**
   * Opens the logs of every data topic in the metadata store (at start-up). Internal topics open
   * their partitions on first use instead (replica/internal-topic.ts).
   */
  async openAll(): Promise<void> {
    for (const topic of this.metadata.topics()) if (!topic.internal) await this.openTopic(topic);
  }

  topic(name: string): TopicPartitions | undefined {
    return this.topicsByName.get(name);
  }

  /**
   * Internal topics (`__consumer_offsets`, `__transaction_state`) open their partitions on first
   * use (internal-topic.ts), so they are not among topics(). Registered here, Metadata lists them
   * and a client may read them.
   */
  registerInternalTopic(storage: InternalTopicStorage): void {
    this.internalTopics.set(storage.name, storage);
  }

  /** The registered internal topics, for Metadata: their partitions need not be open. */
  internalTopicMetadata(): readonly TopicMetadata[] {
    return [...this.internalTopics.values()].map((storage) => storage.metadata());
  }

  /**
   * A topic as a client's Fetch or ListOffsets reads it: a data topic as topic() has it; an
   * internal topic with every partition opened first (a client reading one reads them all).
   */
  async topicForClientRead(
    name: string | null,
    topicId?: Buffer,
  ): Promise<TopicPartitions | undefined> {
    const data = name === null ? this.topicById(topicId!) : this.topic(name);
    if (data !== undefined) return data;
    const storage = [...this.internalTopics.values()].find((candidate) =>
      name === null ? candidate.metadata().topicId.equals(topicId!) : candidate.name === name,
    );
    if (storage === undefined) return undefined;
    return { metadata: storage.metadata(), partitions: await storage.openAll() };
  }

  topicById(topicId: Buffer): TopicPartitions | undefined {
    return this.topicsById.get(topicId.toString('hex'));
  }

  /**
   * Moves whenever the partitions `topics()` holds may have changed (a topic or partition came
   * or went): a metrics scrape that keeps partition figures checks it once, instead of asking
   * every partition.
   */
  get layoutVersion(): number {
    return this.layoutVersionValue;
  }

  topics(): readonly TopicPartitions[] {
    return [...this.topicsByName.values()];
  }

  partition(topic: string, partitionIndex: number): Partition | undefined {
    return this.topicsByName.get(topic)?.partitions[partitionIndex];
  }

  createTopic(spec: {
    name: string;
    partitionCount: number;
    configs?: Record<string, string>;
    internal?: boolean;
    /** Cluster mode: the id the cluster gave the topic. */
    topicId?: Buffer;
  }): Promise<TopicPartitions> {
    return this.serialise(async () => {
      const metadata = await this.metadata.createTopic(spec);
      return this.openTopic(metadata);
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.serialise(async () => {
      const metadata = await this.metadata.deleteTopic(name);
      const topic = this.topicsByName.get(name);
      this.topicsByName.delete(name);
      this.topicsById.delete(metadata.topicId.toString('hex'));
      this.layoutVersionValue++;
      for (let index = 0; index < (topic?.partitions.length ?? 0); index += 1) {
        if (topic?.partitions[index] !== undefined) await this.logs.deleteLog(name, index);
      }
      for (const listener of this.topicDeletedListeners) await listener(name);
    });
  }

  /** Runs after a topic and its logs are gone (the group coordinator drops its offsets). */
  onTopicDeleted(listener: (topic: string) => void | Promise<void>): void {
    this.topicDeletedListeners.push(listener);
  }

  /**
   * Runs after `syncReplicas` closed and deleted this broker's replicas of some of a topic's
   * partitions (a reassignment moved them away), with their indexes: whoever read them here
   * reads them elsewhere from then on (a shared subscription, from their leaders).
   */
  onReplicasRemoved(listener: (topic: string, partitions: number[]) => void): void {
    this.replicasRemovedListeners.push(listener);
  }

  /** Grows a topic to `partitionCount` partitions (CreatePartitions). */
  addPartitions(name: string, partitionCount: number): Promise<TopicPartitions> {
    return this.serialise(async () => {
      const metadata = await this.metadata.setPartitionCount(name, partitionCount);
      return this.openTopic(metadata);
    });
  }

  /**
   * Cluster mode: opens the logs of the topic's partitions this broker has become a replica of
   * and closes and deletes those it no longer is (a reassignment moved them). A no-op when the
   * local logs already match `hostsReplica`.
   */
  syncReplicas(name: string): Promise<void> {
    return this.serialise(async () => {
      const topic = this.topicsByName.get(name);
      const hostsReplica = this.hostsReplica;
      if (topic === undefined || hostsReplica === undefined) return;
      const partitions = [...topic.partitions];
      let changed = false;
      const removed: number[] = [];
      const config = this.logConfigOf(topic.metadata);
      for (let index = 0; index < topic.metadata.partitionCount; index += 1) {
        const hosted = hostsReplica(name, index);
        if (hosted === undefined) return;
        const partition = partitions[index];
        if (hosted && partition === undefined) {
          const log = await this.logs.openLog(name, index, config);
          partitions[index] = new Partition(
            name,
            index,
            log,
            undefined,
            this.producerIdExpirationMs,
          );
          changed = true;
        } else if (!hosted && partition !== undefined) {
          delete partitions[index];
          changed = true;
          removed.push(index);
          await this.logs.deleteLog(name, index);
        }
      }
      if (changed) this.index(topic.metadata, partitions);
      if (removed.length > 0)
        for (const listener of this.replicasRemovedListeners) listener(name, removed);
    });
  }

  /** Replaces a topic's overrides and applies the new effective config to its logs. */
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<TopicPartitions> {
    return this.serialise(async () => {
      const metadata = await this.metadata.setTopicConfigs(name, configs);
      const topic = this.index(metadata, this.topicsByName.get(name)?.partitions ?? []);
      this.reconfigure(topic);
      return topic;
    });
  }

  /** Re-applies every topic's effective config, after a broker default changed. */
  reconfigureAll(): void {
    for (const topic of this.topicsByName.values()) this.reconfigure(topic);
  }

  private reconfigure(topic: TopicPartitions): void {
    const config = this.logConfigOf(topic.metadata);
    for (const partition of topic.partitions) partition?.log.updateConfig(config);
  }

  private async openTopic(metadata: TopicMetadata): Promise<TopicPartitions> {
    const existing = this.topicsByName.get(metadata.name)?.partitions ?? [];
    const partitions = [...existing];
    partitions.length = Math.max(existing.length, metadata.partitionCount);
    const config = this.logConfigOf(metadata);
    const indexes: number[] = [];
    for (let index = existing.length; index < metadata.partitionCount; index += 1) {
      if (this.hostsReplica !== undefined && this.hostsReplica(metadata.name, index) !== true) {
        continue;
      }
      indexes.push(index);
    }
    // A topic's new logs are opened a few at a time: each waits mostly on fsyncs of its own
    // directory, which the disk overlaps.
    for (let first = 0; first < indexes.length; first += PARTITION_OPEN_CONCURRENCY) {
      const batch = indexes.slice(first, first + PARTITION_OPEN_CONCURRENCY);
      const logs = await Promise.all(
        batch.map((index) => this.logs.openLog(metadata.name, index, config)),
      );
      batch.forEach((index, position) => {
        partitions[index] = new Partition(
          metadata.name,
          index,
          logs[position],
          undefined,
          this.producerIdExpirationMs,
        );
      });
    }
    return this.index(metadata, partitions);
  }

  private index(metadata: TopicMetadata, partitions: readonly Partition[]): TopicPartitions {
    const topic: TopicPartitions = { metadata, partitions };
    this.topicsByName.set(metadata.name, topic);
    this.topicsById.set(metadata.topicId.toString('hex'), topic);
    this.layoutVersionValue++;
    return topic;
  }

  private serialise<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(operation);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }
}
