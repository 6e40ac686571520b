// An embedded broker's first moments, the way an application or a test suite meets them: an
// empty broker from startBroker() on a temporary directory, driven by kafkajs 2.2.4 in the same
// process, with Brook's default durability and offsets.topic.num.partitions 50 (the default).
//
//   npm run bench:embedded [-- --rounds N]
//
// Prints the median and the worst of N rounds (default 10) for:
//   - startBroker() until it resolves;
//   - first produce: from startBroker() resolving to the first record acknowledged (an admin
//     creates the topic, as a test does, a producer connects, one record, acks=all). The admin
//     does not wait for leaders: kafkajs's waitForLeaders sleeps 100 ms before its first
//     Metadata check whatever the broker, which would hide the broker's part;
//   - first produce to an auto-created topic: the same with the topic created by the producer's
//     metadata request. Brook answers that request LEADER_NOT_AVAILABLE as Kafka does (issue 9
//     item 5), so this figure includes kafkajs's metadata retry backoff (about 300 ms), exactly as
//     against Kafka: it is the client's, not the broker's;
//   - first record to a new group: a consumer in a brand-new group subscribes until its first
//     record arrives (the group's __consumer_offsets partition is created on this path);
//   - stop(): after the group has committed, until every log is closed.
// Beside them, this run's fsync latency on the same disk (machine-limits.ts): a stop() or a
// produce cannot be faster than the fsyncs it needs. Goals (issue 9): first produce <= 50 ms,
// stop() <= 50 ms, first record to a new group <= 200 ms. Nothing here is asserted.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../src/broker.js';
import { measureFsyncLatency } from './machine-limits.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const roundsArgument = process.argv.indexOf('--rounds');
const rounds = roundsArgument > 0 ? Number(process.argv[roundsArgument + 1]) : 10;

interface Round {
  startMs: number;
  firstProduceMs: number;
  autoCreatedProduceMs: number;
  firstGroupRecordMs: number;
  stopMs: number;
}

async function oneRound(index: number): Promise<Round> {
  let started = performance.now();
  const broker = await startBroker();
  const startMs = performance.now() - started;
  const kafka = new Kafka({
    brokers: [broker.bootstrapServers],
    clientId: `embedded-${index}`,
    logLevel: logLevel.NOTHING,
  });

  started = performance.now();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'first', numPartitions: 1 }],
    waitForLeaders: false,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  await producer.send({ topic: 'first', acks: -1, messages: [{ value: 'first' }] });
  const firstProduceMs = performance.now() - started;
  await admin.disconnect();
  started = performance.now();
  await producer.send({ topic: 'auto-created', acks: -1, messages: [{ value: 'auto' }] });
  const autoCreatedProduceMs = performance.now() - started;
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `new-group-${index}`, maxWaitTimeInMs: 100 });
  started = performance.now();
  let firstRecordAt = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: 'first', fromBeginning: true });
  const firstRecord = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async () => {
        firstRecordAt ||= performance.now();
        resolve();
      },
    });
  });
  await firstRecord;
  const firstGroupRecordMs = firstRecordAt - started;
  await consumer.commitOffsets([{ topic: 'first', partition: 0, offset: '1' }]);
  await consumer.disconnect();

  started = performance.now();
  await broker.stop();
  const stopMs = performance.now() - started;
  return { startMs, firstProduceMs, autoCreatedProduceMs, firstGroupRecordMs, stopMs };
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median.toFixed(1)} ms, worst ${sorted[sorted.length - 1].toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'brook-embedded-bench-'));
  const fsync = await measureFsyncLatency(scratch, { writes: 200 });
  await rm(scratch, { recursive: true, force: true });
  console.log(
    `# machine limit (same run): 4 KiB write+fdatasync p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms`,
  );

  // One warm-up round: the first import and JIT of the broker and kafkajs are not what a
  // second broker in the same process pays.
  await oneRound(-1);
  const results: Round[] = [];
  for (let index = 0; index < rounds; index++) results.push(await oneRound(index));

  const line = (label: string, values: number[], goalMs?: number): void => {
    const goal = goalMs === undefined ? '' : ` (goal <= ${goalMs} ms)`;
    const fsyncs = (values.slice().sort((a, b) => a - b)[values.length >> 1] / fsync.p50Ms).toFixed(
      1,
    );
    console.log(`${label.padEnd(28)} ${summary(values)}${goal}; ${fsyncs} x fsync p50`);
  };
  console.log(`# ${rounds} rounds, each on a fresh temporary directory`);
  line(
    'startBroker()',
    results.map((r) => r.startMs),
  );
  line(
    'first produce',
    results.map((r) => r.firstProduceMs),
    50,
  );
  line(
    'first produce, auto-created',
    results.map((r) => r.autoCreatedProduceMs),
  );
  line(
    'first record to a new group',
    results.map((r) => r.firstGroupRecordMs),
    200,
  );
  line(
    'stop()',
    results.map((r) => r.stopMs),
    50,
  );
}

await main();
