// The issue-3 §4 compatibility scenario, written once and run with every real client through a
// small driver per client: create a multi-partition topic with configs, describe and alter them,
// produce keyed and unkeyed records with headers in every codec the client supports, read it all
// back (exact bytes, per-partition order, offsets), restart the broker and read it again with a
// fresh client, look offsets up by timestamp, delete the topic.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { BrokerUnderTest, codecsOnDisk, type Codec } from './client-broker.js';
import { waitFor } from './poll.js';

export type { Codec } from './client-broker.js';

export interface ScenarioRecord {
  partition: number;
  key: Buffer | null;
  value: Buffer;
  headers: [string, Buffer][];
  /** CreateTime set by the producer; undefined when the client cannot set it (kcat). */
  timestamp?: number;
}

/** Records that one producer call sends together: same codec, partition, headers and keyedness. */
export interface RecordRun {
  codec: Codec;
  partition: number;
  keyed: boolean;
  headers: [string, Buffer][];
  records: ScenarioRecord[];
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer;
  /** A header value may be null (distinct from empty) on the wire. */
  headers: [string, Buffer | null][];
  timestamp: number;
}

export interface DeliveredOffset {
  partition: number;
  offset: number;
}

export interface ClientDriver {
  name: string;
  codecs: Codec[];
  /** kcat reads and writes lines of text: values are UTF-8 text without newlines. */
  textOnly: boolean;
  /** Whether the producer can set each record's timestamp. */
  setsTimestamps: boolean;
  /** The producer sends an empty header value as null (@confluentinc/kafka-javascript does). */
  writesEmptyHeaderValueAsNull?: boolean;
  /** The consumer shows a null header value as empty (@confluentinc/kafka-javascript does). */
  readsNullHeaderValueAsEmpty?: boolean;
  createTopic(
    bootstrap: string,
    topic: string,
    partitions: number,
    configs: Record<string, string>,
  ): Promise<void>;
  describeTopicConfigs(bootstrap: string, topic: string): Promise<Record<string, string | null>>;
  /** Sets `changes`; `all` is the full intended set, for clients that only have AlterConfigs. */
  alterTopicConfigs(
    bootstrap: string,
    topic: string,
    changes: Record<string, string>,
    all: Record<string, string>,
  ): Promise<void>;
  /** Produces the runs in order; returns each record's offset in run order when the client reports it. */
  produce(bootstrap: string, topic: string, runs: RecordRun[]): Promise<DeliveredOffset[] | null>;
  /** Reads every partition from its start to its end, without a consumer group. */
  readAll(
    bootstrap: string,
    topic: string,
    partitions: number,
    expectedCount: number,
  ): Promise<ReadRecord[]>;
  /** Offset of the first record at or after each timestamp; -1 when there is none. */
  offsetsForTimes(
    bootstrap: string,
    topic: string,
    queries: { partition: number; timestamp: number }[],
  ): Promise<number[]>;
  deleteTopic(bootstrap: string, topic: string): Promise<void>;
  listTopics(bootstrap: string): Promise<string[]>;
}

export const topicPartitions = 3;
export const createConfigs: Record<string, string> = {
  'cleanup.policy': 'delete',
  'retention.ms': '86400000',
  'max.message.bytes': '2097152',
};
export const alteredConfigs: Record<string, string> = { 'retention.ms': '172800000' };

const headerSets: [string, string][][] = [
  [],
  [['trace-id', 'abc-123']],
  [
    ['dup', 'first'],
    ['dup', 'second'],
  ],
  [['empty', '']],
];

/** A value that is not trivially compressible in part, so every codec's output is exercised. */
function valueBytes(
  codec: Codec,
  run: number,
  index: number,
  textOnly: boolean,
  size: number,
): Buffer {
  const prefix = `${codec}/run${run}/record${index} Grüße ✓ `;
  if (textOnly) {
    let text = prefix;
    let state = run * 7919 + index * 104729 + codec.length;
    while (Buffer.byteLength(text) < size) {
      state = (state * 1103515245 + 12345) % 2147483648;
      text += `word${state % 97} `;
    }
    return Buffer.from(text);
  }
  const bytes = Buffer.alloc(size);
  const head = Buffer.from(prefix);
  head.copy(bytes);
  let state = run * 7919 + index * 104729 + codec.length;
  for (let position = head.length; position < size; position++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    // Every byte value, including 0 and 0xff, with runs a compressor can find.
    bytes[position] = position % 64 < 32 ? position % 256 : state >> 16;
  }
  return bytes;
}

/**
 * For each codec: four runs over the partitions (keyed and unkeyed, four header sets), three
 * records each, the first of each codec carrying 64 KiB so a compressed batch is worth it.
 */
