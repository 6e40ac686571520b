// Shared subscriptions over Server-Sent Events (issue 12): acknowledgements, lock expiry,
// release, the dead-letter topic, credits, TTL and delayed delivery. Records are produced with
// kafkajs and the dead-letter topics read with it; the subscription is driven over real HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Broker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';
import type { ConfigResourceTypes } from 'kafkajs';
import type { LoggerLike } from '../../src/util/logger.js';
import {
  PushClient,
  createTopic,
  kafka,
  produce,
  readTopic,
  startPushBroker,
} from './push-helpers.js';

describe('push delivery over SSE', () => {
  let broker: Broker;
  let client: PushClient;

  before(async () => {
    broker = await startPushBroker();
    client = new PushClient(broker);
  });
  after(async () => {
    await broker.stop();
  });

  test('acknowledged records are never redelivered; the others are, once their lock expires', async () => {
    await createTopic(broker, 'orders', 2);
    await client.subscribe('orders-sse', { topic: 'orders', ackTimeoutMs: 300 });
    const values = Array.from({ length: 10 }, (_, index) => `order-${index}`);
    await produce(
      broker,
      'orders',
      values.map((value, index) => ({ key: `k${index}`, value })),
    );
    const stream = client.events('orders-sse');
    try {
      const first = (await stream.waitForRecords(10)).slice(0, 10);
      assert.deepEqual(first.map((record) => record.value).sort(), [...values].sort());
      assert.ok(first.every((record) => record.deliveryCount === 1 && record.topic === 'orders'));
      const acked = first.slice(0, 5);
      const answer = await client.acks('orders-sse', { ack: acked.map((record) => record.id) });
      assert.deepEqual(answer, { acknowledged: 5, released: 0, rejected: 0, errors: [] });

      // The five unacknowledged come back with a higher delivery count, and only they.
      await stream.waitForRecords(15, 'after the locks expired');
      const again = stream.records.slice(10);
      const unacked = new Set(first.slice(5).map((record) => record.id));
      assert.ok(
        again.every((record) => unacked.has(record.id) && record.deliveryCount >= 2),
        JSON.stringify(again),
      );
      await client.acks('orders-sse', { ack: [...unacked] });
      // Let a second lock period pass (it would have redelivered anything not acknowledged).
      await waitFor(
        async () => (await client.stats('orders-sse')).acknowledged === 10,
        'ten acknowledged',
      );
      const ackedIds = new Set(acked.map((record) => record.id));
      const after = stream.records.length;
      await produce(broker, 'orders', [{ key: 'late', value: 'sentinel', partition: 0 }]);
      await waitFor(
        () => stream.records.some((record) => record.value === 'sentinel'),
        'the sentinel',
      );
      assert.ok(
        stream.records.slice(after).every((record) => record.value === 'sentinel'),
        'nothing acknowledged was delivered again',
      );
      assert.ok(!stream.records.slice(10).some((record) => ackedIds.has(record.id)));
      const stats = await client.stats('orders-sse');
      assert.equal(stats.inFlight, 1);
    } finally {
      await stream.close();
    }
  });

  test('a released record is redelivered at once with a higher delivery count', async () => {
    await createTopic(broker, 'release');
    await client.subscribe('release-sse', { topic: 'release', ackTimeoutMs: 600000 });
    await produce(broker, 'release', [{ value: 'one' }]);
    const stream = client.events('release-sse');
    try {
      const [first] = await stream.waitForRecords(1);
      assert.equal(first.deliveryCount, 1);
      assert.deepEqual((await client.acks('release-sse', { release: [first.id] })).released, 1);
      const [, second] = await stream.waitForRecords(2);
      assert.equal(second.id, first.id);
      assert.equal(second.deliveryCount, 2);
    } finally {
      await stream.close();
    }
  });

  test('a lock taken before a shorter one still expires after the shorter one was acknowledged', async () => {
    await createTopic(broker, 'sweep');
    await client.subscribe('sweep-sse', { topic: 'sweep', ackTimeoutMs: 2000 });
    await produce(broker, 'sweep', [{ value: 'r0' }, { value: 'r1' }]);
    // r0 is taken with a 2 s lock by a consumer that goes away. Then the timeout becomes 0.5 s
    // and another consumer takes r1 and acknowledges it. Locks expire by one sweep per
    // partition, armed for the earliest lock: the sweep for r1's lock finds nothing expired and
    // must arm itself again for r0's.
    const early = client.events('sweep-sse', '?maxInFlight=1');
    const [r0] = await early.waitForRecords(1);
    assert.equal(r0.value, 'r0');
    await early.close();
    await client.subscribe('sweep-sse', { topic: 'sweep', ackTimeoutMs: 500 });
    const late = client.events('sweep-sse');
    try {
      const [r1] = await late.waitForRecords(1);
      assert.equal(r1.value, 'r1');
      assert.equal((await client.acks('sweep-sse', { ack: [r1.id] })).acknowledged, 1);
      const [, again] = await late.waitForRecords(2, 'r0 after its lock expired');
      assert.deepEqual([again.value, again.deliveryCount], ['r0', 2]);
    } finally {
      await late.close();
    }
  });

  test('after maxDeliveries the record is in the dead-letter topic with its provenance', async () => {
    await createTopic(broker, 'payments');
    await client.subscribe('payments-sse', {
      topic: 'payments',
      maxDeliveries: 2,
      ackTimeoutMs: 60000,
    });
    await produce(broker, 'payments', [
      { key: 'p1', value: 'poison', headers: { origin: 'test' } },
    ]);
    const stream = client.events('payments-sse');
    try {
      const [first] = await stream.waitForRecords(1);
      await client.acks('payments-sse', { nack: [{ id: first.id, delayMs: 0 }] });
      const [, second] = await stream.waitForRecords(2);
      assert.equal(second.deliveryCount, 2);
      await client.acks('payments-sse', { release: [second.id] });
      const [dead] = await readTopic(broker, 'payments.dlq', 1);
      assert.equal(dead.value, 'poison');
      assert.equal(dead.key, 'p1');
      assert.equal(dead.headers.origin, 'test');
      assert.equal(dead.headers['dlq.source.topic'], 'payments');
      assert.equal(dead.headers['dlq.source.partition'], '0');
      assert.equal(dead.headers['dlq.source.offset'], String(first.offset));
      assert.equal(dead.headers['dlq.delivery.count'], '2');
      assert.equal(dead.headers['dlq.reason'], 'max-deliveries');
      await waitFor(async () => (await client.stats('payments-sse')).deadLettered === 1, 'counted');
      assert.equal(stream.records.length, 2, 'never delivered a third time');
    } finally {
      await stream.close();
    }
  });

  test('a rejected record goes to the dead-letter topic with the reason the consumer gave', async () => {
    await createTopic(broker, 'invoices');
    await client.subscribe('invoices-sse', { topic: 'invoices', deadLetterTopic: 'invoices-bad' });
    await produce(broker, 'invoices', [{ value: 'unparseable' }, { value: 'fine' }]);
    const stream = client.events('invoices-sse');
    try {
      const records = await stream.waitForRecords(2);
      const bad = records.find((record) => record.value === 'unparseable');
      const good = records.find((record) => record.value === 'fine');
      assert.ok(bad && good);
      const answer = await client.acks('invoices-sse', {
        ack: [good.id],
        reject: [{ id: bad.id, reason: 'schema mismatch' }],
      });
      assert.equal(answer.rejected, 1);
      const [dead] = await readTopic(broker, 'invoices-bad', 1);
      assert.equal(dead.value, 'unparseable');
      assert.equal(dead.headers['dlq.reason'], 'rejected');
      assert.equal(dead.headers['dlq.error'], 'schema mismatch');
      assert.equal(dead.headers['dlq.delivery.count'], '1');
    } finally {
      await stream.close();
    }
  });

  test('credits bound the records a consumer holds', async () => {
    await createTopic(broker, 'credits');
    await client.subscribe('credits-sse', {
      topic: 'credits',
      maxInFlight: 3,
      ackTimeoutMs: 600000,
    });
    await produce(
      broker,
      'credits',
      Array.from({ length: 20 }, (_, index) => ({ value: `c${index}` })),
    );
    await waitFor(
      async () => (await client.stats('credits-sse')).available === 20,
      'twenty available',
    );
    const stream = client.events('credits-sse');
    try {
      const held = await stream.waitForRecords(3);
      const stats = await client.stats('credits-sse');
      assert.equal(stats.inFlight, 3);
      assert.equal(
        stream.records.length,
        3,
        'no more than three records before an acknowledgement',
      );
      await client.acks('credits-sse', { ack: held.slice(0, 2).map((record) => record.id) });
      await stream.waitForRecords(5);
      assert.equal((await client.stats('credits-sse')).inFlight, 3);
      assert.equal(stream.records.length, 5);
      assert.deepEqual(
        stream.records.map((record) => record.value),
        ['c0', 'c1', 'c2', 'c3', 'c4'],
      );
    } finally {
      await stream.close();
    }
  });

  test('a record past its ttl.ms is never delivered; it is counted, and dead-lettered when asked', async () => {
    await createTopic(broker, 'ttl');
    await client.subscribe('ttl-count', { topic: 'ttl' });
    await client.subscribe('ttl-dlq', { topic: 'ttl', deadLetterExpired: true });
    const old = Date.now() - 60_000;
    const producer = (await import('./push-helpers.js')).kafka(broker).producer();
    await producer.connect();
    await producer.send({
      topic: 'ttl',
      acks: -1,
      messages: [
        { value: 'stale', headers: { 'ttl.ms': '1000' }, timestamp: String(old) },
        { value: 'fresh', headers: { 'ttl.ms': '600000' } },
      ],
    });
    await producer.disconnect();
    for (const name of ['ttl-count', 'ttl-dlq']) {
      const stream = client.events(name);
      try {
        const [record] = await stream.waitForRecords(1);
        assert.equal(record.value, 'fresh');
        await client.acks(name, { ack: [record.id] });
        await waitFor(async () => (await client.stats(name)).expired === 1, `${name}: one expired`);
        assert.deepEqual(
          stream.records.map((delivered) => delivered.value),
          ['fresh'],
        );
      } finally {
        await stream.close();
      }
    }
    const [dead] = await readTopic(broker, 'ttl.dlq', 1);
    assert.equal(dead.value, 'stale');
    assert.equal(dead.headers['dlq.reason'], 'expired');
  });

  test('a delayed record is not delivered before its time', async () => {
    await createTopic(broker, 'delayed');
    await client.subscribe('delayed-sse', { topic: 'delayed' });
    const delayMs = 1500;
    const stream = client.events('delayed-sse');
    try {
      const deliverAtMs = Date.now() + delayMs;
      await produce(broker, 'delayed', [
        { value: 'later', headers: { 'deliver.after.ms': String(delayMs) } },
        { value: 'at', headers: { 'deliver.at.ms': String(deliverAtMs) } },
        { value: 'now' },
      ]);
      const [first] = await stream.waitForRecords(1);
      assert.equal(first.value, 'now');
      await stream.waitForRecords(3);
      const later = stream.records.findIndex((record) => record.value === 'later');
      const at = stream.records.findIndex((record) => record.value === 'at');
      assert.ok(stream.receivedAtMs[later] >= stream.records[later].timestamp + delayMs);
      assert.ok(stream.receivedAtMs[at] >= deliverAtMs);
    } finally {
      await stream.close();
    }
  });

  test('with ordering by key, a key has one record in flight at a time, in offset order', async () => {
    await createTopic(broker, 'keyed');
    await client.subscribe('keyed-sse', { topic: 'keyed', ordering: 'key', ackTimeoutMs: 600000 });
    await produce(broker, 'keyed', [
      { key: 'a', value: 'a1' },
      { key: 'a', value: 'a2' },
      { key: 'b', value: 'b1' },
    ]);
    const stream = client.events('keyed-sse');
    try {
      await stream.waitForRecords(2);
      await waitFor(async () => (await client.stats('keyed-sse')).inFlight === 2, 'two in flight');
      assert.deepEqual(stream.records.map((record) => record.value).sort(), ['a1', 'b1']);
      await client.acks('keyed-sse', { ack: [stream.records[0].id] });
      const records = await stream.waitForRecords(3);
      assert.equal(records[2].value, 'a2');
    } finally {
      await stream.close();
    }
  });
});

