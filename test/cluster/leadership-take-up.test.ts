// A produce that reaches a broker the view names leader before it has taken the leadership up
// waits for the take-up instead of being refused: an idempotent producer's pipelined batches would
// otherwise be refused NOT_LEADER_OR_FOLLOWER up to the take-up and the next one accepted after
// it, out of sequence (librdkafka stopped on a fatal OUT_OF_ORDER_SEQUENCE_NUMBER in
// cluster-sigkill). The wait ends at the take-up, when the view moves on, or at its bound.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PartitionState } from '../../src/metadata/cluster-metadata.js';
import { StaticClusterView } from '../../src/cluster/static-cluster-view.js';
import { viewLeadership } from '../../src/cluster/partition-leadership.js';

const THIS_BROKER = 1;

function ledBy(leader: number, leaderEpoch: number): PartitionState {
  return { leader, leaderEpoch, isr: [1, 2], replicas: [1, 2], partitionEpoch: leaderEpoch };
}

/** A view, the epoch this broker has taken up, and the term changes a partition would announce. */
function fixture() {
  const view = new StaticClusterView({
    clusterId: 'take-up',
    brokers: [1, 2].map((brokerId) => ({ brokerId, host: '127.0.0.1', port: 1, rack: null })),
    topics: [{ name: 'orders', topicId: Buffer.alloc(16, 1), partitions: [[1, 2]], configs: {} }],
  });
  view.setPartitionState('orders', 0, ledBy(2, 4));
  let takenUp = -1;
  const waiters: (() => void)[] = [];
  const leadership = viewLeadership(
    view,
    THIS_BROKER,
    (_topic, _partition, epoch) => takenUp === epoch,
    (_topic, _partition, timeoutMs) =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, timeoutMs).unref();
      }),
  );
  const changeTerm = (): void => {
    for (const resolve of waiters.splice(0)) resolve();
  };
  return {
    view,
    leadership,
    takeUp(epoch: number) {
      takenUp = epoch;
      changeTerm();
    },
    changeTerm,
  };
}

test('no wait where another broker leads, or once the leadership is taken up', () => {
  const { view, leadership, takeUp } = fixture();
  assert.equal(leadership.takingUp!('orders', 0, 1_000), undefined);
  assert.deepEqual(leadership.notLeader('orders', 0), { leaderId: 2, leaderEpoch: 4 });
  view.setPartitionState('orders', 0, ledBy(THIS_BROKER, 5));
  takeUp(5);
  assert.equal(leadership.takingUp!('orders', 0, 1_000), undefined);
  assert.equal(leadership.notLeader('orders', 0), null);
});

test('waiters held through a take-up go on in the order they came, as leader', async () => {
  const { view, leadership, takeUp, changeTerm } = fixture();
  view.setPartitionState('orders', 0, ledBy(THIS_BROKER, 5));
  assert.deepEqual(leadership.notLeader('orders', 0), { leaderId: THIS_BROKER, leaderEpoch: 5 });
  const order: number[] = [];
  const held = [0, 1, 2].map((index) =>
    leadership.takingUp!('orders', 0, 10_000)!.then(() => {
      order.push(index);
      assert.equal(leadership.notLeader('orders', 0), null);
    }),
  );
  // A change of term that is not this epoch's take-up (stepping down from an older one) keeps
  // them waiting.
  changeTerm();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, []);
  takeUp(5);
  await Promise.all(held);
  assert.deepEqual(order, [0, 1, 2]);
});

test('the wait ends when the view gives the leadership to another broker, and at its bound', async () => {
  const { view, leadership, changeTerm } = fixture();
  view.setPartitionState('orders', 0, ledBy(THIS_BROKER, 5));
  const moved = leadership.takingUp!('orders', 0, 10_000)!;
  view.setPartitionState('orders', 0, ledBy(2, 6));
  changeTerm();
  await moved;
  assert.deepEqual(leadership.notLeader('orders', 0), { leaderId: 2, leaderEpoch: 6 });

  view.setPartitionState('orders', 0, ledBy(THIS_BROKER, 7));
  const startedMs = Date.now();
  await leadership.takingUp!('orders', 0, 100)!;
  assert.ok(Date.now() - startedMs >= 90, 'waited for its bound');
  assert.deepEqual(leadership.notLeader('orders', 0), { leaderId: THIS_BROKER, leaderEpoch: 7 });
});
