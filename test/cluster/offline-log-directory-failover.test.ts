// Fail-over from an offline log directory (KIP-112), on three in-process brokers with two entries
// in log.dirs each and every partition on all three (RF 3, min.insync.replicas 2):
//
// - a broker restarted with one of its directories unopenable (a file in its place) reports the
//   replicas placed there offline: Metadata lists it among their offline replicas and never in
//   their ISRs, it leads none of them, and answers NOT_LEADER_OR_FOLLOWER there; the partitions of
//   its healthy directory still replicate to it and take it back into their ISRs; acks=all
//   produces and a consumer reading everything back lose no acknowledged record.
// - a leader whose log fails while running (fsync EIO) reports that replica offline at once: the
//   controller moves the leadership to another in-sync replica, and the producer's retries land
//   there instead of failing with KAFKA_STORAGE_ERROR.
import assert from 'node:assert/strict';
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Kafka } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import type { FileIo } from '../../src/storage/file-io.js';
import {
  createTopicByRequest,
  kafkaOf,
  layoutOf,
  metadataOf,
  type PartitionLayout,
} from '../helpers/cluster.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { callBroker } from '../helpers/wire-client.js';
import { makeBatch } from '../helpers/storage-batches.js';

const etcd = await startEtcd();

const TOPIC = 'jbod';
const PARTITIONS = 4;

/** Three brokers with two log directories each, stopped after the test (before the directories go). */
async function startJbodCluster(t: TestContext, fileIoOf: (nodeId: number) => FileIo | undefined) {
  const brokers = new Map<number, Broker>();
  t.after(async () => {
    for (const broker of brokers.values()) await broker.stop().catch(() => undefined);
  });
  const parent = temporaryDirectory(t, 'brook-offline-dir-');
  const prefix = uniquePrefix();
  const directoriesOf = (nodeId: number): [string, string] => [
    join(parent, `broker-${nodeId}`, 'first'),
    join(parent, `broker-${nodeId}`, 'second'),
  ];
  const start = async (nodeId: number): Promise<Broker> => {
    const broker = await startBroker({
      logDirs: directoriesOf(nodeId),
      fileIo: fileIoOf(nodeId),
      settings: {
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': prefix,
        'node.id': nodeId,
        'broker.session.timeout.ms': 2000,
        'auto.create.topics.enable': false,
        'replica.lag.time.max.ms': 5000,
      },
    });
    brokers.set(nodeId, broker);
    return broker;
  };
  for (const nodeId of [1, 2, 3]) await start(nodeId);
  await createTopicByRequest(brokers.get(1)!, {
    name: TOPIC,
    numPartitions: PARTITIONS,
    replicationFactor: 3,
    configs: { 'min.insync.replicas': '2' },
  });
  await waitFor(async () => {
    const layout = await layoutOf(brokers.get(1)!, TOPIC);
    return layout?.every((partition) => partition.isr.length === 3);
  }, 'every partition with all three brokers in its ISR');
  const client = (): Kafka =>
    kafkaOf({
      bootstrapServers: [...brokers.values()].map((broker) => broker.bootstrapServers).join(','),
    });
  return { brokers, directoriesOf, start, client };
}

/** The partitions of `topic` whose logs are in `directory`. */
function partitionsIn(directory: string, topic: string): number[] {
  return readdirSync(directory)
    .filter((name) => name.startsWith(`${topic}-`))
    .map((name) => Number(name.slice(topic.length + 1)))
    .sort((a, b) => a - b);
}

/** Sends `count` records to each partition with acks=all; returns the values acknowledged. */
async function produceAll(kafka: Kafka, label: string, count: number): Promise<string[]> {
  const producer = kafka.producer({ retry: { retries: 10, initialRetryTime: 200 } });
  await producer.connect();
  const acknowledged: string[] = [];
  try {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const values = Array.from({ length: count }, (_, index) => `${label}-${partition}-${index}`);
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: values.map((value) => ({ partition, value })),
      });
      acknowledged.push(...values);
    }
  } finally {
    await producer.disconnect();
  }
  return acknowledged;
}

