// ISR changes decided by a partition's leader and written to etcd (Kafka's AlterPartition):
//
//   every checkIntervalMs, for each partition this broker leads in the view's leader epoch:
//     shrink: ISR followers that have not caught up for replica.lag.time.max.ms leave
//     expand: live followers outside the ISR that fetched up to the high watermark recently join
//     ──► updatePartitionState(expected partitionEpoch = the one the view holds)
//
// The write compares the partition epoch, so a leader that was deposed meanwhile (the controller
// wrote a new leader epoch, which raised the partition epoch) is refused and changes nothing; the
// value carries the leader and leader epoch unchanged. Once etcd has the new ISR, the view's
// watch brings it to the replica fetcher, which installs it in the partition's ReplicaState
// (Partition.updateReplicaAssignment): the leader acts on an ISR only once etcd holds it, so a
// shrink never lowers the high watermark's bar before the cluster agrees on it. An expansion
// raises the bar at once (ReplicaState.expectIsrMembers, before the write): etcd may take the
// write while this leader, cut off, never hears of it, and the controller may then elect a
// follower the leader did not yet wait for.
//
// Produce never waits on any of this: a produce waits for the high watermark, which a shrink
// (installed from the view) lets move on.
//
// Owned by the broker. Passes never interleave (a timer tick during a pass is skipped); a pass's
// awaits are etcd writes, during which the view may change: the next pass sees it.

import type { ClusterView, PartitionState } from '../metadata/cluster-metadata.js';
import type { Partition } from '../replica/partition.js';
import { ClusterErrorCode } from './errors.js';

export interface IsrManagerOptions {
  readonly brokerId: number;
  readonly view: ClusterView;
  /** The compare-and-swap write of a partition state (EtcdMetadataStore.updatePartitionState, unfenced). */
  readonly writePartitionState: (
    topic: string,
    partition: number,
    expectedPartitionEpoch: number,
    next: Omit<PartitionState, 'partitionEpoch'>,
  ) => Promise<PartitionState>;
  readonly partition: (topic: string, partition: number) => Partition | undefined;
  /** replica.lag.time.max.ms. */
  readonly replicaLagTimeMaxMs: number;
  /** How often led partitions are looked at (default: half the lag time, at most 250 ms). */
  readonly checkIntervalMs?: number;
  readonly log?: (message: string, error?: unknown) => void;
  readonly clock?: () => number;
}

const CHECK_INTERVAL_MS_MAX = 250;

export class IsrManager {
  private timer: NodeJS.Timeout | undefined;
  private passRunning: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly options: IsrManagerOptions) {}

  start(): void {
    const intervalMs =
      this.options.checkIntervalMs ??
      Math.max(1, Math.min(CHECK_INTERVAL_MS_MAX, this.options.replicaLagTimeMaxMs / 2));
    this.timer = setInterval(() => {
      if (this.passRunning !== undefined) return;
      this.passRunning = this.check().finally(() => (this.passRunning = undefined));
    }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.passRunning;
  }

  /** One pass over the partitions led here; writes each ISR that should change. */
  async check(): Promise<void> {
    for (const topic of this.options.view.topics().values()) {
      for (let index = 0; index < topic.partitions.length; index++) {
        const state = this.options.view.partitionState(topic.name, index);
        if (state === undefined || state.leader !== this.options.brokerId) continue;
        const isr = this.nextIsr(topic.name, index, state);
        if (isr === null) continue;
        const joining = isr.filter((brokerId) => !state.isr.includes(brokerId));
        if (joining.length > 0)
          this.options
            .partition(topic.name, index)
            ?.replicaState?.expectIsrMembers(joining, state.partitionEpoch);
        try {
          await this.options.writePartitionState(topic.name, index, state.partitionEpoch, {
            leader: state.leader,
            leaderEpoch: state.leaderEpoch,
            replicas: state.replicas,
            isr,
          });
          this.failing = false;
        } catch (error) {
          // A newer state (controller, or our own earlier write): the next pass decides on it.
          if ((error as { code?: string }).code === ClusterErrorCode.STALE_PARTITION_EPOCH)
            continue;
          if (!this.failing)
            this.options.log?.(
              `changing the ISR of ${topic.name}-${index} to [${isr.join(', ')}] failed; retrying`,
              error,
            );
          this.failing = true;
          return;
        }
      }
    }
  }

  /** The ISR the leader wants for this partition, in replica order, or null to keep it. */
  private nextIsr(topic: string, index: number, state: PartitionState): number[] | null {
    const partition = this.options.partition(topic, index);
    const replication = partition?.replicaState;
    // Only a leadership taken up in the view's epoch decides (the fetcher installs it).
    if (partition === undefined || replication == null) return null;
    if (partition.leaderEpoch !== state.leaderEpoch) return null;
    const lagTimeMaxMs = this.options.replicaLagTimeMaxMs;
    const now = (this.options.clock ?? Date.now)();
    const live = this.options.view.brokers();
    const leaving = new Set(replication.laggingFollowers(lagTimeMaxMs));
    // A follower rejoins only while alive and fetching: a dead broker's last fetch offset may
    // still reach the high watermark when nothing was produced since. One that reports its
    // replica offline (its log failed after its last fetch) stays out: the controller took it out.
    const joining = new Set(
      replication
        .caughtUpFollowers()
        .filter(
          (brokerId) =>
            live.has(brokerId) &&
            !this.options.view.isReplicaOffline(brokerId, topic, index) &&
            now - (replication.follower(brokerId)?.lastFetchTimeMs ?? -Infinity) <= lagTimeMaxMs,
        ),
    );
    if (leaving.size === 0 && joining.size === 0) return null;
    const isr = state.replicas.filter(
      (brokerId) =>
        brokerId === state.leader ||
        joining.has(brokerId) ||
        (state.isr.includes(brokerId) && !leaving.has(brokerId)),
    );
    const same = isr.length === state.isr.length && isr.every((id) => state.isr.includes(id));
    return same ? null : isr;
  }
}
