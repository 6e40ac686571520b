// Burrow (LinkedIn's consumer-lag checker, Debian's `burrow` 1.2, built on Sarama 1.22) against an
// in-process Brook broker. Burrow learns each partition's end offset with ListOffsets v0 and the
// groups' commits by reading __consumer_offsets; it keeps its own state in ZooKeeper, so the test
// runs a loopback ZooKeeper of its own (Debian's zookeeper.jar, free port, temporary data
// directory), and kills it and Burrow by pid at the end.
//
// Burrow 1.2 logs "failed to decode ... value version 3" for group metadata records: it knows
// Kafka's group metadata values up to v2 only, as it does against Kafka 2.3 and later. Offsets are
// what it needs, and it decodes those.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { startBroker } from '../../../src/broker.js';
import { requireClient, runChecked, zookeeperJar } from '../../helpers/clients.js';
import { waitFor } from '../../helpers/poll.js';
import { buildGoProgram } from './go-build.js';

const clientTimeoutMs = 120_000;
const startTimeoutMs = 60_000;

/** A port nobody listens on right now (the OS picks it), for the services that need one up front. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** A long-running service whose output goes to a log file, killed by pid when the test ends. */
class Service {
  readonly process: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    readonly logFile: string,
    cwd: string,
  ) {
    const log = openSync(logFile, 'a');
    this.process = spawn(command, args, { cwd, stdio: ['ignore', log, log] });
    closeSync(log);
    this.exited = new Promise((resolve) => this.process.once('exit', () => resolve()));
    const killOnExit = (): void => {
      this.process.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    void this.exited.then(() => process.off('exit', killOnExit));
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-3000);
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Whether ZooKeeper serves sessions yet, through its four-letter "srvr" command. "ruok" is not
 * enough: it answers "imok" as soon as the port accepts connections, while the server is still
 * loading its database and closes session handshakes (Burrow then exits: "could not connect").
 */
function zookeeperIsServing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => socket.write('srvr'));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(answer.startsWith('Zookeeper version')));
  });
}

interface BurrowPartitionStatus {
  topic: string;
  partition: number;
  current_lag: number;
}

interface BurrowLagResponse {
  error: boolean;
  status: { status: string; totallag: number; partitions: BurrowPartitionStatus[] };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  return (await response.json()) as T;
}