/** kafkajs's ConfigResourceTypes.TOPIC (its enum is a type only in ESM). */
const topicResourceType = 2 as unknown as ConfigResourceTypes;

test('an expired record whose dead-letter append fails is dead-lettered once the topic takes it', async () => {
  const warnings: string[] = [];
  const logger: LoggerLike = {
    info: () => undefined,
    warn: (message) => warnings.push(message),
    error: (message) => warnings.push(message),
  };
  logger.child = () => logger;
  const broker = await startPushBroker({ logger });
  try {
    const client = new PushClient(broker);
    await createTopic(broker, 'ttl-retry');
    // The dead-letter topic refuses the record at first: its records may be 100 bytes at most.
    const admin = kafka(broker).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: 'ttl-retry.dlq',
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: '100' }],
        },
      ],
      waitForLeaders: true,
    });
    await client.subscribe('ttl-retry', { topic: 'ttl-retry', deadLetterExpired: true });
    await produce(broker, 'ttl-retry', [
      {
        value: 'stale '.repeat(40),
        headers: { 'ttl.ms': '1' },
      },
    ]);
    const stream = client.events('ttl-retry');
    try {
      await waitFor(
        () => warnings.some((message) => message.includes('dead-letter append failed')),
        'the first dead-letter append to fail',
      );
      assert.equal((await client.stats('ttl-retry')).expired, 0);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: topicResourceType,
            name: 'ttl-retry.dlq',
            configEntries: [{ name: 'max.message.bytes', value: '1048576' }],
          },
        ],
      });
      await waitFor(
        async () => (await client.stats('ttl-retry')).expired === 1,
        'the expired record dead-lettered on a later attempt',
      );
      const [dead] = await readTopic(broker, 'ttl-retry.dlq', 1);
      assert.equal(dead.value, 'stale '.repeat(40));
      assert.equal(dead.headers['dlq.reason'], 'expired');
      assert.equal(stream.records.length, 0, 'an expired record is never delivered');
    } finally {
      await stream.close();
      await admin.disconnect();
    }
  } finally {
    await broker.stop();
  }
});
