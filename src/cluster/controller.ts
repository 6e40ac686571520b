// The controller: one broker at a time decides leaderships, ISR removals of dead brokers, and
// topic assignments, and writes them to etcd. Any broker can take the role; its state is what
// etcd holds, so a new controller starts by reading, never by replaying a private log.
//
// Election: every broker puts `controller/<its lease id>` under the lease it registered with; the
// key with the lowest create revision wins and that revision is the controller epoch. A dead or
// stalled broker's lease expires, its key goes, and the next candidate is controller. Every write
// the controller makes compares its own key's create revision (etcd-metadata-store.ts), so a
// deposed controller that has not noticed yet cannot change anything.
//
// What it does, all through compare-and-swap on the partition epoch:
//   - a broker's registration disappears → each partition it led gets a new leader from the live
//     ISR members (replica order, so the preferred one first), leader epoch + 1; it leaves every
//     ISR it was in. With no live ISR member the partition goes offline (leader -1, the last ISR
//     kept), unless the topic allows unclean election: then a live out-of-sync replica leads.
//   - an offline partition's ISR member registers again → it leads.
//   - a live broker reports a replica offline (`offline-replicas/<id>`: its log directory could not
//     be opened, or its log failed; KIP-112) → for that partition it counts as dead: leadership
//     moves to another live ISR member (leader epoch + 1) and it leaves the ISR. It is never
//     elected there until it no longer reports the replica offline (a restart that opens the log).
//   - a broker asks for a controlled shutdown (`shutting-down/<id>`) → each partition it leads
//     moves to another live ISR member, as if it were dead for leadership only; it stays in the
//     ISRs until its registration goes. No leadership moves to it meanwhile.
//   - preferred-leader election on request, and every leaderImbalanceCheckIntervalMs when
//     auto.leader.rebalance.enable.
//   - topic creation and partition addition with placement.ts.
//
// Reconciliation runs one pass at a time; a change arriving meanwhile marks it dirty and another
// pass follows, so nothing between two passes is lost and passes never interleave.

import { EventEmitter } from 'node:events';
import { type ClusterChange, NO_LEADER } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/index.js';
import type { BrokerRegistry } from './broker-registry.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import {
  type ControllerFence,
  type EtcdMetadataStore,
  clusterKeys,
} from './etcd-metadata-store.js';
import {
  type Decision,
  type Liveness,
  nextStateOnLiveness,
  preferredElection,
  reassignedState,
  uncleanElection,
} from './leadership-rules.js';
import { checkManualAssignment, placeAdditionalReplicas, placeReplicas } from './placement.js';

export interface ControllerOptions {
  readonly brokerId: number;
  readonly uncleanLeaderElectionEnable: boolean;
  readonly autoLeaderRebalanceEnable: boolean;
  /** Kafka's leader.imbalance.check.interval.seconds (300) in milliseconds. */
  readonly leaderImbalanceCheckIntervalMs?: number;
}

export interface ControllerEvents {
  /** This broker became controller with this epoch. */
  elected: [epoch: number];
  /** This broker stopped being controller (resigned, or its key is gone). */
  resigned: [];
  /**
   * A reconciliation pass or a candidacy failed for a reason other than a lost race (etcd away);
   * it is retried. Not 'error', which would throw where nobody listens.
   */
  warning: [error: Error];
}

/** Kafka's ElectLeaders election types: 0 preferred, 1 unclean. */
export type ElectionType = 'preferred' | 'unclean';

/** One partition's outcome of an election, in Kafka's terms. */
export interface ElectionResult {
  readonly topic: string;
  readonly partition: number;
  /** NONE when the leader changed; ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ... */
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

function sameReplicas(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, index) => id === right[index]);
}

/** How often one partition's election is re-decided when other writes keep coming first. */
const ELECTION_ATTEMPTS_MAX = 5;

export class Controller extends EventEmitter<ControllerEvents> {
  private candidateKey: string | undefined;
  /** The create revision of candidateKey: the controller epoch if this candidacy wins. */
  private candidateRevision = 0;
  private fence: ControllerFence | null = null;
  private passRunning: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private readonly unsubscribe: () => void;
  private readonly imbalanceTimer: NodeJS.Timeout | undefined;
  private readonly onRegistered = (): void => void this.campaignUntilDone();

