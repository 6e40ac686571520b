// A subscription's state lives in __share_group_state: a broker restart brings the subscription
// back, redelivers what was delivered and not acknowledged (with a higher delivery count), and
// never what was acknowledged.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { PushClient, createTopic, produce, startPushBroker } from './push-helpers.js';

test('a restart redelivers unacknowledged records and never acknowledged ones', async (t) => {
  const logDirs = temporaryDirectory(t, 'brook-push-restart-');
  let broker = await startPushBroker({ logDirs });
  try {
    let client = new PushClient(broker);
    await createTopic(broker, 'jobs', 2);
    await client.subscribe('workers', { topic: 'jobs', ackTimeoutMs: 600000 });
    await produce(
      broker,
      'jobs',
      Array.from({ length: 20 }, (_, index) => ({ key: `k${index}`, value: `job-${index}` })),
    );
    const before = client.events('workers');
    const delivered = await before.waitForRecords(20);
    await before.close();
    const acked = delivered.filter((_, index) => index % 2 === 0);
    const unacked = delivered.filter((_, index) => index % 2 === 1);
    assert.equal((await client.acks('workers', { ack: acked.map((r) => r.id) })).acknowledged, 10);

    await broker.stop();
    broker = await startPushBroker({ logDirs });
    client = new PushClient(broker);
    const stats = await client.stats('workers');
    assert.equal(stats.acknowledged, 10);

    const after = client.events('workers');
    try {
      await after.waitForRecords(10);
      // Everything that will come has come once no record is available any more.
      await waitFor(
        async () => (await client.stats('workers')).available === 0,
        'nothing left to deliver',
      );
      assert.deepEqual(
        after.records.map((record) => record.id).sort(),
        unacked.map((record) => record.id).sort(),
      );
      assert.ok(after.records.every((record) => record.deliveryCount === 2));
      await client.acks('workers', { ack: after.records.map((record) => record.id) });
      await waitFor(
        async () => (await client.stats('workers')).lag === 0,
        'the subscription caught up',
      );
    } finally {
      await after.close();
    }

    // And once more: now everything is acknowledged, nothing comes back.
    await broker.stop();
    broker = await startPushBroker({ logDirs });
    client = new PushClient(broker);
    assert.equal((await client.stats('workers')).acknowledged, 20);
    const last = client.events('workers');
    try {
      await produce(broker, 'jobs', [{ key: 'k0', value: 'sentinel' }]);
      await last.waitForRecords(1);
      assert.deepEqual(
        last.records.map((record) => record.value),
        ['sentinel'],
      );
    } finally {
      await last.close();
    }
  } finally {
    await broker.stop();
  }
});
