// Transaction markers in a cluster (issue 10): three in-process brokers on one etcd, a topic whose
// partition is led by a broker that does not coordinate the transactions written to it. The
// coordinator must send each COMMIT and ABORT marker to the partition's leader, which replicates
// it like any batch, so the last stable offset reaches the log end on every replica, and a
// read_committed consumer (kafkajs, librdkafka) served by any of them after leadership moves reads
// exactly the committed records.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { createEtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import { ChildClient, requireClient, systemPython, withTimeout } from '../helpers/clients.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { callBroker } from '../helpers/wire-client.js';
import { transactionCoordinatorOf } from './transaction-coordinators.js';

const { Kafka, logLevel } = kafkajs;

const etcd = await startEtcd();
const TOPIC = 'marked';
const TRANSACTIONAL_ID = 'markers-txn';
const WAIT_MS = 30_000;

function values(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, index) => `${prefix}-${from + index}`);
}

/** Three brokers of one cluster, in this process, stopped when the test ends. */
async function startThreeBrokers(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ brokers: Broker[]; prefix: string }> {
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
          'broker.session.timeout.ms': 3000,
          'auto.create.topics.enable': false,
          'controlled.shutdown.enable': false,
          'offsets.topic.num.partitions': 3,
          'transaction.state.log.num.partitions': 3,
        },
      }),
    );
  }
  await waitFor(
    async () =>
      (
        await callBroker<MetadataResponse>(brokers[0]!.bootstrapServers, ApiKey.Metadata, 12, {
          topics: [],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        })
      ).brokers.length === 3,
    'three brokers',
    { timeoutMs: WAIT_MS },
  );
  return { brokers, prefix };
}

/** Where each replica of TOPIC-0 stands: log end, high watermark, last stable offset. */
function offsetsOn(broker: Broker): string {
  const partition = broker.replicas.partition(TOPIC, 0);
  return partition === undefined
    ? 'no replica'
    : `LEO ${partition.logEndOffset}, HW ${partition.highWatermark}, LSO ${partition.lastStableOffset}`;
}

const confluentCommittedReader = String.raw`
import json, sys
from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
bootstrap, topic = sys.argv[1], sys.argv[2]
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'markers-librdkafka', 'enable.auto.commit': False,
              'enable.partition.eof': True, 'isolation.level': 'read_committed'})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
out = []
while True:
    msg = c.poll(5)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            break
        raise Exception(str(msg.error()))
    out.append(msg.value().decode())
c.close()
print(json.dumps({'values': out}), flush=True)
`;

