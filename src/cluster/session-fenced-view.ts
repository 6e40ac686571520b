// The cluster view as the parts of a broker that lead and coordinate read it: the etcd view, except
// while the broker's session is fenced (broker-registry.ts: its lease may have expired, so the
// controller may already have elected another leader). Fenced, the broker goes on leading a
// partition exactly while the partition's other ISR members go on fetching from it at its leader
// epoch, each within the last FENCED_LEADERSHIP_CONFIRM_WINDOW_MS (ReplicaState.
// leadershipConfirmation, supplied by the broker through `useFencedLeadership`):
//
//   fenced ─► partition led here in etcd's view?
//               ├─ every other ISR member fetched at this epoch within the window ─► still led
//               ├─ the ISR is this broker alone, unclean election off ─────────────► still led
//               └─ otherwise ──────────────────────────────────────────────────────► leaderless
//
// A successor can only come from the ISR, and a follower that became leader, or learned of a new
// leader, stops fetching here at this epoch, so the old leader stops within the window of the
// successor taking over. In an etcd outage nobody can learn anything new: the followers go on
// fetching, and every leader keeps serving. Under the fence every acknowledgement waits for the
// high watermark, acks=1 included (PartitionLeadership.fenced, handlers/produce.ts): in the window
// a deposed leader may still take records, but none that its successor lacks is acknowledged.
// A partition whose ISR is this broker alone can lose its leader only by an unclean election, so
// it stays led unless the topic allows one (an operator's unclean ElectLeaders is the exception:
// it discards what only this broker holds anyway).
//
// Each partition that reads leaderless (NO_LEADER, same leader epoch) is then:
//
// - answered NOT_LEADER_OR_FOLLOWER to Produce, a client's Fetch, ListOffsets, DeleteRecords and
//   OffsetForLeaderEpoch (partition-leadership.ts), and reported without a leader by Metadata;
//   once the broker leads nothing it is also missing from the live brokers, as it soon is from
//   etcd's, so clients ask the others for the new leader instead of retrying here (librdkafka asks
//   the broker it used last, and forgets a broker Metadata no longer lists);
// - unloaded by the group and transaction coordinators (NOT_COORDINATOR);
// - left alone by the ISR manager and the transaction marker sender.
//
// The readings are evaluated against the clock on every call (the data path is fenced from the
// moment a window lapses); a timer re-reads them every FENCED_READING_CHECK_MS while fenced and
// tells subscribers of each partition whose reading changed, so the coordinators follow.
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
import { FETCH_WAIT_MAX_MS } from './replica-fetcher.js';

/**
 * How recently each other ISR member must have fetched at this broker's leader epoch for a fenced
 * broker to go on leading the partition. A follower that is caught up has a fetch parked here for
 * up to replica.fetch.wait.max (FETCH_WAIT_MAX_MS) and sends the next one as soon as it has
 * flushed the answer, so a live follower fetches at least every FETCH_WAIT_MAX_MS plus a flush
 * and a round trip: twice that leaves room for a slow fsync without keeping a deposed leader
 * serving long after its successor took over.
 */
export const FENCED_LEADERSHIP_CONFIRM_WINDOW_MS = 2 * FETCH_WAIT_MAX_MS;
/** While fenced, how often the readings are compared with the last ones told to subscribers. */
const FENCED_READING_CHECK_MS = 100;

/**
 * Whether this broker, fenced, still leads `topic`-`partition` in `leaderEpoch` (the broker
 * answers from the partition's ReplicaState; see the header).
 */
export type FencedLeadership = (topic: string, partition: number, leaderEpoch: number) => boolean;

export class SessionFencedView implements ClusterView {
  private fenced = false;
  /** The registry's own reading, which also compares the clock with its deadline. */
  private fencedNow: () => boolean = () => false;
  /** Without the broker's answer (a member on its own), a fenced broker leads nothing. */
  private fencedLeadership: FencedLeadership = () => false;
  private readonly listeners = new Set<(change: ClusterChange) => void>();
  /** While fenced: the partitions led here in etcd's view whose last reading told was "led". */
  private toldLed = new Set<string>();
  private toldListed = true;
  private readingTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly view: ClusterView,
    private readonly brokerId: number,
  ) {
    view.subscribe((change) => this.emit(change));
  }

  get clusterId(): string {
    return this.view.clusterId;
  }

  /** Whether this broker's session is fenced: it leads only what its followers still confirm. */
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

  /** How a fenced broker tells whether it still leads a partition (see the header). */
  useFencedLeadership(fencedLeadership: FencedLeadership): void {
    this.fencedLeadership = fencedLeadership;
  }

  /** A fenced broker is listed while it still leads some partition. */
  brokers(): ReadonlyMap<number, BrokerEndpoint> {
    const brokers = this.view.brokers();
    if (!brokers.has(this.brokerId) || !this.isFenced) return brokers;
    if (this.ledUnderFence().size > 0) return brokers;
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
    if (this.fencedLeadership(topic, partition, state.leaderEpoch)) return state;
    return { ...state, leader: NO_LEADER };
  }

  isReplicaOffline(brokerId: number, topic: string, partition: number): boolean {
    return this.view.isReplicaOffline(brokerId, topic, partition);
  }

  subscribe(listener: (change: ClusterChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Fences or unfences; subscribers hear of the broker list and of every partition etcd's view
   * has this broker leading. While fenced, the readings are checked every FENCED_READING_CHECK_MS.
   */
  setFenced(fenced: boolean): void {
    if (this.fenced === fenced) return;
    this.fenced = fenced;
    clearInterval(this.readingTimer);
    this.readingTimer = undefined;
    if (fenced) {
      this.toldLed = this.ledUnderFence();
      this.toldListed = this.toldLed.size > 0;
      this.readingTimer = setInterval(() => this.tellChangedReadings(), FENCED_READING_CHECK_MS);
      this.readingTimer.unref();
    }
    this.emit({ kind: 'brokers' });
    for (const [topic, partition] of this.ledInView())
      this.emit({ kind: 'partition', topic, partition });
  }

  /** Stops the reading timer (the member leaves). */
  close(): void {
    clearInterval(this.readingTimer);
    this.readingTimer = undefined;
  }

  /** The partitions etcd's view has this broker leading. */
  private ledInView(): [topic: string, partition: number][] {
    const led: [string, number][] = [];
    for (const [topic, assignment] of this.view.topics())
      for (let partition = 0; partition < assignment.partitions.length; partition++)
        if (this.view.partitionState(topic, partition)?.leader === this.brokerId)
          led.push([topic, partition]);
    return led;
  }

  /** Of those, the ones this broker reads as leading now (all of them when not fenced). */
  private ledUnderFence(): Set<string> {
    const led = new Set<string>();
    for (const [topic, partition] of this.ledInView())
      if (this.partitionState(topic, partition)?.leader === this.brokerId)
        led.add(`${topic}\u0000${partition}`);
    return led;
  }

  private tellChangedReadings(): void {
    if (!this.isFenced) return;
    const led = this.ledUnderFence();
    const listed = led.size > 0;
    if (listed !== this.toldListed) this.emit({ kind: 'brokers' });
    for (const [topic, partition] of this.ledInView()) {
      const key = `${topic}\u0000${partition}`;
      if (led.has(key) !== this.toldLed.has(key))
        this.emit({ kind: 'partition', topic, partition });
    }
    this.toldLed = led;
    this.toldListed = listed;
  }

  private emit(change: ClusterChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }
}
