// Replication in a real cluster: three `brook start` processes on one etcd, a topic with
// replication factor 3 and min.insync.replicas 2, brokers SIGKILLed and SIGSTOPped by pid.
// Records are produced with acks=all over Brook's own client connection (exact bytes, exact
// sequence numbers) and read back with Fetch, so every check is byte for byte.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { LOG_OVERHEAD_BYTES } from '../../src/record/batch.js';
import { buildBatch, decodeBatchSync } from '../../src/record/records.js';
import { type BrokerProcess, startBrokerProcess } from '../helpers/broker-process.js';
import { createTopicByRequest, fetchRequest, metadataOf } from '../helpers/cluster.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { makeBatch, nextOffsetAfter, stamped } from '../helpers/storage-batches.js';
import { callBroker } from '../helpers/wire-client.js';

const etcd = await startEtcd();
const TOPIC = 'ledger';
const WAIT_MS = 30_000;

interface Node {
  readonly nodeId: number;
  readonly logDir: string;
  process: BrokerProcess;
}

interface TestCluster {
  readonly nodes: Node[];
  node(nodeId: number): Node;
  restart(nodeId: number): Promise<void>;
}

async function startProcessCluster(
  t: { after: (fn: () => Promise<void>) => void },
  settings: { sessionTimeoutMs: number; replicaLagTimeMaxMs: number },
): Promise<TestCluster> {
  const prefix = uniquePrefix();
  const args = (nodeId: number): string[] => [
    '--etcd-endpoints',
    etcd.endpoint,
    '--etcd-prefix',
    prefix,
    '--node-id',
    String(nodeId),
    '--broker-session-timeout-ms',
    String(settings.sessionTimeoutMs),
    '--replica-lag-time-max-ms',
    String(settings.replicaLagTimeMaxMs),
    '--auto-create-topics-enable',
    'false',
  ];
  const nodes: Node[] = [];
  t.after(async () => {
    for (const node of nodes) {
      node.process.child.kill('SIGCONT');
      await node.process.kill();
      await rm(node.logDir, { recursive: true, force: true });
    }
  });
  const starting = [1, 2, 3].map(async (nodeId) => {
    const logDir = await mkdtemp(join(tmpdir(), `brook-replication-${nodeId}-`));
    const process = await startBrokerProcess({ logDir, args: args(nodeId) });
    nodes.push({ nodeId, logDir, process });
  });
  await Promise.all(starting);
  nodes.sort((a, b) => a.nodeId - b.nodeId);
  const cluster: TestCluster = {
    nodes,
    node: (nodeId) => nodes.find((node) => node.nodeId === nodeId)!,
    async restart(nodeId) {
      const node = cluster.node(nodeId);
      node.process = await startBrokerProcess({ logDir: node.logDir, args: args(nodeId) });
    },
  };
  for (const node of nodes) {
    await waitFor(
      async () => (await metadataOf(node.process, [TOPIC])).brokers.length === 3,
      `broker ${node.nodeId} to see 3 brokers`,
      { timeoutMs: WAIT_MS },
    );
  }
  return cluster;
}

interface Layout {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  liveBrokers: number[];
}

async function layoutOf(node: Node): Promise<Layout | undefined> {
  const metadata = await metadataOf(node.process, [TOPIC]);
  const partition = metadata.topics[0]?.partitions[0];
  if (metadata.topics[0]?.errorCode !== ErrorCode.NONE || partition === undefined) return undefined;
  return {
    leader: partition.leaderId,
    leaderEpoch: partition.leaderEpoch,
    isr: [...partition.isrNodes].sort(),
    liveBrokers: metadata.brokers.map((broker) => broker.nodeId).sort(),
  };
}

async function createTopic(cluster: TestCluster): Promise<Layout> {
  await createTopicByRequest(cluster.nodes[0]!.process, {
    name: TOPIC,
    numPartitions: 1,
    replicationFactor: 3,
    configs: { 'min.insync.replicas': '2' },
  });
  return waitFor(
    async () => {
      const layout = await layoutOf(cluster.nodes[0]!);
      return layout !== undefined && layout.isr.length === 3 ? layout : undefined;
    },
    'the topic with 3 in-sync replicas',
    { timeoutMs: WAIT_MS },
  );
}