export function scenarioRuns(
  driver: ClientDriver,
  partitions: number,
  baseTimestamp: number,
): RecordRun[] {
  const runs: RecordRun[] = [];
  let sequence = 0;
  for (const codec of driver.codecs) {
    for (let run = 0; run < 4; run++) {
      const partition = runs.length % partitions;
      const keyed = run % 2 === 0;
      const headers = headerSets[run]!.map(([key, value]): [string, Buffer] => [
        key,
        Buffer.from(value),
      ]);
      const records: ScenarioRecord[] = [];
      for (let index = 0; index < 3; index++) {
        const size = run === 0 && index === 0 ? 65_536 : 40 + 97 * index;
        records.push({
          partition,
          key: keyed ? Buffer.from(`key-${codec}-${index % 2}-ключ`) : null,
          value: valueBytes(codec, run, index, driver.textOnly, size),
          headers,
          timestamp: driver.setsTimestamps ? baseTimestamp + 10 * sequence : undefined,
        });
        sequence++;
      }
      runs.push({ codec, partition, keyed, headers, records });
    }
  }
  return runs;
}

function describeRecord(record: { key: Buffer | null; value: Buffer }): string {
  const key = record.key === null ? 'null' : JSON.stringify(record.key.toString().slice(0, 40));
  return `key ${key}, value ${record.value.length} bytes ${JSON.stringify(record.value.subarray(0, 30).toString())}`;
}

/**
 * Every produced record is read back exactly once, byte for byte, in produce order within its
 * partition, at consecutive offsets from 0, and nothing else is read.
 */
export function assertReadBack(
  runs: RecordRun[],
  read: ReadRecord[],
  partitions: number,
  delivered: DeliveredOffset[] | null,
  producer: Pick<ClientDriver, 'writesEmptyHeaderValueAsNull'> = {},
  reader: Pick<ClientDriver, 'readsNullHeaderValueAsEmpty'> = {},
): void {
  const headerForm = (value: Buffer | null) => {
    const sent =
      value === null || (value.length === 0 && producer.writesEmptyHeaderValueAsNull)
        ? null
        : value;
    if (sent === null) return reader.readsNullHeaderValueAsEmpty ? '' : null;
    return sent.toString('base64');
  };
  const produced = runs.flatMap((run) => run.records);
  assert.ok(produced.length > 0, 'the scenario produced no records');
  assert.equal(
    read.length,
    produced.length,
    `read ${read.length} records, produced ${produced.length}`,
  );
  if (delivered) {
    assert.equal(delivered.length, produced.length, 'one delivery report per produced record');
  }
  for (let partition = 0; partition < partitions; partition++) {
    const expected = produced.filter((record) => record.partition === partition);
    const actual = read
      .filter((record) => record.partition === partition)
      .sort((a, b) => a.offset - b.offset);
    assert.equal(
      actual.length,
      expected.length,
      `partition ${partition}: read ${actual.length} of ${expected.length}`,
    );
    for (let index = 0; index < expected.length; index++) {
      const want = expected[index]!;
      const got = actual[index]!;
      const where = `partition ${partition}, record ${index} (${describeRecord(want)})`;
      assert.equal(got.offset, index, `${where}: offset`);
      assert.deepEqual(got.key, want.key, `${where}: key`);
      assert.ok(
        got.value.equals(want.value),
        `${where}: value differs, read ${describeRecord(got)}`,
      );
      assert.deepEqual(
        got.headers.map(([key, value]) => [key, value === null ? null : value.toString('base64')]),
        want.headers.map(([key, value]) => [key, headerForm(value)]),
        `${where}: headers`,
      );
      if (want.timestamp !== undefined)
        assert.equal(got.timestamp, want.timestamp, `${where}: timestamp`);
      else assert.ok(got.timestamp > 0, `${where}: timestamp ${got.timestamp}`);
    }
  }
  if (delivered) {
    produced.forEach((record, index) => {
      assert.equal(
        delivered[index]!.partition,
        record.partition,
        `delivery report ${index}: partition`,
      );
    });
    // The offsets reported at delivery are where the records were read.
    for (let partition = 0; partition < partitions; partition++) {
      const offsets: number[] = delivered
        .filter((report) => report.partition === partition)
        .map((report) => report.offset);
      assert.deepEqual(
        offsets,
        offsets.map((_offset, index) => index),
        `partition ${partition}: delivered offsets`,
      );
    }
  }
}

/** Kafka's rule: the first offset, in log order, whose timestamp is at or after the target. */
export function expectedOffsetForTimestamp(
  read: ReadRecord[],
  partition: number,
  timestamp: number,
): number {
  const match = read
    .filter((record) => record.partition === partition)
    .sort((a, b) => a.offset - b.offset)
    .find((record) => record.timestamp >= timestamp);
  return match ? match.offset : -1;
}

function uniqueTopic(driver: ClientDriver): string {
  return `compat-${driver.name}-${process.pid}-${Date.now().toString(36)}`;
}

