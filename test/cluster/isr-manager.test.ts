// The leader's ISR expansion (isr-manager.ts) against a real ReplicaState, with a write that etcd
// takes but whose outcome the view never brings back: the leader is cut off from etcd right
// after. The controller may then elect the follower the write added (it is in the ISR etcd
// holds), so the leader must not acknowledge what that follower has not fetched.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsrManager } from '../../src/cluster/isr-manager.js';
import { StaticClusterView } from '../../src/cluster/static-cluster-view.js';
import type { PartitionState } from '../../src/metadata/cluster-metadata.js';
import type { Partition } from '../../src/replica/partition.js';
import { ReplicaState } from '../../src/replica/replica-state.js';

const TOPIC = 'expanding';

function setUp() {
  const initial: PartitionState = {
    leader: 1,
    leaderEpoch: 0,
    isr: [1, 2],
    replicas: [1, 2, 3],
    partitionEpoch: 3,
  };
  const view = new StaticClusterView({
    clusterId: 'isr-manager-test',
    brokers: [1, 2, 3].map((brokerId) => ({
      brokerId,
      host: '127.0.0.1',
      port: 9091 + brokerId,
      rack: null,
    })),
    topics: [{ name: TOPIC, topicId: Buffer.alloc(16, 1), partitions: [[1, 2, 3]], configs: {} }],
    partitionStates: { [`${TOPIC}-0`]: initial },
  });
  const replicaState = new ReplicaState(1, initial, 0);
  const partition = { leaderEpoch: 0, replicaState } as unknown as Partition;
  const written: PartitionState[] = [];
  const manager = new IsrManager({
    brokerId: 1,
    view,
    partition: () => partition,
    replicaLagTimeMaxMs: 60_000,
    // etcd takes every write; the view is not told (the leader is cut off).
    writePartitionState: async (_topic, _partition, expectedPartitionEpoch, next) => {
      const state = { ...next, partitionEpoch: expectedPartitionEpoch + 1 };
      written.push(state);
      return state;
    },
  });
  return { initial, replicaState, manager, written };
}

test('a follower the leader asked etcd to take back into the ISR holds the high watermark before the view says so', async () => {
  const { replicaState, manager, written } = setUp();
  replicaState.recordFetch(2, 10, 10);
  replicaState.recordFetch(3, 10, 10);
  assert.equal(replicaState.highWatermark(10), 10);

  await manager.check();
  assert.deepEqual(
    written.map((state) => state.isr),
    [[1, 2, 3]],
  );
  // Broker 2 fetches on; broker 3, in the ISR etcd holds, does not.
  replicaState.recordFetch(2, 20, 20);
  assert.equal(replicaState.highWatermark(20), 10, 'acknowledged beyond what broker 3 holds');

  // The view brings the write: broker 3 is an ISR member like the others.
  replicaState.updateAssignment(written[0]!);
  replicaState.recordFetch(3, 20, 20);
  assert.equal(replicaState.highWatermark(20), 20);
});

test('a follower asked into the ISR stops holding the high watermark once a later state without it comes', async () => {
  const { initial, replicaState, manager } = setUp();
  replicaState.recordFetch(2, 10, 10);
  replicaState.recordFetch(3, 10, 10);
  await manager.check();
  replicaState.recordFetch(2, 20, 20);
  assert.equal(replicaState.highWatermark(20), 10);

  // Another write beat this one (the controller's, at the next partition epoch): broker 3 is not in.
  replicaState.updateAssignment({ ...initial, partitionEpoch: initial.partitionEpoch + 1 });
  assert.equal(replicaState.highWatermark(20), 20);
});