test(
  'Burrow configured for Kafka 0.11.0 reports the exact lag of a group on a Brook broker',
  { timeout: 600_000 },
  async (t) => {
    if (!requireClient(t, 'burrow') || !requireClient(t, 'sarama')) return;
    const saramaClient = await buildGoProgram('sarama-client');
    const directory = mkdtempSync(join(tmpdir(), 'brook-burrow-'));
    const services: Service[] = [];
    const broker = await startBroker({ settings: { 'auto.create.topics.enable': false } });
    try {
      const topic = 'burrow-lag';
      const group = 'burrow-group';
      const partitionCount = 3;
      await broker.replicas.createTopic({ name: topic, partitionCount });
      const highWatermarks = (): number[] =>
        Array.from(
          { length: partitionCount },
          (_, index) => broker.replicas.partition(topic, index)!.highWatermark,
        );
      const saramaArguments = ['-brokers', broker.bootstrapServers, '-topic', topic];

      // A group that has read and committed 12 records, then 7 more it has not read. Round-robin
      // puts records on every partition, so the group commits on every partition (Burrow reports
      // no lag for a partition without a commit).
      await runChecked(
        saramaClient,
        [
          'produce',
          ...saramaArguments,
          '-partitioner',
          'roundrobin',
          '-count',
          '12',
          '-prefix',
          'read',
        ],
        { timeoutMs: clientTimeoutMs },
      );
      await runChecked(
        saramaClient,
        ['consume', ...saramaArguments, '-group', group, '-expect', '12'],
        {
          timeoutMs: clientTimeoutMs,
        },
      );
      const committed = highWatermarks();
      assert.ok(
        committed.every((offset) => offset > 0),
        `every partition has a commit: ${committed}`,
      );
      await runChecked(
        saramaClient,
        [
          'produce',
          ...saramaArguments,
          '-partitioner',
          'roundrobin',
          '-count',
          '7',
          '-prefix',
          'unread',
        ],
        { timeoutMs: clientTimeoutMs },
      );
      const expectedLags = highWatermarks().map((end, index) => end - committed[index]);
      assert.equal(
        expectedLags.reduce((sum, lag) => sum + lag, 0),
        7,
      );

      const zookeeperPort = await freePort();
      const zookeeper = new Service(
        'zookeeper',
        'java',
        [
          // No AdminServer: it would take port 8080.
          '-Dzookeeper.admin.enableServer=false',
          '-Dzookeeper.4lw.commands.whitelist=srvr',
          '-cp',
          zookeeperJar,
          'org.apache.zookeeper.server.ZooKeeperServerMain',
          String(zookeeperPort),
          join(directory, 'zookeeper-data'),
        ],
        join(directory, 'zookeeper.log'),
        directory,
      );
      services.push(zookeeper);
      await waitFor(
        async () => {
          if (!zookeeper.running) throw new Error(`ZooKeeper exited: ${zookeeper.logTail()}`);
          return zookeeperIsServing(zookeeperPort);
        },
        () => `ZooKeeper on port ${zookeeperPort}: ${zookeeper.logTail()}`,
        { timeoutMs: startTimeoutMs },
      );

      const httpPort = await freePort();
      const servers = JSON.stringify([broker.bootstrapServers]);
      writeFileSync(
        join(directory, 'burrow.toml'),
        [
          '[general]',
          `pidfile=${JSON.stringify(join(directory, 'burrow.pid'))}`,
          '[logging]',
          'level="info"',
          '[zookeeper]',
          `servers=${JSON.stringify([`127.0.0.1:${zookeeperPort}`])}`,
          'timeout=6',
          'root-path="/burrow"',
          '[client-profile.brook]',
          'client-id="burrow-test"',
          'kafka-version="0.11.0"',
          '[cluster.brook]',
          'class-name="kafka"',
          `servers=${servers}`,
          'client-profile="brook"',
          'topic-refresh=1',
          'offset-refresh=1',
          '[consumer.brook]',
          'class-name="kafka"',
          'cluster="brook"',
          `servers=${servers}`,
          'client-profile="brook"',
          'start-latest=false',
          '[storage.default]',
          'class-name="inmemory"',
          'workers=2',
          'intervals=10',
          'min-distance=1',
          '[evaluator.default]',
          'class-name="caching"',
          'expire-cache=1',
          '[httpserver.default]',
          `address="127.0.0.1:${httpPort}"`,
          '',
        ].join('\n'),
      );
      const burrow = new Service(
        'burrow',
        'Burrow',
        ['-config-dir', directory],
        join(directory, 'burrow.log'),
        directory,
      );
      services.push(burrow);

      const base = `http://127.0.0.1:${httpPort}/v3/kafka/brook`;
      let last: unknown;
      // Burrow sees the topic's end offsets only through ListOffsets v0.
      await waitFor(
        async () => {
          if (!burrow.running) throw new Error(`Burrow exited: ${burrow.logTail()}`);
          const topicOffsets = await getJson<{ offsets?: number[] }>(`${base}/topic/${topic}`);
          last = topicOffsets;
          return JSON.stringify(topicOffsets.offsets) === JSON.stringify(highWatermarks());
        },
        () =>
          `Burrow to report ${topic}'s end offsets ${JSON.stringify(highWatermarks())}; ` +
          `last answer ${JSON.stringify(last)}; log: ${burrow.logTail()}`,
        { timeoutMs: startTimeoutMs },
      );
      const status = await waitFor(
        async () => {
          if (!burrow.running) throw new Error(`Burrow exited: ${burrow.logTail()}`);
          const answer = await getJson<BurrowLagResponse>(`${base}/consumer/${group}/lag`);
          last = answer;
          const lags = [...answer.status.partitions]
            .sort((a, b) => a.partition - b.partition)
            .map((partition) => partition.current_lag);
          return answer.status.totallag === 7 &&
            JSON.stringify(lags) === JSON.stringify(expectedLags)
            ? answer.status
            : undefined;
        },
        () =>
          `Burrow to report lag ${JSON.stringify(expectedLags)} (total 7) for ${group}; ` +
          `last answer ${JSON.stringify(last)}; log: ${burrow.logTail()}`,
        { timeoutMs: startTimeoutMs },
      );
      assert.ok(status.partitions.every((partition) => partition.topic === topic));
    } finally {
      for (const service of services.reverse()) await service.stop();
      await broker.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  },
);
