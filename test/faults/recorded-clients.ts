// Real Kafka clients that write everything they do into a History: idempotent acks=all producers
// (kafkajs, and librdkafka through python3-confluent-kafka), a complete reader (librdkafka, either
// isolation level), and a kafkajs consume-transform-produce loop in transactions. Each takes a
// bootstrap list only, so it runs the same against one broker or a cluster.

import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { History, Isolation } from './history.js';
import { kafka } from './kafkajs-settings.js';
import type { SeededRandom } from './seeds.js';

const python = '/usr/bin/python3';
const rdkafkaScript = fileURLToPath(new URL('./rdkafka_client.py', import.meta.url));
const groupMemberScript = fileURLToPath(new URL('./kafkajs-group-member.ts', import.meta.url));

/** A running load: `stop()` ends it and resolves once every outstanding send is settled. */
export interface Load {
  readonly name: string;
  stop(): Promise<void>;
}

const message = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).replace(/\s+/g, ' ');

/** A topic's replication factor and configs (cluster scenarios: RF 3, min.insync.replicas 2). */
export interface TopicPlacement {
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string | number>>;
}

export interface PartitionState {
  readonly leader: number;
  readonly isr: readonly number[];
}

/** Each partition's leader (-1 while it has none) and in-sync replicas, as Metadata reports them. */
export async function partitionStates(
  bootstrapServers: string,
  topic: string,
): Promise<Map<number, PartitionState>> {
  const admin = kafka(bootstrapServers, 'fault-admin').admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]?.partitions ?? [];
    return new Map(
      partitions.map((partition) => [
        partition.partitionId,
        { leader: partition.leader, isr: partition.isr },
      ]),
    );
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(
  bootstrapServers: string,
  topic: string,
  partitions: number,
  placement: TopicPlacement = {},
): Promise<void> {
  const admin = kafka(bootstrapServers, 'fault-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor: placement.replicationFactor,
          configEntries: Object.entries(placement.configs ?? {}).map(([name, value]) => ({
            name,
            value: String(value),
          })),
        },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * A kafkajs idempotent producer (acks=all, one request in flight, as kafkajs requires for
 * idempotence) sending batches of 1-5 records to seeded partitions, one batch at a time.
 */
export async function startKafkajsProducer(options: {
  bootstrapServers: string;
  topic: string;
  partitions: number;
  name: string;
  history: History;
  random: SeededRandom;
  /** Shorter than a pause makes the producer time out and retry into a stalled broker. */
  requestTimeoutMs?: number;
  /** Stop sending after this many records (a bounded input for a slower consumer). */
  maxRecords?: number;
}): Promise<Load> {
  const { history, name, topic } = options;
  const producer = kafka(options.bootstrapServers, name, options.requestTimeoutMs).producer({
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  let running = true;
  let counter = 0;
  const loop = (async () => {
    while (running && counter < (options.maxRecords ?? Infinity)) {
      const partition = options.random.integer(0, options.partitions - 1);
      const ids = Array.from(
        { length: options.random.integer(1, 5) },
        () => `${name}-${counter++}`,
      );
      for (const id of ids)
        history.record({
          type: 'send',
          producer: name,
          id,
          topic,
          partition,
          sequence: history.nextSequence(name),
        });
      try {
        const [result] = await producer.send({
          topic,
          acks: -1,
          messages: ids.map((id) => ({ partition, value: id })),
        });
        const baseOffset = Number(result.baseOffset);
        ids.forEach((id, index) =>
          history.record({
            type: 'ack',
            producer: name,
            id,
            topic,
            partition: result.partition,
            offset: baseOffset + index,
          }),
        );
      } catch (error) {
        for (const id of ids)
          history.record({ type: 'fail', producer: name, id, error: message(error) });
      }
    }
  })();
  return {
    name,
    async stop() {
      running = false;
      await loop;
      await producer.disconnect();
    },
  };
}

function lines(child: ChildProcess, onLine: (line: string) => void): Promise<void> {
  const reader = createInterface({ input: child.stdout! });
  reader.on('line', onLine);
  return new Promise((resolve) => reader.once('close', () => resolve()));
}

/** A librdkafka idempotent acks=all producer (up to 32 records in flight) in a python3 child. */
export function startRdkafkaProducer(options: {
  bootstrapServers: string;
  topic: string;
  partitions: number;
  name: string;
  history: History;
  random: SeededRandom;
  /** librdkafka properties to add or override. */
  config?: Readonly<Record<string, string | number>>;
}): Load {
  const { history, name, topic } = options;
  const child = spawn(
    python,
    [
      rdkafkaScript,
      'produce',
      options.bootstrapServers,
      topic,
      name,
      String(options.partitions),
      String(options.random.integer(0, 2 ** 31)),
      JSON.stringify({
        ...options.config,
        // librdkafka's debug contexts (eos,metadata,topic,msg,...), written to stderr.
        ...(process.env.BROOK_FAULT_RDKAFKA_DEBUG
          ? { debug: process.env.BROOK_FAULT_RDKAFKA_DEBUG }
          : {}),
      }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  const logDir = process.env.BROOK_FAULT_LOG_DIR;
  child.stderr!.on('data', (chunk: Buffer) => {
    // librdkafka's debug output (BROOK_FAULT_RDKAFKA_DEBUG) is far too long to keep in memory.
    if (logDir) appendFileSync(join(logDir, `${name}.log`), chunk);
    else stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const done = lines(child, (line) => {
    const [kind, id, first, second] = line.split(' ');
    if (kind === 'send')
      history.record({
        type: 'send',
        producer: name,
        id,
        topic,
        partition: Number(first),
        sequence: history.nextSequence(name),
      });
    else if (kind === 'ack')
      history.record({
        type: 'ack',
        producer: name,
        id,
        topic,
        partition: Number(first),
        offset: Number(second),
      });
    else if (kind === 'fail')
      history.record({ type: 'fail', producer: name, id, error: line.slice(`fail ${id} `.length) });
  });
  return {
    name,
    async stop() {
      child.stdin!.end();
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      const code = await exited;
      await done;
      clearTimeout(killTimer);
      if (code !== 0)
        throw new Error(`the librdkafka producer ${name} exited with ${code}:\n${stderr}`);
    },
  };
}

/**
 * Reads all of `topic` from offset 0 to the high watermark with librdkafka, recording every record
 * and, once every partition is read to its end, a `read-complete` event.
 */
export async function readTopic(options: {
  bootstrapServers: string;
  topic: string;
  isolation: Isolation;
  consumer: string;
  history: History;
  timeoutMs?: number;
}): Promise<number> {
  const { history, topic, consumer, isolation } = options;
  const timeoutSeconds = Math.ceil((options.timeoutMs ?? 30_000) / 1000);
  const child = spawn(
    python,
    [rdkafkaScript, 'read', options.bootstrapServers, topic, isolation, String(timeoutSeconds)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const killTimer = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 30) * 1000);
  let count = 0;
  await lines(child, (line) => {
    const [kind, first, second, third] = line.split(' ');
    if (kind === 'read') {
      count++;
      history.record({
        type: 'read',
        consumer,
        id: third,
        topic,
        partition: Number(first),
        offset: Number(second),
        isolation,
      });
    } else if (kind === 'complete') {
      const ends = JSON.parse(line.slice('complete '.length)) as Record<string, number>;
      const endOffsets: Record<number, number> = {};
      for (const [partition, end] of Object.entries(ends)) endOffsets[Number(partition)] = end;
      history.record({ type: 'read-complete', consumer, topic, isolation, endOffsets });
    }
  });
  const code = await exited;
  clearTimeout(killTimer);
  if (code !== 0)
    throw new Error(`the librdkafka reader of ${topic} exited with ${code}:\n${stderr}`);
  return count;
}

/** A running consume-transform-produce loop; `committedSources` grows as transactions commit. */
export interface TransformLoad extends Load {
  /** Input ids whose outputs a committed transaction wrote. */
  readonly committedSources: ReadonlySet<string>;
  readonly outcomes: { commit: number; abort: number; unknown: number };
}

/**
 * librdkafka's transactional consume-transform-produce loop (rdkafka_client.py transform): each
 * input becomes `out-<input id>#<transaction number>` in `outputTopic`, with the consumer's offsets
 * in the same transaction; `abortPercent` of the transactions are aborted on purpose.
 */
export function startRdkafkaTransform(options: {
  bootstrapServers: string;
  inputTopic: string;
  outputTopic: string;
  name: string;
  history: History;
  random: SeededRandom;
  abortPercent: number;
}): TransformLoad {
  const { history, name, inputTopic, outputTopic } = options;
  const child = spawn(
    python,
    [
      rdkafkaScript,
      'transform',
      options.bootstrapServers,
      inputTopic,
      outputTopic,
      `${name}-group`,
      name,
      String(options.random.integer(0, 2 ** 31)),
      String(options.abortPercent),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const committedSources = new Set<string>();
  const outcomes = { commit: 0, abort: 0, unknown: 0 };
  const sourcesOf = new Map<string, string[]>();
  let session = 0;
  const done = lines(child, (line) => {
    const parts = line.split(' ');
    const kind = parts[0];
    if (kind === 'read')
      history.record({
        type: 'read',
        consumer: `${name}/session-${session}`,
        id: parts[3],
        topic: inputTopic,
        partition: Number(parts[1]),
        offset: Number(parts[2]),
        isolation: 'read_committed',
      });
    else if (kind === 'session') session = Number(parts[1]);
    else if (kind === 'send') {
      const [, id, partition, source, transaction] = parts;
      history.record({
        type: 'send',
        producer: name,
        id,
        topic: outputTopic,
        partition: Number(partition),
        sequence: history.nextSequence(name),
        source,
        transaction,
      });
      sourcesOf.set(transaction, [...(sourcesOf.get(transaction) ?? []), source]);
    } else if (kind === 'ack')
      history.record({
        type: 'ack',
        producer: name,
        id: parts[1],
        topic: outputTopic,
        partition: Number(parts[2]),
        offset: Number(parts[3]),
      });
    else if (kind === 'fail')
      history.record({
        type: 'fail',
        producer: name,
        id: parts[1],
        error: parts.slice(2).join(' '),
      });
    else if (kind === 'txn') {
      const [, transaction, outcome] = parts as [string, string, 'commit' | 'abort' | 'unknown'];
      history.record({ type: 'transaction', producer: name, transaction, outcome });
      outcomes[outcome]++;
      if (outcome === 'commit')
        for (const source of sourcesOf.get(transaction) ?? []) committedSources.add(source);
    }
  });
  return {
    name,
    committedSources,
    outcomes,
    async stop() {
      child.stdin!.end();
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      const code = await exited;
      await done;
      clearTimeout(killTimer);
      if (code !== 0) throw new Error(`the transform loop ${name} exited with ${code}:\n${stderr}`);
    },
  };
}

/** A consumer group member; `delivered` holds every record id it was given. */
export interface GroupMemberLoad extends Load {
  readonly delivered: ReadonlySet<string>;
}

/**
 * A kafkajs consumer group member (read_committed, offsets auto-committed every 500 ms) in a child
 * process (kafkajs-group-member.ts says why). Its reads are recorded as `<group>/<member>/<join>`:
 * each join of the group starts a new name, because after a rebalance a member legitimately reads
 * again from the committed offset. Its joins, crashes and kafkajs's own warnings and errors are
 * recorded as `client` events, for a failed run's report.
 */
export async function startKafkajsGroupMember(options: {
  bootstrapServers: string;
  topic: string;
  group: string;
  member: string;
  history: History;
}): Promise<GroupMemberLoad> {
  const { history, topic, group, member } = options;
  const client = `${group}/${member}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', groupMemberScript, options.bootstrapServers, topic, group, member],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let joins = 0;
  const delivered = new Set<string>();
  const done = lines(child, (line) => {
    const [kind, first, second, third] = line.split(' ');
    if (kind === 'read') {
      delivered.add(third);
      history.record({
        type: 'read',
        consumer: `${client}/${joins}`,
        id: third,
        topic,
        partition: Number(first),
        offset: Number(second),
        isolation: 'read_committed',
      });
    } else {
      if (kind === 'join') joins = Number(first);
      history.record({ type: 'client', client, description: line });
    }
  });
  return {
    name: client,
    delivered,
    async stop() {
      child.stdin!.end();
      // A kafkajs spin (see kafkajs-group-member.ts) never ends on its own; what the member read
      // is recorded already, so it is killed and said, not failed.
      const killTimer = setTimeout(() => {
        history.record({ type: 'client', client, description: 'did not stop in 15 s: killed' });
        child.kill('SIGKILL');
      }, 15_000);
      const code = await exited;
      await done;
      clearTimeout(killTimer);
      if (code !== 0 && child.signalCode !== 'SIGKILL')
        throw new Error(`the kafkajs group member ${client} exited with ${code}:\n${stderr}`);
    },
  };
}
