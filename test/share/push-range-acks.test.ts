// Range acknowledgements ("0:3-6") are applied a range at a time: a range may split what one
// delivery handed out, cover records settled before, records another consumer holds, and
// records redelivered after their lock expired. Each offset is answered as a single ack of it
// would be, and what a range acknowledged is never delivered again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Broker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';
import { PushClient, createTopic, produce, startPushBroker } from './push-helpers.js';

describe('range acknowledgements', () => {
  let broker: Broker;
  let client: PushClient;

  before(async () => {
    broker = await startPushBroker();
    client = new PushClient(broker);
  });
  after(async () => {
    await broker.stop();
  });

  test('a range inside one delivery settles only its offsets; a wider one answers the rest', async () => {
    await createTopic(broker, 'split');
    await client.subscribe('split-sse', { topic: 'split', ackTimeoutMs: 600_000 });
    await produce(
      broker,
      'split',
      Array.from({ length: 10 }, (_, index) => ({ value: `v${index}`, partition: 0 })),
    );
    const stream = client.events('split-sse');
    const other = client.events('split-sse', '?consumer=other');
    try {
      await stream.waitForRecords(10);
      assert.deepEqual(
        await client.acks('split-sse', { ack: ['0:3-6'], consumer: stream.consumer }),
        { acknowledged: 4, released: 0, rejected: 0, errors: [] },
      );
      const stats = await client.stats('split-sse');
      assert.equal(stats.acknowledged, 4);
      assert.equal(stats.inFlight, 6);

      // Another consumer's range over them is refused offset by offset and changes nothing.
      const refused = await client.acks('split-sse', { ack: ['0:2-3'], consumer: 'other' });
      assert.deepEqual(refused.errors, [
        { id: '0:2', code: 'not-holder' },
        { id: '0:3', code: 'settled' },
      ]);
      assert.equal(refused.acknowledged, 0);

      // The whole delivery and past it: the four settled before and the two never produced are
      // answered, the six still held are acknowledged.
      const answer = await client.acks('split-sse', { ack: ['0:0-11'] });
      assert.equal(answer.acknowledged, 6);
      assert.deepEqual(answer.errors, [
        { id: '0:3', code: 'settled' },
        { id: '0:4', code: 'settled' },
        { id: '0:5', code: 'settled' },
        { id: '0:6', code: 'settled' },
        { id: '0:10', code: 'unknown-record' },
        { id: '0:11', code: 'unknown-record' },
      ]);
      const settled = await client.stats('split-sse');
      assert.equal(settled.acknowledged, 10);
      assert.equal(settled.inFlight, 0);

      // Nothing acknowledged comes again: the next record is the only one delivered.
      await produce(broker, 'split', [{ value: 'sentinel', partition: 0 }]);
      await stream.waitForRecords(11, 'the sentinel');
      assert.equal(stream.records[10].value, 'sentinel');
      assert.equal(other.records.length, 0);
    } finally {
      await Promise.all([stream.close(), other.close()]);
    }
  });

  test('records redelivered after their lock expired are acknowledged by a range over them', async () => {
    await createTopic(broker, 'expiry');
    await client.subscribe('expiry-sse', { topic: 'expiry', ackTimeoutMs: 300 });
    await produce(
      broker,
      'expiry',
      Array.from({ length: 5 }, (_, index) => ({ value: `v${index}`, partition: 0 })),
    );
    const stream = client.events('expiry-sse');
    try {
      await stream.waitForRecords(5);
      const first = await client.acks('expiry-sse', { ack: ['0:1', '0:3'] });
      assert.equal(first.acknowledged, 2);
      // 0, 2 and 4 come back with a higher delivery count once their locks expire.
      const again = await stream.waitForRecords(8, 'after the locks expired');
      const redelivered = again.slice(5, 8);
      assert.deepEqual(redelivered.map((record) => record.offset).sort(), [0, 2, 4]);
      assert.ok(redelivered.every((record) => record.deliveryCount === 2));

      const answer = await client.acks('expiry-sse', { ack: ['0:0-4'] });
      // A lock may expire again before the ack lands (300 ms): then the record is answered
      // not-acquired and comes once more; ack until all five are done.
      let acknowledged = answer.acknowledged as number;
      await waitFor(async () => {
        if (acknowledged < 3) {
          const retry = await client.acks('expiry-sse', { ack: ['0:0-4'] });
          acknowledged += retry.acknowledged as number;
        }
        return (await client.stats('expiry-sse')).acknowledged === 5;
      }, 'all five acknowledged');
      assert.equal(acknowledged, 3);
      assert.ok(
        answer.errors.some((error: { id: string }) => error.id === '0:1') &&
          answer.errors.some((error: { id: string }) => error.id === '0:3'),
        JSON.stringify(answer.errors),
      );
      // A lock period later nothing was redelivered.
      const count = stream.records.length;
      await produce(broker, 'expiry', [{ value: 'sentinel', partition: 0 }]);
      await waitFor(
        () => stream.records.some((record) => record.value === 'sentinel'),
        'the sentinel',
      );
      assert.deepEqual(
        stream.records.slice(count).map((record) => record.value),
        ['sentinel'],
      );
    } finally {
      await stream.close();
    }
  });
});