test('markers go to the partition leader, not the coordinator: every replica reaches the log end as last stable offset, and read_committed readers on each leader in turn see exactly the committed records', async (t) => {
  const { brokers, prefix } = await startThreeBrokers(t);
  const brokerById = (id: number): Broker => brokers.find((broker) => broker.nodeId === id)!;
  const bootstrap = (): string => brokers[0]!.bootstrapServers;
  const coordinator = await transactionCoordinatorOf(bootstrap, TRANSACTIONAL_ID, WAIT_MS);
  const others = brokers.map((broker) => broker.nodeId).filter((id) => id !== coordinator);
  // Led by another broker; the coordinator holds a follower replica (where markers used to go).
  const replicas = [...others, coordinator];
  const created = await callBroker<CreateTopicsResponse>(bootstrap(), ApiKey.CreateTopics, 5, {
    topics: [
      {
        name: TOPIC,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partitionIndex: 0, brokerIds: replicas }],
        configs: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE, created.topics[0]!.errorMessage ?? '');
  const leader = brokerById(replicas[0]!);
  await waitFor(
    () => brokers.every((broker) => broker.replicas.partition(TOPIC, 0) !== undefined),
    'every broker to hold a replica',
    { timeoutMs: WAIT_MS },
  );
  await waitFor(
    () => leader.replicas.partition(TOPIC, 0)?.replicaState?.isr.length === 3,
    `broker ${leader.nodeId} to lead with 3 in-sync replicas`,
    { timeoutMs: WAIT_MS },
  );

  const kafka = new Kafka({
    clientId: 'transaction-markers',
    brokers: brokers.map((broker) => broker.bootstrapServers),
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({
    transactionalId: TRANSACTIONAL_ID,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  t.after(() => producer.disconnect());
  const inTransaction = async (written: string[], commit: boolean): Promise<void> => {
    const transaction = await producer.transaction();
    await transaction.send({
      topic: TOPIC,
      acks: -1,
      messages: written.map((value) => ({ partition: 0, value })),
    });
    if (commit) await transaction.commit();
    else await transaction.abort();
  };
  await inTransaction(values('committed', 0, 10), true);
  await inTransaction(values('aborted', 0, 5), false);
  await inTransaction(values('committed', 10, 20), true);
  const expected = values('committed', 0, 20);
  // 10 records and a COMMIT, 5 and an ABORT, 10 and a COMMIT: all of it stable on every replica.
  const logEndOffset = 28;
  await waitFor(
    () =>
      brokers.every((broker) => {
        const partition = broker.replicas.partition(TOPIC, 0)!;
        return (
          partition.logEndOffset === logEndOffset && partition.lastStableOffset === logEndOffset
        );
      }),
    () =>
      `the last stable offset at ${logEndOffset} on every replica (${brokers.map((broker) => `broker ${broker.nodeId}: ${offsetsOn(broker)}`).join('; ')})`,
    { timeoutMs: WAIT_MS },
  );

  // Leadership moves to each replica in turn (as the controller would write it); each serves the
  // same committed records to both clients.
  const client = createEtcdClient([etcd.endpoint]);
  const store = await EtcdMetadataStore.open(client, `${prefix}/`);
  t.after(async () => {
    await store.close();
    client.close();
  });
  for (const target of [others[1]!, coordinator, others[0]!]) {
    const state = store.partitionState(TOPIC, 0)!;
    if (state.leader !== target) {
      await store.updatePartitionState(
        TOPIC,
        0,
        state.partitionEpoch,
        { ...state, leader: target, leaderEpoch: state.leaderEpoch + 1 },
        store.controllerFence(),
      );
    }
    const led = brokerById(target).replicas.partition(TOPIC, 0)!;
    await waitFor(
      () => led.replicaState !== null && led.lastStableOffset === logEndOffset,
      () =>
        `broker ${target} to lead with the last stable offset at the end (${offsetsOn(brokerById(target))})`,
      { timeoutMs: WAIT_MS },
    );
    await waitFor(
      async () =>
        (
          await callBroker<MetadataResponse>(bootstrap(), ApiKey.Metadata, 12, {
            topics: [{ name: TOPIC, topicId: Buffer.alloc(16) }],
            allowAutoTopicCreation: false,
            includeTopicAuthorizedOperations: false,
          })
        ).topics[0]?.partitions[0]?.leaderId === target,
      `Metadata to name broker ${target} leader`,
      { timeoutMs: WAIT_MS },
    );

    const consumer = kafka.consumer({ groupId: `markers-kafkajs-${target}` });
    const read: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          read.push(message.value!.toString());
        },
      });
      // Records come in offset order: an aborted one would arrive before the last committed.
      await waitFor(() => read.length >= expected.length, `kafkajs to read from broker ${target}`, {
        timeoutMs: WAIT_MS,
      });
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(read, expected, `kafkajs read_committed from broker ${target}`);

    if (requireClient(t, 'confluent-kafka-python')) {
      const reader = new ChildClient(systemPython, [
        '-c',
        confluentCommittedReader,
        bootstrap(),
        TOPIC,
      ]);
      try {
        await withTimeout(reader.closed(), WAIT_MS * 2, 'the librdkafka reader');
        const answer = reader.events.find((event) => 'values' in event);
        assert.ok(answer, `the librdkafka reader answered; stderr: ${reader.stderr}`);
        assert.deepEqual(
          answer.values,
          expected,
          `librdkafka read_committed from broker ${target}`,
        );
      } finally {
        reader.kill();
      }
    }
  }
});
