// The session fence of one cluster member (broker-registry.ts, session-fenced-view.ts), in process:
// member 1 reaches etcd through a TCP proxy the test cuts, member 2 directly. Cut off, member 1
// must fence itself (lead nothing, list only the others) while etcd still holds its registration,
// and lift the fence only once its registration is back and its view holds what happened
// meanwhile. (The same with broker processes and real clients: lease-loss.test.ts.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoordinatorLeadership } from '../../src/coordinator/coordinator-leadership.js';
import { NO_LEADER } from '../../src/metadata/cluster-metadata.js';
import { startTcpProxy } from '../faults/tcp-proxy.js';
import { ClusterMember } from '../../src/cluster/cluster-member.js';
import { joinMember, memberSettings, startEtcd, uniquePrefix } from '../helpers/etcd.js';
import { waitFor } from '../helpers/poll.js';

const etcd = await startEtcd();

async function proxiedEtcd() {
  const url = new URL(etcd.endpoint);
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
  return { proxy, endpoint: `http://127.0.0.1:${proxy.port}` };
}

test('a member cut off from etcd fences itself before etcd expires its lease, and unfences once registered again with the new leader in its view', async () => {
  const { proxy, endpoint } = await proxiedEtcd();
  const prefix = uniquePrefix();
  // Joined directly, not with joinMember: it leaves in this test, before its proxy closes.
  const one = await ClusterMember.join(memberSettings({ endpoint }, prefix, 1), {
    host: '127.0.0.1',
    port: 9001,
    connectTimeoutMs: 10_000,
  });
  const two = await joinMember(etcd, prefix, 2);
  try {
    const controller = await waitFor(
      () => [one, two].find((member) => member.controller.isController),
      'a controller',
    );
    await controller.controller.createTopic({ name: 'fenced', assignment: [[1, 2]] });
    const before = await waitFor(
      () => (one.view.partitionState('fenced', 0)?.leader === 1 ? one.view : undefined),
      'broker 1 leading fenced-0 in its view',
    );
    assert.equal(before.isFenced, false);
    // A coordinator of fenced-0's keys, as the group and transaction coordinators are of theirs.
    const coordinated: string[] = [];
    const coordinator = new CoordinatorLeadership(
      one.view,
      1,
      [
        {
          topic: 'fenced',
          loadPartition: async (partition) => void coordinated.push(`load ${partition}`),
          unloadPartition: (partition) => void coordinated.push(`unload ${partition}`),
        },
      ],
      () => undefined,
    );
    coordinator.start();
    assert.deepEqual(coordinated, ['load 0']);
    const events: string[] = [];
    let registeredElsewhereAtFence: boolean | undefined;
    one.registry.on('fenced', () => {
      events.push('fenced');
      registeredElsewhereAtFence = two.store.brokers().has(1);
    });
    one.registry.on('lost', () => events.push('lost'));
    one.registry.on('registered', () => events.push('registered'));
    one.registry.on('unfenced', () => events.push('unfenced'));

    proxy.partition();
    await waitFor(() => one.view.isFenced, 'broker 1 to fence itself', { timeoutMs: 10_000 });
    assert.equal(
      registeredElsewhereAtFence,
      true,
      'broker 1 fenced itself only after etcd had dropped its registration',
    );
    assert.equal(one.view.partitionState('fenced', 0)?.leader, NO_LEADER);
    assert.equal(one.store.partitionState('fenced', 0)?.leader, 1, 'etcd view unchanged');
    assert.deepEqual([...one.view.brokers().keys()], [2]);
    assert.deepEqual(coordinated, ['load 0', 'unload 0'], 'fenced, it coordinates nothing');

    // The controller moves the leadership once the lease has expired in etcd.
    const moved = await waitFor(
      () => {
        const state = two.store.partitionState('fenced', 0);
        return state?.leader === 2 ? state : undefined;
      },
      'broker 2 leading fenced-0',
      { timeoutMs: 15_000 },
    );
    proxy.heal();
    await waitFor(() => !one.view.isFenced, 'broker 1 to unfence', { timeoutMs: 15_000 });
    // Unfenced only with the new leader already in its view: never leading in the old epoch.
    assert.deepEqual(one.view.partitionState('fenced', 0), moved);
    assert.ok(one.view.brokers().has(1));
    assert.deepEqual(events, ['fenced', 'lost', 'registered', 'unfenced']);
    assert.deepEqual(coordinated, ['load 0', 'unload 0'], 'not loaded again: broker 2 leads');
    coordinator.stop();
  } finally {
    proxy.heal();
    await one.leave();
    await proxy.close();
  }
});

test('a lease that outlives a short etcd outage is kept: fenced while etcd is away, unfenced on the same lease', async () => {
  const prefix = uniquePrefix();
  // A 4 s session: fenced after about 3.6 s without a keep-alive, given up by etcd3 only at 8 s.
  const member = await joinMember(etcd, prefix, 1, { 'broker.session.timeout.ms': 4000 });
  const events: string[] = [];
  for (const event of ['fenced', 'lost', 'registered', 'unfenced'] as const)
    member.registry.on(event, () => events.push(event));
  const leaseBefore = member.registry.currentLease;

  await etcd.kill();
  await waitFor(() => member.view.isFenced, 'the member to fence itself', { timeoutMs: 10_000 });
  await etcd.restart();
  await waitFor(() => !member.view.isFenced, 'the member to unfence', { timeoutMs: 15_000 });
  // etcd renews every lease when it comes back, so the registration never went away.
  assert.deepEqual(events, ['fenced', 'unfenced']);
  assert.equal(member.registry.currentLease, leaseBefore);
});
