// What the rest of the broker reads about the cluster: live brokers, the controller, topics with
// their replica assignment, and each partition's leader, leader epoch, ISR and partition epoch.
// These are plain types and a read-only view; where the data comes from (etcd, in
// src/cluster/etcd-metadata-store.ts) is not visible here, so replica/ and handlers/ can depend on
// the view without depending on etcd.
//
// The view is in memory and answers synchronously: the data path never waits on the store.

/** Kafka's "no leader" broker id, as Metadata and LeaderAndIsr carry it. */
export const NO_LEADER = -1;

/** A live broker as registered: where clients and other brokers reach it. */
export interface BrokerEndpoint {
  readonly brokerId: number;
  /** Where clients reach the broker when nothing else says: its first advertised listener. */
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  /** Every advertised listener by name (absent in registrations of older brokers). */
  readonly listeners?: readonly ListenerEndpoint[];
}

export interface ListenerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/**
 * Where a broker is reached on the named listener: a client is told the addresses of the listener
 * it came in on, and brokers reach each other on inter.broker.listener.name. Undefined when the
 * broker registered listeners but not this one; its host and port when it registered none.
 */
export function endpointOn(
  broker: BrokerEndpoint,
  listenerName: string | undefined,
): { host: string; port: number } | undefined {
  if (broker.listeners === undefined || listenerName === undefined) return broker;
  return broker.listeners.find((listener) => listener.name === listenerName);
}

/**
 * One partition's leadership. `partitionEpoch` goes up by one with every change of any field;
 * `leaderEpoch` goes up with every change of leader (and is what followers and fetches fence on).
 */
export interface PartitionState {
  /** A broker id, or NO_LEADER when no eligible replica is alive. */
  readonly leader: number;
  readonly leaderEpoch: number;
  /** In-sync replicas, a subset of `replicas`; never empty (the last leader stays when offline). */
  readonly isr: readonly number[];
  /** The assignment, preferred leader first. */
  readonly replicas: readonly number[];
  readonly partitionEpoch: number;
}

export interface TopicAssignment {
  readonly name: string;
  /** 16 bytes, random, fixed for the topic's life. */
  readonly topicId: Buffer;
  /** Replica broker ids per partition index, preferred leader first. */
  readonly partitions: readonly (readonly number[])[];
  /** Topic-level overrides, by Kafka name. */
  readonly configs: Readonly<Record<string, string>>;
}

export interface ControllerInfo {
  readonly brokerId: number;
  /** Grows with every election; a write stamped with an older epoch is refused. */
  readonly epoch: number;
}

/** A partition of a topic, by name (a broker's report of its offline replicas). */
export interface ReplicaName {
  readonly topic: string;
  readonly partition: number;
}

/** `brokers` also covers the registrations' companions: controlled shutdowns, offline replicas. */
export type ClusterChange =
  | { readonly kind: 'brokers' }
  | { readonly kind: 'controller' }
  | { readonly kind: 'topic'; readonly topic: string }
  | { readonly kind: 'partition'; readonly topic: string; readonly partition: number };

/** A read-only, always-available picture of the cluster; listeners run after each change. */
export interface ClusterView {
  readonly clusterId: string;
  brokers(): ReadonlyMap<number, BrokerEndpoint>;
  controller(): ControllerInfo | null;
  topics(): ReadonlyMap<string, TopicAssignment>;
  partitionState(topic: string, partition: number): PartitionState | undefined;
  /**
   * Whether live broker `brokerId` reports its replica of the partition offline: the log
   * directory holding it could not be opened, or its log failed (KIP-112). Such a replica leads
   * nothing and leaves the ISR. (A dead broker's replicas are offline too: `brokers()` says so.)
   */
  isReplicaOffline(brokerId: number, topic: string, partition: number): boolean;
  /** Returns the unsubscribe function. A listener must not throw. */
  subscribe(listener: (change: ClusterChange) => void): () => void;
}