/** One Produce with acks=all to `node`; the partition's answer. */
async function produce(node: Node, records: Buffer, timeoutMs = 20_000) {
  const connection = await KafkaConnection.open(node.process.bootstrapServers, {
    clientId: 'replication-test',
    requestTimeoutMs: timeoutMs + 10_000,
  });
  try {
    const response = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
    return response.responses[0]!.partitionResponses[0]!;
  } finally {
    connection.close();
  }
}

/** Produces until the leader answers NONE (a new leader answers NOT_LEADER_OR_FOLLOWER until it has taken over). */
async function produceToLeader(node: Node, records: Buffer) {
  return waitFor(
    async () => {
      const answer = await produce(node, records);
      return answer.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ? undefined : answer;
    },
    () =>
      `broker ${node.nodeId} to take produce as leader; its log:\n${node.process.output().slice(-4000)}`,
    { timeoutMs: WAIT_MS },
  );
}

/**
 * `records` produced to whichever broker leads the partition (asked again while the answer is
 * NOT_LEADER_OR_FOLLOWER); the layout under which they were acknowledged.
 */
async function produceToCurrentLeader(cluster: TestCluster, records: Buffer): Promise<Layout> {
  return waitFor(
    async () => {
      const layout = await layoutOf(cluster.nodes[0]!);
      if (layout === undefined || layout.leader < 0) return undefined;
      const answer = await produce(cluster.node(layout.leader), records);
      if (answer.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) return undefined;
      assert.equal(answer.errorCode, ErrorCode.NONE, answer.errorMessage ?? '');
      return layout;
    },
    'a leader to take produce',
    { timeoutMs: WAIT_MS },
  );
}

/** Everything below the high watermark, as the leader serves it to a consumer. */
async function readCommitted(node: Node): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = 0n;
  for (;;) {
    const response = await callBroker<FetchResponse>(
      node.process.bootstrapServers,
      ApiKey.Fetch,
      12,
      fetchRequest({ topic: TOPIC, partition: 0, fetchOffset: offset }),
    );
    const answer = response.responses[0]!.partitions[0]!;
    assert.equal(answer.errorCode, ErrorCode.NONE);
    if (answer.records === null || answer.records.length === 0) break;
    chunks.push(answer.records);
    offset = BigInt(nextOffsetAfter(answer.records));
    if (offset >= answer.highWatermark) break;
  }
  return Buffer.concat(chunks);
}

/** The partition's log on a broker's disk: its segment files in offset order, concatenated. */
async function logBytesOf(node: Node): Promise<Buffer> {
  const directory = join(node.logDir, `${TOPIC}-0`);
  const segments = (await readdir(directory)).filter((name) => name.endsWith('.log')).sort();
  return Buffer.concat(await Promise.all(segments.map((name) => readFile(join(directory, name)))));
}

async function waitForIdenticalLogs(nodes: Node[], what: string): Promise<Buffer> {
  return waitFor(
    async () => {
      const [first, ...others] = await Promise.all(nodes.map(logBytesOf));
      return first!.length > 0 && others.every((other) => other.equals(first!)) ? first : undefined;
    },
    what,
    { timeoutMs: WAIT_MS },
  );
}

const PRODUCER_ID = 7001;

/** Batch `index` of an idempotent producer: 5 records, sequence 5 × index. */
function idempotentBatch(index: number): Promise<Buffer> {
  return buildBatch({
    records: Array.from({ length: 5 }, (_, record) => ({
      key: Buffer.from(`key-${index}-${record}`),
      value: Buffer.alloc(200, index * 5 + record),
      timestamp: 1_700_000_000_000 + index,
    })),
    producerId: PRODUCER_ID,
    producerEpoch: 0,
    baseSequence: index * 5,
  });
}

