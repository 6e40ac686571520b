import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterError } from '../../src/cluster/errors.js';
import {
  checkManualAssignment,
  placeAdditionalReplicas,
  placeReplicas,
} from '../../src/cluster/placement.js';
import { ErrorCode } from '../../src/protocol/index.js';

const brokers = (ids: number[], rackOf: (id: number) => string | null = () => null) =>
  ids.map((brokerId) => ({ brokerId, rack: rackOf(brokerId) }));

function count(values: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

describe('replica placement', () => {
  test("matches Kafka's layout for 5 brokers, 10 partitions, RF 3 with fixed seeds", () => {
    // Kafka's AdminRackAwareTest/AssignmentTest: startIndex 0, shift 0 over brokers 0..4.
    const assignment = placeReplicas(brokers([0, 1, 2, 3, 4]), 10, 3, {
      startIndex: 0,
      replicaShift: 0,
    });
    assert.deepEqual(assignment, [
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 0],
      [4, 0, 1],
      [0, 2, 3],
      [1, 3, 4],
      [2, 4, 0],
      [3, 0, 1],
      [4, 1, 2],
    ]);
  });

  test('leaders and replicas are balanced across brokers, never twice in one partition', () => {
    for (let trial = 0; trial < 20; trial++) {
      const assignment = placeReplicas(brokers([1, 2, 3, 4, 5, 6]), 12, 3);
      for (const replicas of assignment) assert.equal(new Set(replicas).size, 3);
      const leaders = count(assignment.map((replicas) => replicas[0]!));
      assert.deepEqual([...leaders.values()], [2, 2, 2, 2, 2, 2]);
      const replicas = count(assignment.flat());
      assert.deepEqual([...replicas.values()], [6, 6, 6, 6, 6, 6]);
    }
  });

  test('with racks, every partition spans min(RF, racks) racks and racks share leadership', () => {
    const rackOf = (id: number) => ['a', 'b', 'c'][id % 3]!;
    for (let trial = 0; trial < 20; trial++) {
      const assignment = placeReplicas(brokers([0, 1, 2, 3, 4, 5], rackOf), 6, 3);
      for (const replicas of assignment) {
        assert.equal(new Set(replicas.map(rackOf)).size, 3, `racks of ${replicas}`);
        assert.equal(new Set(replicas).size, 3);
      }
      const leaderRacks = assignment.map((replicas) => rackOf(replicas[0]!));
      for (const rack of ['a', 'b', 'c']) {
        assert.equal(leaderRacks.filter((leaderRack) => leaderRack === rack).length, 2);
      }
    }
    // Two racks, RF 3: both racks used, no broker twice.
    const twoRacks = (id: number) => (id % 2 === 0 ? 'east' : 'west');
    for (const replicas of placeReplicas(brokers([0, 1, 2, 3], twoRacks), 8, 3)) {
      assert.equal(new Set(replicas.map(twoRacks)).size, 2);
      assert.equal(new Set(replicas).size, 3);
    }
  });

  test('a replication factor above the live brokers is INVALID_REPLICATION_FACTOR', () => {
    assert.throws(
      () => placeReplicas(brokers([1, 2]), 3, 3),
      (error: unknown) =>
        error instanceof ClusterError &&
        error.kafkaErrorCode === ErrorCode.INVALID_REPLICATION_FACTOR &&
        /replication factor 3 is larger than the 2 live brokers/.test(error.message),
    );
  });

  test('new partitions continue the existing walk', () => {
    const all = brokers([0, 1, 2, 3, 4]);
    const whole = placeReplicas(all, 10, 3, { startIndex: 2, replicaShift: 1 });
    const added = placeAdditionalReplicas(all, whole.slice(0, 4), 6);
    assert.equal(added.length, 6);
    // The leaders continue round-robin from where partition 0's leader started.
    assert.deepEqual(
      added.map((replicas) => replicas[0]),
      whole.slice(4).map((replicas) => replicas[0]),
    );
    for (const replicas of added) assert.equal(new Set(replicas).size, 3);
  });

  test('a manual assignment naming an unknown broker is INVALID_REPLICA_ASSIGNMENT', () => {
    assert.throws(
      () =>
        checkManualAssignment(brokers([1, 2, 3]), [
          [1, 2],
          [2, 7],
        ]),
      (error: unknown) =>
        error instanceof ClusterError &&
        error.kafkaErrorCode === ErrorCode.INVALID_REPLICA_ASSIGNMENT &&
        /broker 7, not registered/.test(error.message),
    );
    assert.throws(
      () => checkManualAssignment(brokers([1, 2, 3]), [[1, 1]]),
      /names a broker twice/,
    );
    checkManualAssignment(brokers([1, 2, 3]), [
      [1, 2],
      [3, 1],
    ]);
  });
});