  constructor(
    private readonly store: EtcdMetadataStore,
    private readonly registry: BrokerRegistry,
    private readonly options: ControllerOptions,
  ) {
    super();
    this.unsubscribe = store.subscribe((change) => this.onChange(change));
    registry.on('registered', this.onRegistered);
    if (options.autoLeaderRebalanceEnable) {
      this.imbalanceTimer = setInterval(
        () => void this.electPreferredLeaders().catch(() => undefined),
        options.leaderImbalanceCheckIntervalMs ?? 300_000,
      );
      this.imbalanceTimer.unref();
    }
  }

  /** Whether this broker is controller as far as the view knows (writes are checked in etcd). */
  get isController(): boolean {
    return this.fence !== null;
  }

  get epoch(): number | null {
    return this.fence?.epoch ?? null;
  }

  /** Puts this broker's candidacy under its registration lease. */
  async campaign(): Promise<void> {
    const lease = this.registry.currentLease;
    if (lease === undefined || this.stopped) return;
    const leaseId = await lease.grant();
    const key = `${clusterKeys.controllerCandidates}${BigInt(leaseId).toString(16)}`;
    if (key === this.candidateKey) return;
    const put = await this.store.namespace
      .put(key)
      .value(String(this.options.brokerId))
      .lease(leaseId)
      .exec();
    this.candidateKey = key;
    this.candidateRevision = Number(put.header.revision);
    this.checkElection();
  }

