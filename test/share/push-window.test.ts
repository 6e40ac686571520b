// The read-ahead window of a subscription (share.partition.max.record.locks) smaller than the
// batches it reads: a batch is read and decoded once and taken into the window piece by piece as
// acknowledgements free room, so every record is delivered once, in offset order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Broker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';
import { PushClient, createTopic, startPushBroker } from './push-helpers.js';

const windowRecords = 7;

describe('a window smaller than a batch', () => {
  let broker: Broker;
  let client: PushClient;

  before(async () => {
    broker = await startPushBroker({
      settings: { 'share.partition.max.record.locks': windowRecords },
    });
    client = new PushClient(broker);
  });
  after(async () => {
    await broker.stop();
  });

  test('every record of batches larger than the window is delivered once, in offset order', async () => {
    await createTopic(broker, 'wide');
    await client.subscribe('wide-sse', { topic: 'wide', ackTimeoutMs: 600_000 });
    // Two requests of 40 and 25 records: two batches, each several windows long.
    const values = Array.from({ length: 65 }, (_, index) => `record-${index}`);
    for (const slice of [values.slice(0, 40), values.slice(40)]) {
      const answer = await client.request('POST', '/v1/topics/wide/records', {
        records: slice.map((value) => ({ value, partition: 0 })),
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
    const stream = client.events('wide-sse');
    try {
      let acknowledged = 0;
      while (acknowledged < values.length) {
        await waitFor(
          () => stream.records.length > acknowledged,
          () => `a record past offset ${acknowledged - 1}, have ${stream.records.length}`,
        );
        const held = stream.records.length - acknowledged;
        assert.ok(held <= windowRecords, `${held} records held, more than the window`);
        const last = stream.records[stream.records.length - 1].offset;
        // One range acknowledges everything delivered so far.
        const answer = await client.acks('wide-sse', { ack: [`0:${acknowledged}-${last}`] });
        assert.deepEqual(answer, { acknowledged: held, released: 0, rejected: 0, errors: [] });
        acknowledged = last + 1;
      }
      assert.deepEqual(
        stream.records.map((record) => record.value),
        values,
      );
      assert.ok(stream.records.every((record) => record.deliveryCount === 1));
      const stats = await client.stats('wide-sse');
      assert.equal(stats.acknowledged, values.length);
      assert.equal(stats.lag, 0);
    } finally {
      await stream.close();
    }
  });
});
