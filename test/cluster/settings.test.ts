import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterSettings, leaseTtlSeconds } from '../../src/cluster/settings.js';
import { ConfigErrorCode, loadBrokerConfig, resolveBrokerConfig } from '../../src/config/index.js';

test('without etcd.endpoints the broker stays in single-broker mode', () => {
  assert.equal(clusterSettings(resolveBrokerConfig()), null);
  assert.equal(clusterSettings(resolveBrokerConfig({ overrides: { 'etcd.endpoints': '' } })), null);
});

test("cluster settings take Kafka's names and defaults, from flags and BROOK_ variables alike", () => {
  const { config } = loadBrokerConfig({
    args: [
      '--etcd-endpoints',
      'http://127.0.0.1:2379,http://127.0.0.1:22379/',
      '--broker-id',
      '3',
      '--broker-rack',
      'eu-west-1a',
    ],
    environment: { BROOK_MIN_INSYNC_REPLICAS: '2', BROOK_UNCLEAN_LEADER_ELECTION_ENABLE: 'true' },
  });
  const settings = clusterSettings(config)!;
  assert.deepEqual(settings.etcdEndpoints, ['http://127.0.0.1:2379', 'http://127.0.0.1:22379']);
  assert.equal(settings.etcdPrefix, '/brook/default/');
  assert.equal(settings.brokerId, 3);
  assert.equal(settings.brokerRack, 'eu-west-1a');
  assert.equal(settings.brokerSessionTimeoutMs, 9000);
  assert.equal(leaseTtlSeconds(settings.brokerSessionTimeoutMs), 9);
  assert.equal(leaseTtlSeconds(2500), 3);
  assert.equal(settings.minInsyncReplicas, 2);
  assert.equal(settings.uncleanLeaderElectionEnable, true);
  assert.equal(settings.replicaLagTimeMaxMs, 30000);
  assert.equal(settings.autoLeaderRebalanceEnable, true);
  assert.equal(settings.controlledShutdownEnable, true);
  assert.equal(settings.transactionStateLogMinIsr, 1);

  const named = clusterSettings(
    resolveBrokerConfig({
      overrides: {
        'etcd.endpoints': 'http://10.0.0.1:2379',
        'cluster.id': 'MkU3OEVBNTcwNTJENDM2Qk',
      },
    }),
  )!;
  assert.equal(named.etcdPrefix, '/brook/MkU3OEVBNTcwNTJENDM2Qk/');
  const prefixed = clusterSettings(
    resolveBrokerConfig({
      overrides: { 'etcd.endpoints': 'http://10.0.0.1:2379', 'etcd.prefix': '/prod/brook' },
    }),
  )!;
  assert.equal(prefixed.etcdPrefix, '/prod/brook/');
});

test('a malformed etcd endpoint or prefix is refused with the setting named', () => {
  for (const [name, value] of [
    ['etcd.endpoints', '127.0.0.1:2379'],
    ['etcd.endpoints', 'http://127.0.0.1'],
    ['etcd.prefix', 'brook'],
    ['broker.session.timeout.ms', '500'],
  ] as const) {
    assert.throws(
      () => resolveBrokerConfig({ overrides: { [name]: value } }),
      (error: unknown) =>
        (error as { code?: string }).code === ConfigErrorCode.INVALID_VALUE &&
        (error as Error).message.includes(name),
      `${name}=${value}`,
    );
  }
});
