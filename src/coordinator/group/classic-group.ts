// One classic consumer group's in-memory state: its members, generation, selected protocol and
// committed offsets. The transitions are decided in `rebalance.ts`, `membership.ts` and
// `offset-store.ts`; this file holds the data and the rules that only read it (protocol vote, who
// may join, what is valid from which state). The state changes only through `transitionTo`,
// which refuses a transition the diagram does not have.
//
//            ┌──────────── member joins / leaves / dies ─────────────┐
//            ▼                                                        │
//   Empty ─► PreparingRebalance ─► CompletingRebalance ─► Stable ─────┘
//     ▲          │ all members gone       (leader's SyncGroup)
//     └──────────┘
//   Empty ─► Dead   (deleted, or its offsets expired; back to Empty if the tombstones fail)
//   any   ─► Dead   (its partition unloaded: the group object is abandoned)
//
// Owned by one GroupCoordinator. Nothing here awaits.

import type { CoordinatorTimer } from './ports.js';
import { assert } from '../../util/assert.js';
import { ChangeMark } from '../../util/change-set.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const groupStates: readonly GroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
];

const validPreviousStates: Record<GroupState, readonly GroupState[]> = {
  // Dead → Empty only rolls back a deletion whose tombstones could not be written.
  Empty: ['PreparingRebalance', 'Dead'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupMemberInfo {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  skipAssignment: boolean;
  /** Only the leader gets the members (with their metadata for the selected protocol). */
  members: JoinGroupMemberInfo[];
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /**
   * The order in which this commit's append was issued to the offsets topic partition. Appends
   * settle in any order; a settled commit replaces the cached one only when it was issued later.
   */
  appendSequence: number;
}

export const emptyBuffer = Buffer.alloc(0);

export class GroupMember {
  protocols: GroupProtocol[];
  assignment: Buffer = emptyBuffer;
  /** Set while the member's JoinGroup is parked until the rebalance completes. */
  awaitingJoin: ((result: JoinGroupResult) => void) | null = null;
  /** Set while the member's SyncGroup is parked until the leader's assignment is stored. */
  awaitingSync: ((result: SyncGroupResult) => void) | null = null;
  /** True from its first join until the rebalance that admits it completes. */
  isNew = false;
  /** Monotonic deadline of the member's session (or of its first join, while new). */
  sessionDeadlineMs = 0;
  sessionTimer: CoordinatorTimer | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    protocols: GroupProtocol[],
  ) {
    this.protocols = protocols;
  }

  metadataFor(protocolName: string): Buffer {
    const protocol = this.protocols.find((candidate) => candidate.name === protocolName);
    assert(
      protocol !== undefined,
      `member ${this.memberId} does not support protocol ${protocolName}`,
    );
    return protocol.metadata;
  }

  /** Same protocols, in the same order, with the same metadata. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every(
      (protocol, index) =>
        protocol.name === this.protocols[index].name &&
        protocol.metadata.equals(this.protocols[index].metadata),
    );
  }
}

export class ClassicGroup {
  private currentState: GroupState;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined with them yet. */
  readonly pendingMembers = new Map<string, CoordinatorTimer>();
  /** group.instance.id → member id, for static members. */
  readonly staticMembers = new Map<string, string>();
  /** Members the completed join told about the new generation that have not synced yet. */
  readonly pendingSyncMembers = new Set<string>();
  pendingSyncTimer: CoordinatorTimer | null = null;
  /** The delayed join: completes the rebalance on its timeout or when everyone has joined. */
  joinTimer: CoordinatorTimer | null = null;
  /** Set while the first rebalance of an Empty group is delayed (initial rebalance delay). */
  initialJoinRemainingMs: number | null = null;
  newMemberAdded = false;
  /** Wall-clock milliseconds of the last state change; survives restarts in group metadata. */
  currentStateTimestampMs: number;
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /**
   * Registers (util/change-set.ts) whenever the state, the member count or a committed offset
   * moves: a metrics scrape re-reads only the groups whose mark registered (and those reading a
   * partition whose end moved, which it tracks itself).
   */
  readonly figuresChanges = new ChangeMark();

  constructor(
    readonly groupId: string,
    /** The `__consumer_offsets` partition this group's records go to. */
    readonly offsetsPartition: number,
    wallClockNowMs: number,
    /** A group loaded from its metadata starts Stable when it has members. */
    initialState: 'Empty' | 'Stable' = 'Empty',
  ) {
    this.currentState = initialState;
    this.currentStateTimestampMs = wallClockNowMs;
  }

  get state(): GroupState {
    return this.currentState;
  }

  /** For code that fills `members` or `offsets` directly (loading): the figures moved. */
  figuresMoved(): void {
    this.figuresChanges.changed();
  }

  transitionTo(state: GroupState, wallClockNowMs: number): void {
    assert(
      validPreviousStates[state].includes(this.currentState),
      `group ${this.groupId} cannot go from ${this.currentState} to ${state}`,
    );
    this.currentState = state;
    this.currentStateTimestampMs = wallClockNowMs;
    this.figuresMoved();
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  addMember(member: GroupMember): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    this.figuresMoved();
    if (member.groupInstanceId !== null) {
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.leaderId === null) this.leaderId = member.memberId;
  }

  removeMember(memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    this.members.delete(memberId);
    this.figuresMoved();
    if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    this.pendingSyncMembers.delete(memberId);
    member.sessionTimer?.cancel();
    member.sessionTimer = null;
    if (this.leaderId === memberId) {
      // Prefer a member that has already rejoined, so the rebalance can complete with a leader.
      let next: string | null = null;
      for (const candidate of this.members.values()) {
        if (candidate.awaitingJoin !== null) {
          next = candidate.memberId;
          break;
        }
      }
      this.leaderId = next ?? this.members.keys().next().value ?? null;
    }
    return member;
  }

  /** Gives a static member its new member id, keeping its place (and leadership) in the group. */
  replaceStaticMemberId(oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId);
    assert(
      member !== undefined && member.groupInstanceId !== null,
      `${oldMemberId} is not a static member of ${this.groupId}`,
    );
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    this.staticMembers.set(member.groupInstanceId, newMemberId);
    this.pendingSyncMembers.delete(oldMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    return member;
  }

  /** An instance id is fenced when it belongs to a member other than the caller. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const owner = this.staticMembers.get(groupInstanceId);
    return owner !== undefined && owner !== memberId;
  }

  /** The longest rebalance timeout of the members: how long a rebalance waits for rejoins. */
  rebalanceTimeoutMs(): number {
    let longest = 0;
    for (const member of this.members.values()) {
      longest = Math.max(longest, member.rebalanceTimeoutMs);
    }
    return longest;
  }

  awaitingJoinCount(): number {
    let count = 0;
    for (const member of this.members.values()) if (member.awaitingJoin !== null) count++;
    return count;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.awaitingJoinCount() && this.pendingMembers.size === 0;
  }

  /** Protocols every current member supports (all of a new member's when the group is empty). */
  private commonProtocols(): Set<string> {
    let common: Set<string> | null = null;
    for (const member of this.members.values()) {
      const names = new Set(member.protocols.map((protocol) => protocol.name));
      if (common === null) {
        common = names;
      } else {
        for (const name of common) if (!names.has(name)) common.delete(name);
      }
    }
    return common ?? new Set();
  }

  /** Whether a member with these protocols may join (Kafka's `supportsProtocols`). */
  supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    const common = this.commonProtocols();
    return protocols.some((protocol) => common.has(protocol.name));
  }

  /**
   * Kafka's vote: among the protocols every member supports, each member votes for the first
   * of its own preferences; the protocol with the most votes wins (ties go to the candidate
   * that came first in the leader's preference order).
   */
  selectProtocol(): string {
    const candidates = this.commonProtocols();
    assert(candidates.size > 0, `group ${this.groupId} has no protocol every member supports`);
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.protocols.find((protocol) => candidates.has(protocol.name));
      if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    const order = (leader ?? this.members.values().next().value!).protocols
      .map((protocol) => protocol.name)
      .filter((name) => candidates.has(name));
    let best = order[0];
    for (const name of order) {
      if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
    }
    return best;
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  offsetCount(): number {
    let count = 0;
    for (const partitions of this.offsets.values()) count += partitions.size;
    return count;
  }

  getOffset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, committed: CommittedOffset): void {
    let partitions = this.offsets.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.offsets.set(topic, partitions);
    }
    const current = partitions.get(partition);
    if (current === undefined || current.appendSequence < committed.appendSequence) {
      partitions.set(partition, committed);
      this.figuresMoved();
    }
  }

  /** Deletes the offset unless a commit issued after the deletion has already replaced it. */
  deleteOffset(topic: string, partition: number, appendSequence = Infinity): void {
    const partitions = this.offsets.get(topic);
    if (partitions === undefined) return;
    const current = partitions.get(partition);
    if (current === undefined || current.appendSequence > appendSequence) return;
    partitions.delete(partition);
    if (partitions.size === 0) this.offsets.delete(topic);
    this.figuresMoved();
  }
}
