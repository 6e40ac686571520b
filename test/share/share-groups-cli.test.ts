// `brook share-groups` against a real broker with share groups on, a share consumer joining a
// group and acknowledging records: list, describe (members and start offsets), reset-offsets
// (dry run, refused while the group has members, then changing what the next consumer gets),
// delete-offsets and delete; the command line as a child process for help, usage errors and
// --command-config over SASL.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { runShareGroupsCommand } from '../../src/cli/share-groups-command.js';
import { runBrook } from '../helpers/brook-cli.js';
import { waitFor } from '../helpers/poll.js';
import { listenerAddress, startSaslBroker } from '../helpers/sasl.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { createTopic, produce } from './push-helpers.js';
import { ShareConsumer } from './share-consumer.js';
import { accepted, fetchRecords, startShareBroker } from './share-helpers.js';

async function shareGroups(
  bootstrapServer: string,
  ...args: string[]
): Promise<{ code: number; out: string; error: string }> {
  const out: string[] = [];
  const error: string[] = [];
  const code = await runShareGroupsCommand([...args, '--bootstrap-server', bootstrapServer], {
    out: (line) => out.push(line),
    error: (line) => error.push(line),
  });
  return { code, out: out.join('\n'), error: error.join('\n') };
}

/** 6 records in partition 0 and 4 in partition 1 of `topic`. */
async function produceTen(bootstrapServers: string, topic: string): Promise<void> {
  await produce(
    { bootstrapServers },
    topic,
    Array.from({ length: 10 }, (_, index) => ({
      value: `v${index}`,
      partition: index < 6 ? 0 : 1,
    })),
  );
}

