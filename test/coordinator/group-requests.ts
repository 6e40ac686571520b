// Builders for the group coordinator's requests, so a test names only what it is about (who asks,
// in which generation, for which offsets) and the fields Kafka leaves at a default stay out of view.

import type {
  HeartbeatParams,
  OffsetCommitParams,
  SyncGroupParams,
} from '../../src/coordinator/group/group-requests.js';

/** Who sends a request: a member of one generation, or (memberId '', generation -1) no member. */
export interface Sender {
  groupId: string;
  memberId: string;
  generationId: number;
  groupInstanceId?: string | null;
}

/** A committer outside any generation: a simple consumer, or an admin tool. */
export function noMember(groupId: string): Sender {
  return { groupId, memberId: '', generationId: -1 };
}

export function heartbeatRequest(sender: Sender): HeartbeatParams {
  return { groupInstanceId: null, ...sender };
}

/** A SyncGroup without protocol type and name (as before v5); a follower sends no assignments. */
export function syncGroupRequest(
  sender: Sender,
  overrides: Partial<Omit<SyncGroupParams, keyof Sender>> = {},
): SyncGroupParams {
  return {
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [],
    ...sender,
    ...overrides,
  };
}

/** One committed offset; leader epoch unknown (-1) and no metadata unless given. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch?: number;
  metadata?: string | null;
}

/** An OffsetCommit of `offsets`, the offsets of one topic gathered into one topic entry. */
export function offsetCommitRequest(
  sender: Sender,
  offsets: readonly CommittedOffset[],
): OffsetCommitParams {
  const topics = new Map<string, OffsetCommitParams['topics'][number]>();
  for (const { topic, partition, offset, leaderEpoch = -1, metadata = null } of offsets) {
    let entry = topics.get(topic);
    if (entry === undefined) topics.set(topic, (entry = { name: topic, partitions: [] }));
    entry.partitions.push({ partition, offset, leaderEpoch, metadata });
  }
  return { groupInstanceId: null, ...sender, topics: [...topics.values()] };
}
