// Time retention against real clients: records whose CreateTime lies far in the past (test
// suites, backfills) survive the broker's retention check; Sarama 1.22's batches (header
// maxTimestamp -1) are kept and served with a repaired header; KIP-937's bounds answer
// INVALID_TIMESTAMP; the retention basis is a described, settable topic config.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';

import { startBroker, type Broker } from '../../src/broker.js';
import { BatchField, batchMaxTimestamp, hasValidCrc, readInt64 } from '../../src/record/batch.js';
import { buildBatch } from '../../src/record/records.js';
import { updateBatchCrc, writeInt64 } from '../../src/record/batch.js';
import type * as generated from '../../src/protocol/generated/index.js';
import { callBroker } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

const INVALID_TIMESTAMP = 32;

function client(broker: Broker, clientId: string): InstanceType<typeof Kafka> {
  return new Kafka({ clientId, brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
}

/** The broker's retention check (what log.retention.check.interval.ms runs), on one partition. */
async function runRetentionCheck(broker: Broker, topic: string): Promise<number> {
  const partition = broker.replicas.partition(topic, 0);
  assert.ok(partition, `partition ${topic}-0 exists`);
  await partition.log.applyRetention();
  return partition.log.logStartOffset;
}

test('kafkajs records stamped far in the past survive the retention check and are read from the beginning', async () => {
  const broker = await startBroker();
  const kafka = client(broker, 'backfill');
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: 'backfill-readers' });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'backfill', numPartitions: 1 }] });
    await producer.connect();
    const messages = Array.from({ length: 20 }, (_, index) => ({
      value: `event-${index}`,
      timestamp: String(1000 + index),
    }));
    await producer.send({ topic: 'backfill', messages, acks: -1 });
    assert.equal(await runRetentionCheck(broker, 'backfill'), 0, 'records were expired');

    const received: Array<{ value: string; timestamp: string }> = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'backfill', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ value: message.value!.toString(), timestamp: message.timestamp });
      },
    });
    await waitFor(() => received.length >= messages.length, 'every backfilled record', {
      timeoutMs: 20_000,
    });
    assert.deepEqual(
      received,
      messages.map((message) => ({ value: message.value, timestamp: message.timestamp })),
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
});

test('a Sarama-style batch with header maxTimestamp -1 is kept and served with a repaired header', async () => {
  const broker = await startBroker({ settings: { 'num.partitions': 1 } });
  try {
    const nowMs = Date.now();
    // Sarama 1.22: real record timestamps, maxTimestamp -1 in the header, Produce v3.
    const batch = await buildBatch({
      records: Array.from({ length: 20 }, (_, index) => ({
        key: null,
        value: Buffer.from(`sarama-${index}`),
        timestamp: nowMs + index,
      })),
    });
    writeInt64(batch, BatchField.maxTimestamp, -1);
    updateBatchCrc(batch);
    await callBroker(broker.bootstrapServers, 3, 1, {
      topics: [{ name: 'sarama' }],
      allowAutoTopicCreation: true,
    });
    await waitFor(() => broker.replicas.partition('sarama', 0) !== undefined, 'the topic', {
      timeoutMs: 5000,
    });
    const produced = await callBroker<generated.ProduceResponse>(broker.bootstrapServers, 0, 3, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'sarama', partitionData: [{ index: 0, records: batch }] }],
    });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(await runRetentionCheck(broker, 'sarama'), 0, 'expired on arrival');

    const fetched = await callBroker<generated.FetchResponse>(broker.bootstrapServers, 1, 5, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [
        {
          topic: 'sarama',
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
        },
      ],
    });
    const partition = fetched.responses[0].partitions[0];
    assert.equal(partition.errorCode, 0);
    assert.equal(partition.logStartOffset, 0n);
    const served = partition.records!;
    assert.equal(readInt64(served, BatchField.baseOffset), 0);
    assert.equal(served.readInt32BE(BatchField.recordsCount), 20);
    assert.equal(batchMaxTimestamp(served), nowMs + 19, 'the served header is repaired');
    assert.ok(hasValidCrc(served, 0, served.length), 'with a CRC that matches');
  } finally {
    await broker.stop();
  }
});

/** kafkajs wraps protocol errors; find the Kafka error type anywhere in the chain. */
function kafkaErrorType(error: unknown): string | undefined {
  let current = error as { type?: string; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.type && current.type !== 'UNKNOWN') return current.type;
    current = (current.cause ?? current.originalError) as typeof current;
  }
  return undefined;
}

test('kafkajs gets INVALID_TIMESTAMP outside message.timestamp.before/after.max.ms', async () => {
  const broker = await startBroker();
  const kafka = client(broker, 'bounds');
  const admin = kafka.admin();
  const producer = kafka.producer({ retry: { retries: 0 } });
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: 'bounded',
          numPartitions: 1,
          configEntries: [{ name: 'message.timestamp.before.max.ms', value: '60000' }],
        },
      ],
    });
    await producer.connect();
    const send = (timestamp: number): Promise<unknown> =>
      producer.send({
        topic: 'bounded',
        messages: [{ value: 'x', timestamp: String(timestamp) }],
        acks: -1,
      });
    // Two hours ahead: past the default after.max.ms of one hour.
    await assert.rejects(send(Date.now() + 2 * 3_600_000), (error: unknown) => {
      assert.equal(kafkaErrorType(error), 'INVALID_TIMESTAMP', String(error));
      return true;
    });
    await assert.rejects(send(1000), (error: unknown) => {
      assert.equal(kafkaErrorType(error), 'INVALID_TIMESTAMP', String(error));
      return true;
    });
    await send(Date.now());
    const partition = broker.replicas.partition('bounded', 0)!;
    assert.equal(partition.logEndOffset, 1, 'only the batch within the bounds was appended');
    assert.equal(INVALID_TIMESTAMP, 32);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
});

test('retention.timestamp.type is described with its default and can be set per topic', async () => {
  const broker = await startBroker();
  const admin = client(broker, 'configs').admin();
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'by-append', numPartitions: 1 },
        {
          topic: 'by-record',
          numPartitions: 1,
          configEntries: [{ name: 'retention.timestamp.type', value: 'record' }],
        },
      ],
    });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: ['by-append', 'by-record'].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.timestamp.type', 'message.timestamp.after.max.ms'],
      })),
    });
    const values = described.resources.map((resource) =>
      Object.fromEntries(
        resource.configEntries.map((entry) => [
          entry.configName,
          [entry.configValue, entry.isDefault],
        ]),
      ),
    );
    assert.deepEqual(values[0], {
      'retention.timestamp.type': ['append', true],
      'message.timestamp.after.max.ms': ['3600000', true],
    });
    assert.deepEqual(values[1]['retention.timestamp.type'], ['record', false]);
    assert.equal(
      broker.replicas.partition('by-record', 0)!.log.config.retentionTimestampType,
      'record',
    );
    assert.equal(
      broker.replicas.partition('by-append', 0)!.log.config.retentionTimestampType,
      'append',
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
});
