// The controller's leadership rules as pure functions of a partition's state and who is alive:
// what a broker's loss or controlled shutdown, an election, or the end of a reassignment makes of
// a partition. No etcd and no I/O here; controller.ts reads the view, calls these, and writes the
// result with a fenced compare-and-swap.
//
// Shared by all of them: a leader is always an ISR member (or NO_LEADER), the ISR is never
// empty, and the leader epoch goes up exactly when the leader changes.

import { NO_LEADER, type PartitionState } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/index.js';

/** A partition state without its partition epoch: what a rule decides, before it is written. */
export type Decision = Omit<PartitionState, 'partitionEpoch'>;

/**
 * Who is alive for one partition: the controller asks it per partition, since a broker that
 * reports its replica of the partition offline (KIP-112) is dead for that partition alone.
 */
export interface Liveness {
  /** Registered (its lease is alive), and its replica of the partition is not offline. */
  isLive(brokerId: number): boolean;
  /** Alive and not in controlled shutdown: may take a leadership. */
  mayLead(brokerId: number): boolean;
}

/**
 * The partition's next state given the live brokers, or null when nothing changes. A broker in
 * controlled shutdown is alive but takes no leadership: a partition it leads moves to another
 * live ISR member, and it stays in the ISR (it is still in sync) until its registration goes.
 */
export function nextStateOnLiveness(
  state: PartitionState,
  liveness: Liveness,
  uncleanAllowed: boolean,
): Decision | null {
  const eligible = (id: number): boolean => liveness.mayLead(id);
  const liveIsr = state.isr.filter((id) => liveness.isLive(id));
  const leaderAlive = state.leader !== NO_LEADER && liveness.isLive(state.leader);
  if (leaderAlive) {
    if (!eligible(state.leader)) {
      const successor = state.replicas.find((id) => liveIsr.includes(id) && eligible(id));
      if (successor !== undefined) {
        return {
          ...state,
          leader: successor,
          leaderEpoch: state.leaderEpoch + 1,
          isr: liveIsr,
        };
      }
    }
    if (liveIsr.length === state.isr.length) return null;
    return { ...state, isr: liveIsr };
  }
  // A broker shutting down leads only when no other in-sync replica is alive.
  const inSync = state.replicas.filter((id) => liveIsr.includes(id));
  const inSyncLeader = inSync.find(eligible) ?? inSync[0];
  if (inSyncLeader !== undefined) {
    return { ...state, leader: inSyncLeader, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr };
  }
  const liveReplicas = state.replicas.filter((id) => liveness.isLive(id));
  const uncleanLeader = liveReplicas.find(eligible) ?? liveReplicas[0];
  if (uncleanAllowed && uncleanLeader !== undefined) {
    return {
      ...state,
      leader: uncleanLeader,
      leaderEpoch: state.leaderEpoch + 1,
      isr: [uncleanLeader],
    };
  }
  if (state.leader === NO_LEADER) return null;
  // Offline: no leader, and the ISR keeps the last leader, the only replica known to hold every
  // acknowledged record, so it alone may lead when it returns.
  return { ...state, leader: NO_LEADER, leaderEpoch: state.leaderEpoch + 1, isr: [state.leader] };
}

/** The state with the preferred replica leading, or the error code saying why not. */
export function preferredElection(state: PartitionState, liveness: Liveness): Decision | number {
  const preferred = state.replicas[0]!;
  if (state.leader === preferred) return ErrorCode.ELECTION_NOT_NEEDED;
  if (!liveness.mayLead(preferred) || !state.isr.includes(preferred))
    return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
  return { ...state, leader: preferred, leaderEpoch: state.leaderEpoch + 1 };
}

/** A leader for a partition without one, out of sync if need be, or the error code. */
export function uncleanElection(state: PartitionState, liveness: Liveness): Decision | number {
  if (state.leader !== NO_LEADER && liveness.isLive(state.leader))
    return ErrorCode.ELECTION_NOT_NEEDED;
  const liveIsr = state.isr.filter((id) => liveness.isLive(id));
  const inSync = state.replicas.filter((id) => liveIsr.includes(id));
  const inSyncLeader = inSync.find((id) => liveness.mayLead(id)) ?? inSync[0];
  if (inSyncLeader !== undefined)
    return { ...state, leader: inSyncLeader, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr };
  const liveReplicas = state.replicas.filter((id) => liveness.isLive(id));
  const leader = liveReplicas.find((id) => liveness.mayLead(id)) ?? liveReplicas[0];
  if (leader === undefined) return ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE;
  return { ...state, leader, leaderEpoch: state.leaderEpoch + 1, isr: [leader] };
}

/** The state with only `replicas` left, a leader among them; null if none of them is in sync. */
export function reassignedState(
  state: PartitionState,
  replicas: readonly number[],
  liveness: Liveness,
): Decision | null {
  const isr = state.isr.filter((id) => replicas.includes(id));
  if (isr.length === 0) return null;
  const leaderStays = isr.includes(state.leader) && liveness.mayLead(state.leader);
  const leader = leaderStays
    ? state.leader
    : (replicas.find((id) => isr.includes(id) && liveness.mayLead(id)) ??
      (isr.includes(state.leader) ? state.leader : NO_LEADER));
  return {
    ...state,
    leader,
    leaderEpoch: leader === state.leader ? state.leaderEpoch : state.leaderEpoch + 1,
    isr,
    replicas,
  };
}
