// Coordinators follow leadership (cluster mode): the group coordinator serves the groups of the
// `__consumer_offsets` partitions this broker leads, the transaction coordinator the ids of the
// `__transaction_state` partitions it leads. This module watches the cluster view and tells each
// coordinator when to load a partition (this broker became its leader) and when to unload it
// (another broker leads it, or none does). It knows nothing of either coordinator beyond the
// narrow `CoordinatedTopic` interface.
//
//   view: leader of __consumer_offsets-7 = this broker, epoch 4 ──► groups.loadPartition(7)
//   view: leader = broker 2, or -1                              ──► groups.unloadPartition(7)
//   view: leader = this broker, epoch 5 (lost and regained)     ──► unload(7), then load(7)
//
// A partition is reloaded when its leader epoch changes even if this broker leads it in both: it
// may have led it, lost it and regained it between two views, and what the other leader wrote
// meanwhile is in the log only. Loading is asynchronous (requests for its keys are answered
// COORDINATOR_LOAD_IN_PROGRESS by the coordinator meanwhile); unloading is immediate.
//
// Owned by the broker in cluster mode; single-threaded: each view change is applied in the
// listener's turn, so loads and unloads are issued in the order the view changed.

import type { ClusterView } from '../metadata/cluster-metadata.js';

/** One internal topic and the coordinator that serves its partitions. */
export interface CoordinatedTopic {
  readonly topic: string;
  /** Reads the partition's state from the log; keys are served once it resolves. */
  loadPartition(partition: number): Promise<void>;
  /** Forgets the partition's state; its keys are answered NOT_COORDINATOR from now on. */
  unloadPartition(partition: number): void;
}

export class CoordinatorLeadership {
  /** By topic: the partitions loaded (or loading) here, with the leader epoch they were loaded in. */
  private readonly led = new Map<string, Map<number, number>>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly view: ClusterView,
    private readonly brokerId: number,
    private readonly topics: readonly CoordinatedTopic[],
    private readonly onLoadFailure: (message: string) => void,
  ) {
    for (const coordinated of topics) this.led.set(coordinated.topic, new Map());
  }

  /** Applies the current view, then follows it. */
  start(): void {
    this.unsubscribe = this.view.subscribe((change) => {
      if (change.kind === 'partition' || change.kind === 'topic') this.apply(change.topic);
    });
    for (const coordinated of this.topics) this.apply(coordinated.topic);
  }

  /** Stops following the view; unloads nothing (the coordinators' close does at shutdown). */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private apply(topic: string): void {
    const coordinated = this.topics.find((candidate) => candidate.topic === topic);
    const led = this.led.get(topic);
    if (coordinated === undefined || led === undefined) return;
    const partitionCount = this.view.topics().get(topic)?.partitions.length ?? 0;
    const partitions = new Set([
      ...led.keys(),
      ...Array.from({ length: partitionCount }, (_, i) => i),
    ]);
    for (const partition of partitions) {
      const state = this.view.partitionState(topic, partition);
      const leads = state !== undefined && state.leader === this.brokerId;
      const loadedEpoch = led.get(partition);
      if (loadedEpoch !== undefined && (!leads || loadedEpoch !== state.leaderEpoch)) {
        led.delete(partition);
        coordinated.unloadPartition(partition);
      }
      if (leads && !led.has(partition)) {
        led.set(partition, state.leaderEpoch);
        this.load(coordinated, partition, state.leaderEpoch);
      }
    }
  }

  private load(coordinated: CoordinatedTopic, partition: number, leaderEpoch: number): void {
    coordinated.loadPartition(partition).catch((error: unknown) => {
      this.onLoadFailure(
        `loading ${coordinated.topic}-${partition} (leader epoch ${leaderEpoch}): ${String(error)}; it is loaded again at its next leadership change`,
      );
      // Not loaded: forget it here too, so the next change of the partition tries again.
      if (this.led.get(coordinated.topic)?.get(partition) === leaderEpoch) {
        this.led.get(coordinated.topic)?.delete(partition);
      }
    });
  }
}
