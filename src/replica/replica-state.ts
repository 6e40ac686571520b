// What the leader of one replicated partition knows of its followers, and the high watermark
// that follows from it.
//
//   follower 2 ──Fetch(fetchOffset 40)──►  followers: 2 → 40, 3 → 37      ISR = {1, 2, 3}
//   follower 3 ──Fetch(fetchOffset 37)──►  leader 1 flushed: 42
//                                          high watermark = min(42, 40, 37) = 37
//
// A follower's fetch offset is what it reports as fetched: by Kafka's rule it holds everything
// below it; by Brook's stronger rule it has also flushed everything below it (the follower fetches
// from its own flushed offset), so the high watermark covers only records on the disk of every
// ISR member. The leader's own contribution is its flushed offset (or its log end offset under a
// looser flush policy, as on a single broker).
//
// The high watermark never moves backwards while this state lives (a follower that fell out of
// the ISR and rejoins does not pull it down); a new leader starts from the high watermark its log
// had. ISR changes are decided elsewhere (the leader's cluster/isr-manager.ts and the controller,
// both through etcd) and installed with `updateAssignment`; this module only supplies the facts
// they are decided on (`laggingFollowers`, `caughtUpFollowers`).
//
// Owned by one Partition while this broker leads it; everything is synchronous.

import { assert } from '../util/assert.js';

export interface FollowerState {
  readonly brokerId: number;
  /** The follower holds (and has flushed) everything below it; -1 until its first fetch. */
  fetchOffset: number;
  /** When the follower last fetched. */
  lastFetchTimeMs: number;
  /**
   * When the follower last fetched naming this leader's epoch as current (currentLeaderEpoch):
   * it still took this broker for the leader then. -1 until it has.
   */
  lastFetchAtLeaderEpochTimeMs: number;
  /** When the follower last fetched up to the leader's log end offset as it was then (at first: when it became a follower of this leader). */
  lastCaughtUpTimeMs: number;
}

export interface ReplicaAssignment {
  /** Every replica of the partition, the leader (this broker) included. */
  readonly replicas: readonly number[];
  /** The in-sync replicas, the leader included. */
  readonly isr: readonly number[];
  /** The partition epoch of this state in etcd, when it comes from there. */
  readonly partitionEpoch?: number;
}

export class ReplicaState {
  private readonly followers = new Map<number, FollowerState>();
  private isrValue: readonly number[];
  private highWatermarkValue: number;
  /**
   * Followers this leader has asked etcd to add to the ISR, and the partition epoch that write
   * expected. Until the view brings a later epoch (the write, or whatever beat it), they count in
   * the high watermark though not yet in min.insync.replicas: if etcd took the write and this
   * leader is cut off before hearing so, the controller may elect one of them, which must then
   * hold everything this leader acknowledged (Kafka's "maximal ISR").
   */
  private joining: { brokerIds: readonly number[]; partitionEpoch: number } | undefined;

  constructor(
    /** This broker: the leader. */
    readonly leaderId: number,
    assignment: ReplicaAssignment,
    /** The high watermark the leader starts from (its log's, never beyond its log end). */
    initialHighWatermark: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.isrValue = [];
    this.highWatermarkValue = initialHighWatermark;
    this.updateAssignment(assignment);
  }

  /** The in-sync replicas, the leader included. */
  get isr(): readonly number[] {
    return this.isrValue;
  }

  /** Installs a new replica set or ISR; a follower staying keeps what it reported. */
  updateAssignment(assignment: ReplicaAssignment): void {
    assert(
      assignment.isr.includes(this.leaderId),
      `leader ${this.leaderId} is not in its own ISR [${assignment.isr.join(', ')}]`,
    );
    for (const brokerId of assignment.isr) {
      assert(
        assignment.replicas.includes(brokerId),
        `ISR member ${brokerId} is not a replica [${assignment.replicas.join(', ')}]`,
      );
    }
    for (const brokerId of [...this.followers.keys()])
      if (!assignment.replicas.includes(brokerId)) this.followers.delete(brokerId);
    const now = this.clock();
    for (const brokerId of assignment.replicas) {
      if (brokerId === this.leaderId || this.followers.has(brokerId)) continue;
      // As in Kafka, a new follower gets replica.lag.time.max.ms from now before it counts as lagging.
      this.followers.set(brokerId, {
        brokerId,
        fetchOffset: -1,
        lastFetchTimeMs: -1,
        lastFetchAtLeaderEpochTimeMs: -1,
        lastCaughtUpTimeMs: now,
      });
    }
    this.isrValue = [...assignment.isr];
    if (
      this.joining !== undefined &&
      (assignment.partitionEpoch === undefined ||
        assignment.partitionEpoch > this.joining.partitionEpoch)
    )
      this.joining = undefined;
  }

