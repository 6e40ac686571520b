import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { CLUSTER_ID_FILE } from '../../src/cluster/broker-membership.js';
import { ClusterError, ClusterErrorCode } from '../../src/cluster/errors.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import * as codecs from '../../src/protocol/generated/all.js';
import { ApiKey } from '../../src/protocol/generated/all.js';
import { startEtcd, uniquePrefix } from '../helpers/etcd.js';
import { exchange } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';

const etcd = await startEtcd();

/** Without `logDir` the broker uses a temporary directory that its stop() removes. */
async function clusterBroker(prefix: string, nodeId: number, logDir?: string): Promise<Broker> {
  const broker = await startBroker({
    logDirs: logDir,
    settings: {
      'etcd.endpoints': etcd.endpoint,
      'etcd.prefix': prefix,
      'node.id': nodeId,
      'broker.session.timeout.ms': 2000,
    },
  });
  after(() => broker.stop());
  return broker;
}

async function describeCluster(bootstrapServers: string) {
  const admin = new Kafka({ brokers: [bootstrapServers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

describe('a broker in cluster mode', () => {
  test('Metadata lists every live broker of the cluster, under the cluster id from etcd', async () => {
    const prefix = uniquePrefix();
    const one = await clusterBroker(prefix, 1);
    const two = await clusterBroker(prefix, 2);
    assert.equal(one.clusterId, two.clusterId);
    const described = await waitFor(async () => {
      const answer = await describeCluster(one.bootstrapServers);
      return answer.brokers.length === 2 ? answer : undefined;
    }, 'both brokers in Metadata');
    assert.equal(described.clusterId, one.clusterId);
    const ports = described.brokers.map((broker) => broker.port).sort();
    assert.deepEqual(ports, [one.listeners[0]!.port, two.listeners[0]!.port].sort());
    assert.deepEqual(described.brokers.map((broker) => broker.nodeId).sort(), [1, 2]);

    // A stopped broker leaves at once (its lease is revoked), not after the session timeout.
    await two.stop();
    await waitFor(
      async () => (await describeCluster(one.bootstrapServers)).brokers.length === 1,
      'broker 2 gone from Metadata',
      { timeoutMs: 1500 },
    );
  });

  test('the log directory remembers its cluster, and a directory of another cluster is refused', async () => {
    const logDir = await mkdtemp(join(tmpdir(), 'brook-cluster-'));
    after(() => rm(logDir, { recursive: true, force: true }));
    const first = await clusterBroker(uniquePrefix(), 1, logDir);
    const clusterId = first.clusterId;
    await first.stop();
    assert.equal((await readFile(join(logDir, CLUSTER_ID_FILE), 'utf8')).trim(), clusterId);

    // Another prefix is another cluster, with its own id.
    const otherPrefix = uniquePrefix();
    await clusterBroker(otherPrefix, 5);
    await assert.rejects(
      startBroker({
        logDirs: logDir,
        settings: {
          'etcd.endpoints': etcd.endpoint,
          'etcd.prefix': otherPrefix,
          'node.id': 1,
        },
      }),
      (error: unknown) =>
        error instanceof ClusterError &&
        error.code === ClusterErrorCode.CLUSTER_ID_MISMATCH &&
        error.message.includes(`this broker belongs to cluster ${clusterId}`),
    );
    // Nothing was changed: the directory still names its own cluster.
    assert.equal((await readFile(join(logDir, CLUSTER_ID_FILE), 'utf8')).trim(), clusterId);
  });

  test('a second broker with a live broker’s id is refused at start', async () => {
    const prefix = uniquePrefix();
    await clusterBroker(prefix, 7);
    await assert.rejects(
      startBroker({
        settings: {
          'etcd.endpoints': etcd.endpoint,
          'etcd.prefix': prefix,
          'node.id': 7,
          'broker.session.timeout.ms': 2000,
        },
      }),
      (error: unknown) =>
        error instanceof ClusterError && error.code === ClusterErrorCode.BROKER_ID_IN_USE,
    );
  });

  test('brokers of one cluster never hand out the same producer id', async () => {
    const prefix = uniquePrefix();
    const brokers = [await clusterBroker(prefix, 1), await clusterBroker(prefix, 2)];
    // Each broker claims a block from etcd at its first id; ids from a block of the other broker
    // (the same numbers, were the blocks claimed per broker as in single-broker mode) collide.
    const ids = await Promise.all(
      brokers.flatMap((broker) =>
        [0, 1, 2].map(async () => (await initProducerId(broker)).toString()),
      ),
    );
    assert.equal(new Set(ids).size, ids.length, `producer ids ${ids.join(', ')}`);
    // A broker restarted on its directory claims a new block: no id of the old one comes back.
    const logDir = await mkdtemp(join(tmpdir(), 'brook-pid-'));
    const third = await clusterBroker(prefix, 3, logDir);
    const before = await initProducerId(third);
    await third.stop();
    const again = await clusterBroker(prefix, 3, logDir);
    after(() => rm(logDir, { recursive: true, force: true })); // after hooks run in order: once stopped
    const after_ = await initProducerId(again);
    assert.ok(!ids.includes(before.toString()) && !ids.includes(after_.toString()));
    assert.notEqual(after_, before);
  });
});

async function initProducerId(broker: Broker): Promise<bigint> {
  const response = await exchange(
    broker,
    ApiKey.InitProducerId,
    4,
    (writer) =>
      codecs.encodeInitProducerIdRequest(writer, 4, {
        transactionalId: null,
        transactionTimeoutMs: -1,
      }),
    (reader) => codecs.decodeInitProducerIdResponse(reader, 4),
  );
  assert.equal(response.errorCode, ErrorCode.NONE);
  return response.producerId;
}
