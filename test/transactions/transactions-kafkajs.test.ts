// kafkajs 2.2.4 transactions against Brook: commit, abort, sendOffsets (committed offsets become
// visible to the group only when the transaction commits), zombie fencing, and a read_committed
// consumer group that never sees aborted records.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Kafka, logLevel } from 'kafkajs';

import { startBroker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';

test('kafkajs transactions: commit, abort and sendOffsets, read by a read_committed group', async () => {
  const broker = await startBroker({
    settings: { 'transaction.state.log.num.partitions': 3, 'offsets.topic.num.partitions': 3 },
  });
  const kafka = new Kafka({
    clientId: 'txn-kafkajs',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const topic = 'kafkajs-txn';
  const producer = kafka.producer({
    transactionalId: 'kafkajs-txn-1',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId: 'kafkajs-txn-reader', readUncommitted: false });
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 2 });
    await producer.connect();
    await admin.connect();

    let transaction = await producer.transaction();
    await transaction.send({
      topic,
      messages: [
        { value: 'k1', partition: 0 },
        { value: 'k2', partition: 1 },
      ],
    });
    await transaction.sendOffsets({
      consumerGroupId: 'kafkajs-txn-group',
      topics: [{ topic, partitions: [{ partition: 0, offset: '5' }] }],
    });
    await transaction.commit();

    transaction = await producer.transaction();
    await transaction.send({
      topic,
      messages: [
        { value: 'aborted-1', partition: 0 },
        { value: 'aborted-2', partition: 1 },
      ],
    });
    await transaction.sendOffsets({
      consumerGroupId: 'kafkajs-txn-group',
      topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }],
    });
    await transaction.abort();

    transaction = await producer.transaction();
    await transaction.send({ topic, messages: [{ value: 'k3', partition: 0 }] });
    await transaction.commit();

    const offsets = await admin.fetchOffsets({ groupId: 'kafkajs-txn-group', topics: [topic] });
    const partition0 = offsets[0].partitions.find((entry) => entry.partition === 0);
    assert.equal(partition0?.offset, '5', 'the aborted transaction offsets must not be visible');

    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
      },
    });
    await waitFor(() => seen.length >= 3, 'the committed records', { timeoutMs: 30_000 });
    // Everything up to the high watermark is stable: if aborted records were delivered, they
    // would have arrived together with k3.
    assert.deepEqual([...seen].sort(), ['k1', 'k2', 'k3']);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
});

test('a second kafkajs producer with the same transactional id fences the first and aborts its transaction', async () => {
  const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 3 } });
  const kafka = new Kafka({
    clientId: 'txn-kafkajs-fence',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const topic = 'kafkajs-fence';
  const zombie = kafka.producer({
    transactionalId: 'kafkajs-fence-1',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const successor = kafka.producer({
    transactionalId: 'kafkajs-fence-1',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    await zombie.connect();
    const open = await zombie.transaction();
    await open.send({ topic, messages: [{ value: 'zombie', partition: 0 }] });
    const partition = broker.replicas.partition(topic, 0)!;
    assert.equal(
      partition.lastStableOffset,
      0,
      'the open transaction holds the LSO at its first offset',
    );

    await successor.connect();
    const next = await successor.transaction(); // InitProducerId: bumps the epoch, aborts the zombie's transaction
    await waitFor(
      () => partition.lastStableOffset === partition.highWatermark,
      'the fenced transaction to be aborted',
      { timeoutMs: 10_000 },
    );
    assert.deepEqual(
      partition.abortedTransactions(0, partition.highWatermark).map((entry) => entry.firstOffset),
      [0],
    );

    await assert.rejects(open.commit(), (error: Error) =>
      /fenced|epoch/i.test(`${error.name} ${error.message}`),
    );
    await next.send({ topic, messages: [{ value: 'successor', partition: 0 }] });
    await next.commit();
    await waitFor(
      () => partition.lastStableOffset === partition.highWatermark,
      'the successor to commit',
      { timeoutMs: 10_000 },
    );
  } finally {
    await zombie.disconnect().catch(() => undefined);
    await successor.disconnect().catch(() => undefined);
    await broker.stop();
  }
});

test('interleaved transactions of two producers in one partition: read_committed sees only the committed one, the LSO tracks the earliest open', async () => {
  const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 3 } });
  const kafka = new Kafka({
    clientId: 'txn-kafkajs-interleave',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const topic = 'kafkajs-interleave';
  const first = kafka.producer({
    transactionalId: 'interleave-a',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const second = kafka.producer({
    transactionalId: 'interleave-b',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const consumer = kafka.consumer({ groupId: 'interleave-reader', readUncommitted: false });
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    const partition = broker.replicas.partition(topic, 0)!;
    await first.connect();
    await second.connect();
    const a = await first.transaction();
    const b = await second.transaction();
    await a.send({ topic, messages: [{ value: 'a1', partition: 0 }] }); // offset 0
    await b.send({ topic, messages: [{ value: 'b1', partition: 0 }] }); // offset 1
    await a.send({ topic, messages: [{ value: 'a2', partition: 0 }] }); // offset 2
    await b.send({ topic, messages: [{ value: 'b2', partition: 0 }] }); // offset 3
    assert.equal(partition.lastStableOffset, 0);
    await a.commit(); // marker at 4; b (from 1) is still open
    assert.equal(partition.lastStableOffset, 1);
    await b.abort(); // marker at 5
    assert.equal(partition.lastStableOffset, partition.highWatermark);
    assert.equal(partition.highWatermark, 6);
    assert.deepEqual(
      partition.abortedTransactions(0, 6).map((entry) => [entry.firstOffset, entry.lastOffset]),
      [[1, 5]],
    );

    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
      },
    });
    // b1 sits between a1 and a2: a consumer that failed to drop it would see it second.
    await waitFor(() => seen.length >= 2, 'the committed records', { timeoutMs: 30_000 });
    assert.deepEqual(seen.slice(0, 2), ['a1', 'a2']);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await first.disconnect().catch(() => undefined);
    await second.disconnect().catch(() => undefined);
    await broker.stop();
  }
});

test('the coordinator aborts a transaction past its timeout; a timeout above transaction.max.timeout.ms is refused', async () => {
  const broker = await startBroker({
    settings: {
      'transaction.state.log.num.partitions': 3,
      'transaction.max.timeout.ms': 5_000,
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': 100,
    },
  });
  const kafka = new Kafka({
    clientId: 'txn-kafkajs-timeout',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
  });
  const topic = 'kafkajs-timeout';
  const slow = kafka.producer({
    transactionalId: 'timeout-1',
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 1_000,
  });
  const greedy = kafka.producer({
    transactionalId: 'timeout-2',
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 10_000,
  });
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    const partition = broker.replicas.partition(topic, 0)!;
    await slow.connect();
    const open = await slow.transaction();
    await open.send({ topic, messages: [{ value: 'too-slow', partition: 0 }] });
    assert.equal(partition.lastStableOffset, 0);
    await waitFor(
      () => partition.lastStableOffset === partition.highWatermark,
      'the expired transaction to be aborted',
      { timeoutMs: 15_000 },
    );
    assert.deepEqual(
      partition.abortedTransactions(0, partition.highWatermark).map((entry) => entry.firstOffset),
      [0],
    );
    await assert.rejects(open.commit());

    await greedy.connect();
    await assert.rejects(
      greedy.transaction(),
      (error: Error & { type?: string }) => error.type === 'INVALID_TRANSACTION_TIMEOUT',
    );
  } finally {
    await slow.disconnect().catch(() => undefined);
    await greedy.disconnect().catch(() => undefined);
    await broker.stop();
  }
});