  /**
   * The leader is about to ask etcd for an ISR with `brokerIds` added, comparing
   * `partitionEpoch`: from now on they hold the high watermark back as ISR members do, until the
   * view brings a later partition epoch.
   */
  expectIsrMembers(brokerIds: readonly number[], partitionEpoch: number): void {
    for (const brokerId of brokerIds)
      assert(
        this.followers.has(brokerId),
        `broker ${brokerId} is not a follower of this partition`,
      );
    this.joining = { brokerIds: [...brokerIds], partitionEpoch };
  }

  follower(brokerId: number): Readonly<FollowerState> | undefined {
    return this.followers.get(brokerId);
  }

  isReplica(brokerId: number): boolean {
    return brokerId === this.leaderId || this.followers.has(brokerId);
  }

  /**
   * Records a follower's fetch from `fetchOffset` while the leader's log ended at
   * `leaderLogEndOffset`; `atLeaderEpoch` when the fetch named this leader's epoch as current.
   * A follower only moves forwards here; going back (it truncated) is installed as it is, since
   * its log really is shorter now.
   */
  recordFetch(
    brokerId: number,
    fetchOffset: number,
    leaderLogEndOffset: number,
    atLeaderEpoch = false,
  ): void {
    const follower = this.followers.get(brokerId);
    assert(follower !== undefined, `broker ${brokerId} is not a follower of this partition`);
    const now = this.clock();
    follower.fetchOffset = fetchOffset;
    follower.lastFetchTimeMs = now;
    if (atLeaderEpoch) follower.lastFetchAtLeaderEpochTimeMs = now;
    if (fetchOffset >= leaderLogEndOffset) follower.lastCaughtUpTimeMs = now;
  }

  /**
   * The high watermark given the leader's own durable end: the minimum over the ISR and the
   * followers asked into it, never below what it was. A follower in the ISR that has not fetched
   * yet holds it where it is.
   */
  highWatermark(leaderOffset: number): number {
    let candidate = leaderOffset;
    const joining = (this.joining?.brokerIds ?? []).filter((id) => this.followers.has(id));
    for (const brokerId of [...this.isrValue, ...joining]) {
      if (brokerId === this.leaderId) continue;
      const follower = this.followers.get(brokerId);
      candidate = Math.min(candidate, follower?.fetchOffset ?? -1);
    }
    if (candidate > this.highWatermarkValue) this.highWatermarkValue = candidate;
    return this.highWatermarkValue;
  }

  /**
   * Whether the other ISR members (and the followers asked into it) still take this broker for
   * the leader: 'confirmed' when each fetched at this leader's epoch within the last `windowMs`,
   * 'alone' when the ISR is this broker only, else 'lapsed'. A successor can only come from them,
   * and one that leads or knows of a newer leader no longer fetches here at this epoch
   * (cluster/session-fenced-view.ts reads this while the etcd session is fenced).
   */
  leadershipConfirmation(windowMs: number): 'confirmed' | 'alone' | 'lapsed' {
    const now = this.clock();
    const others = [...this.isrValue, ...(this.joining?.brokerIds ?? [])].filter(
      (brokerId) => brokerId !== this.leaderId,
    );
    if (others.length === 0) return 'alone';
    for (const brokerId of others) {
      const fetchedAtMs = this.followers.get(brokerId)?.lastFetchAtLeaderEpochTimeMs ?? -1;
      if (fetchedAtMs < 0 || now - fetchedAtMs > windowMs) return 'lapsed';
    }
    return 'confirmed';
  }

  /** ISR followers that have not caught up for `lagTimeMaxMs` (replica.lag.time.max.ms): candidates to leave. */
  laggingFollowers(lagTimeMaxMs: number): number[] {
    const now = this.clock();
    return this.isrValue.filter((brokerId) => {
      const follower = this.followers.get(brokerId);
      return follower !== undefined && now - follower.lastCaughtUpTimeMs > lagTimeMaxMs;
    });
  }

  /** Followers outside the ISR that have fetched up to the high watermark: candidates to rejoin. */
  caughtUpFollowers(): number[] {
    return [...this.followers.values()]
      .filter(
        (follower) =>
          !this.isrValue.includes(follower.brokerId) &&
          follower.fetchOffset >= this.highWatermarkValue,
      )
      .map((follower) => follower.brokerId);
  }
}