  /** campaign(), retried every 250 ms while etcd refuses, until it succeeds or the lease changes. */
  private async campaignUntilDone(): Promise<void> {
    const lease = this.registry.currentLease;
    while (!this.stopped && lease !== undefined && this.registry.currentLease === lease) {
      try {
        await this.campaign();
        return;
      } catch (error) {
        this.emit('warning', error as Error);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** Withdraws from the election (controlled shutdown) and stops acting. */
  async stop(): Promise<void> {
    this.halt();
    await this.passRunning;
    const key = this.candidateKey;
    this.setFence(null);
    if (key !== undefined)
      await this.store.namespace
        .delete()
        .key(key)
        .catch(() => undefined);
  }

  /** Stops acting at once without telling etcd (a crash, for tests); the lease decides. */
  halt(): void {
    this.stopped = true;
    this.unsubscribe();
    this.registry.off('registered', this.onRegistered);
    if (this.imbalanceTimer !== undefined) clearInterval(this.imbalanceTimer);
  }

  /**
   * Creates a topic: placed over the live brokers (or as `assignment` gives), every replica in
   * the ISR, the first replica leading. Throws NOT_CONTROLLER on a broker that is not controller,
   * PLACEMENT_REFUSED with INVALID_REPLICATION_FACTOR / INVALID_REPLICA_ASSIGNMENT. A broker
   * that is not controller passes the controller's `fence` (from the view) to write on its behalf.
   */
  async createTopic(
    spec: {
      name: string;
      partitionCount?: number;
      replicationFactor?: number;
      assignment?: readonly (readonly number[])[];
      configs?: Readonly<Record<string, string>>;
    },
    fence: ControllerFence = this.requireFence(),
  ): Promise<readonly (readonly number[])[]> {
    const live = this.liveBrokers();
    let assignment: readonly (readonly number[])[];
    if (spec.assignment !== undefined) {
      checkManualAssignment(live, spec.assignment);
      assignment = spec.assignment;
    } else {
      assignment = placeReplicas(live, spec.partitionCount ?? 1, spec.replicationFactor ?? 1);
    }
    const states = assignment.map((replicas, partition) =>
      this.initialState(replicas, spec.name, partition),
    );
    await this.store.createTopic(spec.name, assignment, states, spec.configs ?? {}, fence);
    return assignment;
  }

  /**
   * CreatePartitions: places `addedCount` more partitions after the existing ones, or as
   * `assignment` gives (live brokers, the topic's replication factor).
   */
  async addPartitions(
    topic: string,
    addedCount: number,
    fence: ControllerFence = this.requireFence(),
    assignment?: readonly (readonly number[])[],
  ): Promise<readonly (readonly number[])[]> {
    const existing = this.store.topics().get(topic);
    if (existing === undefined) {
      throw new ClusterError(ClusterErrorCode.UNKNOWN_TOPIC, `topic ${topic} does not exist`);
    }
    let added: readonly (readonly number[])[];
    if (assignment !== undefined) {
      checkManualAssignment(this.liveBrokers(), assignment);
      const replicationFactor = existing.partitions[0]?.length ?? 0;
      if (assignment.some((replicas) => replicas.length !== replicationFactor)) {
        throw new ClusterError(
          ClusterErrorCode.PLACEMENT_REFUSED,
          `topic ${topic} has replication factor ${replicationFactor}; every new partition needs as many replicas`,
          { kafkaErrorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT },
        );
      }
      added = assignment;
    } else {
      added = placeAdditionalReplicas(this.liveBrokers(), existing.partitions, addedCount);
    }
    await this.store.addPartitions(
      topic,
      existing,
      added,
      added.map((replicas, index) =>
        this.initialState(replicas, topic, existing.partitions.length + index),
      ),
      fence,
    );
    return added;
  }

  /** DeleteTopics: removes the assignment and every partition state (fenced like createTopic). */
  async deleteTopic(topic: string, fence: ControllerFence = this.requireFence()): Promise<void> {
    await this.store.deleteTopic(topic, fence);
  }

  /**
   * Moves leadership to each partition's preferred replica where it is alive, in the ISR and not
   * already leading. Returns the partitions moved, as `topic-partition`.
   */
  async electPreferredLeaders(
    partitions?: readonly { topic: string; partition: number }[],
  ): Promise<string[]> {
    const results = await this.electLeaders('preferred', partitions ?? null);
    return results
      .filter((result) => result.errorCode === ErrorCode.NONE)
      .map(({ topic, partition }) => `${topic}-${partition}`);
  }

  /**
   * ElectLeaders. `preferred`: the first replica leads if it is alive, not shutting down and in
   * the ISR (PREFERRED_LEADER_NOT_AVAILABLE otherwise). `unclean`: a partition with no leader
   * gets one: a live ISR member if any, else the first live replica, alone in the ISR, whatever
   * the topic's unclean.leader.election.enable says (the operator asked); ELIGIBLE_LEADERS_NOT_
   * AVAILABLE with no live replica. A partition needing nothing is ELECTION_NOT_NEEDED. Every
   * change is a fenced compare-and-swap, re-decided from the view when another write came first.
   * `partitions` null means every partition; the results then list only the ones that changed or
   * failed. A broker that is not controller passes the controller's fence, as for createTopic.
   */
  async electLeaders(
    type: ElectionType,
    partitions: readonly { topic: string; partition: number }[] | null,
    fence: ControllerFence = this.requireFence(),
  ): Promise<ElectionResult[]> {
    const results: ElectionResult[] = [];
    for (const { topic, partition } of partitions ?? [...this.allPartitions()]) {
      const result = await this.electLeader(type, topic, partition, fence);
      if (partitions !== null || result.errorCode !== ErrorCode.ELECTION_NOT_NEEDED)
        results.push(result);
    }
    return results;
  }

  private async electLeader(
    type: ElectionType,
    topic: string,
    partition: number,
    fence: ControllerFence,
  ): Promise<ElectionResult> {
    const answer = (errorCode: number, errorMessage: string | null = null): ElectionResult => ({
      topic,
      partition,
      errorCode,
      errorMessage,
    });
    for (let attempt = 0; attempt < ELECTION_ATTEMPTS_MAX; attempt++) {
      const state = this.store.partitionState(topic, partition);
      if (state === undefined) {
        return answer(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `partition ${topic}-${partition} does not exist`,
        );
      }
      const next =
        type === 'preferred'
          ? preferredElection(state, this.liveness(topic, partition))
          : uncleanElection(state, this.liveness(topic, partition));
      if (typeof next === 'number') return answer(next);
      try {
        await this.store.updatePartitionState(topic, partition, state.partitionEpoch, next, fence);
        return answer(ErrorCode.NONE);
      } catch (error) {
        if ((error as ClusterError).code !== ClusterErrorCode.STALE_PARTITION_EPOCH) throw error;
        // Another write came first; the view has it (or will in a moment): decide again.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return answer(
      ErrorCode.REQUEST_TIMED_OUT,
      `partition ${topic}-${partition} kept changing; try the election again`,
    );
  }

  /** Resolves when no reconciliation pass is running or pending (tests, controlled shutdown). */
  async idle(): Promise<void> {
    while (this.passRunning !== undefined) await this.passRunning;
  }

  // --- election

  private onChange(change: ClusterChange): void {
    if (change.kind === 'controller') {
      this.checkElection();
      return;
    }
    if (change.kind === 'brokers' || change.kind === 'topic') this.scheduleReconcile();
    // A reassignment waits for its target replicas to join the ISR; and a leader's ISR write
    // that raced the controller's may have put back a replica that is offline.
    else if (
      change.kind === 'partition' &&
      (this.store.reassignment(change.topic, change.partition) !== undefined ||
        this.livenessChanges(change.topic, change.partition))
    )
      this.scheduleReconcile();
  }

  /** Whether the partition's state names a replica that is dead or offline for it. */
  private livenessChanges(topic: string, partition: number): boolean {
    const state = this.store.partitionState(topic, partition);
    if (state === undefined || this.fence === null) return false;
    const liveness = this.liveness(topic, partition);
    return nextStateOnLiveness(state, liveness, this.uncleanAllowed(topic)) !== null;
  }

  private checkElection(): void {
    if (this.stopped) return;
    const controller = this.store.controller();
    const candidateKey = this.candidateKey;
    const mine =
      controller !== null &&
      candidateKey !== undefined &&
      controller.epoch === this.candidateRevision
        ? controller.epoch
        : null;
    if (mine !== null && this.fence?.epoch !== mine) {
      this.setFence({ key: candidateKey!, epoch: mine });
    } else if (mine === null && this.fence !== null) {
      this.setFence(null);
    }
  }

  private setFence(fence: ControllerFence | null): void {
    const wasController = this.fence !== null;
    this.fence = fence;
    if (fence !== null) {
      this.emit('elected', fence.epoch);
      this.scheduleReconcile();
    } else if (wasController) {
      this.emit('resigned');
    }
  }

  private requireFence(): ControllerFence {
    if (this.fence === null) {
      const controller = this.store.controller();
      throw new ClusterError(
        ClusterErrorCode.NOT_CONTROLLER,
        `broker ${this.options.brokerId} is not the controller (controller: ${controller === null ? 'none' : `broker ${controller.brokerId}`})`,
      );
    }
    return this.fence;
  }

  // --- reconciliation

  private scheduleReconcile(): void {
    if (this.fence === null || this.stopped) return;
    this.dirty = true;
    if (this.passRunning !== undefined) return;
    this.passRunning = (async () => {
      try {
        while (this.dirty && this.fence !== null && !this.stopped) {
          this.dirty = false;
          await this.reconcile(this.fence).catch((error: Error) => {
            if ((error as ClusterError).code === ClusterErrorCode.NOT_CONTROLLER) return;
            this.emit('warning', error);
            this.dirty = true;
            return new Promise((resolve) => setTimeout(resolve, 250));
          });
        }
      } finally {
        this.passRunning = undefined;
      }
    })();
  }

  private async reconcile(fence: ControllerFence): Promise<void> {
    for (const { topic, partition } of this.allPartitions()) {
      const replicas = this.store.topics().get(topic)!.partitions[partition]!;
      const state = this.store.partitionState(topic, partition);
      try {
        if (state === undefined) {
          await this.store.createPartitionState(
            topic,
            partition,
            this.initialState(replicas, topic, partition),
            fence,
          );
          continue;
        }
        const next = nextStateOnLiveness(
          state,
          this.liveness(topic, partition),
          this.uncleanAllowed(topic),
        );
        if (next !== null)
          await this.store.updatePartitionState(
            topic,
            partition,
            state.partitionEpoch,
            next,
            fence,
          );
      } catch (error) {
        // Someone else changed the partition meanwhile: its watch event brings another pass.
        if ((error as ClusterError).code !== ClusterErrorCode.STALE_PARTITION_EPOCH) throw error;
        this.dirty = true;
      }
    }
    for (const reassignment of [...this.store.reassignments().values()]) {
      try {
        await this.advanceReassignment(reassignment, fence);
      } catch (error) {
        if ((error as ClusterError).code !== ClusterErrorCode.STALE_PARTITION_EPOCH) throw error;
        this.dirty = true;
      }
    }
  }

  // --- reassignment

  /**
   * AlterPartitionReassignments for one partition: `target` replicas (recorded for reconcile to
   * carry out), or null to cancel the one in progress (back to its original replicas at once).
   * Throws PLACEMENT_REFUSED with INVALID_REPLICA_ASSIGNMENT or NO_REASSIGNMENT_IN_PROGRESS,
   * UNKNOWN_TOPIC.
   */
  async alterReassignment(
    topic: string,
    partition: number,
    target: readonly number[] | null,
    fence: ControllerFence = this.requireFence(),
  ): Promise<void> {
    const state = this.store.partitionState(topic, partition);
    if (state === undefined) {
      throw new ClusterError(
        ClusterErrorCode.UNKNOWN_TOPIC,
        `partition ${topic}-${partition} does not exist`,
      );
    }
    const existing = this.store.reassignment(topic, partition);
    if (target === null) {
      if (existing === undefined) {
        throw new ClusterError(
          ClusterErrorCode.PLACEMENT_REFUSED,
          `no reassignment of ${topic}-${partition} is in progress`,
          { kafkaErrorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS },
        );
      }
      const next = reassignedState(state, existing.original, this.liveness(topic, partition));
      if (next === null) {
        throw new ClusterError(
          ClusterErrorCode.PLACEMENT_REFUSED,
          `cannot cancel the reassignment of ${topic}-${partition}: none of its original replicas [${existing.original.join(', ')}] is in sync`,
          { kafkaErrorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT },
        );
      }
      await this.store.writeReassignmentStep(
        topic,
        partition,
        state.partitionEpoch,
        next,
        true,
        fence,
      );
      return;
    }
    const unknown = target.filter((id) => !this.store.brokers().has(id));
    if (target.length === 0 || new Set(target).size !== target.length || unknown.length > 0) {
      throw new ClusterError(
        ClusterErrorCode.PLACEMENT_REFUSED,
        target.length === 0
          ? 'a reassignment needs at least one replica'
          : unknown.length > 0
            ? `replicas [${target.join(', ')}] name brokers that are not registered: ${unknown.join(', ')}`
            : `replicas [${target.join(', ')}] name a broker twice`,
        { kafkaErrorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT },
      );
    }
    const original = existing?.original ?? state.replicas;
    if (existing === undefined && sameReplicas(target, original)) return;
    await this.store.putReassignment(topic, partition, { target, original }, fence);
  }

  /**
   * Carries a reassignment one step on: first the target replicas join the assignment (they open
   * their logs and replication catches them up into the ISR); once every target is in the ISR,
   * one transaction drops the others, moves leadership to a target replica if the leader is
   * leaving, and clears the reassignment.
   */
  private async advanceReassignment(
    reassignment: {
      topic: string;
      partition: number;
      target: readonly number[];
      original: readonly number[];
    },
    fence: ControllerFence,
  ): Promise<void> {
    const { topic, partition, target, original } = reassignment;
    const state = this.store.partitionState(topic, partition);
    if (state === undefined) return;
    if (target.every((id) => state.isr.includes(id))) {
      const next = reassignedState(state, target, this.liveness(topic, partition));
      if (next !== null)
        await this.store.writeReassignmentStep(
          topic,
          partition,
          state.partitionEpoch,
          next,
          true,
          fence,
        );
      return;
    }
    const all = [...target, ...original.filter((id) => !target.includes(id))];
    if (sameReplicas(state.replicas, all)) return;
    await this.store.writeReassignmentStep(
      topic,
      partition,
      state.partitionEpoch,
      { ...state, replicas: all },
      false,
      fence,
    );
  }

  /**
   * Who holds a usable replica of the partition, and who of them may lead, as the view says now:
   * a registered broker that does not report that replica offline (its log directory could not be
   * opened, or its log failed: KIP-112) counts as alive for it; one in controlled shutdown leads
   * nothing. An offline replica is thus treated as its broker's death, for this partition only.
   */
  private liveness(topic: string, partition: number): Liveness {
    const live = this.store.brokers();
    const shuttingDown = this.store.shuttingDownBrokers();
    const holdsReplica = (brokerId: number): boolean =>
      live.has(brokerId) && !this.store.isReplicaOffline(brokerId, topic, partition);
    return {
      isLive: holdsReplica,
      mayLead: (brokerId) => holdsReplica(brokerId) && !shuttingDown.has(brokerId),
    };
  }

  private uncleanAllowed(topic: string): boolean {
    const override = this.store.topics().get(topic)?.configs['unclean.leader.election.enable'];
    return override === undefined ? this.options.uncleanLeaderElectionEnable : override === 'true';
  }

  /**
   * A new partition: every replica that holds it in the ISR, the first that may lead leading. (A
   * replica can be offline from birth: a topic created again under the name of one whose log is
   * still in an offline directory.)
   */
  private initialState(replicas: readonly number[], topic: string, partition: number): Decision {
    const liveness = this.liveness(topic, partition);
    const liveReplicas = replicas.filter((id) => liveness.isLive(id));
    if (liveReplicas.length === 0)
      return { leader: NO_LEADER, leaderEpoch: 0, isr: [replicas[0]!], replicas };
    const leader = liveReplicas.find((id) => liveness.mayLead(id)) ?? liveReplicas[0]!;
    return { leader, leaderEpoch: 0, isr: liveReplicas, replicas };
  }

  private liveBrokers(): { brokerId: number; rack: string | null }[] {
    return [...this.store.brokers().values()];
  }

  private *allPartitions(): Generator<{ topic: string; partition: number }> {
    for (const [topic, assignment] of this.store.topics()) {
      for (let partition = 0; partition < assignment.partitions.length; partition++)
        yield { topic, partition };
    }
  }
}