/** Every value in the topic, read from the start by a consumer group. */
async function consumeAll(kafka: Kafka, expected: number): Promise<Set<string>> {
  const consumer = kafka.consumer({ groupId: `readers-${uniquePrefix().slice(-8)}` });
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value!.toString());
      },
    });
    await waitFor(() => seen.size >= expected, `the consumer to read ${expected} records`, {
      timeoutMs: 60_000,
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** Produce v9 of one record straight to `broker`: the partition's error code there. */
async function produceErrorAt(broker: Broker, partition: number): Promise<number> {
  const response = await callBroker<ProduceResponse>(broker.bootstrapServers, ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      {
        name: TOPIC,
        partitionData: [
          {
            index: partition,
            records: await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 8 }),
          },
        ],
      },
    ],
  });
  return response.responses[0]!.partitionResponses[0]!.errorCode;
}

test('a broker restarted with a log directory offline gives up its replicas there; the others fail over and lose nothing', async (t) => {
  const { brokers, directoriesOf, start, client } = await startJbodCluster(t, () => undefined);
  const before = await produceAll(client(), 'before', 20);

  // Broker 3 goes down, its second directory's disk with it (a file where the mount was).
  const victimId = 3;
  const [, second] = directoriesOf(victimId);
  const offlinePartitions = partitionsIn(second, TOPIC);
  const healthyPartitions = [...Array(PARTITIONS).keys()].filter(
    (partition) => !offlinePartitions.includes(partition),
  );
  assert.ok(
    offlinePartitions.length > 0 && healthyPartitions.length > 0,
    'both directories hold some',
  );
  await brokers.get(victimId)!.stop();
  brokers.delete(victimId);
  renameSync(second, `${second}.away`);
  writeFileSync(second, 'not a directory');
  // Produced while it is away: its healthy replicas must catch up on these.
  const whileAway = await produceAll(client(), 'away', 10);
  const restartedAtMs = Date.now();
  const victim = await start(victimId);

  const observer = brokers.get(1)!;
  const settled = await waitFor(async () => {
    const layout = await layoutOf(observer, TOPIC);
    if (layout === undefined) return undefined;
    const ready = layout.every((partition, index) =>
      offlinePartitions.includes(index)
        ? partition.offline.includes(victimId)
        : partition.isr.includes(victimId) && !partition.offline.includes(victimId),
    );
    return ready ? layout : undefined;
  }, 'Metadata to list broker 3 offline on its lost directory and back in sync on the other');
  for (const partition of offlinePartitions) {
    const state: PartitionLayout = settled[partition]!;
    assert.notEqual(state.leader, victimId, `partition ${partition} is not led by the victim`);
    assert.ok(!state.isr.includes(victimId), `partition ${partition}: not in the ISR`);
    assert.deepEqual(state.offline, [victimId], `partition ${partition}: offline replicas`);
  }
  // Every broker's Metadata says the same.
  for (const broker of brokers.values()) {
    const metadata = await metadataOf(broker, [TOPIC]);
    for (const partition of metadata.topics[0]!.partitions)
      assert.deepEqual(
        partition.offlineReplicas,
        offlinePartitions.includes(partition.partitionIndex) ? [victimId] : [],
        `broker ${broker.nodeId}'s Metadata for partition ${partition.partitionIndex}`,
      );
  }
  // As a client sees it.
  const admin = client().admin();
  await admin.connect();
  try {
    const [described] = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics;
    for (const partition of described!.partitions)
      assert.deepEqual(
        partition.offlineReplicas ?? [],
        offlinePartitions.includes(partition.partitionId) ? [victimId] : [],
        `kafkajs: offline replicas of partition ${partition.partitionId}`,
      );
  } finally {
    await admin.disconnect();
  }
  // The victim sends clients of its lost partitions to their leaders.
  for (const partition of offlinePartitions)
    assert.equal(await produceErrorAt(victim, partition), ErrorCode.NOT_LEADER_OR_FOLLOWER);

  // acks=all keeps working on every partition, the lost directory's included.
  const after = await produceAll(client(), 'after', 10);
  // The healthy directory's replicas hold everything, copied from their leaders.
  for (const partition of healthyPartitions) {
    const leader = brokers.get(settled[partition]!.leader)!;
    await waitFor(() => {
      const leaderLog = leader.replicas.partition(TOPIC, partition)!;
      const local = victim.replicas.partition(TOPIC, partition)!;
      return local.logEndOffset === leaderLog.logEndOffset && local.logEndOffset === 40
        ? true
        : undefined;
    }, `broker 3's replica of partition ${partition} to copy all 40 records`);
  }
  // Meanwhile it fetched nothing for its lost replicas: no replica fetcher runs for them.
  for (const partition of offlinePartitions) {
    const leader = brokers.get(settled[partition]!.leader)!;
    const follower = leader.replicas.partition(TOPIC, partition)!.replicaState!.follower(victimId)!;
    assert.ok(
      follower.lastFetchTimeMs < restartedAtMs,
      `broker 3 fetched partition ${partition} after its restart`,
    );
  }
  const acknowledged = [...before, ...whileAway, ...after];
  const seen = await consumeAll(client(), acknowledged.length);
  const lost = acknowledged.filter((value) => !seen.has(value));
  assert.deepEqual(lost, [], 'no acknowledged record is lost');
});

