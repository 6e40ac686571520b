// The old request versions Go tools send (Sarama 1.22, Burrow) and what Kafka answers at them,
// driven with hand-built requests at exact versions: ListOffsets v0 with its list of offsets,
// Metadata's answer to the request that auto-creates a topic, and zstd refused on Produce below v7
// and on Fetch below v10 (the latter only for a topic whose compression.type is zstd).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { type Broker, type StartBrokerOptions, startBroker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type {
  FetchResponse,
  ListOffsetsResponse,
  MetadataResponse,
  ProduceResponse,
} from '../../src/protocol/generated/index.js';
import { CompressionType } from '../../src/record/batch.js';
import { buildBatch } from '../../src/record/records.js';
import { callBroker } from '../helpers/wire-client.js';

const LATEST_TIMESTAMP = -1n;
const EARLIEST_TIMESTAMP = -2n;

async function withBroker(
  settings: StartBrokerOptions['settings'],
  body: (broker: Broker) => Promise<void>,
): Promise<void> {
  const broker = await startBroker({ settings });
  try {
    await body(broker);
  } finally {
    await broker.stop();
  }
}

function recordBatch(compression: CompressionType, values: string[]): Promise<Buffer> {
  return buildBatch({
    compression,
    records: values.map((value) => ({ key: null, value: Buffer.from(value) })),
  });
}

async function produce(
  broker: Broker,
  version: number,
  topic: string,
  records: Buffer,
): Promise<{ errorCode: number; baseOffset: bigint }> {
  const response = await callBroker<ProduceResponse>(broker.bootstrapServers, 0, version, {
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return response.responses[0].partitionResponses[0];
}

async function fetchPartition(
  broker: Broker,
  version: number,
  topic: string,
): Promise<FetchResponse['responses'][number]['partitions'][number]> {
  const response = await callBroker<FetchResponse>(broker.bootstrapServers, 1, version, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [
      { topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
    ],
  });
  return response.responses[0].partitions[0];
}

async function listOffsetsV0(
  broker: Broker,
  topic: string,
  timestamp: bigint,
  maxNumOffsets: number,
): Promise<{ errorCode: number; oldStyleOffsets: bigint[] }> {
  const response = await callBroker<ListOffsetsResponse>(broker.bootstrapServers, 2, 0, {
    replicaId: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp, maxNumOffsets }] }],
  });
  return response.topics[0].partitions[0];
}

