// What the metrics read of replication, in Kafka's terms and on Kafka's brokers:
//
//   leader of a partition    UnderReplicatedPartitions (ISR smaller than the replica set),
//                            UnderMinIsrPartitionCount, LeaderCount, each follower's lag (in
//                            records, and in time since caught up: replica.lag.time.max.ms),
//                            IsrShrinksPerSec / IsrExpandsPerSec (the ISR it leads with changed)
//   every replica            PartitionCount; the replica fetcher's connection to each leader
//   active controller        OfflinePartitionsCount (no live leader), ActiveControllerCount
//
// so a sum over the brokers counts each partition once. On a single broker every partition is led
// here with itself as the whole ISR: nothing is under-replicated or offline. A cluster's snapshot
// and ISR changes are read from the cluster view by src/cluster/replication-status.ts.

export interface ReplicationSnapshot {
  /** Partitions this broker holds a replica of (Kafka: PartitionCount). */
  readonly partitions: number;
  /** Partitions this broker leads (Kafka: LeaderCount). */
  readonly leaders: number;
  /** Led here with fewer in-sync replicas than replicas. */
  readonly underReplicated: number;
  /** Led here with fewer in-sync replicas than min.insync.replicas. */
  readonly underMinIsr: number;
  /** With no live leader; counted by the active controller only. */
  readonly offline: number;
  /** Whether this broker is the active controller; null on a single broker. */
  readonly activeController: boolean | null;
  /**
   * Per follower of each partition led here: records between the leader's log end and it, and
   * seconds since it last fetched up to the leader's log end (0 while it is there).
   */
  readonly followerLags: ReadonlyArray<{
    readonly topic: string;
    readonly partition: number;
    readonly follower: number;
    readonly lagRecords: number;
    readonly lagSeconds: number;
  }>;
  /** Per leader broker this broker fetches from: whether the connection is up. */
  readonly fetcherConnections: ReadonlyArray<{
    readonly leaderId: number;
    readonly connected: boolean;
  }>;
}

/** A single broker: it leads every partition it has, alone. */
export function singleBrokerReplication(partitionCount: number): ReplicationSnapshot {
  return {
    partitions: partitionCount,
    leaders: partitionCount,
    underReplicated: 0,
    underMinIsr: 0,
    offline: 0,
    activeController: null,
    followerLags: [],
    fetcherConnections: [],
  };
}