async function assertConfigs(
  driver: ClientDriver,
  bootstrap: string,
  topic: string,
  expected: Record<string, string>,
  when: string,
): Promise<void> {
  const described = await driver.describeTopicConfigs(bootstrap, topic);
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(described[name], value, `${when}: ${name}`);
  }
  // Kafka describes every topic config, with defaults, not only those that were set.
  assert.ok('segment.bytes' in described, `${when}: segment.bytes (a default) is described too`);
}

/** The whole scenario for one client. */
export async function runCompatScenario(t: TestContext, driver: ClientDriver): Promise<void> {
  const broker = await BrokerUnderTest.start(t);
  const topic = uniqueTopic(driver);
  const partitions = topicPartitions;

  await driver.createTopic(broker.bootstrapServers, topic, partitions, createConfigs);
  await waitFor(
    async () => (await driver.listTopics(broker.bootstrapServers)).includes(topic),
    `${topic} to be listed`,
  );
  await assertConfigs(driver, broker.bootstrapServers, topic, createConfigs, 'after create');
  await driver.alterTopicConfigs(broker.bootstrapServers, topic, alteredConfigs, {
    ...createConfigs,
    ...alteredConfigs,
  });
  await assertConfigs(
    driver,
    broker.bootstrapServers,
    topic,
    { ...createConfigs, ...alteredConfigs },
    'after alter',
  );

  const baseTimestamp = Date.now() - 600_000;
  const runs = scenarioRuns(driver, partitions, baseTimestamp);
  const produced = runs.flatMap((run) => run.records);
  const delivered = await driver.produce(broker.bootstrapServers, topic, runs);

  const readBefore = await driver.readAll(
    broker.bootstrapServers,
    topic,
    partitions,
    produced.length,
  );
  assertReadBack(runs, readBefore, partitions, delivered, driver, driver);

  // Each codec reached the disk as batches in that codec: a client that quietly stopped
  // compressing (librdkafka does when it dislikes the Produce version range) is caught here.
  const onDisk = codecsOnDisk(broker.logDir, topic);
  assert.deepEqual(
    [...onDisk.keys()].sort(),
    [...driver.codecs].sort(),
    `codecs of the batches on disk`,
  );

  await broker.restart();

  const readAfter = await driver.readAll(
    broker.bootstrapServers,
    topic,
    partitions,
    produced.length,
  );
  assertReadBack(runs, readAfter, partitions, null, driver, driver);
  assert.deepEqual(
    readAfter.map((record) => [record.partition, record.offset, record.timestamp]).sort(),
    readBefore.map((record) => [record.partition, record.offset, record.timestamp]).sort(),
    'the same offsets and timestamps after the restart',
  );
  await assertConfigs(
    driver,
    broker.bootstrapServers,
    topic,
    { ...createConfigs, ...alteredConfigs },
    'after restart',
  );

  const queries: { partition: number; timestamp: number }[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const timestamps = readAfter
      .filter((record) => record.partition === partition)
      .sort((a, b) => a.offset - b.offset)
      .map((record) => record.timestamp);
    assert.ok(timestamps.length > 1, `partition ${partition} has records to look up`);
    const middle = timestamps[Math.floor(timestamps.length / 2)]!;
    queries.push({ partition, timestamp: 0 });
    queries.push({ partition, timestamp: middle });
    queries.push({ partition, timestamp: middle + 1 });
    queries.push({ partition, timestamp: Math.max(...timestamps) + 3_600_000 });
  }
  const offsets = await driver.offsetsForTimes(broker.bootstrapServers, topic, queries);
  assert.deepEqual(
    offsets,
    queries.map((query) => expectedOffsetForTimestamp(readAfter, query.partition, query.timestamp)),
    `offsets for ${JSON.stringify(queries)}`,
  );

  await driver.deleteTopic(broker.bootstrapServers, topic);
  await waitFor(
    async () => !(await driver.listTopics(broker.bootstrapServers)).includes(topic),
    `${topic} to disappear after delete`,
  );
}

// ---------------------------------------------------------------------------------------------
// JSON form of records between the tests and driver programs (bytes as base64)

export interface WireRecord {
  partition: number;
  key: string | null;
  value: string;
  headers: [string, string | null][];
  timestamp?: number;
  offset?: number;
}

export function toWire(record: ScenarioRecord): WireRecord {
  return {
    partition: record.partition,
    key: record.key === null ? null : record.key.toString('base64'),
    value: record.value.toString('base64'),
    headers: record.headers.map(([key, value]) => [key, value.toString('base64')]),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
  };
}

export function fromWire(record: WireRecord): ReadRecord {
  assert.equal(typeof record.offset, 'number', 'a read record carries its offset');
  assert.equal(typeof record.timestamp, 'number', 'a read record carries its timestamp');
  return {
    partition: record.partition,
    offset: record.offset!,
    key: record.key === null ? null : Buffer.from(record.key, 'base64'),
    value: Buffer.from(record.value, 'base64'),
    headers: record.headers.map(([key, value]) => [
      key,
      value === null ? null : Buffer.from(value, 'base64'),
    ]),
    timestamp: record.timestamp!,
  };
}
