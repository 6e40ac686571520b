// Shared subscriptions in cluster mode (issues 10 and 12): a subscription is served by the leader
// of its __share_group_state partition, whose state replicates like __consumer_offsets. Real etcd,
// three `brook start` processes with an HTTP door each, a topic of three partitions led by three
// different brokers. The subscription's records come from every partition, whoever leads it; the
// other brokers redirect its requests (307) to the one serving it; SIGKILL of that broker moves the
// subscription to the state partition's new leader, which delivers exactly what was not
// acknowledged. GET /v1/subscriptions on any broker lists every subscription of the cluster with
// the broker serving it. A reassignment that takes the serving broker's replica of a partition
// away leaves the subscription reading that partition from its leader, where it left off.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';

import { partitionForKey } from '../../src/client/partitioner.js';
import { freePort } from '../../src/cluster/etcd-process.js';
import {
  createTopicByRequest,
  createTopicLedAsAssigned,
  kafkaOf,
  layoutOf,
  startWatchedCluster,
} from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';
import { type Json, PushClient, readTopic } from '../share/push-helpers.js';

const TOPIC = 'tasks';
const STATE_TOPIC = '__share_group_state';
const SUBSCRIPTION = 'runners';

/** Three broker processes, each with an HTTP listener on a port known before it starts. */
async function startShareCluster() {
  const httpPorts = new Map<number, number>();
  for (const id of [1, 2, 3]) httpPorts.set(id, await freePort());
  const base = (id: number): string => `http://127.0.0.1:${httpPorts.get(id)}`;
  const watched = await startWatchedCluster({
    brokers: 3,
    settings: {
      'broker.session.timeout.ms': 3000,
      'auto.create.topics.enable': false,
      'auto.leader.rebalance.enable': false,
      'offsets.topic.replication.factor': 3,
      'share.state.topic.num.partitions': 3,
    },
    brokerSettings: ({ id }) => ({ 'http.listeners': base(id) }),
  });
  return { ...watched, base };
}

