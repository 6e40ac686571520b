// Transaction markers in a cluster (issue 10): three in-process brokers on one etcd, a topic whose
// partition is led by a broker that does not coordinate the transactions written to it. The
// coordinator must send each COMMIT and ABORT marker to the partition's leader, which replicates
// it like any batch, so the last stable offset reaches the log end on every replica, and a
// read_committed consumer (kafkajs, librdkafka) served by any of them after leadership moves reads
// exactly the committed records. Once the coordinator moved, a marker carrying the deposed one's
// epoch is refused (TRANSACTION_COORDINATOR_FENCED) by every leader the partition has.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { createEtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { TRANSACTION_STATE_TOPIC_NAME } from '../../src/coordinator/txn/ports.js';
import { transactionStatePartitionFor } from '../../src/coordinator/txn/transaction-log.js';
import { NO_LEADER } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { DescribeTransactionsResponse } from '../../src/protocol/generated/describe-transactions.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { WriteTxnMarkersResponse } from '../../src/protocol/generated/write-txn-markers.js';
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
          'transaction.state.log.replication.factor': 3,
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

/**
 * TOPIC with one partition on `replicas` (the first leads; the coordinator is placed last, so it
 * holds a follower replica, where markers used to go), once its leader leads all three in sync.
 */
async function createTopicLedBy(brokers: Broker[], replicas: number[]): Promise<void> {
  const created = await callBroker<CreateTopicsResponse>(
    brokers[0]!.bootstrapServers,
    ApiKey.CreateTopics,
    5,
    {
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
    },
  );
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE, created.topics[0]!.errorMessage ?? '');
  const leader = brokers.find((broker) => broker.nodeId === replicas[0])!;
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
}

/** Where each replica of TOPIC-0 stands: log end, high watermark, last stable offset. */
function offsetsOn(broker: Broker): string {
  const partition = broker.replicas.partition(TOPIC, 0);
  return partition === undefined
    ? 'no replica'
    : `LEO ${partition.logEndOffset}, HW ${partition.highWatermark}, LSO ${partition.lastStableOffset}`;
}

function kafkaOf(brokers: Broker[]): kafkajs.Kafka {
  return new Kafka({
    clientId: 'transaction-markers',
    brokers: brokers.map((broker) => broker.bootstrapServers),
    logLevel: logLevel.NOTHING,
  });
}

/** Every replica of TOPIC-0 at `logEndOffset`, with its last stable offset there too. */
async function waitForStableEverywhere(brokers: Broker[], logEndOffset: number): Promise<void> {
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
}

/** A store of its own on the cluster's etcd prefix, to write leaderships as the controller would. */
async function openStore(
  t: { after: (fn: () => Promise<void>) => void },
  prefix: string,
): Promise<EtcdMetadataStore> {
  const client = createEtcdClient([etcd.endpoint]);
  const store = await EtcdMetadataStore.open(client, `${prefix}/`);
  t.after(async () => {
    await store.close();
    client.close();
  });
  return store;
}

/** Writes `leader` (NO_LEADER: none) as the partition's leader in a new leader epoch. */
async function moveLeadership(
  store: EtcdMetadataStore,
  topic: string,
  partition: number,
  leader: number,
): Promise<void> {
  const state = store.partitionState(topic, partition)!;
  await store.updatePartitionState(
    topic,
    partition,
    state.partitionEpoch,
    { ...state, leader, leaderEpoch: state.leaderEpoch + 1 },
    store.controllerFence(),
  );
}

