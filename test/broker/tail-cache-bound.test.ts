// log.tail.cache.max.bytes bounds the recent appends every partition's log keeps in memory for
// its readers, summed over the partitions (issue 14: memory that grew with the partition count).
// A real client produces to more partitions than the bound holds; /metrics shows what the tail
// caches hold, within the bound, and a consumer reads every record back, byte for byte, from the
// tails kept and from the files of those given up.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';
import { sample } from '../helpers/prometheus-text.js';

const BOUND_BYTES = 256 * 1024;
const PARTITIONS = 16;
const RECORDS_PER_PARTITION = 32;

function valueOf(partition: number, index: number): Buffer {
  return Buffer.alloc(1024, `${partition}:${index};`);
}

test('the tail caches of all partitions together stay within log.tail.cache.max.bytes, and every record is still read back', async () => {
  const broker = await startBroker({
    settings: {
      'http.listeners': 'http://127.0.0.1:0',
      'log.tail.cache.max.bytes': String(BOUND_BYTES),
    },
  });
  const kafka = kafkajsClient(broker.bootstrapServers, 'tail-cache-bound');
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: 'tail-cache-bound' });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'wide', numPartitions: PARTITIONS }] });
    await producer.connect();
    // One produce per partition of 32 KiB: 512 KiB in all, twice the bound.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const messages = Array.from({ length: RECORDS_PER_PARTITION }, (_, index) => ({
        partition,
        value: valueOf(partition, index),
      }));
      await producer.send({ topic: 'wide', messages, acks: -1 });
    }

    const metrics = await fetch(`http://127.0.0.1:${broker.httpListeners[0].port}/metrics`);
    const exposition = await metrics.text();
    assert.equal(sample(exposition, 'brook_tail_cache_max_bytes'), BOUND_BYTES);
    const held = sample(exposition, 'brook_tail_cache_bytes');
    assert.ok(held !== undefined, 'brook_tail_cache_bytes is exposed');
    assert.ok(held <= BOUND_BYTES, `the tail caches hold ${held} bytes, within the bound`);
    assert.ok(held >= BOUND_BYTES / 2, `the tail caches hold ${held} bytes: the recent appends`);

    const received = new Map<string, Buffer>();
    await consumer.connect();
    await consumer.subscribe({ topic: 'wide', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.set(`${partition}/${message.offset}`, message.value!);
      },
    });
    const expected = PARTITIONS * RECORDS_PER_PARTITION;
    await waitFor(
      () => received.size >= expected,
      () => `every record to arrive (${received.size} of ${expected})`,
    );
    for (let partition = 0; partition < PARTITIONS; partition++) {
      for (let index = 0; index < RECORDS_PER_PARTITION; index++) {
        const value = received.get(`${partition}/${index}`);
        assert.ok(value?.equals(valueOf(partition, index)), `record ${index} of ${partition}`);
      }
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
});
