// Large produce requests are read into reused blocks (util/reused-memory.ts): a block goes back
// to its free list once the request's handler has settled and the tail cache no longer needs it,
// and is taken by the next large request. Released blocks are poisoned here, so a block handed out
// again while anything still served from it would show up as corrupt records: every record
// produced, under each acks mode, with a consumer reading along at the tail and another from the
// start afterwards, must come back byte for byte.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';

import { type Broker, startBroker } from '../../src/broker.js';
import { poisonReleasedBlocks, reusedMemoryFigures } from '../../src/util/reused-memory.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';

/** 300 records of 2 KiB: one produce request of about 600 KiB, well inside the reused sizes. */
const RECORDS_PER_SEND = 300;
const RECORD_BYTES = 2048;
const SENDS = 12;

before(() => poisonReleasedBlocks(true));
after(() => poisonReleasedBlocks(false));

async function consumeAll(
  kafka: Kafka,
  topic: string,
  groupId: string,
  count: number,
  started?: () => void,
): Promise<Buffer[]> {
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024 });
  const values: Buffer[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value!);
      },
    });
    started?.();
    await waitFor(
      () => values.length >= count,
      () => `every record of ${topic} to arrive (${values.length} of ${count})`,
      { timeoutMs: 60_000 },
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return values;
}

/**
 * Runs `use` against a fresh in-process broker with one topic of one partition, and a connected
 * kafkajs producer (the shared compat client's settings); stops both after.
 */
async function withBroker(
  topic: string,
  use: (kafka: Kafka, producer: Producer, broker: Broker) => Promise<void>,
): Promise<void> {
  const broker = await startBroker();
  const kafka = kafkajsClient(broker.bootstrapServers, 'reused-frames');
  const producer = kafka.producer();
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    await producer.connect();
    await use(kafka, producer, broker);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await broker.stop();
  }
}

for (const acks of [-1, 1, 0]) {
  test(`acks=${acks}: records of large produce requests come back intact though their blocks are reused`, async () => {
    const topic = `reused-${acks < 0 ? 'all' : acks}`;
    await withBroker(topic, async (kafka, producer, broker) => {
      const sent = Array.from({ length: SENDS * RECORDS_PER_SEND }, () =>
        randomBytes(RECORD_BYTES),
      );
      const before = reusedMemoryFigures();

      // A consumer at the tail reads while the requests arrive: it is served from the tail cache,
      // before and after the appends are written.
      let tailStarted!: () => void;
      const tailReady = new Promise<void>((resolve) => (tailStarted = resolve));
      const tail = consumeAll(kafka, topic, `${topic}-tail`, sent.length, tailStarted);
      await tailReady;

      // All requests at once, so that several are in flight on the one connection.
      await Promise.all(
        Array.from({ length: SENDS }, (_, send) =>
          producer.send({
            topic,
            acks,
            messages: sent
              .slice(send * RECORDS_PER_SEND, (send + 1) * RECORDS_PER_SEND)
              .map((value) => ({ value })),
          }),
        ),
      );
      const partition = broker.replicas.partition(topic, 0)!;
      await waitFor(
        () => partition.log.logEndOffset === sent.length,
        () => `every record to be appended (${partition.log.logEndOffset} of ${sent.length})`,
      );

      const figures = reusedMemoryFigures();
      assert.ok(
        figures.blocksMade + figures.blocksRetaken - before.blocksMade - before.blocksRetaken >=
          SENDS,
        'every produce request was read into a reused block',
      );

      const fromStart = await consumeAll(kafka, topic, `${topic}-start`, sent.length);
      for (const [name, values] of [
        ['at the tail', await tail],
        ['from the start', fromStart],
      ] as const) {
        assert.equal(values.length, sent.length, `the consumer ${name} got every record`);
        // Requests sent together may be appended in any order; each one's records stay together.
        const position = new Map(sent.map((value, index) => [value.toString('hex'), index]));
        const found = values.map((value) => position.get(value.toString('hex')));
        const corrupt = found.filter((index) => index === undefined).length;
        assert.equal(corrupt, 0, `the consumer ${name} got ${corrupt} records never produced`);
        assert.equal(new Set(found).size, sent.length, `the consumer ${name} got no duplicates`);
      }
    });
  });
}

test('blocks are taken again: the free list serves the next large request', async () => {
  await withBroker('retaken', async (_kafka, producer) => {
    const before = reusedMemoryFigures();
    // One request at a time: each one's block is free again (the tail cache keeps at most its
    // 1 MiB budget of written appends) before long, and the next request takes it.
    for (let send = 0; send < SENDS; send++) {
      await producer.send({
        topic: 'retaken',
        acks: -1,
        messages: Array.from({ length: RECORDS_PER_SEND }, () => ({
          value: randomBytes(RECORD_BYTES),
        })),
      });
    }
    const figures = reusedMemoryFigures();
    assert.ok(
      figures.blocksRetaken - before.blocksRetaken >= SENDS / 2,
      `blocks were taken again (${figures.blocksRetaken - before.blocksRetaken} of ${SENDS} requests)`,
    );
  });
});
