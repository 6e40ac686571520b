// `brook topics`, `brook configs`, `brook produce` and `brook consume`: strict arguments, and each
// command against a real broker, cross-checked with kafkajs (what the CLI creates or produces,
// kafkajs sees; what kafkajs produces, the CLI prints). Some runs go through the real `brook`
// process; the rest call the same entry points in-process to keep the suite quick.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Admin, type ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminCommandErrorCode } from '../../src/cli/admin-arguments.js';
import { type AdminCommandOutput } from '../../src/cli/admin-command.js';
import { runConsumeCommand, runProduceCommand } from '../../src/cli/records-command.js';
import { runConfigsCommand, runTopicsCommand } from '../../src/cli/topics-command.js';
import { runBrook } from '../helpers/brook-cli.js';
import { waitFor } from '../helpers/poll.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

// kafkajs' enum is not importable as a value from ESM: its TOPIC is Kafka's resource type 2.
const topicResourceType = 2 as unknown as ConfigResourceTypes;
const brokerResourceType = 4 as unknown as ConfigResourceTypes;

interface InProcessRun {
  code: number;
  out: string;
  error: string;
}

async function inProcess(
  run: (argv: readonly string[], output: AdminCommandOutput) => Promise<number>,
  args: string[],
): Promise<InProcessRun> {
  const out: string[] = [];
  const error: string[] = [];
  const code = await run(args, {
    out: (line) => out.push(line),
    error: (line) => error.push(line),
  });
  return { code, out: out.join('\n'), error: error.join('\n') };
}

const topics = (args: string[]): Promise<InProcessRun> => inProcess(runTopicsCommand, args);
const configs = (args: string[]): Promise<InProcessRun> => inProcess(runConfigsCommand, args);
const produce = (args: string[]): Promise<InProcessRun> => inProcess(runProduceCommand, args);
const consume = (args: string[]): Promise<InProcessRun> => inProcess(runConsumeCommand, args);

describe('brook topics, configs, produce and consume arguments', () => {
  it('refuses an unknown flag from the command line, naming it, with exit code 2', async () => {
    for (const command of ['topics', 'configs', 'produce', 'consume']) {
      const args =
        command === 'topics' || command === 'configs' ? [command, 'describe'] : [command];
      const run = await runBrook([...args, '--bogus', 'x']);
      assert.equal(run.exitCode, 2, `${command}: ${run.stderr}`);
      assert.match(run.stderr, /--bogus.*BROOK_CLI_USAGE/, command);
    }
  });

  it('refuses flags of another command, missing values and contradicting choices', async () => {
    const cases: Array<[typeof topics, string[], RegExp]> = [
      [topics, ['list', '--partitions', '3'], /--partitions does not apply to list/],
      [topics, ['create', '--partitions', '3'], /create needs one --topic/],
      [topics, ['create', '--topic', 't', '--partitions', '0'], /--partitions 0 is not a whole/],
      [topics, ['create', '--topic', 't', '--config', 'retention.ms'], /expected NAME=VALUE/],
      [topics, ['create', '--topic', 't', '--config', 'a=1', '--config', 'a=2'], /given twice/],
      [topics, ['alter', '--topic', 't'], /alter needs --partitions, --config/],
      [topics, ['delete'], /delete needs --topic/],
      [topics, ['list', '--output', 'xml'], /expected table or json/],
      [topics, ['list', '--timeout-ms', 'soon'], /--timeout-ms soon/],
      [topics, ['frobnicate'], /unknown command frobnicate/],
      [configs, ['describe', '--entity-type', 'users', '--entity-name', 'x'], /topics or brokers/],
      [configs, ['describe', '--entity-type', 'brokers', '--entity-name', 'b'], /node id/],
      [configs, ['alter', '--entity-type', 'topics', '--entity-name', 't'], /--add-config/],
      [produce, ['--value', 'v'], /--topic is required/],
      [produce, ['--topic', 't', '--header', 'novalue'], /expected KEY=VALUE/],
      [consume, ['--topic', 't', '--offset', '3'], /--offset needs --partition/],
      [consume, ['--topic', 't', '--from-beginning', '--from-time', '0'], /contradict/],
      [consume, ['--topic', 't', '--from-time', 'yesterday'], /not a time/],
    ];
    for (const [run, args, expected] of cases) {
      const result = await run(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.error}`);
      assert.match(result.error, expected, args.join(' '));
      assert.match(result.error, /BROOK_CLI_USAGE/, args.join(' '));
    }
  });

  it('documents every BROOK_CLI_* code of these commands in docs/errors.md', () => {
    const readme = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.values(AdminCommandErrorCode)) {
      assert.ok(readme.includes(`\`${code}\``), `${code} is not documented`);
    }
  });

  it('prints the usage of each command with --help and exits 0', async () => {
    for (const [run, args, expected] of [
      [topics, ['--help'], /usage: brook topics/],
      [configs, ['describe', '--help'], /usage: brook configs/],
      [produce, ['--help'], /usage: brook produce/],
      [consume, ['-h'], /usage: brook consume/],
    ] as const) {
      const result = await run([...args]);
      assert.equal(result.code, 0, result.error);
      assert.match(result.out, expected);
    }
  });

  it('lists the new commands in brook --help', async () => {
    const run = await runBrook(['--help']);
    assert.equal(run.exitCode, 0, run.stderr);
    for (const command of ['topics', 'configs', 'produce', 'consume', 'groups']) {
      assert.match(run.stdout, new RegExp(`^  ${command} `, 'm'), command);
    }
  });
});

