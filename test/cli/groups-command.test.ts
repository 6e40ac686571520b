// `brook groups`: strict arguments, Kafka's reset scenarios, and a CLI that never creates a topic,
// against a real broker driven by kafkajs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { runGroupsCommand } from '../../src/cli/groups-command.js';
import { runBrook } from '../helpers/brook-cli.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

async function groups(
  args: string[],
  bootstrapServer?: string,
): Promise<{ code: number; out: string; error: string }> {
  const out: string[] = [];
  const error: string[] = [];
  const code = await runGroupsCommand(
    bootstrapServer === undefined ? args : [...args, '--bootstrap-server', bootstrapServer],
    { out: (line) => out.push(line), error: (line) => error.push(line) },
  );
  return { code, out: out.join('\n'), error: error.join('\n') };
}

describe('brook groups arguments', () => {
  it('refuses an unknown flag from the command line, naming it, with exit code 2', async () => {
    const run = await runBrook(['groups', 'list', '--bogus', 'x']);
    assert.equal(run.exitCode, 2, run.stderr);
    assert.match(run.stderr, /--bogus.*BROOK_GROUPS_USAGE/);
  });

  it('refuses a flag that does not apply to the command and contradicting choices', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['describe', '--group', 'g', '--to-earliest'], /--to-earliest does not apply to describe/],
      [['reset-offsets', '--group', 'g', '--all-topics'], /needs one of --to-earliest/],
      [
        ['reset-offsets', '--group', 'g', '--all-topics', '--to-earliest', '--shift-by', '2'],
        /--to-earliest and --shift-by contradict/,
      ],
      [
        ['reset-offsets', '--group', 'g', '--all-topics', '--to-latest', '--dry-run', '--execute'],
        /--dry-run and --execute contradict/,
      ],
      [['reset-offsets', '--group', 'g', '--topic', 't', '--shift-by', 'x'], /not a whole number/],
      [['reset-offsets', '--group', 'g', '--topic', 't', '--by-duration', '1h'], /not a duration/],
      [['reset-offsets', '--group', 'g', '--topic', 't', '--to-datetime', 'May'], /not a date/],
      [['reset-offsets', '--group', 'g', '--topic', 't:x', '--to-latest'], /bad partition list/],
      [['list', 'extra'], /unexpected argument extra/],
      [['reset-offsets', '--topic', 't', '--to-latest'], /--group is required/],
    ];
    for (const [args, expected] of cases) {
      const run = await groups(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.error}`);
      assert.match(run.error, expected, args.join(' '));
    }
  });
});

describe('brook groups reset-offsets against a broker', () => {
  let broker: Broker;
  let admin: Admin;
  const topic = 'reset-topic';
  const group = 'reset-group';

  before(async () => {
    broker = await startBroker();
    const kafka = new Kafka({
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 10 }, (_, index) => ({ value: `record ${index}` })),
    });
    await producer.disconnect();
  });

  after(async () => {
    await admin?.disconnect();
    await broker?.stop();
  });

  async function commit(offset: number): Promise<void> {
    await admin.setOffsets({
      groupId: group,
      topic,
      partitions: [{ partition: 0, offset: String(offset) }],
    });
  }

  async function committed(): Promise<string> {
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return entry.partitions[0].offset;
  }

  async function reset(...scenario: string[]): Promise<string> {
    const run = await groups(
      ['reset-offsets', '--group', group, '--topic', topic, ...scenario, '--execute'],
      broker.bootstrapServers,
    );
    assert.equal(run.code, 0, run.error);
    return committed();
  }

  it('supports each of Kafka reset scenarios, clamped into the log', async () => {
    await commit(8);
    assert.equal(await reset('--shift-by', '-3'), '5');
    assert.equal(await reset('--shift-by=2'), '7');
    assert.equal(await reset('--shift-by', '-100'), '0');
    assert.equal(await reset('--to-latest'), '10');
    assert.equal(await reset('--to-offset', '4'), '4');
    assert.equal(await reset('--to-current'), '4');
    assert.equal(await reset('--to-offset', '99'), '10');
    assert.equal(await reset('--to-earliest'), '0');
    // Every record is younger than a day, so a day ago is before the first of them.
    await commit(9);
    assert.equal(await reset('--by-duration', 'P1D'), '0');
    assert.equal(await reset('--to-datetime', '2999-01-01T00:00:00.000Z'), '10');
  });

  it('is a dry run unless --execute is given', async () => {
    await commit(6);
    const run = await groups(
      ['reset-offsets', '--group', group, '--topic', topic, '--to-earliest'],
      broker.bootstrapServers,
    );
    assert.equal(run.code, 0, run.error);
    assert.match(run.out, /Dry run/);
    assert.match(run.out, new RegExp(`${topic}\\s+0\\s+0`));
    assert.equal(await committed(), '6');
  });

  it('refuses an unknown topic or partition and never creates the topic', async () => {
    for (const selection of ['missing-topic', 'missing-topic:0', `${topic}:3`]) {
      for (const mode of ['--dry-run', '--execute']) {
        const run = await groups(
          ['reset-offsets', '--group', group, '--topic', selection, '--to-earliest', mode],
          broker.bootstrapServers,
        );
        assert.equal(run.code, 1, `${selection} ${mode}: ${run.out}`);
        assert.match(run.error, /does not exist|has no partition 3/);
      }
    }
    const describe = await groups(['describe', '--group', group], broker.bootstrapServers);
    assert.equal(describe.code, 0, describe.error);
    assert.doesNotMatch(describe.out, /missing-topic/);
    assert.ok(!(await admin.listTopics()).includes('missing-topic'), 'the topic was created');
  });
});
