// Consumer-group figures, with kafkajs 2.2.4 against an in-process broker, and the coordinator's
// commit throughput over real PartitionLog files with Brook's default durability (an fsync covers
// every acknowledged commit).
//
//   node --import tsx bench/groups-bench.ts [--rounds N]
//
// Prints:
//   - subscribe → first record for a brand-new group (the first group on a fresh broker also pays
//     for creating __consumer_offsets; reported apart);
//   - the pause a clean leave causes: LeaveGroup → the survivor owns all ten partitions, and →
//     its first record from a partition it took over, while a producer keeps writing;
//   - the pause a killed member causes (SIGKILL of a member process; bounded below by the
//     session timeout, 6000 ms here);
//   - commits/s, serial and with 64 committers, against the fdatasync rate measured in this run
//     on the same disk (a serial commit cannot beat one fsync);
//   - the first three again with librdkafka (@confluentinc/kafka-javascript from test/compat/ckjs,
//     when .ci/install-ckjs.sh has installed it; the killed member is a ckjs member process).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker, type Broker } from '../src/broker.js';
import { GroupCoordinator } from '../src/coordinator/group/group-coordinator.js';
import type { OffsetsTopicStorage } from '../src/coordinator/group/ports.js';
import { defaultLogConfig } from '../src/storage/log-config.js';
import { PartitionLog } from '../src/storage/partition-log.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const roundsArgument = process.argv.indexOf('--rounds');
const rounds = roundsArgument > 0 ? Number(process.argv[roundsArgument + 1]) : 5;
const partitionCount = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function kafkaFor(broker: Broker, clientId: string): Kafka {
  return new Kafka({ brokers: [broker.bootstrapServers], clientId, logLevel: logLevel.NOTHING });
}

async function produceSome(kafka: Kafka, topic: string, count: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, index) => ({
      partition: index % partitionCount,
      value: `v${index}`,
    })),
  });
  await producer.disconnect();
}

/** Subscribe → first record for a new group, in milliseconds. */
async function firstRecordMs(kafka: Kafka, topic: string, groupId: string): Promise<number> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const startedAtMs = performance.now();
  let firstAtMs = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async () => {
      if (firstAtMs === 0) firstAtMs = performance.now();
    },
  });
  await waitFor(() => firstAtMs > 0, 30_000, 'the first record');
  await consumer.disconnect();
  return firstAtMs - startedAtMs;
}

interface Member {
  consumer: Consumer;
  assignment: number[];
  /** Arrival time of the first record per partition after `markMs`. */
  firstAfterMark: Map<number, number>;
  markMs: number;
}

async function startMember(kafka: Kafka, topic: string, groupId: string): Promise<Member> {
  const member: Member = {
    consumer: kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      heartbeatInterval: 500,
      sessionTimeout: 6_000,
    }),
    assignment: [],
    firstAfterMark: new Map(),
    markMs: Infinity,
  };
  member.consumer.on(member.consumer.events.GROUP_JOIN, (event) => {
    member.assignment = event.payload.memberAssignment[topic] ?? [];
  });
  await member.consumer.connect();
  await member.consumer.subscribe({ topic, fromBeginning: false });
  await member.consumer.run({
    eachMessage: async ({ partition }) => {
      const now = performance.now();
      if (now >= member.markMs && !member.firstAfterMark.has(partition))
        member.firstAfterMark.set(partition, now);
    },
  });
  return member;
}

