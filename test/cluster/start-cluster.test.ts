import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startCluster } from '../../src/index.js';
import { ClusterError, ClusterErrorCode } from '../../src/cluster/errors.js';
import { processExists } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';
import { startBrokerCluster } from '../faults/fault-cluster.js';

async function describeCluster(bootstrapServers: string) {
  const admin = new Kafka({
    brokers: bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  await admin.connect();
  try {
    return await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

describe('startCluster', () => {
  test('brings up three broker processes that a client sees, and kill, pause, resume and restart change what Metadata shows', async () => {
    const cluster = await startCluster({
      brokers: 3,
      settings: { 'broker.session.timeout.ms': 2000 },
    });
    after(() => cluster.stop());
    assert.equal(cluster.brokers.length, 3);
    assert.deepEqual(
      cluster.brokers.map((broker) => broker.id),
      [1, 2, 3],
    );
    const pids = cluster.brokers.map((broker) => broker.pid!);
    assert.equal(new Set(pids).size, 3);
    assert.ok(pids.every((pid) => pid !== process.pid && processExists(pid)));

    const described = await waitFor(async () => {
      const answer = await describeCluster(cluster.bootstrapServers);
      return answer.brokers.length === 3 && answer.controller !== null ? answer : undefined;
    }, 'three brokers and a controller in Metadata');
    assert.deepEqual(
      described.brokers.map((broker) => `${broker.nodeId}:${broker.port}`).sort(),
      cluster.brokers.map((broker) => `${broker.id}:${broker.port}`).sort(),
    );

    // SIGKILL: the process is gone at once, the registration after the session timeout.
    const killedPid = cluster.broker(2).pid!;
    await cluster.kill(2);
    assert.equal(processExists(killedPid), false);
    assert.equal(cluster.broker(2).running, false);
    const survivors = `${cluster.broker(1).host}:${cluster.broker(1).port}`;
    await waitFor(
      async () =>
        (await describeCluster(survivors)).brokers
          .map((broker) => broker.nodeId)
          .sort()
          .join() === '1,3',
      'broker 2 gone from Metadata',
    );

    // Restarted on the same port and directory.
    const port = cluster.broker(2).port;
    await cluster.restart(2);
    assert.equal(cluster.broker(2).port, port);
    assert.notEqual(cluster.broker(2).pid, killedPid);
    await waitFor(
      async () => (await describeCluster(survivors)).brokers.length === 3,
      'broker 2 back in Metadata',
    );

    // A paused broker's lease expires; once resumed it registers again.
    cluster.pause(3);
    assert.equal(cluster.broker(3).paused, true);
    await waitFor(
      async () =>
        (await describeCluster(survivors)).brokers
          .map((broker) => broker.nodeId)
          .sort()
          .join() === '1,2',
      'paused broker 3 gone from Metadata',
    );
    cluster.resume(3);
    await waitFor(
      async () => (await describeCluster(survivors)).brokers.length === 3,
      'resumed broker 3 back in Metadata',
    );

    const running = cluster.brokers.map((broker) => broker.pid!);
    const dataDirectory = cluster.broker(1).logDir;
    await cluster.stop();
    assert.ok(
      running.every((pid) => !processExists(pid)),
      'every broker process has exited',
    );
    assert.equal(existsSync(dataDirectory), false, 'the temporary data directory is removed');
  });

  test('without etcd on PATH it fails with an error naming the Debian package', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(
        startCluster({ brokers: 1 }),
        (error: unknown) =>
          error instanceof ClusterError &&
          error.code === ClusterErrorCode.ETCD_NOT_FOUND &&
          error.message.includes('etcd-server'),
      );
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('the fault harness on startCluster', () => {
  test('startBrokerCluster gives each broker process kill, power loss, pause and restart', async () => {
    const cluster = await startBrokerCluster({ brokers: 3 });
    after(() => cluster.stop());
    assert.equal(cluster.brokers.length, 3);
    assert.equal(
      cluster.bootstrapServers,
      cluster.brokers.map((broker) => broker.address).join(','),
    );
    const broker = cluster.brokers[1]!;
    broker.pause();
    broker.resume();
    assert.ok(broker.running);
    const discardedBytes = await broker.powerLoss();
    assert.ok(discardedBytes >= 0);
    assert.equal(broker.running, false);
    await broker.restart();
    assert.ok(broker.running);
    assert.ok(broker.lastRestartMs > 0);
    await waitFor(
      async () => (await describeCluster(cluster.bootstrapServers)).brokers.length === 3,
      'the restarted broker back in Metadata',
    );
    assert.match(broker.output(), /bootstrap servers/);
  });
});
