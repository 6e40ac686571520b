import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterError, ClusterErrorCode } from '../../src/cluster/errors.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { createEtcdClient } from '../../src/cluster/etcd-client.js';
import { joinMember, memberSettings, startEtcd, uniquePrefix } from '../helpers/etcd.js';
import { waitFor } from '../helpers/poll.js';
import { ClusterMember } from '../../src/cluster/cluster-member.js';

const etcd = await startEtcd();

describe('broker registration in etcd', () => {
  test('registered brokers appear in every member’s view with their endpoint and rack', async () => {
    const prefix = uniquePrefix();
    const one = await joinMember(etcd, prefix, 1, { 'broker.rack': 'a' });
    const two = await joinMember(etcd, prefix, 2, { 'broker.rack': 'b' });
    await waitFor(() => one.store.brokers().size === 2, 'broker 2 in broker 1’s view');
    assert.deepEqual(one.store.brokers().get(2), {
      brokerId: 2,
      host: '127.0.0.1',
      port: 9002,
      rack: 'b',
    });
    assert.equal(two.store.brokers().get(1)?.rack, 'a');
    assert.equal(one.store.clusterId, two.store.clusterId);
    assert.match(one.store.clusterId, /^[A-Za-z0-9_-]{22}$/);
  });

  test('a broker id held by a live broker is refused with a clear error', async () => {
    const prefix = uniquePrefix();
    await joinMember(etcd, prefix, 1);
    await assert.rejects(
      ClusterMember.join(memberSettings(etcd, prefix, 1), { host: '127.0.0.2', port: 9999 }),
      (error: unknown) =>
        error instanceof ClusterError &&
        error.code === ClusterErrorCode.BROKER_ID_IN_USE &&
        /broker id 1 is registered by a live broker at 127\.0\.0\.1:9001/.test(error.message),
    );
  });

  test('a crashed broker’s registration expires after the session timeout; its id can then be reused', async () => {
    const prefix = uniquePrefix();
    const observer = await joinMember(etcd, prefix, 1);
    const crashed = await joinMember(etcd, prefix, 2);
    await waitFor(() => observer.store.brokers().has(2), 'broker 2 registered');
    const crashedAt = Date.now();
    await crashed.abandon();
    await waitFor(() => !observer.store.brokers().has(2), 'broker 2’s lease to expire', {
      timeoutMs: 10_000,
    });
    // Not before its lease (2 s) could have expired: the view follows etcd, not a guess.
    assert.ok(Date.now() - crashedAt >= 1500, `expired after ${Date.now() - crashedAt} ms`);
    const restarted = await joinMember(etcd, prefix, 2);
    await waitFor(() => observer.store.brokers().has(2), 'broker 2 registered again');
    assert.ok(restarted.registry.currentLease !== undefined);
  });

  test('a restart within the session timeout waits for the old registration instead of failing', async () => {
    const prefix = uniquePrefix();
    const crashed = await joinMember(etcd, prefix, 3);
    await crashed.abandon();
    const restarted = await joinMember(etcd, prefix, 3);
    assert.equal(restarted.store.brokers().get(3)?.port, 9003);
  });

  test('a broker that stops cleanly leaves at once, without waiting for its lease', async () => {
    const prefix = uniquePrefix();
    const observer = await joinMember(etcd, prefix, 1);
    const leaving = await joinMember(etcd, prefix, 2, { 'broker.session.timeout.ms': 60_000 });
    await waitFor(() => observer.store.brokers().has(2), 'broker 2 registered');
    await leaving.leave();
    await waitFor(() => !observer.store.brokers().has(2), 'broker 2 gone', { timeoutMs: 5000 });
  });

  test('an etcd prefix holding another cluster id is refused', async () => {
    const prefix = uniquePrefix();
    const client = createEtcdClient([etcd.endpoint]);
    try {
      const first = await EtcdMetadataStore.open(client, `${prefix}/`, {
        clusterId: 'AAAAAAAAAAAAAAAAAAAAAA',
      });
      await first.close();
      await assert.rejects(
        EtcdMetadataStore.open(client, `${prefix}/`, { clusterId: 'BBBBBBBBBBBBBBBBBBBBBB' }),
        (error: unknown) =>
          error instanceof ClusterError &&
          error.code === ClusterErrorCode.CLUSTER_ID_MISMATCH &&
          error.message.includes('holds cluster AAAAAAAAAAAAAAAAAAAAAA'),
      );
    } finally {
      client.close();
    }
  });
});