describe('brook topics and configs against a broker', () => {
  let broker: Broker;
  let kafka: Kafka;
  let admin: Admin;

  before(async () => {
    broker = await startBroker();
    kafka = new Kafka({
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
    await broker?.stop();
  });

  const server = (): string[] => ['--bootstrap-server', broker.bootstrapServers];

  async function topicConfig(topic: string, name: string): Promise<string | undefined> {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: topicResourceType, name: topic, configNames: [name] }],
    });
    return described.resources[0].configEntries.find((entry) => entry.configName === name)
      ?.configValue;
  }

  it('creates a topic that kafkajs sees with its partitions and configs', async () => {
    const run = await runBrook([
      'topics',
      'create',
      '--topic',
      'orders',
      '--partitions',
      '3',
      '--replication-factor',
      '1',
      '--config',
      'retention.ms=123456',
      '--config',
      'cleanup.policy=compact,delete',
      ...server(),
    ]);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /Created topic orders with 3 partitions and replication factor 1/);
    const metadata = await admin.fetchTopicMetadata({ topics: ['orders'] });
    assert.equal(metadata.topics[0].partitions.length, 3);
    assert.equal(await topicConfig('orders', 'retention.ms'), '123456');
    assert.equal(await topicConfig('orders', 'cleanup.policy'), 'compact,delete');
  });

  it('refuses to create a topic twice unless --if-not-exists is given', async () => {
    await admin.createTopics({ topics: [{ topic: 'twice', numPartitions: 1 }] });
    const again = await topics(['create', '--topic', 'twice', ...server()]);
    assert.equal(again.code, 1);
    assert.match(again.error, /TOPIC_ALREADY_EXISTS.*BROOK_CLI_KAFKA_ERROR/);
    assert.equal(again.error.split('\n').length, 1, 'one line');
    const tolerated = await topics(['create', '--topic', 'twice', '--if-not-exists', ...server()]);
    assert.equal(tolerated.code, 0, tolerated.error);
    assert.match(tolerated.out, /exists already/);
  });

  it('refuses an invalid config with one line, and creates nothing', async () => {
    const run = await topics([
      'create',
      '--topic',
      'bad-config',
      '--config',
      'retention.ms=soon',
      ...server(),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.error, /CreateTopics for bad-config: INVALID_CONFIG/);
    assert.equal(run.error.split('\n').length, 1, 'one line');
    assert.ok(!(await admin.listTopics()).includes('bad-config'));
  });

  it('lists and describes topics as tables and as JSON', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'described',
          numPartitions: 2,
          configEntries: [{ name: 'retention.ms', value: '5000' }],
        },
      ],
    });
    const list = await topics(['list', ...server()]);
    assert.equal(list.code, 0, list.error);
    assert.match(list.out, /^TOPIC\s+PARTITIONS\s+REPLICATION-FACTOR\s+INTERNAL$/m);
    assert.match(list.out, /^described\s+2\s+1\s+no$/m);
    const listed = JSON.parse((await topics(['list', '--output', 'json', ...server()])).out) as {
      name: string;
      topicId: string;
    }[];
    const entry = listed.find((topic) => topic.name === 'described');
    assert.match(entry?.topicId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    assert.deepEqual(entry, {
      name: 'described',
      topicId: entry?.topicId,
      internal: false,
      partitions: 2,
      replicationFactor: 1,
    });
    const describe = await topics(['describe', '--topic', 'described', ...server()]);
    assert.equal(describe.code, 0, describe.error);
    assert.match(describe.out, /Topic described .*partitions 2 .*configs retention.ms=5000/);
    assert.match(
      describe.out,
      new RegExp(
        `^described\\s+1\\s+${broker.nodeId}\\s+${broker.nodeId}\\s+${broker.nodeId}$`,
        'm',
      ),
    );
    const json = JSON.parse(
      (await topics(['describe', '--topic', 'described', '--output', 'json', ...server()])).out,
    ) as {
      name: string;
      partitions: { partition: number; leader: number }[];
      configs: Record<string, string>;
    }[];
    assert.equal(json.length, 1);
    assert.deepEqual(json[0].configs, { 'retention.ms': '5000' });
    assert.deepEqual(
      json[0].partitions.map((partition) => [partition.partition, partition.leader]),
      [
        [0, broker.nodeId],
        [1, broker.nodeId],
      ],
    );
    const describeAll = await topics(['describe', '--output', 'json', ...server()]);
    assert.equal(describeAll.code, 0, describeAll.error);
    const everyTopic = JSON.parse(describeAll.out) as {
      name: string;
      configs: Record<string, string>;
    }[];
    assert.deepEqual(everyTopic.find((topic) => topic.name === 'described')?.configs, {
      'retention.ms': '5000',
    });
  });

  it('refuses an unknown topic and never creates it', async () => {
    for (const args of [
      ['describe', '--topic', 'nowhere'],
      ['alter', '--topic', 'nowhere', '--partitions', '4'],
      ['delete', '--topic', 'nowhere'],
    ]) {
      const run = await topics([...args, ...server()]);
      assert.equal(run.code, 1, args.join(' '));
      assert.match(
        run.error,
        /nowhere.*UNKNOWN_TOPIC_OR_PARTITION.*BROOK_CLI_KAFKA_ERROR/,
        args.join(' '),
      );
    }
    for (const run of [
      await produce(['--topic', 'nowhere', '--value', 'v', ...server()]),
      await consume(['--topic', 'nowhere', ...server()]),
    ]) {
      assert.equal(run.code, 1);
      assert.match(run.error, /nowhere.*UNKNOWN_TOPIC_OR_PARTITION/);
    }
    assert.ok(!(await admin.listTopics()).includes('nowhere'));
  });

  it('alters partitions and configs, and an invalid config changes nothing', async () => {
    await admin.createTopics({ topics: [{ topic: 'altered', numPartitions: 1 }] });
    const run = await topics([
      'alter',
      '--topic',
      'altered',
      '--partitions',
      '4',
      '--config',
      'retention.ms=7000',
      ...server(),
    ]);
    assert.equal(run.code, 0, run.error);
    assert.match(run.out, /retention.ms=7000, partitions 1 -> 4/);
    const metadata = await admin.fetchTopicMetadata({ topics: ['altered'] });
    assert.equal(metadata.topics[0].partitions.length, 4);
    assert.equal(await topicConfig('altered', 'retention.ms'), '7000');

    const bad = await topics([
      'alter',
      '--topic',
      'altered',
      '--partitions',
      '6',
      '--config',
      'retention.ms=never',
      ...server(),
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.error, /INVALID_CONFIG/);
    assert.equal(
      (await admin.fetchTopicMetadata({ topics: ['altered'] })).topics[0].partitions.length,
      4,
    );
    assert.equal(await topicConfig('altered', 'retention.ms'), '7000');

    const reverted = await topics([
      'alter',
      '--topic',
      'altered',
      '--delete-config',
      'retention.ms',
      ...server(),
    ]);
    assert.equal(reverted.code, 0, reverted.error);
    assert.notEqual(await topicConfig('altered', 'retention.ms'), '7000');
  });

  it('deletes topics, and skips missing ones with --if-exists', async () => {
    await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 1 }] });
    const run = await topics(['delete', '--topic', 'doomed', ...server()]);
    assert.equal(run.code, 0, run.error);
    assert.match(run.out, /Deleted topic doomed/);
    await waitFor(async () => !(await admin.listTopics()).includes('doomed'), 'doomed deleted');
    const again = await topics(['delete', '--topic', 'doomed', '--if-exists', ...server()]);
    assert.equal(again.code, 0, again.error);
    assert.match(again.out, /does not exist; skipped/);
  });

  it('describes and alters the configs of a topic and of a broker', async () => {
    await admin.createTopics({ topics: [{ topic: 'configured', numPartitions: 1 }] });
    const topicArgs = ['--entity-type', 'topics', '--entity-name', 'configured', ...server()];
    const alter = await configs(['alter', ...topicArgs, '--add-config', 'segment.bytes=1048576']);
    assert.equal(alter.code, 0, alter.error);
    assert.equal(await topicConfig('configured', 'segment.bytes'), '1048576');
    const overrides = await configs(['describe', ...topicArgs]);
    assert.equal(overrides.code, 0, overrides.error);
    assert.match(overrides.out, /^segment.bytes\s+1048576\s+DYNAMIC_TOPIC_CONFIG\s+no$/m);
    assert.doesNotMatch(overrides.out, /^retention.ms/m, 'defaults only with --all');
    const all = JSON.parse(
      (await configs(['describe', ...topicArgs, '--all', '--output', 'json'])).out,
    ) as {
      name: string;
      source: string;
    }[];
    assert.equal(all.find((entry) => entry.name === 'retention.ms')?.source, 'DEFAULT_CONFIG');
    const invalid = await configs(['alter', ...topicArgs, '--add-config', 'segment.bytes=huge']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.error, /INVALID_CONFIG/);
    assert.equal(await topicConfig('configured', 'segment.bytes'), '1048576');

    const brokerArgs = [
      '--entity-type',
      'brokers',
      '--entity-name',
      String(broker.nodeId),
      ...server(),
    ];
    const brokerConfigs = JSON.parse(
      (await configs(['describe', ...brokerArgs, '--all', '--output', 'json'])).out,
    ) as { name: string }[];
    assert.ok(
      brokerConfigs.some((entry) => entry.name === 'log.retention.ms'),
      'broker configs listed',
    );
    const brokerAlter = await configs([
      'alter',
      ...brokerArgs,
      '--add-config',
      'message.max.bytes=2000000',
    ]);
    assert.equal(brokerAlter.code, 0, brokerAlter.error);
    const brokerOverrides = await configs(['describe', ...brokerArgs]);
    assert.match(
      brokerOverrides.out,
      /^message.max.bytes\s+2000000\s+DYNAMIC_BROKER_CONFIG\s+no$/m,
    );
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          type: brokerResourceType,
          name: String(broker.nodeId),
          configNames: ['message.max.bytes'],
        },
      ],
    });
    assert.equal(described.resources[0].configEntries[0]?.configValue, '2000000');
  });
});

