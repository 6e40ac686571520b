import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterMember } from '../../src/cluster/cluster-member.js';
import { ClusterError, ClusterErrorCode } from '../../src/cluster/errors.js';
import { EtcdProcess, findEtcdBinary, freePort } from '../../src/cluster/etcd-process.js';
import { joinMember, memberSettings, startEtcd, uniquePrefix } from '../helpers/etcd.js';
import { waitFor } from '../helpers/poll.js';

describe('etcd missing or down', () => {
  test('etcd not on PATH is a clear error naming the Debian package', () => {
    assert.throws(
      () => findEtcdBinary('/nonexistent-a:/nonexistent-b'),
      (error: unknown) =>
        error instanceof ClusterError &&
        error.code === ClusterErrorCode.ETCD_NOT_FOUND &&
        error.message.includes('apt-get install etcd-server'),
    );
  });

  test('etcd down at start: retried with a message each time, then a clear error naming the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const messages: string[] = [];
    await assert.rejects(
      ClusterMember.join(memberSettings({ endpoint }, uniquePrefix(), 1), {
        host: '127.0.0.1',
        port: 9001,
        connectTimeoutMs: 1500,
        onRetry: (message) => messages.push(message),
      }),
      (error: unknown) =>
        error instanceof ClusterError &&
        error.code === ClusterErrorCode.ETCD_UNAVAILABLE &&
        error.message.includes(`etcd at ${endpoint} did not answer in 1500 ms`),
    );
    assert.ok(messages.length >= 2, `retried ${messages.length} times`);
    assert.match(messages[0]!, /is not reachable .*; retrying in \d+ ms/);
  });

  test('a broker started before etcd joins once etcd comes up', async () => {
    const etcd = await EtcdProcess.start();
    const endpoint = etcd.endpoint;
    await etcd.kill();
    const messages: string[] = [];
    const joining = ClusterMember.join(memberSettings({ endpoint }, uniquePrefix(), 1), {
      host: '127.0.0.1',
      port: 9001,
      connectTimeoutMs: 20_000,
      onRetry: (message) => messages.push(message),
    });
    await waitFor(() => messages.length >= 2, 'two retries');
    await etcd.restart();
    const member = await joining;
    try {
      assert.ok(member.store.brokers().has(1));
    } finally {
      await member.leave();
      await etcd.stop();
    }
  });
});

describe('etcd lost while running', () => {
  test('the view keeps serving while etcd is down and resumes watching when it returns', async () => {
    const etcd = await startEtcd();
    const prefix = uniquePrefix();
    const settings = { 'broker.session.timeout.ms': 8000 };
    const one = await joinMember(etcd, prefix, 1, settings);
    const two = await joinMember(etcd, prefix, 2, settings);
    const controller = await waitFor(
      () => [one, two].find((member) => member.controller.isController),
      'a controller',
    );
    await controller.controller.createTopic({ name: 'steady', assignment: [[1, 2]] });
    const before = await waitFor(() => one.store.partitionState('steady', 0), 'the state');

    await etcd.kill();
    await waitFor(() => !one.store.watching, 'the watch to notice etcd is gone');
    // Reads are answered from memory, unchanged.
    assert.deepEqual(one.store.partitionState('steady', 0), before);
    assert.equal(one.store.brokers().size, 2);
    assert.equal(one.store.controller()?.brokerId, controller.registry.endpoint.brokerId);

    await etcd.restart();
    await waitFor(() => one.store.watching, 'the watch to reconnect');
    // A change made after the restart reaches the other broker's view through the watch.
    await controller.store.updatePartitionState(
      'steady',
      0,
      before.partitionEpoch,
      { ...before, isr: [before.leader] },
      null,
    );
    const other = controller === one ? two : one;
    await waitFor(
      () => other.store.partitionState('steady', 0)?.partitionEpoch === before.partitionEpoch + 1,
      'the change in the other view',
    );
    // Both registrations survived a short outage (etcd renews leases when it comes back).
    assert.equal(other.store.brokers().size, 2);
  });

  test('a registration lost to a long outage is made again when etcd returns', async () => {
    const etcd = await startEtcd();
    const prefix = uniquePrefix();
    const member = await joinMember(etcd, prefix, 1);
    const events: string[] = [];
    member.registry.on('lost', () => events.push('lost'));
    member.registry.on('registered', () => events.push('registered'));

    await etcd.kill();
    // Past twice the 2 s lease TTL the client gives the lease up.
    await waitFor(() => events.includes('lost'), 'the lease to be reported lost', {
      timeoutMs: 15_000,
    });
    await etcd.restart();
    await waitFor(() => events.includes('registered'), 'a new registration', { timeoutMs: 15_000 });
    assert.deepEqual(events, ['lost', 'registered']);
    await waitFor(() => member.store.brokers().has(1), 'the broker back in the view');
    await waitFor(() => member.controller.isController, 'the broker to stand and win again');
  });
});
