// `brook groups` against a real broker: list, describe with lag, reset-offsets, delete.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runGroupsCommand } from '../../src/cli/groups-command.js';
import { RecordingConsumer, TestBroker, produce } from './kafkajs-helpers.js';
import { waitFor } from '../helpers/poll.js';

async function groups(
  args: string[],
  bootstrapServers: string,
): Promise<{ code: number; out: string; error: string }> {
  const out: string[] = [];
  const error: string[] = [];
  const code = await runGroupsCommand([...args, '--bootstrap-server', bootstrapServers], {
    out: (line) => out.push(line),
    error: (line) => error.push(line),
  });
  return { code, out: out.join('\n'), error: error.join('\n') };
}

/** The rows of a table the command printed, as arrays of cells, without the header. */
function rows(text: string, header: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(header));
  assert.ok(start >= 0, `no ${header} table in:\n${text}`);
  return lines
    .slice(start + 1)
    .filter(
      (line) => line.trim() !== '' && !line.startsWith('Dry run') && !line.startsWith('Offsets'),
    )
    .map((line) => line.trim().split(/\s+/));
}

describe('brook groups', () => {
  let broker: TestBroker;
  const topic = 'cli-topic';
  const group = 'cli-group';

  before(async () => {
    broker = await TestBroker.start();
  });

  after(async () => {
    await broker.destroy();
  });

  it('lists groups, describes lag, resets offsets and deletes the group', async () => {
    const kafka = broker.kafka('cli-test');
    await produce(kafka, topic, 'early', 20);
    const consumer = new RecordingConsumer(kafka, { groupId: group }, topic);
    await consumer.start();
    await waitFor(() => consumer.received.length === 20, 'the first 20 records', {
      timeoutMs: 30_000,
    });

    // While the consumer is in the group: Stable, owners shown, reset refused.
    await waitFor(
      async () =>
        (await groups(['describe', '--group', group], broker.bootstrapServers)).out.includes(
          'is Stable',
        ),
      'the group to be Stable',
      { timeoutMs: 10_000 },
    );
    const active = await groups(['describe', '--group', group], broker.bootstrapServers);
    assert.equal(active.code, 0, active.error);
    for (const row of rows(active.out, 'GROUP')) assert.match(row[6], /^cli-test-/);
    const refused = await groups(
      ['reset-offsets', '--group', group, '--all-topics', '--to-earliest', '--execute'],
      broker.bootstrapServers,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.error, /Stable/);
    await consumer.consumer.disconnect();

    const between = Date.now();
    await waitFor(() => Date.now() > between, 'the clock to move past the first round', {
      timeoutMs: 1_000,
    });
    await produce(kafka, topic, 'late', 10);

    const list = await groups(['list'], broker.bootstrapServers);
    assert.equal(list.code, 0, list.error);
    assert.deepEqual(
      rows(list.out, 'GROUP').find((row) => row[0] === group),
      [group, 'Empty', 'consumer'],
    );

    const described = await groups(['describe', '--group', group], broker.bootstrapServers);
    assert.equal(described.code, 0, described.error);
    const lagRows = rows(described.out, 'GROUP');
    assert.equal(lagRows.length, 10);
    for (const row of lagRows) {
      // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
      assert.deepEqual(row.slice(0, 6), [group, topic, row[2], '2', '3', '1']);
    }

    const dryRun = await groups(
      ['reset-offsets', '--group', group, '--topic', topic, '--to-earliest'],
      broker.bootstrapServers,
    );
    assert.equal(dryRun.code, 0, dryRun.error);
    assert.match(dryRun.out, /Dry run/);
    const unchanged = await groups(['describe', '--group', group], broker.bootstrapServers);
    assert.ok(rows(unchanged.out, 'GROUP').every((row) => row[3] === '2'));

    const earliest = await groups(
      ['reset-offsets', '--group', group, '--topic', topic, '--to-earliest', '--execute'],
      broker.bootstrapServers,
    );
    assert.equal(earliest.code, 0, earliest.error);
    assert.ok(
      rows(
        (await groups(['describe', '--group', group], broker.bootstrapServers)).out,
        'GROUP',
      ).every((row) => row[3] === '0' && row[5] === '3'),
    );

    const someOffset = await groups(
      [
        'reset-offsets',
        '--group',
        group,
        '--topic',
        `${topic}:0,1`,
        '--to-offset',
        '1',
        '--execute',
      ],
      broker.bootstrapServers,
    );
    assert.equal(someOffset.code, 0, someOffset.error);
    const afterOffset = rows(
      (await groups(['describe', '--group', group], broker.bootstrapServers)).out,
      'GROUP',
    );
    assert.deepEqual(
      afterOffset.map((row) => row[3]),
      ['1', '1', '0', '0', '0', '0', '0', '0', '0', '0'],
    );

    // The first record at or after a time between the two rounds is each partition's offset 2.
    const byTime = await groups(
      [
        'reset-offsets',
        '--group',
        group,
        '--all-topics',
        '--to-datetime',
        new Date(between).toISOString(),
        '--execute',
      ],
      broker.bootstrapServers,
    );
    assert.equal(byTime.code, 0, byTime.error);
    assert.ok(
      rows(
        (await groups(['describe', '--group', group], broker.bootstrapServers)).out,
        'GROUP',
      ).every((row) => row[3] === '2'),
    );
    // A time after every record: the log end.
    const future = await groups(
      [
        'reset-offsets',
        '--group',
        group,
        '--all-topics',
        '--to-timestamp',
        String(Date.now() + 60_000),
        '--execute',
      ],
      broker.bootstrapServers,
    );
    assert.equal(future.code, 0, future.error);
    assert.ok(
      rows(
        (await groups(['describe', '--group', group], broker.bootstrapServers)).out,
        'GROUP',
      ).every((row) => row[3] === '3'),
    );

    const latest = await groups(
      ['reset-offsets', '--group', group, '--all-topics', '--to-latest', '--execute'],
      broker.bootstrapServers,
    );
    assert.equal(latest.code, 0, latest.error);

    const deleted = await groups(['delete', '--group', group], broker.bootstrapServers);
    assert.equal(deleted.code, 0, deleted.error);
    const afterDelete = await groups(['list'], broker.bootstrapServers);
    assert.ok(!afterDelete.out.includes(group));
    const missing = await groups(['delete', '--group', group], broker.bootstrapServers);
    assert.equal(missing.code, 1);
    assert.match(missing.error, /GROUP_ID_NOT_FOUND/);
  });

  it('reports usage errors with exit code 2', async () => {
    assert.equal((await groups(['describe'], broker.bootstrapServers)).code, 2);
    assert.equal((await groups(['frobnicate'], broker.bootstrapServers)).code, 2);
    assert.equal(
      (await groups(['reset-offsets', '--group', 'g', '--all-topics'], broker.bootstrapServers))
        .code,
      2,
    );
  });
});