describe('brook produce and consume against a broker', () => {
  let broker: Broker;
  let kafka: Kafka;
  let admin: Admin;

  before(async () => {
    broker = await startBroker();
    kafka = new Kafka({
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
    await broker?.stop();
  });

  const server = (): string[] => ['--bootstrap-server', broker.bootstrapServers];

  it('produces records that kafkajs consumes with key, headers and value', async () => {
    await admin.createTopics({ topics: [{ topic: 'cli-in', numPartitions: 3 }] });
    const run = await runBrook([
      'produce',
      '--topic',
      'cli-in',
      '--key',
      'customer-7',
      '--header',
      'trace=abc',
      '--header',
      'source=cli',
      '--value',
      'first',
      '--value',
      'second',
      ...server(),
    ]);
    assert.equal(run.exitCode, 0, run.stderr);
    const consumer = kafka.consumer({ groupId: 'cli-in-reader' });
    const seen: {
      partition: number;
      key: string;
      value: string;
      headers: Record<string, string>;
    }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'cli-in', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push({
            partition,
            key: message.key!.toString(),
            value: message.value!.toString(),
            headers: Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([key, value]) => [key, String(value)]),
            ),
          });
        },
      });
      await waitFor(() => seen.length >= 2, 'kafkajs reads the two records');
    } finally {
      await consumer.disconnect();
    }
    // The key's partition as kafkajs' own (Java-compatible) partitioner puts it.
    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({
      topic: 'cli-in',
      messages: [{ key: 'customer-7', value: 'third' }],
    });
    await producer.disconnect();
    assert.match(
      run.stdout,
      new RegExp(`Produced 2 records to cli-in-${sent.partition} at offset 0`),
    );
    assert.deepEqual(
      seen.map((record) => [record.partition, record.key, record.value, record.headers]),
      [
        [sent.partition, 'customer-7', 'first', { trace: 'abc', source: 'cli' }],
        [sent.partition, 'customer-7', 'second', { trace: 'abc', source: 'cli' }],
      ],
    );
  });

  it('reports how far consume got to a terminal, and clears the line at the end', async () => {
    await admin.createTopics({ topics: [{ topic: 'cli-progress', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'cli-progress',
      messages: Array.from({ length: 5 }, (_, index) => ({ value: `record ${index}` })),
    });
    await producer.disconnect();
    const progress: string[] = [];
    const out: string[] = [];
    const code = await runConsumeCommand(['--topic', 'cli-progress', ...server()], {
      out: (line) => out.push(line),
      error: (line) => assert.fail(line),
      progress: (text) => progress.push(text),
    });
    assert.equal(code, 0);
    assert.ok(progress.includes('cli-progress-0: offset 5 of 5, 5 records'), progress.join('|'));
    assert.equal(progress.at(-1), '');
    assert.match(out.join('\n'), /record 4/);
  });

  it('produces one record per line of standard input to the partition given', async () => {
    await admin.createTopics({ topics: [{ topic: 'cli-lines', numPartitions: 2 }] });
    const out: string[] = [];
    const error: string[] = [];
    const code = await runProduceCommand(
      ['--topic', 'cli-lines', '--partition', '1', '--output', 'json', ...server()],
      {
        out: (line) => out.push(line),
        error: (line) => error.push(line),
        input: async function* () {
          yield 'line one';
          yield 'line two';
          yield 'line three';
        },
      },
    );
    assert.equal(code, 0, error.join('\n'));
    assert.deepEqual(JSON.parse(out[0]), {
      topic: 'cli-lines',
      partition: 1,
      baseOffset: 0,
      records: 3,
    });
    const offsets = await admin.fetchTopicOffsets('cli-lines');
    assert.deepEqual(offsets.map((entry) => [entry.partition, entry.high]).sort(), [
      [0, '0'],
      [1, '3'],
    ]);
    const printed = await consume(['--topic', 'cli-lines', '--output', 'json', ...server()]);
    assert.deepEqual(
      printed.out.split('\n').map((line) => (JSON.parse(line) as { value: string }).value),
      ['line one', 'line two', 'line three'],
    );
  });

  it('prints records kafkajs produced, from the beginning, an offset or a time', async () => {
    await admin.createTopics({ topics: [{ topic: 'cli-out', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'cli-out',
      messages: [
        { key: 'k0', value: 'v0', headers: { h: 'x' }, timestamp: '1000000' },
        { key: null, value: 'v1', timestamp: '2000000' },
        { key: 'k2', value: '{"n":2}', timestamp: '3000000' },
      ],
    });
    await producer.disconnect();

    const run = await runBrook(['consume', '--topic', 'cli-out', '--output', 'json', ...server()]);
    assert.equal(run.exitCode, 0, run.stderr);
    const records = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(records, [
      { partition: 0, offset: 0, timestamp: 1000000, key: 'k0', value: 'v0', headers: { h: 'x' } },
      { partition: 0, offset: 1, timestamp: 2000000, key: null, value: 'v1', headers: {} },
      { partition: 0, offset: 2, timestamp: 3000000, key: 'k2', value: '{"n":2}', headers: {} },
    ]);

    const fromOffset = await consume([
      '--topic',
      'cli-out',
      '--partition',
      '0',
      '--offset',
      '1',
      ...server(),
    ]);
    assert.equal(fromOffset.code, 0, fromOffset.error);
    assert.match(fromOffset.out, /^PARTITION\s+OFFSET\s+TIMESTAMP\s+KEY\s+HEADERS\s+VALUE$/m);
    assert.doesNotMatch(fromOffset.out, /v0/);
    assert.match(fromOffset.out, /^0\s+1\s+1970-01-01T00:33:20.000Z\s+\(null\)\s+v1$/m);

    const fromTime = await consume([
      '--topic',
      'cli-out',
      '--from-time',
      '2500000',
      '--output',
      'json',
      ...server(),
    ]);
    assert.equal(fromTime.code, 0, fromTime.error);
    assert.deepEqual(
      fromTime.out.split('\n').map((line) => (JSON.parse(line) as { offset: number }).offset),
      [2],
    );

    const limited = await consume([
      '--topic',
      'cli-out',
      '--max-messages',
      '2',
      '--output',
      'json',
      ...server(),
    ]);
    assert.equal(limited.out.split('\n').length, 2);
  });
});

describe('brook topics with an unreachable or silent broker', () => {
  let silent: Server;
  const held: Socket[] = [];

  before(async () => {
    // Accepts connections and never answers: only the deadline ends the command.
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  after(() => {
    for (const socket of held) socket.destroy();
    silent.close();
  });

  it('reports a refused connection in one line with a non-zero exit', async () => {
    // A port that was just free: nothing listens there.
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));
    const run = await runBrook(['topics', 'list', '--bootstrap-server', `127.0.0.1:${port}`]);
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, /ECONNREFUSED.*\[BROOK_CLI_CONNECTION\]/);
    assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
  });

  it('gives up on a broker that never answers within --timeout-ms', async () => {
    const port = (silent.address() as { port: number }).port;
    const run = await runBrook(
      ['topics', 'describe', '--bootstrap-server', `127.0.0.1:${port}`, '--timeout-ms', '300'],
      { timeoutMs: 20_000 },
    );
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`\\[${AdminCommandErrorCode.TIMEOUT}\\]`));
    assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
  });
});
