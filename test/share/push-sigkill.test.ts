// A broker SIGKILLed in the middle of delivery (issue 12): after it comes back on the same log
// directory, nothing whose acknowledgement was answered is delivered again, and every record not
// acknowledged is delivered again; none is lost.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';

import { type BrokerProcess, startBrokerProcess } from '../helpers/broker-process.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { PushClient, createTopic, produce } from './push-helpers.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function start(logDir: string): Promise<{ process: BrokerProcess; client: PushClient }> {
  const port = await freePort();
  const process = await startBrokerProcess({
    logDir,
    args: ['--http-listeners', `http://127.0.0.1:${port}`],
  });
  return { process, client: new PushClient(`http://127.0.0.1:${port}`) };
}

test('a SIGKILL mid-delivery loses nothing and redelivers nothing acknowledged', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-push-sigkill-');
  let { process, client } = await start(logDir);
  try {
    await createTopic(process, 'tasks', 3);
    await client.subscribe('runners', { topic: 'tasks', ackTimeoutMs: 600000 });
    const count = 60;
    await produce(
      process,
      'tasks',
      Array.from({ length: count }, (_, index) => ({ key: `k${index}`, value: `t${index}` })),
    );
    const stream = client.events('runners', '?consumer=r1');
    const delivered = await stream.waitForRecords(count);
    // Acknowledge a third, answered (so durable); settle another third without waiting.
    const acked = delivered.filter((_, index) => index % 3 === 0);
    assert.equal((await client.acks('runners', { ack: acked.map((r) => r.id) })).acknowledged, 20);
    const racing = delivered.filter((_, index) => index % 3 === 1);
    const unanswered = fetch(`${client.base}/v1/subscriptions/runners/acks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ack: racing.map((r) => r.id) }),
    }).catch(() => null);
    await process.kill();
    await stream.close();
    await unanswered;

    ({ process, client } = await start(logDir));
    const after = client.events('runners', '?consumer=r2');
    try {
      await waitFor(
        async () => (await client.stats('runners')).available === 0 && after.records.length > 0,
        'the redeliveries after the restart',
      );
      const stats = await client.stats('runners');
      const ackedIds = new Set(acked.map((record) => record.id));
      const redelivered = after.records.map((record) => record.id);
      for (const id of redelivered) assert.ok(!ackedIds.has(id), `${id} was acknowledged`);
      assert.ok(after.records.every((record) => record.deliveryCount === 2));
      // Everything is either acknowledged (answered, or the racing acks that made it) or back.
      assert.equal(stats.acknowledged + redelivered.length, count);
      const never = delivered
        .filter((_, index) => index % 3 === 2)
        .map((record) => record.id)
        .filter((id) => !redelivered.includes(id));
      assert.deepEqual(never, [], 'every record never acknowledged is delivered again');
    } finally {
      await after.close();
    }
  } finally {
    await process.stop();
  }
});
