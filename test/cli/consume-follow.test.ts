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

test('consume --group starts where the group committed and commits what it printed', async (t) => {
  const broker = await startBroker({ settings: { 'group.initial.rebalance.delay.ms': 0 } });
  t.after(() => broker.stop());
  const kafka = kafkajsClient(broker.bootstrapServers, 'consume-group-test');
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'grouped', numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.send({
    topic: 'grouped',
    messages: [0, 1, 2, 3, 4].map((n) => ({ value: `a${n}` })),
  });
  const consume = async (
    group: string,
  ): Promise<{ code: number; values: string[]; errors: string[] }> => {
    const lines: string[] = [];
    const errors: string[] = [];
    const code = await runConsumeCommand(
      [
        '--topic',
        'grouped',
        '--group',
        group,
        '--max-messages',
        '2',
        '--output',
        'json',
        '--bootstrap-server',
        broker.bootstrapServers,
      ],
      { out: (line) => lines.push(line), error: (line) => errors.push(line) },
    );
    return {
      code,
      values: lines.map((line) => (JSON.parse(line) as { value: string }).value),
      errors,
    };
  };
  const committed = async (group: string) =>
    (await admin.fetchOffsets({ groupId: group, topics: ['grouped'] }))[0].partitions[0].offset;

  const first = await consume('readers');
  assert.equal(first.code, 0, first.errors.join('\n'));
  assert.deepEqual(first.values, ['a0', 'a1']);
  assert.equal(await committed('readers'), '2');
  const second = await consume('readers');
  assert.deepEqual(second.values, ['a2', 'a3']);
  assert.equal(await committed('readers'), '4');

  // A group with a live member is not ours to commit for: a clear error, and its offsets stay.
  const member = kafka.consumer({ groupId: 'busy' });
  await member.connect();
  let refused: Awaited<ReturnType<typeof consume>>;
  try {
    await member.subscribe({ topic: 'grouped', fromBeginning: false });
    let joined = false;
    member.on(member.events.GROUP_JOIN, () => (joined = true));
    await member.run({ eachMessage: async () => undefined });
    await waitFor(() => joined, 'the member to join');
    refused = await consume('busy');
  } finally {
    // Before the broker stops (after-hooks run in order): a member left behind would wait on it.
    await member.disconnect();
  }
  assert.equal(refused.code, 1);
  assert.match(refused.errors.join('\n'), /OffsetCommit for group busy/);
});
