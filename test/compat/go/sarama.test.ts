// Sarama 1.22 (Debian's golang-github-shopify-sarama-dev, the Go client Burrow and many Go tools
// are built on) against an in-process Brook broker, through test/compat/go/sarama-client: an
// idempotent producer in every codec Sarama has, a consumer group that reads everything, leaves,
// and resumes from its commits, and the zstd refusal Kafka gives Sarama's Produce v3.
//
// What Sarama 1.22 sends with a configured version of 0.11 or later, from its source: Produce v3
// (it has no later one, so its zstd is always refused, as by Kafka 2.1+), Fetch v4, Metadata v5
// (v1 below 1.0), ListOffsets v1 (v0 below 0.10.1), FindCoordinator v0, JoinGroup v1,
// SyncGroup/Heartbeat/LeaveGroup v0, OffsetCommit v1 or v2, OffsetFetch v1, InitProducerId v0.
// Brook serves every one of them. Below 0.11 it falls back to message formats v0/v1 (Produce v0-2,
// Fetch v0-3), which Brook refuses, as Kafka 4.0 does.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import { type Broker, startBroker } from '../../../src/broker.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import type { ProduceResponse } from '../../../src/protocol/generated/index.js';
import { CompressionType } from '../../../src/record/batch.js';
import { buildBatch, decodeBatchHeader } from '../../../src/record/records.js';
import { requireClient, runProcess } from '../../helpers/clients.js';
import { callBroker } from '../../helpers/wire-client.js';
import { buildGoProgram } from './go-build.js';

const partitionCount = 3;
const clientTimeoutMs = 120_000;
/** Every codec Sarama 1.22 can write that Produce v3 may carry. */
const codecs = ['none', 'gzip', 'snappy', 'lz4'] as const;