/** The transaction's state as `broker` describes it ('' when it does not coordinate it). */
async function transactionStateOn(broker: Broker, transactionalId: string): Promise<string> {
  const response = await callBroker<DescribeTransactionsResponse>(
    broker.bootstrapServers,
    ApiKey.DescribeTransactions,
    0,
    { transactionalIds: [transactionalId] },
  );
  return response.transactionStates[0]?.transactionState ?? '';
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
  await createTopicLedBy(brokers, [...others, coordinator]);

  const kafka = kafkaOf(brokers);
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
  await waitForStableEverywhere(brokers, logEndOffset);

  // Leadership moves to each replica in turn (as the controller would write it); each serves the
  // same committed records to both clients.
  const store = await openStore(t, prefix);
  for (const target of [others[1]!, coordinator, others[0]!]) {
    if (store.partitionState(TOPIC, 0)!.leader !== target)
      await moveLeadership(store, TOPIC, 0, target);
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

test('a coordinator that takes over a transaction left in PrepareCommit sends its markers to the partition leader once there is one', async (t) => {
  const { brokers, prefix } = await startThreeBrokers(t);
  const brokerById = (id: number): Broker => brokers.find((broker) => broker.nodeId === id)!;
  const bootstrap = (): string => brokers[0]!.bootstrapServers;
  const transactionalId = 'takeover-txn';
  const coordinator = await transactionCoordinatorOf(bootstrap, transactionalId, WAIT_MS);
  const others = brokers.map((broker) => broker.nodeId).filter((id) => id !== coordinator);
  const leader = others[0]!;
  await createTopicLedBy(brokers, [leader, others[1]!, coordinator]);
  const store = await openStore(t, prefix);

  const kafka = kafkaOf(brokers);
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  const transaction = await producer.transaction();
  const written = values('taken-over', 0, 10);
  await transaction.send({
    topic: TOPIC,
    acks: -1,
    messages: written.map((value) => ({ partition: 0, value })),
  });

  // The partition loses its leader: the commit is decided (PrepareCommit) but no marker lands.
  await moveLeadership(store, TOPIC, 0, NO_LEADER);
  const committing = transaction.commit().then(
    () => 'committed',
    (error: Error) => `failed: ${error.message}`,
  );
  await waitFor(
    async () =>
      (await transactionStateOn(brokerById(coordinator), transactionalId)) === 'PrepareCommit',
    `the transaction in PrepareCommit on its coordinator, broker ${coordinator}`,
    { timeoutMs: WAIT_MS },
  );

  // Its __transaction_state partition moves to another in-sync broker, which loads it.
  const statePartition = transactionStatePartitionFor(
    transactionalId,
    store.topics().get(TRANSACTION_STATE_TOPIC_NAME)!.partitions.length,
  );
  const stateLeadership = store.partitionState(TRANSACTION_STATE_TOPIC_NAME, statePartition)!;
  const successor = stateLeadership.isr.find((id) => id !== coordinator);
  assert.ok(
    successor !== undefined,
    `another in-sync replica of the state partition: ${JSON.stringify(stateLeadership)}`,
  );
  await moveLeadership(store, TRANSACTION_STATE_TOPIC_NAME, statePartition, successor);
  await waitFor(
    async () =>
      (await transactionStateOn(brokerById(successor), transactionalId)) === 'PrepareCommit',
    `broker ${successor} to take over the transaction, still in PrepareCommit`,
    { timeoutMs: WAIT_MS },
  );

  // A leader again: the new coordinator's markers reach it and every replica.
  await moveLeadership(store, TOPIC, 0, leader);
  await waitForStableEverywhere(brokers, written.length + 1);
  // The marker carries the new coordinator's epoch: the state partition's leader epoch it loaded in.
  const coordinatorEpoch = store.partitionState(
    TRANSACTION_STATE_TOPIC_NAME,
    statePartition,
  )!.leaderEpoch;
  assert.ok(coordinatorEpoch > 0);
  for (const broker of brokers) {
    assert.deepEqual(
      broker.replicas
        .partition(TOPIC, 0)!
        .activeProducers()
        .map((producer) => producer.coordinatorEpoch),
      [coordinatorEpoch],
      `the coordinator epoch in broker ${broker.nodeId}'s producer state`,
    );
  }
  await waitFor(
    async () =>
      (await transactionStateOn(brokerById(successor), transactionalId)) === 'CompleteCommit',
    `broker ${successor} to complete the commit`,
    { timeoutMs: WAIT_MS },
  );
  // Answered once the outcome was handed over, as Kafka answers EndTxn once Prepare* is durable.
  assert.equal(await withTimeout(committing, WAIT_MS * 2, 'the commit'), 'committed');

  const consumer = kafka.consumer({ groupId: 'takeover-read' });
  const read: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        read.push(message.value!.toString());
      },
    });
    await waitFor(() => read.length >= written.length, 'kafkajs to read the committed records', {
      timeoutMs: WAIT_MS,
    });
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(read, written);
});

/** A raw WriteTxnMarkers to `broker` for TOPIC-0, as a coordinator of `coordinatorEpoch` sends it. */
async function writeMarkerTo(
  broker: Broker,
  marker: { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean },
): Promise<number> {
  const response = await callBroker<WriteTxnMarkersResponse>(
    broker.bootstrapServers,
    ApiKey.WriteTxnMarkers,
    1,
    {
      markers: [
        {
          producerId: BigInt(marker.producerId),
          producerEpoch: marker.producerEpoch,
          transactionResult: marker.commit,
          coordinatorEpoch: marker.coordinatorEpoch,
          topics: [{ name: TOPIC, partitionIndexes: [0] }],
        },
      ],
    },
  );
  return response.markers[0]!.topics[0]!.partitions[0]!.errorCode;
}

