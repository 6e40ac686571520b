// Memory under overload (issue 14): many producers pipelining at full speed against a disk slower
// than they are. The broker must stop reading their sockets rather than hold every request it
// could read: the bytes in flight over all connections stay within queued.max.request.bytes.total
// plus one request per connection (server/request-memory.ts), and every produce is still
// acknowledged once durable, nothing lost or doubled. The slow disk is the FileIo seam's
// (an fsync delayed), the producers are real connections speaking Produce v9.
//
// One producer alone is held back by its connection's own limit, queued.max.request.bytes: with
// the default settings, a client pipelining everything it has (librdkafka's default allows a
// million requests in flight) holds at most 32 MiB of the broker's memory plus one request, not
// all it sends (bench:broker's RSS peak of issue 14 was 100 MiB of produce requests in flight).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { createTopicByRequest } from '../helpers/cluster.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';

const TOPIC = 'overload';
const PARTITIONS = 4;
const PRODUCERS = 100;
const REQUESTS_EACH = 5;
const RECORDS_PER_BATCH = 400;
const LIMIT_BYTES = 2 * 1024 * 1024;

test('producers at full speed against a slow disk are held back by queued.max.request.bytes.total; every produce is acknowledged once, nothing lost', async (t) => {
  const io = new FaultyFileIo();
  io.datasyncDelayMs = 40;
  const broker = await startBroker({
    fileIo: io,
    settings: { 'queued.max.request.bytes.total': LIMIT_BYTES },
  });
  t.after(() => broker.stop());
  await createTopicByRequest(broker, {
    name: TOPIC,
    numPartitions: PARTITIONS,
    replicationFactor: 1,
  });
  const batch = await makeBatch({ seed: 7, recordsCount: RECORDS_PER_BATCH, valueBytes: 100 });
  const connections = await Promise.all(
    Array.from({ length: PRODUCERS }, (_, index) =>
      KafkaConnection.open(broker.bootstrapServers, {
        clientId: `overload-${index}`,
        requestTimeoutMs: 120_000,
      }),
    ),
  );
  t.after(() => {
    for (const connection of connections) connection.close();
  });

  // Every producer sends all its requests at once, without waiting for an answer.
  const answers = await Promise.all(
    connections.flatMap((connection, index) =>
      Array.from({ length: REQUESTS_EACH }, () =>
        connection.request<ProduceResponse>(ApiKey.Produce, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 60_000,
          topicData: [
            { name: TOPIC, partitionData: [{ index: index % PARTITIONS, records: batch }] },
          ],
        }),
      ),
    ),
  );

  const baseOffsets = new Map<number, number[]>();
  for (const answer of answers) {
    const partition = answer.responses[0]!.partitionResponses[0]!;
    assert.equal(partition.errorCode, ErrorCode.NONE);
    const offsets = baseOffsets.get(partition.index) ?? [];
    offsets.push(Number(partition.baseOffset));
    baseOffsets.set(partition.index, offsets);
  }
  // Each acknowledged batch has its own offsets, one after another, and the logs hold them all.
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const offsets = (baseOffsets.get(partition) ?? []).sort((a, b) => a - b);
    const expected = Array.from({ length: offsets.length }, (_, at) => at * RECORDS_PER_BATCH);
    assert.deepEqual(offsets, expected, `base offsets of ${TOPIC}-${partition}`);
    const log = broker.replicas.partition(TOPIC, partition)!;
    assert.equal(log.logEndOffset, offsets.length * RECORDS_PER_BATCH);
  }

  // Held back: the limit, plus one request per connection (with room for their small answers).
  const requestBytes = batch.length + 256;
  const bound = LIMIT_BYTES + PRODUCERS * requestBytes + 64 * 1024;
  const offered = PRODUCERS * REQUESTS_EACH * requestBytes;
  console.log(
    `# request memory peak ${broker.requestMemory.peak} bytes; bound ${bound}; offered ${offered}`,
  );
  assert.ok(
    broker.requestMemory.peak <= bound,
    `request memory peaked at ${broker.requestMemory.peak} bytes, above ${bound}`,
  );
  assert.equal(broker.requestMemory.used, 0);
});

test('one producer pipelining 64 MiB against a slow disk holds at most queued.max.request.bytes (32 MiB by default) plus one request', async (t) => {
  const io = new FaultyFileIo();
  io.datasyncDelayMs = 40;
  const broker = await startBroker({ fileIo: io });
  t.after(() => broker.stop());
  await createTopicByRequest(broker, {
    name: 'one-producer',
    numPartitions: 1,
    replicationFactor: 1,
  });
  // Just under max.message.bytes, as librdkafka sends at full speed with its default batch.size.
  const recordsPerBatch = 8000;
  const batch = await makeBatch({ seed: 11, recordsCount: recordsPerBatch, valueBytes: 100 });
  const requests = Math.ceil((64 * 1024 * 1024) / batch.length);
  const connection = await KafkaConnection.open(broker.bootstrapServers, {
    clientId: 'one-producer',
    requestTimeoutMs: 120_000,
  });
  t.after(() => connection.close());

  const answers = await Promise.all(
    Array.from({ length: requests }, () =>
      connection.request<ProduceResponse>(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 60_000,
        topicData: [{ name: 'one-producer', partitionData: [{ index: 0, records: batch }] }],
      }),
    ),
  );
  const baseOffsets = answers.map((answer) => {
    const partition = answer.responses[0]!.partitionResponses[0]!;
    assert.equal(partition.errorCode, ErrorCode.NONE);
    return Number(partition.baseOffset);
  });
  assert.deepEqual(
    baseOffsets,
    Array.from({ length: requests }, (_, at) => at * recordsPerBatch),
  );

  const requestBytes = batch.length + 256;
  const bound = 32 * 1024 * 1024 + requestBytes + 64 * 1024;
  console.log(
    `# request memory peak ${broker.requestMemory.peak} bytes; bound ${bound}; offered ${requests * requestBytes}`,
  );
  assert.ok(
    broker.requestMemory.peak <= bound,
    `request memory peaked at ${broker.requestMemory.peak} bytes, above ${bound}`,
  );
  // Held back, not starved: the connection kept more than a few requests in flight.
  assert.ok(broker.requestMemory.peak >= 8 * requestBytes);
  assert.equal(broker.requestMemory.used, 0);
});
