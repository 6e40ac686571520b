// Which broker leads a partition, as the handlers of the data path ask it: Produce, Fetch,
// ListOffsets, DeleteRecords and OffsetForLeaderEpoch are served only by the leader, and a
// request that reaches another broker is answered NOT_LEADER_OR_FOLLOWER with the view's leader
// (KIP-951's current-leader fields where the version has them). Answered from the in-memory view,
// so the data path never waits on etcd.

import type { BrokerEndpoint, ClusterView } from '../metadata/cluster-metadata.js';

export interface CurrentLeader {
  /** A broker id, or -1 when the partition has no leader at the moment. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface PartitionLeadership {
  /**
   * Null where this broker leads the partition, or where the cluster does not know it (internal
   * topics, unknown partitions: the handler's own lookup answers); otherwise the current leader.
   */
  notLeader(topic: string, partition: number): CurrentLeader | null;
  /** Where clients reach a broker (KIP-951's node endpoints). */
  endpoint(brokerId: number): BrokerEndpoint | undefined;
}

export function viewLeadership(view: ClusterView, brokerId: number): PartitionLeadership {
  return {
    notLeader(topic, partition) {
      const state = view.partitionState(topic, partition);
      if (state === undefined || state.leader === brokerId) return null;
      return { leaderId: state.leader, leaderEpoch: state.leaderEpoch };
    },
    endpoint: (id) => view.brokers().get(id),
  };
}

/** KIP-951: where the leaders named in a response are reached (Produce v10+, Fetch v16+). */
export function leaderNodeEndpoints(
  leadership: PartitionLeadership | undefined,
  brokerIds: ReadonlySet<number>,
) {
  return [...brokerIds].flatMap((brokerId) => {
    const endpoint = leadership?.endpoint(brokerId);
    return endpoint === undefined
      ? []
      : [{ nodeId: brokerId, host: endpoint.host, port: endpoint.port, rack: endpoint.rack }];
  });
}
