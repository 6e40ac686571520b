// A ClusterView whose contents are given rather than watched: the brokers, topics and partition
// states a caller sets. It runs replication without etcd: tests of the data path (two in-process
// brokers with a fixed assignment), and tools that know the layout. It decides nothing (no
// liveness, no election, no ISR changes on its own); whoever owns it changes partition states
// with `setPartitionState`, and subscribers hear of each change as they would from etcd.
//
// Owned by its creator; synchronous, so listeners run inside the setter's call.

import type {
  BrokerEndpoint,
  ClusterChange,
  ClusterView,
  ControllerInfo,
  PartitionState,
  TopicAssignment,
} from '../metadata/cluster-metadata.js';

export interface StaticClusterLayout {
  readonly clusterId: string;
  readonly brokers: readonly BrokerEndpoint[];
  readonly topics: readonly TopicAssignment[];
  /** By `${topic}-${partition}`; a partition without one has no leader yet. */
  readonly partitionStates?: Readonly<Record<string, PartitionState>>;
}

export class StaticClusterView implements ClusterView {
  readonly clusterId: string;
  private readonly brokerMap: Map<number, BrokerEndpoint>;
  private readonly topicMap: Map<string, TopicAssignment>;
  private readonly states = new Map<string, PartitionState>();
  private readonly listeners = new Set<(change: ClusterChange) => void>();

  constructor(layout: StaticClusterLayout) {
    this.clusterId = layout.clusterId;
    this.brokerMap = new Map(layout.brokers.map((broker) => [broker.brokerId, broker]));
    this.topicMap = new Map(layout.topics.map((topic) => [topic.name, topic]));
    for (const [key, state] of Object.entries(layout.partitionStates ?? {}))
      this.states.set(key, state);
  }

  brokers(): ReadonlyMap<number, BrokerEndpoint> {
    return this.brokerMap;
  }

  /** No controller: nothing here elects or reassigns. */
  controller(): ControllerInfo | null {
    return null;
  }

  topics(): ReadonlyMap<string, TopicAssignment> {
    return this.topicMap;
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    return this.states.get(`${topic}-${partition}`);
  }

  /** Nothing reports offline replicas here: no broker registers. */
  isReplicaOffline(): boolean {
    return false;
  }

  /** Installs a partition's new state (a leader change, an ISR change) and tells subscribers. */
  setPartitionState(topic: string, partition: number, state: PartitionState): void {
    this.states.set(`${topic}-${partition}`, state);
    for (const listener of [...this.listeners]) listener({ kind: 'partition', topic, partition });
  }

  subscribe(listener: (change: ClusterChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