test('a subscription is served by one broker, redirected to by the others, and survives its SIGKILL', async () => {
  const { cluster, base } = await startShareCluster();
  // Each partition led by another broker, all three replicated everywhere.
  await createTopicByRequest(cluster, {
    name: TOPIC,
    numPartitions: 3,
    replicationFactor: 3,
    replicaAssignment: [
      [1, 2, 3],
      [2, 3, 1],
      [3, 1, 2],
    ],
  });
  const layout = await waitFor(async () => {
    const partitions = await layoutOf(cluster, TOPIC);
    return partitions?.every((partition, index) => partition.leader === index + 1)
      ? partitions
      : undefined;
  }, `${TOPIC}'s partitions led by brokers 1, 2 and 3`);
  assert.equal(layout.length, 3);

  // Created through broker 1, whichever broker serves it (fetch follows the 307).
  const viaOne = new PushClient(base(1));
  await waitFor(
    async () => {
      const answer = await viaOne.request('PUT', `/v1/subscriptions/${SUBSCRIPTION}`, {
        topic: TOPIC,
        start: 'earliest',
        ackTimeoutMs: 600_000,
      });
      return answer.status === 201 ? answer : undefined;
    },
    'the subscription created once __share_group_state has a leader',
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const owner = await ownerOf([1, 2, 3], base);
  // The others answer 307 to the owner's HTTP listener, with a problem naming it.
  for (const id of [1, 2, 3].filter((candidate) => candidate !== owner)) {
    const response = await fetch(`${base(id)}/v1/subscriptions/${SUBSCRIPTION}?x=1`, {
      redirect: 'manual',
    });
    assert.equal(response.status, 307, `broker ${id} redirects`);
    assert.equal(
      response.headers.get('location'),
      `${base(owner)}/v1/subscriptions/${SUBSCRIPTION}?x=1`,
    );
    const problem = (await response.json()) as Json;
    assert.equal(problem.code, 'subscription-moved');
    assert.match(problem.detail, new RegExp(`broker ${owner}\\b`));
  }
  // A WebSocket upgrade on another broker is refused with the same 307 (clients reconnect there).
  const other = [1, 2, 3].find((id) => id !== owner)!;
  const socket = new WebSocket(
    `${base(other).replace('http', 'ws')}/v1/subscriptions/${SUBSCRIPTION}/ws`,
  );
  const refused = await new Promise<{ status: number; location: string | undefined }>((resolve) => {
    socket.on('unexpected-response', (request, response) => {
      resolve({ status: response.statusCode ?? 0, location: response.headers.location });
      request.destroy();
    });
    socket.on('error', () => undefined);
  });
  assert.deepEqual(refused, {
    status: 307,
    location: `${base(owner)}/v1/subscriptions/${SUBSCRIPTION}/ws`,
  });

  // Produced over HTTP on a broker that leads one partition of three: the others go to their
  // leaders.
  const count = 60;
  const producer = new PushClient(base(owner === 1 ? 2 : 1));
  const produced = await producer.request('POST', `/v1/topics/${TOPIC}/records`, {
    records: Array.from({ length: count }, (_, index) => ({
      value: `t${index}`,
      partition: index % 3,
    })),
  });
  assert.equal(produced.status, 200, JSON.stringify(produced.body));
  const offsets = produced.body.offsets as Array<{ partition: number; offset: number }>;
  for (let partition = 0; partition < 3; partition += 1) {
    assert.deepEqual(
      offsets.filter((entry) => entry.partition === partition).map((entry) => entry.offset),
      Array.from({ length: count / 3 }, (_, index) => index),
    );
  }

  const ownerClient = new PushClient(base(owner));
  const stream = ownerClient.events(SUBSCRIPTION, '?consumer=r1');
  const delivered = await stream.waitForRecords(count, 'from all three partitions');
  assert.deepEqual(
    [...new Set(delivered.map((record) => record.partition))].sort(),
    [0, 1, 2],
    'records of every partition, led by each broker',
  );
  assert.deepEqual(
    delivered.map((record) => record.value).sort(),
    Array.from({ length: count }, (_, index) => `t${index}`).sort(),
  );
  const acked = delivered.filter((_, index) => index % 3 === 0);
  const ackAnswer = await ownerClient.acks(SUBSCRIPTION, { ack: acked.map((r) => r.id) });
  assert.equal(ackAnswer.acknowledged, acked.length);
  // One rejected: to the dead-letter topic, created in the cluster and written through its leader.
  const rejected = delivered[1];
  const rejectAnswer = await ownerClient.acks(SUBSCRIPTION, {
    reject: [{ id: rejected.id, reason: 'bad' }],
  });
  assert.equal(rejectAnswer.rejected, 1, JSON.stringify(rejectAnswer));
  // Read through one broker, once it has mirrored the topic the owner created.
  const reader = { bootstrapServers: cluster.bootstrapServers.split(',')[0]! };
  await waitFor(async () => {
    const partitions = await layoutOf(reader, `${TOPIC}.dlq`);
    return partitions !== undefined && partitions.every((partition) => partition.leader >= 0);
  }, `${TOPIC}.dlq led, as broker 1 sees it`);
  const [dead] = await readTopic(reader, `${TOPIC}.dlq`, 1);
  assert.equal(dead.value, rejected.value);
  assert.equal(dead.headers['dlq.source.offset'], String(rejected.offset));
  assert.equal(dead.headers['dlq.reason'], 'rejected');

  // A topic with one replica per partition: the broker serving a subscription holds one of its
  // partitions and reads the two others from their leaders over Fetch.
  await createTopicLedAsAssigned(cluster, 'solo', [[1], [2], [3]]);
  const soloAnswer = await viaOne.request('PUT', '/v1/subscriptions/solo-readers', {
    topic: 'solo',
    start: 'latest',
  });
  assert.equal(soloAnswer.status, 201, JSON.stringify(soloAnswer.body));
  const soloOwner = await ownerOf([1, 2, 3], base, 'solo-readers');
  const soloProduced = await viaOne.request('POST', '/v1/topics/solo/records', {
    records: Array.from({ length: 30 }, (_, index) => ({
      value: `s${index}`,
      partition: index % 3,
    })),
  });
  assert.equal(soloProduced.status, 200, JSON.stringify(soloProduced.body));
  const soloStream = new PushClient(base(soloOwner)).events('solo-readers', '?consumer=s1');
  try {
    const soloRecords = await soloStream.waitForRecords(30, 'from local and remote partitions');
    assert.deepEqual(
      soloRecords.map((record) => record.value).sort(),
      Array.from({ length: 30 }, (_, index) => `s${index}`).sort(),
    );
    // Transactions, read committed from every partition: an aborted one is never delivered.
    const transactional = kafkaOf(cluster).producer({
      transactionalId: 'solo-tx',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await transactional.connect();
    try {
      const each = (value: string) =>
        [0, 1, 2].map((partition) => ({ value: `${value}${partition}`, partition }));
      const aborted = await transactional.transaction();
      await aborted.send({ topic: 'solo', messages: each('aborted-') });
      await aborted.abort();
      const committed = await transactional.transaction();
      await committed.send({ topic: 'solo', messages: each('committed-') });
      await committed.commit();
    } finally {
      await transactional.disconnect();
    }
    const withTransactions = await soloStream.waitForRecords(33, 'the committed transaction');
    assert.deepEqual(
      withTransactions
        .slice(30)
        .map((record) => record.value)
        .sort(),
      ['committed-0', 'committed-1', 'committed-2'],
    );
  } finally {
    await soloStream.close();
  }

  await cluster.kill(owner);
  const killedAtMs = Date.now();
  await stream.close();

  const survivors = [1, 2, 3].filter((id) => id !== owner);
  // A survivor's list while the killed broker still leads in the view is partial, and says so
  // (it did not answer, or its state partitions are not ready); then it is whole again.
  const names = [SUBSCRIPTION, 'solo-readers'];
  // Measured apart from the list's polls, which run beside it.
  let servedAfterMs = 0;
  const [successor, listedAfter] = await Promise.all([
    ownerOf(survivors, base).then((id) => {
      servedAfterMs = Date.now() - killedAtMs;
      return id;
    }),
    waitFor(
      async () => {
        const listed = await new PushClient(base(survivors[0])).request('GET', '/v1/subscriptions');
        assert.equal(listed.status, 200);
        const missing = names.filter((name) => !listed.body.subscriptions.includes(name));
        if (missing.length > 0) {
          assert.ok(
            listed.body.unreachable.length + listed.body.unavailable.length > 0,
            `${missing.join(', ')} missing unannounced: ${JSON.stringify(listed.body)}`,
          );
          return undefined;
        }
        return listed.body.unreachable.length === 0 ? listed.body : undefined;
      },
      'a whole list again after the kill',
      { timeoutMs: 30_000, intervalMs: 100 },
    ),
  ]);
  for (const name of names) assert.ok(survivors.includes(listedAfter.servedBy[name]), name);
  // A consumer that connects to the other survivor is redirected to the new owner.
  const redirected = new PushClient(base(survivors.find((id) => id !== successor)!));
  const after = redirected.events(SUBSCRIPTION, '?consumer=r2');
  try {
    const expected = delivered
      .filter((record, index) => index % 3 !== 0 && record.id !== rejected.id)
      .map((record) => record.id)
      .sort();
    await after.waitForRecords(expected.length, 'not acknowledged before the kill');
    console.log(
      `# subscription failover (3 s session): served by broker ${successor} ${servedAfterMs} ms after SIGKILL of broker ${owner}; ${expected.length} records redelivered ${Date.now() - killedAtMs} ms after it`,
    );
    // Whatever else might come would come at once: give it a moment through a settled stats read.
    const stats = await new PushClient(base(successor)).stats(SUBSCRIPTION);
    assert.equal(stats.acknowledged, acked.length);
    assert.deepEqual(after.records.map((record) => record.id).sort(), expected);
    for (const record of after.records) assert.equal(record.deliveryCount, 2, record.id);
  } finally {
    await after.close();
  }
});

/** The broker of `ids` that answers the subscription itself (200), once one does. */
function ownerOf(
  ids: readonly number[],
  base: (id: number) => string,
  subscription = SUBSCRIPTION,
): Promise<number> {
  return waitFor(
    async () => {
      for (const id of ids) {
        const response = await fetch(`${base(id)}/v1/subscriptions/${subscription}`, {
          redirect: 'manual',
        }).catch(() => null);
        if (response?.status === 200) return id;
      }
      return undefined;
    },
    `a broker of ${ids.join(', ')} serving ${subscription}`,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

test('a subscription whose state partition moves ends its streams and is served by the new leader', async () => {
  const { cluster, store, base } = await startShareCluster();
  await createTopicByRequest(cluster, { name: TOPIC, numPartitions: 3, replicationFactor: 3 });
  const viaOne = new PushClient(base(1));
  await waitFor(
    async () =>
      (
        await viaOne.request('PUT', `/v1/subscriptions/${SUBSCRIPTION}`, {
          topic: TOPIC,
          start: 'earliest',
          ackTimeoutMs: 600_000,
        })
      ).status === 201,
    'the subscription created once __share_group_state has a leader',
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const owner = await ownerOf([1, 2, 3], base);

  // Listed by every broker, whichever serves them: one more subscription in each state partition.
  const names = [SUBSCRIPTION];
  for (let candidate = 0; names.length < 4; candidate += 1) {
    const name = `listed-${candidate}`;
    const statePartition = partitionForKey(Buffer.from(name), 3);
    if (names.slice(1).some((other) => partitionForKey(Buffer.from(other), 3) === statePartition))
      continue;
    names.push(name);
    await waitFor(
      async () =>
        (await viaOne.request('PUT', `/v1/subscriptions/${name}`, { topic: TOPIC })).status === 201,
      `${name} created once its state partition is loaded`,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }
  const servers = new Map<string, number>();
  for (const name of names) servers.set(name, await ownerOf([1, 2, 3], base, name));
  const expectedList = {
    subscriptions: [...names].sort(),
    servedBy: Object.fromEntries([...servers].sort(([a], [b]) => a.localeCompare(b))),
    unreachable: [],
    unavailable: [],
  };
  for (const id of [1, 2, 3]) {
    const listed = await new PushClient(base(id)).request('GET', '/v1/subscriptions');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, expectedList, `as broker ${id} lists them`);
    const own = await new PushClient(base(id)).request('GET', '/v1/subscriptions?served=here');
    assert.deepEqual(
      own.body.subscriptions,
      names.filter((name) => servers.get(name) === id).sort(),
      `broker ${id}'s own`,
    );
  }

  const produced = await viaOne.request('POST', `/v1/topics/${TOPIC}/records`, {
    records: Array.from({ length: 12 }, (_, index) => ({ value: `m${index}` })),
  });
  assert.equal(produced.status, 200, JSON.stringify(produced.body));
  const stream = new PushClient(base(owner)).events(SUBSCRIPTION, '?consumer=m1');
  let ended = false;
  void stream.done.then(() => (ended = true));
  const first = await stream.waitForRecords(12);
  // A WebSocket consumer too (the SSE consumer holds every record: this one only watches).
  const socket = new WebSocket(
    `${base(owner).replace('http', 'ws')}/v1/subscriptions/${SUBSCRIPTION}/ws?consumer=w1`,
  );
  let socketClosedWith: number | null = null;
  socket.on('close', (code) => (socketClosedWith = code));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('open', resolve));
  // Three acknowledged: answered once the state (these deliveries included) is durable.
  const acked = first.slice(0, 3).map((record) => record.id);
  const ackAnswer = await new PushClient(base(owner)).acks(SUBSCRIPTION, { ack: acked });
  assert.equal(ackAnswer.acknowledged, 3);

  // The controller's move, as an ElectLeaders would write it: another in-sync replica leads.
  const statePartition = partitionForKey(Buffer.from(SUBSCRIPTION), 3);
  const current = store.partitionState(STATE_TOPIC, statePartition)!;
  const successor = current.isr.find((id) => id !== owner)!;
  await store.updatePartitionState(
    STATE_TOPIC,
    statePartition,
    current.partitionEpoch,
    { ...current, leader: successor, leaderEpoch: current.leaderEpoch + 1 },
    null,
  );
  // The old owner ends the stream and redirects; the new one redelivers what was held.
  await waitFor(() => ended, 'the stream on the old owner ended');
  await waitFor(() => socketClosedWith !== null, 'the WebSocket on the old owner closed');
  assert.equal(socketClosedWith, 1012, 'closed as "service restart": connect again');
  assert.equal(await ownerOf([1, 2, 3], base), successor);
  // The list follows: the moved subscription is now the successor's.
  const relisted = await new PushClient(base(owner)).request('GET', '/v1/subscriptions');
  assert.equal(relisted.body.servedBy[SUBSCRIPTION], successor, JSON.stringify(relisted.body));
  const moved = await fetch(`${base(owner)}/v1/subscriptions/${SUBSCRIPTION}`, {
    redirect: 'manual',
  });
  assert.equal(moved.status, 307);
  assert.equal(
    moved.headers.get('location'),
    `${base(successor)}/v1/subscriptions/${SUBSCRIPTION}`,
  );
  const after = new PushClient(base(owner)).events(SUBSCRIPTION, '?consumer=m2');
  try {
    const records = await after.waitForRecords(9, 'redelivered by the new owner');
    const stats = await new PushClient(base(successor)).stats(SUBSCRIPTION);
    assert.equal(stats.acknowledged, 3);
    assert.deepEqual(
      records.map((record) => record.id).sort(),
      first
        .slice(3)
        .map((record) => record.id)
        .sort(),
    );
    for (const record of records) assert.equal(record.deliveryCount, 2, record.id);
  } finally {
    await after.close();
  }
});

test("a subscription keeps reading a partition from its leader once a reassignment removes the serving broker's replica", async () => {
  const { cluster, store, base } = await startShareCluster();
  const topic = 'moving';
  await createTopicByRequest(cluster, { name: topic, numPartitions: 1, replicationFactor: 3 });
  const viaOne = new PushClient(base(1));
  await waitFor(
    async () =>
      (
        await viaOne.request('PUT', '/v1/subscriptions/movers', {
          topic,
          start: 'earliest',
          ackTimeoutMs: 600_000,
        })
      ).status === 201,
    'the subscription created once __share_group_state has a leader',
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const owner = await ownerOf([1, 2, 3], base, 'movers');
  const produce = async (values: string[]) => {
    const answer = await viaOne.request('POST', `/v1/topics/${topic}/records`, {
      records: values.map((value) => ({ value, partition: 0 })),
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };
  const stream = new PushClient(base(owner)).events('movers', '?consumer=m1');
  try {
    // Read from the serving broker's own replica first.
    await produce(['a0', 'a1', 'a2']);
    const before = await stream.waitForRecords(3, 'from the local replica');
    assert.deepEqual(
      before.map((record) => record.value),
      ['a0', 'a1', 'a2'],
    );

    // The partition moves to the two other brokers: the serving broker deletes its replica.
    const targets = [1, 2, 3].filter((id) => id !== owner);
    const admin = kafkaOf(cluster).admin();
    await admin.connect();
    try {
      await admin.alterPartitionReassignments({
        topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: targets }] }],
      });
    } finally {
      await admin.disconnect();
    }
    await waitFor(
      () =>
        store.reassignment(topic, 0) === undefined &&
        store.partitionState(topic, 0)?.replicas.join() === targets.join(),
      () =>
        `${topic}-0 on ${targets.join()} (now ${JSON.stringify(store.partitionState(topic, 0))})`,
      { timeoutMs: 60_000 },
    );
    await waitFor(
      () => !existsSync(join(cluster.broker(owner).logDir, `${topic}-0`)),
      `broker ${owner} to delete its replica of ${topic}-0`,
    );

    // Records produced after the move come from the partition's leader, without a reload.
    await produce(['b0', 'b1', 'b2']);
    const after = await stream.waitForRecords(6, 'from the leader after the move');
    assert.deepEqual(
      after.map((record) => record.value),
      ['a0', 'a1', 'a2', 'b0', 'b1', 'b2'],
    );
  } finally {
    await stream.close();
  }
});
