// Topics in cluster mode: admin requests write them to etcd, and every broker mirrors the view
// into its own metadata store and logs.
//
// Writes. Any broker may take CreateTopics, CreatePartitions or DeleteTopics. The controller
// writes with its own fence; another broker writes on the controller's behalf with the fence the
// view shows for it (the controller's candidate key and epoch), so etcd refuses the write once
// that controller is gone, exactly as it would refuse the controller itself. Placement is the
// controller's (placement.ts over the live brokers); the assignment and the first partition
// states go in one transaction.
//
// Mirroring. `ClusterTopicSync` runs one pass at a time after every topic change in the view (a
// change during a pass brings another pass): a topic in the view and not here is created in the
// local metadata store with the cluster's topic id and configs, with logs only for the partitions
// this broker is a replica of; a topic gone from the view (or re-created with another id) is
// deleted here, logs included; added partitions and changed configs follow. The local store
// keeps what storage needs (ids, configs) so the single-broker code paths read it unchanged.
// Config overrides altered on any broker (AlterConfigs, IncrementalAlterConfigs) are written to
// the topic's key and reach every broker's logs the same way.

import type { ClusterView, TopicAssignment } from '../metadata/cluster-metadata.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import type { Controller, ElectionResult, ElectionType } from './controller.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import type { ControllerFence, EtcdMetadataStore } from './etcd-metadata-store.js';

/** How long an admin request waits for its own broker to apply the change it wrote. */
const APPLY_WAIT_MS_MAX = 10_000;

export class ClusterTopicAdmin {
  constructor(
    private readonly store: EtcdMetadataStore,
    private readonly controller: () => Controller,
    private readonly sync: ClusterTopicSync,
  ) {}

  /** Creates a topic placed over the live brokers; resolves once this broker has applied it. */
  async createTopic(spec: {
    name: string;
    partitionCount?: number;
    replicationFactor?: number;
    assignment?: readonly (readonly number[])[];
    configs?: Readonly<Record<string, string>>;
  }): Promise<TopicAssignment> {
    await this.controller().createTopic(spec, this.fence());
    return this.sync.whenApplied(spec.name, (topic) => topic !== undefined);
  }

  /** Grows a topic to `partitionCount` partitions. */
  async addPartitions(
    name: string,
    partitionCount: number,
    assignment?: readonly (readonly number[])[],
  ): Promise<void> {
    const existing = this.store.topics().get(name);
    if (existing === undefined) {
      throw new ClusterError(ClusterErrorCode.UNKNOWN_TOPIC, `topic ${name} does not exist`);
    }
    await this.controller().addPartitions(
      name,
      partitionCount - existing.partitions.length,
      this.fence(),
      assignment,
    );
    await this.sync.whenApplied(name, (topic) => (topic?.partitions.length ?? 0) >= partitionCount);
  }

  /**
   * Replaces a topic's config overrides in etcd; every broker's mirror applies them to its logs.
   * Resolves once this broker has.
   */
  async setTopicConfigs(name: string, configs: Readonly<Record<string, string>>): Promise<void> {
    const existing = this.store.topics().get(name);
    if (existing === undefined) {
      throw new ClusterError(ClusterErrorCode.UNKNOWN_TOPIC, `topic ${name} does not exist`);
    }
    await this.store.setTopicConfigs(name, existing, configs);
    await this.sync.whenApplied(
      name,
      (topic) => topic !== undefined && sameConfigs(topic.configs, configs),
    );
  }

  /** Deletes a topic everywhere; resolves once this broker has removed its logs. */
  async deleteTopic(name: string): Promise<void> {
    await this.controller().deleteTopic(name, this.fence());
    await this.sync.whenApplied(name, (topic) => topic === undefined);
  }

  /** ElectLeaders, written with the controller's fence (controller.ts, electLeaders). */
  async electLeaders(
    type: ElectionType,
    partitions: readonly { topic: string; partition: number }[] | null,
  ): Promise<ElectionResult[]> {
    return this.controller().electLeaders(type, partitions, this.fence());
  }

