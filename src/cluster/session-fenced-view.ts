// The cluster view as the parts of a broker that lead and coordinate read it: the etcd view, except
// that while the broker's session is fenced (broker-registry.ts: its lease may have expired, so
// the controller may already have elected another leader) no partition is led by this broker.
// Each partition it leads in etcd's view reads as leaderless (NO_LEADER, same leader epoch), and
// the broker itself is missing from the live brokers, as it soon is from etcd's, so:
//
// - Produce, a client's Fetch, ListOffsets, DeleteRecords and OffsetForLeaderEpoch are answered
//   NOT_LEADER_OR_FOLLOWER (partition-leadership.ts), and Metadata reports no leader and lists
//   only the other brokers, so clients ask those for the new leader instead of retrying here
//   (librdkafka asks the broker it used last, and forgets a broker Metadata no longer lists);
// - the group and transaction coordinators unload those partitions (NOT_COORDINATOR), and
//   FindCoordinator names no one;
// - the ISR manager changes no ISR, and transaction markers are not appended here.
//
// The replica fetcher reads etcd's view, not this one: the partition stays led underneath, so its
// followers go on copying what it appended before the fence (the next leader is one of them) and
// acks=all produces already appended may still complete once every ISR member has them on disk.
// When the fence lifts (the view has caught up with etcd) each partition reads as etcd says
// again: led here if the lease held through the outage, otherwise followed from the new leader,
// its divergent tail truncated as on any new leader epoch.
//
// Owned by the cluster member; fence changes arrive on the event loop like view changes, and
// subscribers hear of each partition whose reading changed.

import {
  type BrokerEndpoint,
  type ClusterChange,
  type ClusterView,
  type ControllerInfo,
  NO_LEADER,
  type PartitionState,
  type TopicAssignment,
} from '../metadata/cluster-metadata.js';

export class SessionFencedView implements ClusterView {
  private fenced = false;
  /** The registry's own reading, which also compares the clock with its deadline. */
  private fencedNow: () => boolean = () => false;
  private readonly listeners = new Set<(change: ClusterChange) => void>();

  constructor(
    private readonly view: ClusterView,
    private readonly brokerId: number,
  ) {
    view.subscribe((change) => this.emit(change));
  }

  get clusterId(): string {
    return this.view.clusterId;
  }

  /** Whether this broker leads nothing now, whatever etcd's view says. */
  get isFenced(): boolean {
    return this.fenced || this.fencedNow();
  }

  /**
   * Reads the fence from `fencedNow` too (the registry's deadline), so the data path is fenced
   * from the moment the deadline passes, before the timer that announces it has run.
   */
  useFence(fencedNow: () => boolean): void {
    this.fencedNow = fencedNow;
  }

  brokers(): ReadonlyMap<number, BrokerEndpoint> {
    const brokers = this.view.brokers();
    if (!brokers.has(this.brokerId) || !this.isFenced) return brokers;
    const others = new Map(brokers);
    others.delete(this.brokerId);
    return others;
  }

  controller(): ControllerInfo | null {
    return this.view.controller();
  }

  topics(): ReadonlyMap<string, TopicAssignment> {
    return this.view.topics();
  }

  partitionState(topic: string, partition: number): PartitionState | undefined {
    const state = this.view.partitionState(topic, partition);
    if (state === undefined || state.leader !== this.brokerId || !this.isFenced) return state;
    return { ...state, leader: NO_LEADER };
  }

  subscribe(listener: (change: ClusterChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Fences or unfences; every partition etcd's view has this broker leading changes reading. */
  setFenced(fenced: boolean): void {
    if (this.fenced === fenced) return;
    this.fenced = fenced;
    this.emit({ kind: 'brokers' });
    for (const [topic, assignment] of this.view.topics())
      for (let partition = 0; partition < assignment.partitions.length; partition++)
        if (this.view.partitionState(topic, partition)?.leader === this.brokerId)
          this.emit({ kind: 'partition', topic, partition });
  }

  private emit(change: ClusterChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }
}