test('ListOffsets v0 answers the earliest and latest offsets as a list, as Burrow reads them', async () => {
  await withBroker({}, async (broker) => {
    await broker.replicas.createTopic({ name: 'old-style', partitionCount: 1 });
    const appended = await produce(
      broker,
      9,
      'old-style',
      await recordBatch(CompressionType.none, ['a', 'b', 'c']),
    );
    assert.equal(appended.errorCode, ErrorCode.NONE);

    assert.deepEqual(await listOffsetsV0(broker, 'old-style', LATEST_TIMESTAMP, 1), {
      partitionIndex: 0,
      errorCode: ErrorCode.NONE,
      oldStyleOffsets: [3n],
      timestamp: -1n,
      offset: -1n,
      leaderEpoch: -1,
    });
    const earliest = await listOffsetsV0(broker, 'old-style', EARLIEST_TIMESTAMP, 10);
    assert.deepEqual(earliest.oldStyleOffsets, [0n]);
    const none = await listOffsetsV0(broker, 'old-style', LATEST_TIMESTAMP, 0);
    assert.deepEqual(none.oldStyleOffsets, []);
    // Every record is older than a time in the future: the list starts at the end of the log.
    const future = await listOffsetsV0(broker, 'old-style', BigInt(Date.now() + 3_600_000), 1);
    assert.deepEqual(future.oldStyleOffsets, [3n]);
    const past = await listOffsetsV0(broker, 'old-style', 1n, 1);
    assert.deepEqual(past.oldStyleOffsets, [0n]);

    const missing = await listOffsetsV0(broker, 'no-such-topic', LATEST_TIMESTAMP, 1);
    assert.equal(missing.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.deepEqual(missing.oldStyleOffsets, []);
  });
});

test('the Metadata response that auto-creates a topic says LEADER_NOT_AVAILABLE with no partitions; the next shows them', async () => {
  await withBroker({ 'auto.create.topics.enable': true, 'num.partitions': 2 }, async (broker) => {
    const first = await callBroker<MetadataResponse>(broker.bootstrapServers, 3, 1, {
      topics: [{ name: 'created-by-metadata' }],
    });
    assert.equal(first.topics[0].name, 'created-by-metadata');
    assert.equal(first.topics[0].errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
    assert.deepEqual(first.topics[0].partitions, []);
    assert.equal(broker.replicas.topic('created-by-metadata')?.partitions.length, 2);

    const second = await callBroker<MetadataResponse>(broker.bootstrapServers, 3, 12, {
      topics: [{ name: 'created-by-metadata', topicId: Buffer.alloc(16) }],
      allowAutoTopicCreation: true,
    });
    assert.equal(second.topics[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(
      second.topics[0].partitions.map((partition) => [
        partition.partitionIndex,
        partition.errorCode,
      ]),
      [
        [0, ErrorCode.NONE],
        [1, ErrorCode.NONE],
      ],
    );

    // A client's refresh after DeleteTopics re-creates the topic, and says it is not ready yet.
    await broker.replicas.deleteTopic('created-by-metadata');
    const refreshed = await callBroker<MetadataResponse>(broker.bootstrapServers, 3, 9, {
      topics: [{ name: 'created-by-metadata' }],
      allowAutoTopicCreation: true,
    });
    assert.equal(refreshed.topics[0].errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
    assert.deepEqual(refreshed.topics[0].partitions, []);
  });
});

test('Produce below v7 carrying a zstd batch is refused with UNSUPPORTED_COMPRESSION_TYPE and writes nothing', async () => {
  await withBroker({}, async (broker) => {
    await broker.replicas.createTopic({ name: 'zstd-produce', partitionCount: 1 });
    const zstd = await recordBatch(CompressionType.zstd, ['z']);
    const gzip = await recordBatch(CompressionType.gzip, ['g']);

    const refused = await produce(broker, 3, 'zstd-produce', zstd);
    assert.equal(refused.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    // A zstd batch behind an acceptable one refuses the whole record set.
    const mixed = await produce(broker, 6, 'zstd-produce', Buffer.concat([gzip, zstd]));
    assert.equal(mixed.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    assert.equal(broker.replicas.partition('zstd-produce', 0)?.logEndOffset, 0);

    assert.equal((await produce(broker, 3, 'zstd-produce', gzip)).errorCode, ErrorCode.NONE);
    const accepted = await produce(broker, 7, 'zstd-produce', zstd);
    assert.deepEqual([accepted.errorCode, accepted.baseOffset], [ErrorCode.NONE, 1n]);
  });
});

test('Fetch below v10 from a topic whose compression.type is zstd is refused; zstd batches elsewhere are served', async () => {
  await withBroker({}, async (broker) => {
    await broker.replicas.createTopic({
      name: 'zstd-topic',
      partitionCount: 1,
      configs: { 'compression.type': 'zstd' },
    });
    await broker.replicas.createTopic({ name: 'producer-codec', partitionCount: 1 });
    const zstd = await recordBatch(CompressionType.zstd, ['z']);
    assert.equal((await produce(broker, 7, 'zstd-topic', zstd)).errorCode, ErrorCode.NONE);
    assert.equal((await produce(broker, 7, 'producer-codec', zstd)).errorCode, ErrorCode.NONE);

    const old = await fetchPartition(broker, 4, 'zstd-topic');
    assert.equal(old.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    assert.equal(old.records?.length ?? 0, 0);
    const current = await fetchPartition(broker, 10, 'zstd-topic');
    assert.equal(current.errorCode, ErrorCode.NONE);
    assert.ok(current.records !== null && current.records.length > 0);

    // kafka-python 2.0.2 fetches with v4 and decompresses zstd itself: per-batch refusal broke it.
    const served = await fetchPartition(broker, 4, 'producer-codec');
    assert.equal(served.errorCode, ErrorCode.NONE);
    assert.ok(served.records !== null && served.records.length > 0);
  });
});

test("Fetch below v10 is refused when zstd comes from the broker's compression.type default", async () => {
  await withBroker({ 'compression.type': 'zstd' }, async (broker) => {
    await broker.replicas.createTopic({ name: 'broker-default', partitionCount: 1 });
    const old = await fetchPartition(broker, 4, 'broker-default');
    assert.equal(old.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    assert.equal((await fetchPartition(broker, 10, 'broker-default')).errorCode, ErrorCode.NONE);
  });
});