test('after a leader SIGKILL a new leader serves every acks=all record, deduplicates an idempotent retry, and the old leader rejoins on restart', async (t) => {
  const cluster = await startProcessCluster(t, {
    sessionTimeoutMs: 3000,
    replicaLagTimeMaxMs: 10_000,
  });
  const before = await createTopic(cluster);
  const leader = cluster.node(before.leader);
  const batches: Buffer[] = [];
  for (let index = 0; index < 10; index++) {
    batches.push(await idempotentBatch(index));
    const answer = await produceToLeader(leader, batches[index]!);
    assert.equal(answer.errorCode, ErrorCode.NONE, answer.errorMessage ?? '');
    assert.equal(Number(answer.baseOffset), index * 5);
  }

  await leader.process.kill();
  const killedAtMs = Date.now();
  const survivors = cluster.nodes.filter((node) => node !== leader);
  const after = await waitFor(
    async () => {
      const layout = await layoutOf(survivors[0]!);
      return layout !== undefined && layout.leader !== before.leader && layout.leader >= 0
        ? layout
        : undefined;
    },
    'a new leader on the survivors',
    { timeoutMs: WAIT_MS },
  );
  assert.equal(after.leaderEpoch, before.leaderEpoch + 1);
  assert.deepEqual(after.isr, survivors.map((node) => node.nodeId).sort());
  const newLeader = cluster.node(after.leader);

  // The producer never heard the last answer and sends the batch again: the new leader knows it.
  const retried = await produceToLeader(newLeader, batches[9]!);
  assert.equal(retried.errorCode, ErrorCode.NONE, retried.errorMessage ?? '');
  // A figure, not a check: SIGKILL to the first acks=all answer from the new leader.
  t.diagnostic(
    `leader SIGKILL to the first acknowledged produce: ${Date.now() - killedAtMs} ms (broker.session.timeout.ms 3000)`,
  );
  assert.equal(Number(retried.baseOffset), 45, 'the retry is answered with the original offset');
  batches.push(await idempotentBatch(10));
  const next = await produce(newLeader, batches[10]!);
  assert.equal(next.errorCode, ErrorCode.NONE, next.errorMessage ?? '');
  assert.equal(Number(next.baseOffset), 50, 'the next sequence follows the retried batch');

  const expected = Buffer.concat(
    batches.map((batch, index) =>
      stamped(batch, index * 5, index < 10 ? before.leaderEpoch : after.leaderEpoch),
    ),
  );
  assert.ok(
    (await readCommitted(newLeader)).equals(expected),
    'the new leader serves every acknowledged record',
  );
  const survived = await waitForIdenticalLogs(survivors, 'byte-identical logs on the survivors');
  assert.ok(survived.equals(expected));

  // The old leader comes back on its directory: it catches up and the leader takes it back.
  await cluster.restart(leader.nodeId);
  await waitFor(
    async () => (await layoutOf(newLeader))?.isr.length === 3,
    'the restarted broker to rejoin the ISR',
    { timeoutMs: WAIT_MS },
  );
  const all = await waitForIdenticalLogs(cluster.nodes, 'byte-identical logs on all three');
  assert.ok(all.equals(expected));
});

