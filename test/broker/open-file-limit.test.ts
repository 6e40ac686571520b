// A broker starts, and serves every partition, under an open-file limit far below its count of
// files: 300 partitions, each with a producer-state snapshot and its segment's files, read back by
// a broker process whose limit is 128 descriptors (`prlimit`). A start used to recover every
// partition at once, each opening its snapshot outside the descriptor pool, and the pool's rest
// bound was 1,000 whatever the limit: such a broker stopped at start with EMFILE.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Kafka, logLevel } from 'kafkajs';

import { startBroker } from '../../src/broker.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

const topic = 'many';
const PARTITIONS = 300;
const DESCRIPTORS = 128;

test(`a broker limited to ${DESCRIPTORS} open files starts and serves ${PARTITIONS} partitions with producer state`, async (t) => {
  const logDir = temporaryDirectory(t, 'brook-open-file-limit-');
  const first = await startBroker({ logDirs: logDir });
  try {
    const kafka = new Kafka({ brokers: [first.bootstrapServers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
        partition,
        value: `record of ${partition}`,
      })),
    });
    await producer.disconnect();
  } finally {
    await first.stop();
  }
  const snapshots = readdirSync(logDir)
    .filter((name) => name.startsWith(`${topic}-`))
    .filter((name) =>
      readdirSync(join(logDir, name)).some((file) => file.endsWith('.snapshot')),
    ).length;
  assert.equal(snapshots, PARTITIONS, 'every partition has a producer-state snapshot to read');

  const broker = await startBrokerProcess({
    logDir,
    wrapper: ['prlimit', `--nofile=${DESCRIPTORS}:${DESCRIPTORS}`, '--'],
    timeoutMs: 60_000,
  });
  t.after(() => broker.kill());
  const limit = /Max open files\s+(\d+)/.exec(
    readFileSync(`/proc/${broker.child.pid}/limits`, 'utf8'),
  );
  assert.equal(Number(limit?.[1]), DESCRIPTORS, 'the broker runs under the limit');

  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.disconnect();
  assert.equal(metadata.topics[0].partitions.length, PARTITIONS);

  const seen = new Map<number, string>();
  const consumer = kafka.consumer({ groupId: 'reader', maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) =>
        void seen.set(partition, message.value!.toString()),
    });
    await waitFor(
      () => seen.size === PARTITIONS,
      () => `records of ${PARTITIONS} partitions, not ${seen.size}:\n${broker.output()}`,
      { timeoutMs: 60_000 },
    );
  } finally {
    await consumer.disconnect();
  }
  for (let partition = 0; partition < PARTITIONS; partition++)
    assert.equal(seen.get(partition), `record of ${partition}`);
  assert.doesNotMatch(broker.output(), /EMFILE/);
  assert.equal(await broker.stop(), 0, 'a clean stop');
});