test('brook share-groups --help lists every command; bad arguments are usage errors', async () => {
  const help = await runBrook(['share-groups', '--help']);
  assert.equal(help.exitCode, 0, help.stderr);
  for (const command of ['list', 'describe', 'reset-offsets', 'delete-offsets', 'delete']) {
    assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'), command);
  }
  assert.match(help.stdout, /--command-config FILE/);
  for (const option of ['--to-datetime', '--by-duration', '--to-timestamp', 'T[:P,P...]'])
    assert.ok(help.stdout.includes(option), option);
  const topLevel = await runBrook(['--help']);
  assert.match(topLevel.stdout, /share-groups/);

  const unknown = await runBrook(['share-groups', 'describe', 'g', '--bogus']);
  assert.equal(unknown.exitCode, 2);
  assert.match(unknown.stderr, /--bogus.*BROOK_CLI_USAGE/);
  const cases: Array<[string[], RegExp]> = [
    [['describe'], /describe needs a GROUP/],
    [['reset-offsets', 'g', '--to-earliest'], /needs --topic/],
    [['reset-offsets', 'g', '--topic', 't'], /needs one of --to-earliest/],
    [['reset-offsets', 'g', '--topic', 't', '--to-earliest', '--to-latest'], /contradict/],
    [['reset-offsets', 'g', '--topic', 't', '--to-offset', 'x'], /not an offset/],
    [['reset-offsets', 'g', '--topic', 't', '--to-latest', '--dry-run', '--execute'], /contradict/],
    [['delete', 'g', '--topic', 't'], /--topic does not apply to delete/],
    [['list', 'extra'], /unexpected argument extra/],
    [['reset-offsets', 'g', '--topic', 't:x', '--to-earliest'], /bad partition list/],
    [['reset-offsets', 'g', '--topic', 't', '--to-datetime', 'yesterday'], /not a date/],
    [['reset-offsets', 'g', '--topic', 't', '--by-duration', '1h'], /not a duration/],
    [['reset-offsets', 'g', '--topic', 't', '--to-timestamp', 'soon'], /not milliseconds/],
    [['reset-offsets', 'g', '--topic', 't', '--to-latest', '--to-timestamp', '5'], /contradict/],
    [['delete-offsets', 'g', '--topic', 't:0'], /forgets whole topics/],
  ];
  for (const [args, expected] of cases) {
    const run = await shareGroups('127.0.0.1:1', ...args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.error}`);
    assert.match(run.error, expected, args.join(' '));
  }
});

test('brook share-groups lists, describes, resets, forgets and deletes a share group', async (t) => {
  const broker = await startShareBroker();
  t.after(() => broker.stop());
  const bootstrap = broker.bootstrapServers;
  await createTopic(broker, 'orders', 2);
  const member = await ShareConsumer.join(bootstrap, 'workers', 'orders');
  t.after(() => member.close());
  await produceTen(bootstrap, 'orders');
  const records = await fetchRecords(member, 10);
  await member.acknowledge(accepted(records));

  const listed = await shareGroups(bootstrap, 'list');
  assert.equal(listed.code, 0, listed.error);
  assert.match(listed.out, /^GROUP +STATE$/m);
  assert.match(listed.out, /^workers +Stable$/m);
  const json = await shareGroups(bootstrap, 'list', '--output', 'json');
  assert.deepEqual(JSON.parse(json.out), [{ groupId: 'workers', state: 'Stable' }]);

  const members = await shareGroups(bootstrap, 'describe', 'workers');
  assert.equal(members.code, 0, members.error);
  assert.match(members.out, /^Share group workers is Stable\.$/m);
  assert.match(
    members.out,
    new RegExp(`^workers +${member.memberId} +\\S+ +share-test +\\d+ +orders:0,1$`, 'm'),
  );

  // Every record acknowledged: each start offset is at the log end, no lag.
  const offsets = () => shareGroups(bootstrap, 'describe', '--group', 'workers', '--offsets');
  // The group may come anywhere after the command, as a word or as --group.
  const after = await shareGroups(
    bootstrap,
    'describe',
    '--offsets',
    '--output',
    'table',
    'workers',
  );
  assert.equal(after.code, 0, after.error);
  assert.match(after.out, /^GROUP +TOPIC +PARTITION +START-OFFSET +LOG-END-OFFSET +LAG$/m);
  let lastOffsets = '';
  await waitFor(
    async () => /^workers +orders +1 +4 +4 +0$/m.test((lastOffsets = (await offsets()).out)),
    () => `start offsets at the log end: ${lastOffsets}`,
  );
  assert.match((await offsets()).out, /^workers +orders +0 +6 +6 +0$/m);

  // A group with a member is not reset, not even as a dry run.
  const busy = await shareGroups(
    bootstrap,
    'reset-offsets',
    'workers',
    '--topic',
    'orders',
    '--to-earliest',
    '--execute',
  );
  assert.equal(busy.code, 1);
  assert.match(
    busy.error,
    /share group workers is Stable with 1 member\(s\).*BROOK_CLI_KAFKA_ERROR/,
  );
  assert.equal((await member.heartbeat(null, -1)).errorCode, 0);

  const dryRun = await shareGroups(
    bootstrap,
    'reset-offsets',
    'workers',
    '--topic',
    'orders',
    '--to-offset',
    '2',
  );
  assert.equal(dryRun.code, 0, dryRun.error);
  assert.match(dryRun.out, /^workers +orders +0 +2$/m);
  assert.match(dryRun.out, /^workers +orders +1 +2$/m);
  assert.match(dryRun.out, /Dry run: nothing was changed/);
  assert.match(
    (await offsets()).out,
    /^workers +orders +0 +6 +6 +0$/m,
    'a dry run changes nothing',
  );

  const executed = await shareGroups(
    bootstrap,
    'reset-offsets',
    'workers',
    '--topic',
    'orders',
    '--to-offset',
    '2',
    '--execute',
  );
  assert.equal(executed.code, 0, executed.error);
  assert.match(executed.out, /Start offsets of share group workers reset\./);
  assert.match((await offsets()).out, /^workers +orders +0 +2 +6 +4$/m);
  assert.match((await offsets()).out, /^workers +orders +1 +2 +4 +2$/m);

  // The next consumer gets exactly the records from the new start offsets on.
  const next = await ShareConsumer.join(bootstrap, 'workers', 'orders');
  t.after(() => next.close());
  const redelivered = await fetchRecords(next, 6);
  assert.deepEqual(redelivered.map((record) => `${record.partition}:${record.offset}`).sort(), [
    '0:2',
    '0:3',
    '0:4',
    '0:5',
    '1:2',
    '1:3',
  ]);
  await next.acknowledge(accepted(redelivered));
  assert.equal((await next.heartbeat(null, -1)).errorCode, 0);

  const missingTopic = await shareGroups(bootstrap, 'delete-offsets', 'workers', '--topic', 'nope');
  assert.equal(missingTopic.code, 1);
  assert.match(missingTopic.error, /topic nope does not exist/);
  const forgotten = await shareGroups(bootstrap, 'delete-offsets', 'workers', '--topic', 'orders');
  assert.equal(forgotten.code, 0, forgotten.error);
  const afterForget = await offsets();
  assert.equal(afterForget.code, 0, afterForget.error);
  assert.doesNotMatch(afterForget.out, /orders/);

  const deleted = await shareGroups(bootstrap, 'delete', 'workers');
  assert.equal(deleted.code, 0, deleted.error);
  assert.doesNotMatch((await shareGroups(bootstrap, 'list')).out, /workers/);
  const gone = await shareGroups(bootstrap, 'describe', 'workers');
  assert.equal(gone.code, 1);
  assert.match(gone.error, /GROUP_ID_NOT_FOUND.*BROOK_CLI_KAFKA_ERROR/);
});

test('brook share-groups reset-offsets moves start offsets by record time, only on the partitions named', async (t) => {
  const broker = await startShareBroker();
  t.after(() => broker.stop());
  const bootstrap = broker.bootstrapServers;
  await createTopic(broker, 'events', 2);
  const first = await ShareConsumer.join(bootstrap, 'auditors', 'events');
  t.after(() => first.close());
  // Partition 0: six records one second apart from an hour ago (CreateTime set by the
  // producer); partition 1: four records 40, 30, 20 and 10 minutes old.
  const now = Date.now();
  const hourAgoMs = Math.floor(now / 1000) * 1000 - 3_600_000;
  await produce({ bootstrapServers: bootstrap }, 'events', [
    ...Array.from({ length: 6 }, (_, index) => ({
      value: `p0-${index}`,
      partition: 0,
      timestamp: String(hourAgoMs + index * 1000),
    })),
    ...Array.from({ length: 4 }, (_, index) => ({
      value: `p1-${index}`,
      partition: 1,
      timestamp: String(now - (4 - index) * 600_000),
    })),
  ]);
  await first.acknowledge(accepted(await fetchRecords(first, 10)));
  assert.equal((await first.heartbeat(null, -1)).errorCode, 0);
  const offsets = () => shareGroups(bootstrap, 'describe', 'auditors', '--offsets');
  let described = '';
  await waitFor(
    async () =>
      /^auditors +events +0 +6 +6 +0$/m.test((described = (await offsets()).out)) &&
      /^auditors +events +1 +4 +4 +0$/m.test(described),
    () => `every record acknowledged: ${described}`,
  );

  // --to-datetime on partition 0 only: the first record at or after 00:00:03 past the hour.
  const datetime = new Date(hourAgoMs + 3000).toISOString();
  const reset = (...args: string[]) => shareGroups(bootstrap, 'reset-offsets', 'auditors', ...args);
  const dryRun = await reset('--topic', 'events:0', '--to-datetime', datetime);
  assert.equal(dryRun.code, 0, dryRun.error);
  assert.match(dryRun.out, /^auditors +events +0 +3$/m);
  assert.doesNotMatch(dryRun.out, /^auditors +events +1 /m, 'partition 1 was not named');
  assert.match(dryRun.out, /Dry run: nothing was changed/);
  assert.match(
    (await offsets()).out,
    /^auditors +events +0 +6 +6 +0$/m,
    'a dry run changes nothing',
  );

  const executed = await reset('--topic', 'events:0', '--to-datetime', datetime, '--execute');
  assert.equal(executed.code, 0, executed.error);
  described = (await offsets()).out;
  assert.match(described, /^auditors +events +0 +3 +6 +3$/m);
  assert.match(described, /^auditors +events +1 +4 +4 +0$/m, 'partition 1 is left alone');

  // The next consumer gets exactly the records from that time on, and nothing of partition 1.
  const second = await ShareConsumer.join(bootstrap, 'auditors', 'events');
  t.after(() => second.close());
  const again = await fetchRecords(second, 3);
  assert.deepEqual(
    again.map((record) => `${record.partition}:${record.offset}:${record.value}`).sort(),
    ['0:3:p0-3', '0:4:p0-4', '0:5:p0-5'],
  );
  assert.deepEqual(await second.fetch({ maxWaitMs: 200 }), [], 'nothing more to deliver');
  await second.acknowledge(accepted(again));
  assert.equal((await second.heartbeat(null, -1)).errorCode, 0);

  // --by-duration PT25M on partition 1: the records 20 and 10 minutes old come back.
  const byDuration = await reset('--topic', 'events:1', '--by-duration', 'PT25M', '--execute');
  assert.equal(byDuration.code, 0, byDuration.error);
  assert.match(byDuration.out, /^auditors +events +1 +2$/m);
  await waitFor(
    async () =>
      /^auditors +events +0 +6 +6 +0$/m.test((described = (await offsets()).out)) &&
      /^auditors +events +1 +2 +4 +2$/m.test(described),
    () => `partition 1 reset, partition 0 acknowledged: ${described}`,
  );

  // --to-timestamp on the whole topic; a time after every record is the log end.
  const byTimestamp = await reset('--topic', 'events', '--to-timestamp', String(hourAgoMs + 4500));
  assert.equal(byTimestamp.code, 0, byTimestamp.error);
  assert.match(byTimestamp.out, /^auditors +events +0 +5$/m);
  assert.match(byTimestamp.out, /^auditors +events +1 +0$/m);
  const future = await reset('--topic', 'events', '--to-timestamp', String(now + 3_600_000));
  assert.match(future.out, /^auditors +events +0 +6$/m);
  assert.match(future.out, /^auditors +events +1 +4$/m);

  const missing = await reset('--topic', 'events:0,5', '--to-earliest');
  assert.equal(missing.code, 1);
  assert.match(missing.error, /topic events has no partition 5/);
});

test('brook share-groups reaches a SASL listener with --command-config', async (t) => {
  const { admin, broker, sasl } = await startSaslBroker(t, { 'group.share.enable': true });
  const plaintext = listenerAddress(broker, 'PLAINTEXT');
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await createTopic({ bootstrapServers: plaintext }, 'orders', 2);
  const member = await ShareConsumer.join(plaintext, 'workers', 'orders');
  t.after(() => member.close());
  await produceTen(plaintext, 'orders');
  await member.acknowledge(accepted(await fetchRecords(member, 10)));

  const directory = temporaryDirectory(t, 'brook-share-cli-sasl-');
  const properties = (password: string) => {
    const path = join(directory, `${password}.properties`);
    writeFileSync(
      path,
      [
        'security.protocol=SASL_PLAINTEXT',
        'sasl.mechanism=SCRAM-SHA-256',
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="${password}";`,
      ].join('\n'),
    );
    return path;
  };
  const asAlice = ['--bootstrap-server', sasl, '--command-config', properties('alice-secret')];
  const listed = await runBrook(['share-groups', 'list', ...asAlice]);
  assert.equal(listed.exitCode, 0, listed.stderr);
  assert.match(listed.stdout, /^workers +Stable$/m);
  const described = await runBrook([
    'share-groups',
    'describe',
    'workers',
    '--offsets',
    ...asAlice,
  ]);
  assert.equal(described.exitCode, 0, described.stderr);
  assert.match(described.stdout, /^workers +orders +0 +\d+ +6 +\d+$/m);

  const wrong = await runBrook([
    'share-groups',
    'list',
    '--bootstrap-server',
    sasl,
    '--command-config',
    properties('wrong'),
  ]);
  assert.equal(wrong.exitCode, 1);
  assert.match(
    wrong.stderr,
    /authentication as alice failed.*invalid credentials.*BROOK_CLI_KAFKA_ERROR/,
  );
  assert.doesNotMatch(wrong.stderr + wrong.stdout, /password=/);
});