test('a stalled follower leaves the ISR and produce goes on; below min.insync.replicas produce is refused; stalled followers rejoin when they resume', async (t) => {
  // Leases outlive the test's stalls: every ISR change here is the leader's, not the controller's.
  const cluster = await startProcessCluster(t, {
    sessionTimeoutMs: 60_000,
    replicaLagTimeMaxMs: 1000,
  });
  const layout = await createTopic(cluster);
  const leader = cluster.node(layout.leader);
  const [first, second] = cluster.nodes.filter((node) => node !== leader) as [Node, Node];
  assert.equal(
    (await produceToLeader(leader, await makeBatch({ seed: 1, recordsCount: 5, valueBytes: 100 })))
      .errorCode,
    ErrorCode.NONE,
  );

  first.process.child.kill('SIGSTOP');
  const afterFirst = await produce(
    leader,
    await makeBatch({ seed: 2, recordsCount: 5, valueBytes: 100 }),
  );
  assert.equal(
    afterFirst.errorCode,
    ErrorCode.NONE,
    'two in-sync replicas satisfy min.insync.replicas 2',
  );
  const shrunk = await layoutOf(leader);
  assert.deepEqual(shrunk?.isr, [leader.nodeId, second.nodeId].sort());
  assert.ok(shrunk?.liveBrokers.includes(first.nodeId), 'the stalled broker is still registered');

  // The second follower stalls while a produce waits for it: the ISR falls to the leader alone.
  second.process.child.kill('SIGSTOP');
  const waited = await produce(
    leader,
    await makeBatch({ seed: 3, recordsCount: 5, valueBytes: 100 }),
  );
  assert.equal(
    waited.errorCode,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    waited.errorMessage ?? '',
  );
  await waitFor(
    async () => (await layoutOf(leader))?.isr.length === 1,
    'the ISR to be the leader alone',
    { timeoutMs: WAIT_MS },
  );
  const refused = await produce(
    leader,
    await makeBatch({ seed: 4, recordsCount: 5, valueBytes: 100 }),
  );
  assert.equal(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);

  first.process.child.kill('SIGCONT');
  second.process.child.kill('SIGCONT');
  await waitFor(
    async () => (await layoutOf(leader))?.isr.length === 3,
    'both followers to rejoin the ISR',
    { timeoutMs: WAIT_MS },
  );
  const resumed = await produce(
    leader,
    await makeBatch({ seed: 5, recordsCount: 5, valueBytes: 100 }),
  );
  assert.equal(resumed.errorCode, ErrorCode.NONE);
  assert.equal(Number(resumed.baseOffset), 15, 'the refused batch was not appended');
  await waitForIdenticalLogs(cluster.nodes, 'byte-identical logs on all three');
});

test('a follower fetches all it follows from one leader over one connection', async (t) => {
  const prefix = uniquePrefix();
  const brokers: Broker[] = [];
  t.after(async () => {
    for (const broker of brokers) await broker.stop();
  });
  for (let nodeId = 1; nodeId <= 3; nodeId++) {
    brokers.push(
      await startBroker({
        settings: {
          'etcd.endpoints': etcd.endpoint,
          'etcd.prefix': prefix,
          'node.id': nodeId,
          'broker.session.timeout.ms': 2000,
          'http.listeners': 'http://127.0.0.1:0',
        },
      }),
    );
  }
  await waitFor(
    async () => (await metadataOf(brokers[0]!, [])).brokers.length === 3,
    'three brokers',
  );
  // Twelve partitions, four led by each broker, each followed by the two others.
  await createTopicByRequest(brokers[0]!, {
    name: 'wide',
    numPartitions: 12,
    replicationFactor: 3,
  });
  const records = await makeBatch({ seed: 9, recordsCount: 2, valueBytes: 50 });
  for (let index = 0; index < 12; index++) {
    const leader = await waitFor(() => {
      const led = brokers.find((broker) => broker.replicas.partition('wide', index)?.replicaState);
      return led;
    }, `a leader for partition ${index}`);
    const connection = await KafkaConnection.open(leader.bootstrapServers, { clientId: 'wide' });
    const response = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: 'wide', partitionData: [{ index, records }] }],
    });
    connection.close();
    assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
  }
  for (const broker of brokers) {
    for (let index = 0; index < 12; index++)
      await waitFor(
        () => broker.replicas.partition('wide', index)!.logEndOffset === 2,
        `broker ${broker.nodeId} to hold partition ${index}`,
      );
  }
  // Each broker's clients now are the two others' fetchers, one connection each.
  for (const broker of brokers) {
    let seen = -1;
    await waitFor(
      async () => (seen = await connectionsOf(broker)) === 2,
      () => `broker ${broker.nodeId} to have 2 connections (it has ${seen})`,
    );
  }
});

async function connectionsOf(broker: Broker): Promise<number> {
  const { host, port } = broker.httpListeners[0]!;
  const text = await (await fetch(`http://${host}:${port}/metrics`)).text();
  const match = /^brook_connections (\d+)/m.exec(text);
  return Number(match?.[1] ?? -1);
}

