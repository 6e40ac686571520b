import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Liveness,
  nextStateOnLiveness,
  preferredElection,
  reassignedState,
  uncleanElection,
} from '../../src/cluster/leadership-rules.js';
import { NO_LEADER, type PartitionState } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/errors.js';

function liveness(live: number[], shuttingDown: number[] = []): Liveness {
  return {
    isLive: (id) => live.includes(id),
    mayLead: (id) => live.includes(id) && !shuttingDown.includes(id),
  };
}

const state: PartitionState = {
  leader: 1,
  leaderEpoch: 4,
  isr: [1, 2, 3],
  replicas: [1, 2, 3],
  partitionEpoch: 9,
};

test('a leader in controlled shutdown hands over to the next in-sync replica and stays in the ISR', () => {
  assert.deepEqual(nextStateOnLiveness(state, liveness([1, 2, 3], [1]), false), {
    ...state,
    leader: 2,
    leaderEpoch: 5,
  });
  // Its follower shutting down changes nothing; neither does a leader with no one to take over.
  assert.equal(nextStateOnLiveness(state, liveness([1, 2, 3], [2]), false), null);
  const alone = { ...state, isr: [1] };
  assert.equal(nextStateOnLiveness(alone, liveness([1, 2, 3], [1]), false), null);
});

test('a dead leader is replaced by a live in-sync replica that is not shutting down', () => {
  assert.deepEqual(nextStateOnLiveness(state, liveness([2, 3], [2]), false), {
    ...state,
    leader: 3,
    leaderEpoch: 5,
    isr: [2, 3],
  });
});

test('elections answer in Kafka’s error codes when there is nothing to do', () => {
  assert.equal(preferredElection(state, liveness([1, 2, 3])), ErrorCode.ELECTION_NOT_NEEDED);
  const moved = { ...state, leader: 2 };
  assert.equal(
    preferredElection(moved, liveness([1, 2, 3], [1])),
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  );
  assert.deepEqual(preferredElection(moved, liveness([1, 2, 3])), {
    ...moved,
    leader: 1,
    leaderEpoch: 5,
  });
  assert.equal(uncleanElection(state, liveness([1, 2, 3])), ErrorCode.ELECTION_NOT_NEEDED);
  const offline = { ...state, leader: NO_LEADER, isr: [1] };
  assert.equal(uncleanElection(offline, liveness([])), ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
  assert.deepEqual(uncleanElection(offline, liveness([3])), {
    ...offline,
    leader: 3,
    leaderEpoch: 5,
    isr: [3],
  });
});

test('the end of a reassignment keeps only the target replicas, with a target leading', () => {
  assert.deepEqual(reassignedState(state, [3, 2], liveness([1, 2, 3])), {
    ...state,
    leader: 3,
    leaderEpoch: 5,
    isr: [2, 3],
    replicas: [3, 2],
  });
  assert.deepEqual(reassignedState(state, [2, 1], liveness([1, 2, 3])), {
    ...state,
    isr: [1, 2],
    replicas: [2, 1],
  });
  assert.equal(reassignedState({ ...state, isr: [1] }, [2, 3], liveness([1, 2, 3])), null);
});
