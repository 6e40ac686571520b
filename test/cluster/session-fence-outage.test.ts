// The session fence through an etcd outage shorter than the lease's life in etcd (etcd renews every
// lease when it comes back): the member fences itself while etcd is away, then lifts the fence on
// the same lease, its registration never gone. One member on its own etcd, which the test kills.
// A member on its own has no partitions to answer for, so fenced it leads nothing; brokers go on
// leading what their followers still fetch (session-fence-cluster.test.ts). (A leader cut off
// from etcd alone, with broker processes and real clients: lease-loss.test.ts.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterMember } from '../../src/cluster/cluster-member.js';
import { EtcdProcess, memberSettings, uniquePrefix } from '../helpers/etcd.js';
import { waitFor } from '../helpers/poll.js';

test('a lease that outlives a short etcd outage is kept: fenced (the default) while etcd is away, unfenced on the same lease', async () => {
  const ownEtcd = await EtcdProcess.start();
  const prefix = uniquePrefix();
  // A 4 s session: fenced after about 3.6 s without a keep-alive, given up by etcd3 only at 8 s.
  const member = await ClusterMember.join(
    memberSettings(ownEtcd, prefix, 1, { 'broker.session.timeout.ms': 4000 }),
    { host: '127.0.0.1', port: 9001, connectTimeoutMs: 10_000 },
  );
  try {
    const events: string[] = [];
    for (const event of ['fenced', 'lost', 'registered', 'unfenced'] as const)
      member.registry.on(event, () => events.push(event));
    const leaseBefore = member.registry.currentLease;

    await ownEtcd.kill();
    await waitFor(() => member.view.isFenced, 'the member to fence itself', { timeoutMs: 10_000 });
    await ownEtcd.restart();
    await waitFor(() => !member.view.isFenced, 'the member to unfence', { timeoutMs: 15_000 });
    // etcd renews every lease when it comes back, so the registration never went away.
    assert.deepEqual(events, ['fenced', 'unfenced']);
    assert.equal(member.registry.currentLease, leaseBefore);
  } finally {
    await member.leave();
    await ownEtcd.stop();
  }
});

test('with broker.session.fence.enable off an etcd outage fences nothing: current leaders keep serving', async () => {
  const ownEtcd = await EtcdProcess.start();
  const prefix = uniquePrefix();
  const member = await ClusterMember.join(
    memberSettings(ownEtcd, prefix, 1, {
      'broker.session.timeout.ms': 4000,
      'broker.session.fence.enable': false,
    }),
    { host: '127.0.0.1', port: 9001, connectTimeoutMs: 10_000 },
  );
  try {
    await ownEtcd.kill();
    // The registry sees its session may be over; the view the broker leads by ignores it.
    await waitFor(() => member.registry.fenced, 'the session deadline to pass', {
      timeoutMs: 10_000,
    });
    assert.equal(member.view.isFenced, false);
    await ownEtcd.restart();
  } finally {
    await member.leave();
    await ownEtcd.stop();
  }
});