test('a kafkajs idempotent producer with default retries sends on through a leader SIGKILL; the new leader holds every record once, in order', async (t) => {
  // kafkajs's default retries (five, 0.3 s doubling) span 7-11 s, but it goes back to the dead
  // leader until a metadata refresh names the new one: with a 3 s session the new leader came at
  // 3.1-3.3 s and one send in fifteen still ran out of retries. A 2 s session keeps the margin.
  const cluster = await startProcessCluster(t, {
    sessionTimeoutMs: 2000,
    replicaLagTimeMaxMs: 10_000,
  });
  const before = await createTopic(cluster);
  // kafkajs with its default retry settings, as an application would run it.
  const kafka = new Kafka({
    clientId: 'replication-test',
    brokers: cluster.nodes.map((node) => node.process.bootstrapServers),
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  const send = (index: number) =>
    producer.send({
      topic: TOPIC,
      acks: -1,
      messages: [{ partition: 0, value: `record ${index}` }],
    });
  for (let index = 0; index < 20; index++) await send(index);
  // The leader dies with a send in flight: kafkajs retries it on the new leader.
  const inFlight = send(20);
  await cluster.node(before.leader).process.kill();
  await inFlight;
  for (let index = 21; index < 40; index++) await send(index);

  const after = await layoutOf(cluster.nodes.find((node) => node.nodeId !== before.leader)!);
  assert.ok(after !== undefined && after.leader !== before.leader && after.leader >= 0);
  const values: string[] = [];
  const log = await readCommitted(cluster.node(after.leader));
  for (let position = 0; position < log.length;) {
    const batch = decodeBatchSync(log, position);
    for (const record of batch.records) values.push(record.value!.toString());
    position += LOG_OVERHEAD_BYTES + batch.batchLength;
  }
  assert.deepEqual(
    values,
    Array.from({ length: 40 }, (_, index) => `record ${index}`),
  );
});

test('a leader stalled past its session is deposed: what it took meanwhile is not acknowledged, and on resuming it truncates and rejoins', async (t) => {
  const cluster = await startProcessCluster(t, {
    sessionTimeoutMs: 3000,
    replicaLagTimeMaxMs: 10_000,
  });
  await createTopic(cluster);
  const first = await makeBatch({ seed: 1, recordsCount: 5, valueBytes: 100 });
  // The broker that acknowledged the first batch is the one stalled (on a loaded machine the
  // first leader's session may lapse before the stall, and the leadership move on).
  const before = await produceToCurrentLeader(cluster, first);
  const stalled = cluster.node(before.leader);

  // A client connected to the leader sends while the leader is stopped; the kernel holds it.
  const connection = await KafkaConnection.open(stalled.process.bootstrapServers, {
    clientId: 'replication-test',
    requestTimeoutMs: 60_000,
  });
  t.after(() => connection.close());
  stalled.process.child.kill('SIGSTOP');
  const sentToStalled = connection.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [
      {
        name: TOPIC,
        partitionData: [
          { index: 0, records: await makeBatch({ seed: 2, recordsCount: 5, valueBytes: 100 }) },
        ],
      },
    ],
  });
  const survivors = cluster.nodes.filter((node) => node !== stalled);
  const after = await waitFor(
    async () => {
      const layout = await layoutOf(survivors[0]!);
      return layout !== undefined && layout.leader !== stalled.nodeId && layout.leader >= 0
        ? layout
        : undefined;
    },
    'a new leader while the old one is stopped',
    { timeoutMs: WAIT_MS },
  );
  const second = await makeBatch({ seed: 3, recordsCount: 5, valueBytes: 100 });
  const written = await produceToLeader(cluster.node(after.leader), second);
  assert.equal(written.errorCode, ErrorCode.NONE);
  assert.equal(Number(written.baseOffset), 5);

  stalled.process.child.kill('SIGCONT');
  const answer = (await sentToStalled).responses[0]!.partitionResponses[0]!;
  assert.equal(answer.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, answer.errorMessage ?? '');
  await waitFor(
    async () => (await layoutOf(cluster.node(after.leader)))?.isr.length === 3,
    'the old leader to rejoin the ISR',
    { timeoutMs: WAIT_MS },
  );
  const expected = Buffer.concat([
    stamped(first, 0, before.leaderEpoch),
    stamped(second, 5, after.leaderEpoch),
  ]);
  const logs = await waitForIdenticalLogs(cluster.nodes, 'byte-identical logs on all three');
  assert.ok(logs.equals(expected), 'the old leader cut what it took while deposed');
});
