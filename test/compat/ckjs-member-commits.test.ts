// What the confluent-kafka-javascript group member (members/ckjs-member.ts) reports must be true
// when it is SIGKILLed, or the group scenario (client-groups.ts) judges the broker on false
// evidence. Two ways it was not:
//   - ckjs 1.10's commitOffsets() resolves once librdkafka has queued an async commit, not when
//     the broker answers, so the member reported commits the broker never received (the survivor
//     then rightly resumed below them);
//   - Node writes to a pipe asynchronously, so lines the member wrote before the kill (records it
//     took, commits it made) were lost when the test read slower than it wrote (the survivor then
//     rightly resumed above the last record the test saw).
// Each test kills a member and checks, for its one partition: every commit it reported is held
// by the broker, and the broker holds no commit past the last record it reported + 1.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { startBroker, type Broker } from '../../src/broker.js';
import { kafkajsClient, kafkajsDriver } from '../helpers/client-kafkajs.js';
import { ChildClient, requireClient, withTimeout } from '../helpers/clients.js';
import { waitFor } from '../helpers/poll.js';
import { groupClients } from './group-clients.js';

const client = groupClients['confluent-kafka-javascript']!;

/** A TCP proxy whose connections open so far can be made to swallow what the client sends. */
class HoldingProxy {
  private readonly server = net.createServer((socket) => this.accept(socket));
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket; held: boolean }>();
  upstreamPort = 0;

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(clientSocket: net.Socket): void {
    const pair = {
      client: clientSocket,
      upstream: net.connect(this.upstreamPort, '127.0.0.1'),
      held: false,
    };
    this.pairs.add(pair);
    const close = (): void => {
      pair.client.destroy();
      pair.upstream.destroy();
      this.pairs.delete(pair);
    };
    for (const socket of [pair.client, pair.upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
    pair.client.on('data', (data: Buffer) => {
      if (!pair.held) pair.upstream.write(data);
    });
    pair.upstream.on('data', (data: Buffer) => pair.client.write(data));
  }

  /** From now on the broker hears nothing more on the connections already open. */
  hold(): void {
    for (const pair of this.pairs) pair.held = true;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.server.close();
    await once(this.server, 'close').catch(() => undefined);
  }
}

interface Started {
  broker: Broker;
  proxy: HoldingProxy;
  bootstrap: string;
}

async function startBehindProxy(): Promise<Started> {
  const proxy = new HoldingProxy();
  const proxyPort = await proxy.listen();
  const broker = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0',
    settings: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}` },
  });
  proxy.upstreamPort = broker.listeners[0]!.port;
  return { broker, proxy, bootstrap: `127.0.0.1:${proxyPort}` };
}

async function produce(bootstrap: string, topic: string, count: number): Promise<void> {
  await kafkajsDriver().createTopic(bootstrap, topic, 1, {});
  const producer = kafkajsClient(bootstrap, 'brook-ckjs-member-producer').producer();
  await withTimeout(producer.connect(), 30_000, 'producer.connect');
  try {
    const messages = Array.from({ length: count }, (_, index) => ({
      partition: 0,
      value: `record ${index}`,
    }));
    await withTimeout(producer.send({ topic, acks: -1, messages }), 30_000, 'producer.send');
  } finally {
    await producer.disconnect();
  }
}

async function brokerCommitted(bootstrap: string, topic: string, group: string): Promise<number> {
  const admin = kafkajsClient(bootstrap, 'brook-ckjs-member-admin').admin();
  await withTimeout(admin.connect(), 30_000, 'admin.connect');
  try {
    const [result] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Number(result!.partitions.find((entry) => entry.partition === 0)!.offset);
  } finally {
    await admin.disconnect();
  }
}

function reported(member: ChildClient): { lastRecord: number; lastCommitted: number } {
  const offsets = (event: string) =>
    member.events.filter((entry) => entry.event === event).map((entry) => entry.offset as number);
  return {
    lastRecord: Math.max(-1, ...offsets('record')),
    // -1 when it reported no commit, as the broker answers for a partition without one.
    lastCommitted: Math.max(-1, ...offsets('committed')),
  };
}

/** Starts the member, waits for its first record, runs `whileConsuming`, SIGKILLs it, checks. */
async function killAndCheck(
  t: TestContext,
  records: number,
  whileConsuming: (member: ChildClient, started: Started) => Promise<void>,
): Promise<void> {
  const started = await startBehindProxy();
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const topic = `ckjs-member-${suffix}`;
  const group = `ckjs-member-group-${suffix}`;
  const members: ChildClient[] = [];
  t.after(async () => {
    for (const member of members) member.kill();
    await started.proxy.close();
    await started.broker.stop();
  });
  await produce(started.bootstrap, topic, records);
  const { command, args } = client.member(started.bootstrap, topic, group, client.eagerAssignor);
  const running = new ChildClient(command, args);
  members.push(running);
  await waitFor(
    () => running.events.some((entry) => entry.event === 'record'),
    `the member to take a record; stderr ${running.stderr.slice(-1500)}`,
    { timeoutMs: 60_000 },
  );
  await whileConsuming(running, started);
  running.kill('SIGKILL');
  running.process.stdout!.resume();
  await withTimeout(running.closed(), 10_000, 'the killed member to close');
  // Commits it sent before dying may still be on their way through the broker.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const committed = await brokerCommitted(started.bootstrap, topic, group);
  const { lastRecord, lastCommitted } = reported(running);
  t.diagnostic(
    `member reported records to ${lastRecord}, commits to ${lastCommitted}; broker holds ${committed}`,
  );
  assert.ok(
    lastCommitted <= committed,
    `the member reported commit ${lastCommitted}, the broker holds only ${committed}`,
  );
  assert.ok(
    committed <= lastRecord + 1,
    `the broker holds commit ${committed}, the member reported records only to ${lastRecord}`,
  );
}

test(
  'the ckjs member reports only commits the broker holds, though its requests stop reaching it',
  { timeout: 120_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-javascript') || !requireClient(t, 'kafkajs')) return;
    await killAndCheck(t, 2_000, async (_member, { proxy }) => {
      // The member goes on through the records it has fetched; nothing it sends arrives.
      proxy.hold();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    });
  },
);

test(
  'the ckjs member loses no output to a SIGKILL while the test reads slower than it writes',
  { timeout: 120_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-javascript') || !requireClient(t, 'kafkajs')) return;
    await killAndCheck(t, 8_000, async (member) => {
      // Far more than a pipe holds: ~50 bytes a record.
      member.process.stdout!.pause();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    });
  },
);
