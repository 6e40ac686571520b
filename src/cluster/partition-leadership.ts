// Which broker leads a partition, as the handlers of the data path ask it: Produce, Fetch,
// ListOffsets, DeleteRecords and OffsetForLeaderEpoch are served only by the leader, and a
// request that reaches another broker is answered NOT_LEADER_OR_FOLLOWER with the view's leader
// (KIP-951's current-leader fields where the version has them). Answered from the in-memory view,
// so the data path never waits on etcd.

import { type ClusterView, endpointOn } from '../metadata/cluster-metadata.js';

/** A broker's address on one listener, with its rack. */
export interface ListenerAddress {
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

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
  /**
   * When the view names this broker the partition's leader but it has not yet taken the
   * leadership up (the replica fetcher is still making the partition leader), a promise that
   * settles once it has, once the view moves on, or after `timeoutMs`; otherwise undefined. A
   * produce waits on it rather than be answered NOT_LEADER_OR_FOLLOWER: an idempotent producer
   * pipelines its batches, and if the first ones were refused during the take-up and a later
   * one accepted after it, the later one would arrive out of sequence (librdkafka then stops
   * with a fatal OUT_OF_ORDER_SEQUENCE_NUMBER).
   */
  takingUp?(topic: string, partition: number, timeoutMs: number): Promise<void> | undefined;
  /**
   * True while this broker's etcd session is fenced (session-fenced-view.ts): a partition it
   * still leads then acknowledges every write only once the high watermark covers it, acks=1
   * included, since a successor may already be taking over.
   */
  fenced?(): boolean;
  /** Where clients of the named listener reach a broker (KIP-951's node endpoints). */
  endpoint(brokerId: number, listenerName?: string): ListenerAddress | undefined;
}

/**
 * `ledHere`, when given, says whether this broker has taken up the leadership in that epoch (the
 * replica fetcher made the partition leader, with its followers): until then the partition is
 * answered NOT_LEADER_OR_FOLLOWER naming this broker, so the client retries, instead of an
 * acks=all produce being acknowledged without waiting for the ISR.
 */
export function viewLeadership(
  view: ClusterView,
  brokerId: number,
  ledHere?: (topic: string, partition: number, leaderEpoch: number) => boolean,
  /** Resolves at the partition's next change of term (leader or follower), or after `timeoutMs`. */
  nextTerm?: (topic: string, partition: number, timeoutMs: number) => Promise<void>,
  /** Whether this broker's etcd session is fenced (see PartitionLeadership.fenced). */
  fenced?: () => boolean,
): PartitionLeadership {
  return {
    fenced: () => fenced?.() ?? false,
    notLeader(topic, partition) {
      const state = view.partitionState(topic, partition);
      if (state === undefined) return null;
      if (state.leader === brokerId && (ledHere?.(topic, partition, state.leaderEpoch) ?? true))
        return null;
      return { leaderId: state.leader, leaderEpoch: state.leaderEpoch };
    },
    takingUp(topic, partition, timeoutMs) {
      const state = view.partitionState(topic, partition);
      if (state === undefined || state.leader !== brokerId) return undefined;
      if (ledHere === undefined || nextTerm === undefined) return undefined;
      if (ledHere(topic, partition, state.leaderEpoch)) return undefined;
      const until = Date.now() + timeoutMs;
      // Each term change is looked at: the take-up may follow a step down from an older term.
      const wait = async (): Promise<void> => {
        for (;;) {
          const remaining = until - Date.now();
          if (remaining <= 0) return;
          await nextTerm(topic, partition, remaining);
          const now = view.partitionState(topic, partition);
          if (now === undefined || now.leader !== brokerId) return;
          if (ledHere(topic, partition, now.leaderEpoch)) return;
        }
      };
      return wait();
    },
    endpoint(id, listenerName) {
      const broker = view.brokers().get(id);
      const address = broker === undefined ? undefined : endpointOn(broker, listenerName);
      return address === undefined ? undefined : { ...address, rack: broker!.rack };
    },
  };
}

/** KIP-951: where the leaders named in a response are reached (Produce v10+, Fetch v16+). */
export function leaderNodeEndpoints(
  leadership: PartitionLeadership | undefined,
  brokerIds: ReadonlySet<number>,
  listenerName?: string,
) {
  return [...brokerIds].flatMap((brokerId) => {
    const endpoint = leadership?.endpoint(brokerId, listenerName);
    return endpoint === undefined
      ? []
      : [{ nodeId: brokerId, host: endpoint.host, port: endpoint.port, rack: endpoint.rack }];
  });
}