  /** AlterPartitionReassignments for one partition (controller.ts, alterReassignment). */
  async alterReassignment(
    topic: string,
    partition: number,
    target: readonly number[] | null,
  ): Promise<void> {
    await this.controller().alterReassignment(topic, partition, target, this.fence());
  }

  /** Undefined on the controller (its own fence applies), else the controller's from the view. */
  private fence(): ControllerFence | undefined {
    if (this.controller().isController) return undefined;
    const fence = this.store.controllerFence();
    if (fence === null) {
      throw new ClusterError(
        ClusterErrorCode.NOT_CONTROLLER,
        'the cluster has no controller at the moment; try again',
      );
    }
    return fence;
  }
}

/** Keeps the local metadata store and logs in step with the view's topics. */
export class ClusterTopicSync {
  private passRunning: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  private readonly appliedListeners = new Set<() => void>();

  constructor(
    private readonly view: ClusterView,
    private readonly replicas: ReplicaManager,
    private readonly onWarning: (message: string) => void,
  ) {}

  /** Runs a first pass (before the broker serves) and then follows the view. */
  async start(): Promise<void> {
    this.unsubscribe = this.view.subscribe((change) => {
      if (change.kind === 'topic') this.schedule();
    });
    this.schedule();
    await this.idle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.idle();
  }

  /** Runs `listener` after every pass (the replica fetcher applies the view to new logs). */
  onApplied(listener: () => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  async idle(): Promise<void> {
    while (this.passRunning !== undefined) await this.passRunning;
  }

  /**
   * Resolves with the view's topic once a pass has applied a view in which `predicate` holds for
   * it; TIMED_OUT after APPLY_WAIT_MS_MAX (the write itself is done; only this broker lags).
   */
  whenApplied(
    name: string,
    predicate: (topic: TopicAssignment | undefined) => boolean,
  ): Promise<TopicAssignment> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const topic = this.view.topics().get(name);
        if (this.passRunning !== undefined || this.dirty || !predicate(topic)) return false;
        this.appliedListeners.delete(listener);
        clearTimeout(timer);
        resolve(topic!);
        return true;
      };
      const listener = (): void => void check();
      const timer = setTimeout(() => {
        this.appliedListeners.delete(listener);
        reject(
          new ClusterError(
            ClusterErrorCode.TIMED_OUT,
            `topic ${name} was written to etcd but this broker has not applied it within ${APPLY_WAIT_MS_MAX} ms`,
          ),
        );
      }, APPLY_WAIT_MS_MAX);
      this.appliedListeners.add(listener);
      check();
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.passRunning !== undefined) return;
    this.passRunning = (async () => {
      try {
        while (this.dirty && !this.stopped) {
          this.dirty = false;
          await this.pass().catch((error: Error) => {
            this.onWarning(`applying cluster topics: ${error.message}; retrying`);
            this.dirty = true;
            return new Promise((resolve) => setTimeout(resolve, 250));
          });
        }
      } finally {
        this.passRunning = undefined;
      }
      for (const listener of [...this.appliedListeners]) listener();
    })();
  }

  private async pass(): Promise<void> {
    const wanted = this.view.topics();
    for (const local of this.replicas.topics()) {
      const topic = wanted.get(local.metadata.name);
      if (topic === undefined || !topic.topicId.equals(local.metadata.topicId)) {
        await this.replicas.deleteTopic(local.metadata.name);
      }
    }
    for (const [name, topic] of wanted) {
      const local = this.replicas.topic(name);
      if (local === undefined) {
        await this.replicas.createTopic({
          name,
          partitionCount: topic.partitions.length,
          configs: { ...topic.configs },
          topicId: topic.topicId,
        });
        continue;
      }
      if (local.metadata.partitionCount < topic.partitions.length) {
        await this.replicas.addPartitions(name, topic.partitions.length);
      }
      if (!sameConfigs(local.metadata.configs, topic.configs)) {
        await this.replicas.setTopicConfigs(name, { ...topic.configs });
      }
      // A reassignment adds or removes this broker as a replica of existing partitions.
      await this.replicas.syncReplicas(name);
    }
  }
}

function sameConfigs(
  left: Readonly<Record<string, string>>,
  right: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => left[key] === right[key]);
}