test('a leader whose log fails while running hands its leadership to an in-sync replica', async (t) => {
  const faulty = new FaultyFileIo();
  const victimId = 2;
  const { brokers, client } = await startJbodCluster(t, (nodeId) =>
    nodeId === victimId ? faulty : undefined,
  );
  // Broker 2 leads this partition.
  const layout = (await layoutOf(brokers.get(1)!, TOPIC))!;
  const partition = layout.findIndex((state) => state.leader === victimId);
  assert.ok(partition >= 0, 'broker 2 leads a partition');
  const before = await produceAll(client(), 'before', 5);

  // Its disk under that partition's log starts failing every fsync.
  faulty.inject({
    operation: 'datasync',
    pathIncludes: `${sep}${TOPIC}-${partition}${sep}`,
    errorCode: 'EIO',
    times: Infinity,
  });
  const producer = client().producer({ retry: { retries: 10, initialRetryTime: 200 } });
  await producer.connect();
  const during: string[] = [];
  try {
    for (let index = 0; index < 5; index++) {
      const value = `during-${partition}-${index}`;
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition, value }] });
      during.push(value);
    }
  } finally {
    await producer.disconnect();
  }

  const moved = (await layoutOf(brokers.get(1)!, TOPIC))![partition]!;
  assert.notEqual(moved.leader, victimId, 'the leadership moved off the failed log');
  assert.ok(moved.leaderEpoch > layout[partition]!.leaderEpoch, 'with a new leader epoch');
  assert.ok(!moved.isr.includes(victimId), 'the failed replica left the ISR');
  assert.deepEqual(moved.offline, [victimId]);
  assert.equal(
    await produceErrorAt(brokers.get(victimId)!, partition),
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
  );
  // Its other partitions are untouched: still in every other ISR.
  const others = (await layoutOf(brokers.get(1)!, TOPIC))!.filter(
    (_, index) => index !== partition,
  );
  for (const state of others) assert.ok(state.isr.includes(victimId));

  const acknowledged = [...before, ...during, ...(await produceAll(client(), 'after', 5))];
  const seen = await consumeAll(client(), acknowledged.length);
  assert.deepEqual(
    acknowledged.filter((value) => !seen.has(value)),
    [],
    'no acknowledged record is lost',
  );
});
