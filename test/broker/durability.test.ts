// What the broker promises about acknowledged records, checked with a real client against a real
// broker process: SIGKILL it while a producer is mid-stream, start it again on the same
// directory, and every record whose produce was acknowledged is there, in order, exactly once.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Kafka, logLevel } from 'kafkajs';

import { startBroker } from '../../src/broker.js';
import type * as generated from '../../src/protocol/generated/index.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { callBroker } from '../helpers/wire-client.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const topic = 'durable';

async function readAll(bootstrapServers: string, expectedAtLeast: number): Promise<string[]> {
  const kafka = new Kafka({ brokers: [bootstrapServers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}` });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void values.push(message.value!.toString()),
    });
    const deadline = Date.now() + 30_000;
    while (values.length < expectedAtLeast && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Anything beyond the acknowledged records (sent but unanswered when the broker died) may
    // or may not be there; give it a moment so duplicates would show up too.
    const settle = Date.now() + 500;
    while (Date.now() < settle) await new Promise((resolve) => setTimeout(resolve, 25));
  } finally {
    await consumer.disconnect();
  }
  return values;
}

test('every acknowledged record survives a SIGKILL of the broker, in order and once', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-durability-');
  let broker = await startBrokerProcess({ logDir });
  try {
    const kafka = new Kafka({
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();

    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    const acknowledged: string[] = [];
    let sent = 0;
    let killed = false;
    const producing = (async () => {
      while (!killed) {
        const batch = Array.from({ length: 20 }, () => `record-${sent++}`);
        try {
          await producer.send({ topic, acks: -1, messages: batch.map((value) => ({ value })) });
          acknowledged.push(...batch);
        } catch {
          return; // the broker is gone; what was not acknowledged may or may not be there
        }
      }
    })();
    const deadline = Date.now() + 20_000;
    while (acknowledged.length < 2000 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    killed = true;
    await broker.kill();
    await producing;
    await producer.disconnect().catch(() => undefined);
    assert.ok(acknowledged.length >= 2000, `only ${acknowledged.length} records were acknowledged`);

    broker = await startBrokerProcess({ logDir });
    const values = await readAll(broker.bootstrapServers, acknowledged.length);
    assert.deepEqual(
      values.slice(0, acknowledged.length),
      acknowledged,
      'acknowledged records, in order',
    );
    assert.equal(new Set(values).size, values.length, 'no record twice');
    for (const [index, value] of values.entries()) assert.equal(value, `record-${index}`);
  } finally {
    await broker.kill();
  }
});

test('several brokers in one process keep to their own data', async () => {
  const first = await startBroker();
  const second = await startBroker();
  try {
    assert.notEqual(first.bootstrapServers, second.bootstrapServers);
    for (const [broker, value] of [
      [first, 'only-in-first'],
      [second, 'only-in-second'],
    ] as const) {
      const producer = new Kafka({
        brokers: [broker.bootstrapServers],
        logLevel: logLevel.NOTHING,
      }).producer();
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ value }] });
      await producer.disconnect();
    }
    assert.deepEqual(await readAll(first.bootstrapServers, 1), ['only-in-first']);
    assert.deepEqual(await readAll(second.bootstrapServers, 1), ['only-in-second']);
  } finally {
    await first.stop();
    await second.stop();
  }
});

/** One OffsetCommit v2 outside any generation (as a tool or an assign()-only consumer sends). */
async function commitOnce(
  bootstrapServers: string,
  groupId: string,
  offsets: ReadonlyMap<number, number>,
): Promise<number[]> {
  const response = await callBroker<generated.OffsetCommitResponse>(bootstrapServers, 8, 2, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    retentionTimeMs: -1n,
    topics: [
      {
        name: 'committed',
        partitions: [...offsets].map(([partitionIndex, offset]) => ({
          partitionIndex,
          committedOffset: BigInt(offset),
          committedMetadata: `metadata-${offset}`,
        })),
      },
    ],
  });
  return response.topics[0].partitions.map((partition) => partition.errorCode);
}

test('every acknowledged offset commit survives a SIGKILL of the broker', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-commit-durability-');
  let broker = await startBrokerProcess({ logDir });
  try {
    let admin = new Kafka({
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'committed', numPartitions: 4 }] });
    await admin.disconnect();
    const acknowledged = new Map<string, number>();
    for (let round = 1; round <= 50; round++) {
      for (const group of ['group-a', 'group-b']) {
        const offsets = new Map(
          [0, 1, 2, 3].map((partition) => [partition, round * 10 + partition]),
        );
        assert.deepEqual(await commitOnce(broker.bootstrapServers, group, offsets), [0, 0, 0, 0]);
        for (const [partition, offset] of offsets)
          acknowledged.set(`${group}/${partition}`, offset);
      }
    }
    await broker.kill();

    broker = await startBrokerProcess({ logDir });
    admin = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      for (const group of ['group-a', 'group-b']) {
        const [fetched] = await admin.fetchOffsets({ groupId: group, topics: ['committed'] });
        assert.equal(fetched.partitions.length, 4);
        for (const { partition, offset, metadata } of fetched.partitions) {
          const expected = acknowledged.get(`${group}/${partition}`);
          assert.equal(Number(offset), expected, `${group} partition ${partition}`);
          assert.equal(metadata, `metadata-${expected}`, 'commit metadata round-trips');
        }
      }
    } finally {
      await admin.disconnect();
    }
  } finally {
    await broker.kill();
  }
});
