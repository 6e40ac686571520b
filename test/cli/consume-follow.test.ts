// `brook consume --follow` (issue 13): records produced after consume started are printed as they
// arrive, from every partition, and --timeout-ms bounds each request rather than the whole run.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { runConsumeCommand } from '../../src/cli/records-command.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';

test('consume --follow prints records produced after it started, from every partition, until --max-messages', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const kafka = kafkajsClient(broker.bootstrapServers, 'consume-follow-test');
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'followed', numPartitions: 2 }] });
  const producer = kafka.producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.send({ topic: 'followed', messages: [{ partition: 0, value: 'before' }] });

  const lines: string[] = [];
  const errors: string[] = [];
  const startedMs = Date.now();
  const timeoutMs = 1_000;
  const exited = runConsumeCommand(
    [
      '--topic',
      'followed',
      '--follow',
      '--max-messages',
      '3',
      '--output',
      'json',
      '--timeout-ms',
      String(timeoutMs),
      '--bootstrap-server',
      broker.bootstrapServers,
    ],
    { out: (line) => lines.push(line), error: (line) => errors.push(line) },
  );
  let code: number | null = null;
  void exited.then((value) => (code = value));
  await waitFor(() => lines.length === 1, 'the record produced before consume started');
  // Past --timeout-ms, a follow is still running: the deadline bounds requests, not the run.
  await waitFor(() => Date.now() - startedMs > timeoutMs * 1.5, 'the run to outlast --timeout-ms');
  assert.equal(code, null, `consume exited early: ${errors.join('\n')}`);
  await producer.send({ topic: 'followed', messages: [{ partition: 1, value: 'after-1' }] });
  await producer.send({ topic: 'followed', messages: [{ partition: 0, value: 'after-0' }] });
  assert.equal(await exited, 0, errors.join('\n'));
  const records = lines.map((line) => JSON.parse(line) as { partition: number; value: string });
  assert.deepEqual(records.map((record) => `${record.partition}:${record.value}`).sort(), [
    '0:after-0',
    '0:before',
    '1:after-1',
  ]);
});