/** Writes one record to every partition every 10 ms until stopped. */
function steadyProducer(kafka: Kafka, topic: string): { stop(): Promise<void> } {
  const producer = kafka.producer();
  let running = true;
  const loop = (async () => {
    await producer.connect();
    while (running) {
      await producer.send({
        topic,
        messages: Array.from({ length: partitionCount }, (_, partition) => ({
          partition,
          value: 'tick',
        })),
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await producer.disconnect();
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function cleanLeavePause(
  broker: Broker,
  round: number,
): Promise<{ ownsAllMs: number; firstRecordMs: number }> {
  const topic = `leave-${round}`;
  const groupId = `leave-group-${round}`;
  const kafka = kafkaFor(broker, 'leave-bench');
  await produceSome(kafka, topic, partitionCount);
  const survivor = await startMember(kafka, topic, groupId);
  const leaver = await startMember(kafka, topic, groupId);
  await waitFor(
    () => survivor.assignment.length === 5 && leaver.assignment.length === 5,
    30_000,
    'an even split',
  );
  const producer = steadyProducer(kafka, topic);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const takenOver = [...leaver.assignment];
  const leaveAtMs = performance.now();
  survivor.markMs = leaveAtMs;
  await leaver.consumer.disconnect();
  await waitFor(
    () => survivor.assignment.length === partitionCount,
    30_000,
    'the survivor to own all ten',
  );
  const ownsAllMs = performance.now() - leaveAtMs;
  await waitFor(
    () => takenOver.some((partition) => survivor.firstAfterMark.has(partition)),
    30_000,
    'a record from a taken-over partition',
  );
  const firstRecordMs =
    Math.min(
      ...takenOver
        .filter((p) => survivor.firstAfterMark.has(p))
        .map((p) => survivor.firstAfterMark.get(p)!),
    ) - leaveAtMs;
  await producer.stop();
  await survivor.consumer.disconnect();
  return { ownsAllMs, firstRecordMs };
}

async function killedMemberPause(broker: Broker): Promise<number> {
  const topic = 'killed';
  const groupId = 'killed-group';
  const kafka = kafkaFor(broker, 'kill-bench');
  await produceSome(kafka, topic, partitionCount);
  const survivor = await startMember(kafka, topic, groupId);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/coordinator/fixtures/kafkajs-member.ts',
      broker.bootstrapServers,
      groupId,
      topic,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let childAssignment: number[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { assigned?: number[] };
    if (event.assigned !== undefined) childAssignment = event.assigned;
  });
  await waitFor(
    () => survivor.assignment.length === 5 && childAssignment.length === 5,
    60_000,
    'an even split',
  );
  const killedAtMs = performance.now();
  child.kill('SIGKILL');
  await waitFor(
    () => survivor.assignment.length === partitionCount,
    60_000,
    'the survivor to own all ten',
  );
  const pauseMs = performance.now() - killedAtMs;
  await survivor.consumer.disconnect();
  return pauseMs;
}

// librdkafka through @confluentinc/kafka-javascript's node-rdkafka API, when installed.

interface RdkafkaConsumer {
  connect(options: unknown, callback: (error: unknown) => void): void;
  disconnect(callback: (error: unknown) => void): void;
  subscribe(topics: string[]): void;
  consume(): void;
  on(event: string, listener: (...args: never[]) => void): void;
}
type RdkafkaConsumerConstructor = new (
  config: Record<string, unknown>,
  topicConfig: Record<string, unknown>,
) => RdkafkaConsumer;

function loadRdkafka(): RdkafkaConsumerConstructor | null {
  const directory = join(process.cwd(), 'test', 'compat', 'ckjs');
  if (!existsSync(join(directory, 'node_modules', '@confluentinc', 'kafka-javascript')))
    return null;
  const module = createRequire(join(directory, 'package.json'))(
    '@confluentinc/kafka-javascript',
  ) as {
    KafkaConsumer: RdkafkaConsumerConstructor;
  };
  return module.KafkaConsumer;
}

interface RdkafkaMember {
  consumer: RdkafkaConsumer;
  assignment: number[];
  firstRecordAtMs: number;
  /** When the last revoke and the last assign arrived: the member's own rebalance pause. */
  revokedAtMs: number;
  assignedAtMs: number;
}

async function startRdkafkaMember(
  KafkaConsumer: RdkafkaConsumerConstructor,
  broker: Broker,
  topic: string,
  groupId: string,
): Promise<RdkafkaMember> {
  const consumer = new KafkaConsumer(
    {
      'group.id': groupId,
      'metadata.broker.list': broker.bootstrapServers,
      'session.timeout.ms': 6_000,
      'heartbeat.interval.ms': 500,
      'fetch.wait.max.ms': 100,
      rebalance_cb: true,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  const member: RdkafkaMember = {
    consumer,
    assignment: [],
    firstRecordAtMs: 0,
    revokedAtMs: 0,
    assignedAtMs: 0,
  };
  consumer.on('rebalance', ((error: { code: number }, assignment: { partition: number }[]) => {
    // -175: assign (eager protocols hand out the whole new assignment); -174: revoke.
    member.assignment = error.code === -175 ? assignment.map((entry) => entry.partition) : [];
    if (error.code === -175) member.assignedAtMs = performance.now();
    else member.revokedAtMs = performance.now();
  }) as never);
  consumer.on('data', (() => {
    if (member.firstRecordAtMs === 0) member.firstRecordAtMs = performance.now();
  }) as never);
  await new Promise<void>((resolve, reject) =>
    consumer.connect({}, (error) => (error ? reject(error as Error) : resolve())),
  );
  consumer.subscribe([topic]);
  consumer.consume();
  return member;
}

async function stopRdkafkaMember(member: RdkafkaMember): Promise<void> {
  // Bounded: a librdkafka close now and then never calls back inside this process.
  await Promise.race([
    new Promise<void>((resolve) => member.consumer.disconnect(() => resolve())),
    new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref()),
  ]);
}

async function rdkafkaFigures(
  broker: Broker,
  KafkaConsumer: RdkafkaConsumerConstructor,
): Promise<void> {
  const kafka = kafkaFor(broker, 'rdkafka-bench');
  await produceSome(kafka, 'rdkafka-first', partitionCount);
  const firsts: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const startedAtMs = performance.now();
    const member = await startRdkafkaMember(
      KafkaConsumer,
      broker,
      'rdkafka-first',
      `rdkafka-new-${round}`,
    );
    await waitFor(() => member.firstRecordAtMs > 0, 30_000, 'the first record (librdkafka)');
    firsts.push(member.firstRecordAtMs - startedAtMs);
    await stopRdkafkaMember(member);
  }
  console.log(
    `subscribe → first record, new group (librdkafka ${'2.15'}): median ${median(firsts).toFixed(0)} ms over ${rounds} groups (min ${Math.min(...firsts).toFixed(0)}, max ${Math.max(...firsts).toFixed(0)})`,
  );

  const leaves: number[] = [];
  const pauses: number[] = [];
  for (let round = 0; round < Math.min(rounds, 3); round++) {
    const topic = `rdkafka-leave-${round}`;
    await produceSome(kafka, topic, partitionCount);
    const survivor = await startRdkafkaMember(
      KafkaConsumer,
      broker,
      topic,
      `rdkafka-leave-group-${round}`,
    );
    const leaver = await startRdkafkaMember(
      KafkaConsumer,
      broker,
      topic,
      `rdkafka-leave-group-${round}`,
    );
    await waitFor(
      () => survivor.assignment.length === 5 && leaver.assignment.length === 5,
      30_000,
      'an even split (librdkafka)',
    );
    const leaveAtMs = performance.now();
    const closing = stopRdkafkaMember(leaver);
    await waitFor(
      () => survivor.assignment.length === partitionCount,
      30_000,
      'the survivor to own all ten (librdkafka)',
    );
    leaves.push(performance.now() - leaveAtMs);
    pauses.push(survivor.assignedAtMs - survivor.revokedAtMs);
    await closing;
    await stopRdkafkaMember(survivor);
  }
  console.log(
    `clean leave (librdkafka, eager range, 2 members, 10 partitions): survivor owns all ten after median ${median(leaves).toFixed(0)} ms from close() (librdkafka commits and revokes before its LeaveGroup); survivor's own revoke → assign pause median ${median(pauses).toFixed(0)} ms`,
  );

  const kills: number[] = [];
  for (let round = 0; round < Math.min(rounds, 3); round++)
    kills.push(await rdkafkaKilledMemberPause(broker, KafkaConsumer, round));
  console.log(
    `killed member (librdkafka, eager range, SIGKILL, session.timeout 6000 ms): survivor owns all ten after median ${median(kills).toFixed(0)} ms over ${kills.length} kills (${(median(kills) - 6000).toFixed(0)} ms beyond the session timeout; min ${Math.min(...kills).toFixed(0)}, max ${Math.max(...kills).toFixed(0)})`,
  );
}

/**
 * The pause a killed librdkafka member causes: an in-process librdkafka survivor and a librdkafka
 * member process (test/compat/members/ckjs-member.ts, eager range, session.timeout 6000 ms) split
 * ten partitions; the process is SIGKILLed; the figure is the time until the survivor owns all ten.
 */
async function rdkafkaKilledMemberPause(
  broker: Broker,
  KafkaConsumer: RdkafkaConsumerConstructor,
  round: number,
): Promise<number> {
  const topic = `rdkafka-killed-${round}`;
  const groupId = `rdkafka-killed-group-${round}`;
  await produceSome(kafkaFor(broker, 'rdkafka-kill-bench'), topic, partitionCount);
  const survivor = await startRdkafkaMember(KafkaConsumer, broker, topic, groupId);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/compat/members/ckjs-member.ts',
      broker.bootstrapServers,
      topic,
      groupId,
      'range',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    let childAssignment: number[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; partitions?: number[] };
      if (event.event === 'assignment') childAssignment = event.partitions ?? [];
    });
    await waitFor(
      () => survivor.assignment.length === 5 && childAssignment.length === 5,
      60_000,
      'an even split (librdkafka, killed member)',
    );
    const killedAtMs = performance.now();
    child.kill('SIGKILL');
    await waitFor(
      () => survivor.assignment.length === partitionCount,
      60_000,
      'the survivor to own all ten after the kill (librdkafka)',
    );
    return performance.now() - killedAtMs;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stopRdkafkaMember(survivor);
  }
}

/** fdatasync rate of 100-byte appends on the disk under `directory`: the serial commit ceiling. */
async function fsyncsPerSecond(directory: string): Promise<number> {
  const file = await open(join(directory, 'fsync-probe'), 'a');
  const payload = Buffer.alloc(100, 1);
  let count = 0;
  const endMs = performance.now() + 1_000;
  while (performance.now() < endMs) {
    await file.write(payload);
    await file.datasync();
    count++;
  }
  await file.close();
  return count;
}

async function commitsPerSecond(
  directory: string,
  committers: number,
  durationMs: number,
): Promise<number> {
  const logs: PartitionLog[] = [];
  const partitions = 1;
  for (let partition = 0; partition < partitions; partition++) {
    logs.push(
      await PartitionLog.open({
        directory: join(directory, `commits-${committers}`, `__consumer_offsets-${partition}`),
        config: { ...defaultLogConfig, cleanupPolicy: 'compact' },
      }),
    );
  }
  const offsetsTopic: OffsetsTopicStorage = {
    partitionCount: partitions,
    async append(partition, batch) {
      await logs[partition].append(batch, { leaderEpoch: 0, origin: 'coordinator' }).acknowledged;
    },
    async *readAll() {},
  };
  const coordinator = new GroupCoordinator({
    offsetsTopic,
    partitions: { logEndOffset: () => 1_000_000, logStartOffset: () => 0 },
    node: () => ({ nodeId: 0, host: '127.0.0.1', port: 0 }),
  });
  await coordinator.start();
  let count = 0;
  const endMs = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: committers }, async (_, committer) => {
      let offset = 0n;
      while (performance.now() < endMs) {
        const result = await coordinator.commitOffsets({
          groupId: `group-${committer}`,
          memberId: '',
          generationId: -1,
          groupInstanceId: null,
          topics: [
            {
              name: 'orders',
              partitions: [
                { partition: committer % 10, offset: offset++, leaderEpoch: -1, metadata: '' },
              ],
            },
          ],
        });
        if (result[0].partitions[0].errorCode !== 0)
          throw new Error(`commit failed: ${result[0].partitions[0].errorCode}`);
        count++;
      }
    }),
  );
  coordinator.close();
  for (const log of logs) await log.close();
  return count / (durationMs / 1000);
}

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'brook-groups-bench-'));
  const broker = await startBroker({
    logDirs: join(directory, 'broker'),
    settings: { 'num.partitions': partitionCount },
  });
  try {
    const kafka = kafkaFor(broker, 'first-record-bench');
    await produceSome(kafka, 'first-record', partitionCount);
    const coldMs = await firstRecordMs(kafka, 'first-record', 'cold-group');
    const warm: number[] = [];
    for (let round = 0; round < rounds; round++)
      warm.push(await firstRecordMs(kafka, 'first-record', `new-group-${round}`));
    console.log(
      `subscribe → first record, new group (kafkajs): median ${median(warm).toFixed(0)} ms over ${rounds} groups (min ${Math.min(...warm).toFixed(0)}, max ${Math.max(...warm).toFixed(0)}); first group on a fresh broker (creates __consumer_offsets): ${coldMs.toFixed(0)} ms`,
    );

    const leaves = [];
    for (let round = 0; round < Math.min(rounds, 3); round++)
      leaves.push(await cleanLeavePause(broker, round));
    console.log(
      `clean leave (kafkajs, 2 members, 10 partitions): survivor owns all ten after median ${median(leaves.map((entry) => entry.ownsAllMs)).toFixed(0)} ms; first record from a taken-over partition after median ${median(leaves.map((entry) => entry.firstRecordMs)).toFixed(0)} ms`,
    );

    const killedMs = await killedMemberPause(broker);
    console.log(
      `killed member (SIGKILL, session.timeout 6000 ms): survivor owns all ten after ${killedMs.toFixed(0)} ms (${(killedMs - 6000).toFixed(0)} ms beyond the session timeout)`,
    );

    const KafkaConsumer = loadRdkafka();
    if (KafkaConsumer === null)
      console.log('librdkafka figures skipped: run .ci/install-ckjs.sh first');
    else await rdkafkaFigures(broker, KafkaConsumer);
  } finally {
    await broker.stop();
  }

  const fsyncRate = await fsyncsPerSecond(directory);
  const serial = await commitsPerSecond(directory, 1, 2_000);
  const concurrent = await commitsPerSecond(directory, 64, 2_000);
  console.log(`fdatasync (100-byte appends, same disk): ${fsyncRate.toFixed(0)}/s`);
  console.log(
    `commits/s, 1 committer: ${serial.toFixed(0)} (${(serial / fsyncRate).toFixed(2)} × the fsync rate)`,
  );
  console.log(
    `commits/s, 64 committers: ${concurrent.toFixed(0)} (${(concurrent / fsyncRate).toFixed(2)} × the fsync rate: group commit shares fsyncs)`,
  );
  await rm(directory, { recursive: true, force: true });
}

await main();