interface SaramaRecord {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

function parseEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function recordsOf(events: Record<string, unknown>[], kind: string): SaramaRecord[] {
  return events
    .filter((event) => event.event === kind)
    .map((event) => ({
      partition: event.partition as number,
      offset: event.offset as number,
      key: event.key as string,
      value: event.value as string,
    }));
}

function sorted(records: SaramaRecord[]): SaramaRecord[] {
  return [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

async function saramaProduce(
  binary: string,
  broker: Broker,
  topic: string,
  codec: string,
  count: number,
  prefix: string,
): Promise<{ exitCode: number | null; events: Record<string, unknown>[]; stderr: string }> {
  const result = await runProcess(
    binary,
    [
      'produce',
      ...['-brokers', broker.bootstrapServers, '-topic', topic, '-codec', codec],
      ...['-count', String(count), '-prefix', prefix],
    ],
    { timeoutMs: clientTimeoutMs },
  );
  return { exitCode: result.exitCode, events: parseEvents(result.stdout), stderr: result.stderr };
}

async function saramaConsume(
  binary: string,
  broker: Broker,
  topic: string,
  group: string,
  expect: number,
): Promise<Record<string, unknown>[]> {
  const result = await runProcess(
    binary,
    [
      'consume',
      ...['-brokers', broker.bootstrapServers, '-topic', topic, '-group', group],
      ...['-expect', String(expect)],
    ],
    { timeoutMs: clientTimeoutMs },
  );
  assert.equal(result.exitCode, 0, `sarama-client consume failed: ${result.stderr.slice(-3000)}`);
  return parseEvents(result.stdout);
}

/** The producer id and codec of every batch in the partition, read back from the log. */
async function batchesOf(
  broker: Broker,
  topic: string,
  partitionIndex: number,
): Promise<{ producerId: number; compression: number }[]> {
  const partition = broker.replicas.partition(topic, partitionIndex);
  assert.ok(partition !== undefined, `${topic}-${partitionIndex} exists`);
  const read = await partition.read(0, 64 << 20, partition.highWatermark, true);
  const bytes = Buffer.concat(read.chunks);
  const batches = [];
  for (let position = 0; position < bytes.length;) {
    const header = decodeBatchHeader(bytes, position);
    batches.push({ producerId: header.producerId, compression: header.compression });
    position += 12 + header.batchLength;
  }
  return batches;
}

async function saramaBinary(t: TestContext): Promise<string | undefined> {
  if (!requireClient(t, 'sarama')) return undefined;
  return buildGoProgram('sarama-client');
}

test(
  'Sarama 1.22 produces idempotently in every codec, consumes in a group, resumes from its commits and reads exactly what was sent',
  { timeout: 600_000 },
  async (t) => {
    const binary = await saramaBinary(t);
    if (binary === undefined) return;
    const broker = await startBroker({
      settings: { 'num.partitions': partitionCount, 'auto.create.topics.enable': true },
    });
    try {
      const topic = 'sarama-codecs';
      // The first producer's Metadata creates the topic (LEADER_NOT_AVAILABLE, then partitions).
      const produced: SaramaRecord[] = [];
      for (const codec of codecs) {
        const result = await saramaProduce(binary, broker, topic, codec, 6, codec);
        assert.equal(result.exitCode, 0, `${codec}: ${result.stderr.slice(-3000)}`);
        produced.push(...recordsOf(result.events, 'produced'));
      }
      assert.equal(produced.length, codecs.length * 6);

      // A zstd batch written by a newer client (Produce v7): Sarama reads it with Fetch v4, which
      // Brook serves because the topic keeps the producer's codec.
      const zstdResponse = await callBroker<ProduceResponse>(broker.bootstrapServers, 0, 7, {
        acks: -1,
        timeoutMs: 5000,
        topicData: [
          {
            name: topic,
            partitionData: [
              {
                index: 0,
                records: await buildBatch({
                  compression: CompressionType.zstd,
                  records: [{ key: Buffer.from('zstd-key'), value: Buffer.from('zstd-value') }],
                }),
              },
            ],
          },
        ],
      });
      const zstdPartition = zstdResponse.responses[0].partitionResponses[0];
      assert.equal(zstdPartition.errorCode, ErrorCode.NONE);
      produced.push({
        partition: 0,
        offset: Number(zstdPartition.baseOffset),
        key: 'zstd-key',
        value: 'zstd-value',
      });

      // Every batch Sarama wrote carries a producer id (idempotence) and its codec.
      const codecsSeen = new Set<number>();
      for (let index = 0; index < partitionCount; index++) {
        for (const batch of await batchesOf(broker, topic, index)) {
          if (batch.compression === CompressionType.zstd) continue;
          assert.ok(batch.producerId >= 0, `a batch in partition ${index} has no producer id`);
          codecsSeen.add(batch.compression);
        }
      }
      assert.deepEqual([...codecsSeen].sort(), [
        CompressionType.none,
        CompressionType.gzip,
        CompressionType.snappy,
        CompressionType.lz4,
      ]);

      const group = 'sarama-group';
      const firstEvents = await saramaConsume(binary, broker, topic, group, produced.length);
      const firstRead = recordsOf(firstEvents, 'record');
      assert.deepEqual(sorted(firstRead), sorted(produced));
      for (const event of firstEvents.filter((candidate) => candidate.event === 'record')) {
        const headers = event.headers as Record<string, string>;
        const value = event.value as string;
        if (value === 'zstd-value') assert.deepEqual(headers, {});
        else assert.deepEqual(headers, { codec: value.slice(0, value.indexOf('-')) });
      }

      // A second member of the same group starts from the offsets the first one committed.
      const more = await saramaProduce(binary, broker, topic, 'gzip', 5, 'resumed');
      assert.equal(more.exitCode, 0, more.stderr.slice(-3000));
      const resumedEvents = await saramaConsume(binary, broker, topic, group, 5);
      assert.deepEqual(
        sorted(recordsOf(resumedEvents, 'record')),
        sorted(recordsOf(more.events, 'produced')),
      );
    } finally {
      await broker.stop();
    }
  },
);

test(
  "Sarama 1.22's zstd producer (Produce v3) is refused with UNSUPPORTED_COMPRESSION_TYPE and nothing is written",
  { timeout: 600_000 },
  async (t) => {
    const binary = await saramaBinary(t);
    if (binary === undefined) return;
    const broker = await startBroker();
    try {
      const topic = 'sarama-zstd';
      await broker.replicas.createTopic({ name: topic, partitionCount });
      const result = await saramaProduce(binary, broker, topic, 'zstd', 4, 'zstd');
      assert.equal(result.exitCode, 2, `expected a refusal; stderr: ${result.stderr.slice(-3000)}`);
      const errors = result.events.filter((event) => event.event === 'error');
      assert.equal(errors.length, 4);
      for (const error of errors) assert.equal(error.code, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
      for (let index = 0; index < partitionCount; index++) {
        assert.equal(broker.replicas.partition(topic, index)?.logEndOffset, 0);
      }
    } finally {
      await broker.stop();
    }
  },
);
