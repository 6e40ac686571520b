import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createServer } from 'node:net';
import { runBrook, spawnBrook } from '../helpers/brook-cli.js';
import { processExists } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';

/** Whether `port` on 127.0.0.1 can be listened on right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port whose `count` consecutive ports are all free, drawn below Linux's ephemeral range
 * (32768 up), where the outgoing connections of everything else on the machine take their ports:
 * a port the OS hands out for port 0 is in that range, and its neighbours may be taken.
 */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let free = true;
    for (let port = base; port < base + count && free; port += 1) free = await portFree(port);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found between 20000 and 32000`);
}

describe('brook dev-cluster', () => {
  test('runs etcd and three brokers, serves a topic through them, and SIGINT stops every process', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'brook-dev-cluster-'));
    after(() => rm(dataDir, { recursive: true, force: true }));
    const basePort = await freePortRun(3);
    const { child, output } = spawnBrook(
      ['dev-cluster', '--brokers', '3', '--data-dir', dataDir, '--base-port', String(basePort)],
      { environment: { PATH: process.env.PATH } },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const pids: number[] = [];
    after(() => {
      for (const pid of pids) if (processExists(pid)) process.kill(pid, 'SIGKILL');
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    const bootstrap = await waitFor(
      () => /bootstrap servers (\S+)/.exec(output().stdout)?.[1],
      () => `dev-cluster to start:\n${output().stdout}\n${output().stderr}`,
      { timeoutMs: 90_000 },
    );
    for (const match of output().stdout.matchAll(/\(pid (\d+)\)/g)) pids.push(Number(match[1]));
    assert.equal(pids.length, 4, `etcd and three brokers, each with its pid:\n${output().stdout}`);
    assert.equal(bootstrap, [0, 1, 2].map((index) => `127.0.0.1:${basePort + index}`).join(','));

    const kafka = new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const described = await admin.describeCluster();
    assert.equal(described.brokers.length, 3);
    assert.notEqual(described.controller, null);
    await admin.createTopics({
      topics: [{ topic: 'dev-topic', numPartitions: 3, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'dev-topic',
      acks: 1,
      messages: Array.from({ length: 30 }, (_, index) => ({ value: `record ${index}` })),
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'dev-cluster-test' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'dev-topic', fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value!.toString());
      },
    });
    await waitFor(
      () => seen.size === 30,
      () => `30 records consumed, saw ${seen.size}`,
      {
        timeoutMs: 60_000,
      },
    );
    await consumer.disconnect();

    child.kill('SIGINT');
    assert.equal(await exited, 0, output().stderr);
    assert.match(output().stdout, /brook dev-cluster: stopped/);
    for (const pid of pids) assert.equal(processExists(pid), false, `process ${pid} has exited`);
    // The data stays for the next run.
    assert.ok(existsSync(join(dataDir, 'broker-1')));
    assert.ok(existsSync(join(dataDir, 'etcd')));
  });

  test('an unknown option is a usage error that names it', async () => {
    const run = await runBrook(['dev-cluster', '--brokerz', '3']);
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /--brokerz/);
    const help = await runBrook(['dev-cluster', '--help']);
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, /--base-port PORT/);
  });
});