test('once the transaction coordinator moved, a marker from the deposed one is refused with TRANSACTION_COORDINATOR_FENCED by the partition leader, and by the next leader after the partition moves too', async (t) => {
  const { brokers, prefix } = await startThreeBrokers(t);
  const brokerById = (id: number): Broker => brokers.find((broker) => broker.nodeId === id)!;
  const bootstrap = (): string => brokers[0]!.bootstrapServers;
  const transactionalId = 'deposed-txn';
  const coordinator = await transactionCoordinatorOf(bootstrap, transactionalId, WAIT_MS);
  const others = brokers.map((broker) => broker.nodeId).filter((id) => id !== coordinator);
  await createTopicLedBy(brokers, [others[0]!, others[1]!, coordinator]);
  const store = await openStore(t, prefix);
  const statePartition = transactionStatePartitionFor(
    transactionalId,
    store.topics().get(TRANSACTION_STATE_TOPIC_NAME)!.partitions.length,
  );
  const stateEpoch = (): number =>
    store.partitionState(TRANSACTION_STATE_TOPIC_NAME, statePartition)!.leaderEpoch;
  const producerState = (broker: Broker) =>
    broker.replicas.partition(TOPIC, 0)!.activeProducers()[0]!;

  const kafka = kafkaOf(brokers);
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  const send = async (transaction: kafkajs.Transaction, written: string[]): Promise<void> => {
    await transaction.send({
      topic: TOPIC,
      acks: -1,
      messages: written.map((value) => ({ partition: 0, value })),
    });
  };
  let transaction = await producer.transaction();
  await send(transaction, values('first', 0, 10));
  await transaction.commit();
  await waitForStableEverywhere(brokers, 11);
  const deposedEpoch = stateEpoch();

  // The state partition moves to another in-sync broker: the coordinator there has a newer epoch.
  const successor = store
    .partitionState(TRANSACTION_STATE_TOPIC_NAME, statePartition)!
    .isr.find((id) => id !== coordinator);
  assert.ok(successor !== undefined, 'another in-sync replica of the state partition');
  await moveLeadership(store, TRANSACTION_STATE_TOPIC_NAME, statePartition, successor);
  await waitFor(
    async () =>
      (await transactionStateOn(brokerById(successor), transactionalId)) === 'CompleteCommit',
    `broker ${successor} to load the transaction`,
    { timeoutMs: WAIT_MS },
  );
  const currentEpoch = stateEpoch();
  assert.ok(currentEpoch > deposedEpoch);
  transaction = await producer.transaction();
  await send(transaction, values('second', 0, 10));
  await transaction.commit();
  await waitForStableEverywhere(brokers, 22);
  for (const broker of brokers)
    assert.equal(producerState(broker).coordinatorEpoch, currentEpoch, `broker ${broker.nodeId}`);

  // A third transaction is open; the deposed coordinator tries to abort it, on the leader, then
  // on the next leader once the partition moved (it knows the epoch from the replicated log).
  transaction = await producer.transaction();
  await send(transaction, values('third', 0, 5));
  const { producerId, producerEpoch } = producerState(brokerById(others[0]!));
  const zombie = { producerId, producerEpoch, coordinatorEpoch: deposedEpoch, commit: false };
  for (const leader of [others[0]!, others[1]!]) {
    if (store.partitionState(TOPIC, 0)!.leader !== leader)
      await moveLeadership(store, TOPIC, 0, leader);
    const led = brokerById(leader).replicas.partition(TOPIC, 0)!;
    await waitFor(
      () => led.replicaState !== null && led.logEndOffset === 27,
      () => `broker ${leader} to lead at the log end (${offsetsOn(brokerById(leader))})`,
      { timeoutMs: WAIT_MS },
    );
    assert.equal(
      await writeMarkerTo(brokerById(leader), zombie),
      ErrorCode.TRANSACTION_COORDINATOR_FENCED,
      `broker ${leader} leading`,
    );
    assert.equal(led.logEndOffset, 27, `no marker written on broker ${leader}`);
    assert.equal(led.lastStableOffset, 22, `the transaction still open on broker ${leader}`);
  }

  // The current coordinator still commits it.
  await transaction.commit();
  await waitForStableEverywhere(brokers, 28);
  const consumer = kafka.consumer({ groupId: 'deposed-read' });
  const read: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        read.push(message.value!.toString());
      },
    });
    await waitFor(() => read.length >= 25, 'kafkajs to read the committed records', {
      timeoutMs: WAIT_MS,
    });
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(read, [
    ...values('first', 0, 10),
    ...values('second', 0, 10),
    ...values('third', 0, 5),
  ]);
});
