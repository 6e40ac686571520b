// A cluster broker's replication as the metrics show it (src/observability/replication-metrics.ts
// names the figures): read from the cluster view and the partitions this broker holds on each
// scrape, and the ISR changes of the partitions it leads as the view reports them.
//
// The ISR counters watch the view rather than the ISR manager: an ISR changes by the leader's own
// write (a lagging follower) or by the controller's (a broker whose session ended), and both reach
// the leader through the view. A change counts where the same broker led before and after it; a
// new leader's first ISR is not a change. Nothing is kept but the last ISR size of each partition
// led here. Everything runs on the event loop, on a scrape or a view change.

import type { ClusterView } from '../metadata/cluster-metadata.js';
import { NO_LEADER } from '../metadata/cluster-metadata.js';
import type { ReplicationSnapshot } from '../observability/replication-metrics.js';
import type { Partition } from '../replica/partition.js';

export interface ClusterReplicationSources {
  readonly brokerId: number;
  readonly view: ClusterView;
  readonly partition: (topic: string, partition: number) => Partition | undefined;
  readonly minInsyncReplicasOf: (topic: string) => number;
  readonly fetcherConnections: () => ReadonlyArray<{ leaderId: number; connected: boolean }>;
}

export function clusterReplication(sources: ClusterReplicationSources): ReplicationSnapshot {
  const { brokerId, view } = sources;
  const controller = view.controller();
  const activeController = controller !== null && controller.brokerId === brokerId;
  const liveBrokers = view.brokers();
  const now = Date.now();
  let partitions = 0;
  let leaders = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  let offline = 0;
  const followerLags: Array<ReplicationSnapshot['followerLags'][number]> = [];
  for (const topic of view.topics().values()) {
    let minInsyncReplicas: number | undefined;
    for (let index = 0; index < topic.partitions.length; index++) {
      const state = view.partitionState(topic.name, index);
      if (state === undefined) continue;
      if (activeController && (state.leader === NO_LEADER || !liveBrokers.has(state.leader)))
        offline++;
      if (!state.replicas.includes(brokerId)) continue;
      partitions++;
      if (state.leader !== brokerId) continue;
      const partition = sources.partition(topic.name, index);
      const replication = partition?.replicaState;
      // Led here only once the leadership is taken up in the view's epoch.
      if (partition === undefined || replication == null) continue;
      if (partition.leaderEpoch !== state.leaderEpoch) continue;
      leaders++;
      const isrSize = replication.isr.length;
      if (isrSize < state.replicas.length) underReplicated++;
      minInsyncReplicas ??= sources.minInsyncReplicasOf(topic.name);
      if (isrSize < minInsyncReplicas) underMinIsr++;
      const logEndOffset = partition.logEndOffset;
      for (const follower of state.replicas) {
        if (follower === brokerId) continue;
        const known = replication.follower(follower);
        const fetchOffset = known?.fetchOffset ?? -1;
        const lagRecords = Math.max(0, logEndOffset - Math.max(0, fetchOffset));
        // Kafka's replica.lag.time.max.ms notion: caught up now, or for how long it has not been
        // (the replica state stamps its times with Date.now).
        const lagSeconds =
          known === undefined || lagRecords === 0
            ? 0
            : Math.max(0, now - known.lastCaughtUpTimeMs) / 1000;
        followerLags.push({
          topic: topic.name,
          partition: index,
          follower,
          lagRecords,
          lagSeconds,
        });
      }
    }
  }
  return {
    partitions,
    leaders,
    underReplicated,
    underMinIsr,
    offline,
    activeController,
    followerLags,
    fetcherConnections: sources.fetcherConnections(),
  };
}

/**
 * Calls `shrunk` / `expanded` each time the ISR of a partition this broker leads gets smaller or
 * larger in the view, while the same broker leads it. Returns the unsubscribe function.
 */
export function watchIsrChanges(
  brokerId: number,
  view: ClusterView,
  changed: (change: 'shrink' | 'expand') => void,
): () => void {
  /** topic → per partition: the ISR size last seen while this broker led it, else -1. */
  const ledIsrSizes = new Map<string, number[]>();
  const seen = (topic: string, partition: number): void => {
    const state = view.partitionState(topic, partition);
    let sizes = ledIsrSizes.get(topic);
    if (sizes === undefined) ledIsrSizes.set(topic, (sizes = []));
    const before = sizes[partition] ?? -1;
    const now = state !== undefined && state.leader === brokerId ? state.isr.length : -1;
    sizes[partition] = now;
    if (before === -1 || now === -1 || before === now) return;
    changed(now < before ? 'shrink' : 'expand');
  };
  for (const topic of view.topics().values())
    for (let index = 0; index < topic.partitions.length; index++) seen(topic.name, index);
  return view.subscribe((change) => {
    if (change.kind === 'partition') seen(change.topic, change.partition);
    else if (change.kind === 'topic' && !view.topics().has(change.topic))
      ledIsrSizes.delete(change.topic);
  });
}
