import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';

import { startBroker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';

test('kafkajs produces and reads back keyed records with headers, exact bytes and order', async () => {
  const broker = await startBroker();
  const kafka = new Kafka({
    clientId: 'roundtrip',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    await admin
      .createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] })
      .catch(() => undefined);
    await producer.connect();
    const messages = Array.from({ length: 50 }, (_, index) => ({
      key: `key-${index}`,
      value: Buffer.from(`value-${index}`),
      headers: { index: String(index) },
    }));
    const results = await producer.send({ topic: 'orders', messages, acks: -1 });
    assert.equal(results[0].errorCode, 0);

    const consumer = kafka.consumer({ groupId: 'roundtrip-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const received: Array<{ key: string; value: string; offset: string; index: string }> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({
          key: message.key!.toString(),
          value: message.value!.toString(),
          offset: message.offset,
          index: message.headers!.index!.toString(),
        });
      },
    });
    await waitFor(
      () => received.length >= messages.length,
      () => `every message to arrive (${received.length} of ${messages.length})`,
    );
    await consumer.disconnect();
    assert.equal(received.length, messages.length);
    received.forEach((record, index) => {
      assert.equal(record.key, `key-${index}`);
      assert.equal(record.value, `value-${index}`);
      assert.equal(record.offset, String(index));
      assert.equal(record.index, String(index));
    });
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
});
