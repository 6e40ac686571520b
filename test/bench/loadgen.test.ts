// The benchmarks' load generator (bench/loadgen) builds from the repository alone and measures a
// real broker: produce with acks=all, consume in a group, end to end, many producers spread over
// many partitions, each a JSON summary whose counts match what was asked. Needs gcc and librdkafka-dev: skipped without them, a failure in CI.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { startBroker, type Broker } from '../../src/broker.js';
import { inContinuousIntegration } from '../helpers/clients.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

interface Summary {
  role: string;
  messages: number;
  bytes: number;
  msgs_per_s: number;
  latency_us?: { p50: number; p99: number; max: number };
}

function toolchainPresent(): boolean {
  return (
    spawnSync('gcc', ['--version']).status === 0 &&
    spawnSync('pkg-config', ['--exists', 'rdkafka']).status === 0
  );
}

function summaries(stdout: string): Summary[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Summary);
}

describe('bench/loadgen against a broker', () => {
  let broker: Broker;
  let loadgen = '';

  before(async () => {
    broker = await startBroker({ settings: { 'num.partitions': 2 } });
  });

  after(async () => {
    await broker.stop();
  });

  const ready = async (t: TestContext): Promise<boolean> => {
    if (!toolchainPresent()) {
      const message =
        'gcc and librdkafka-dev are needed (sudo bash .ci/install-system-packages.sh)';
      if (inContinuousIntegration) throw new Error(`${message}; CI=true, so this is a failure`);
      t.skip(message);
      return false;
    }
    if (loadgen === '') {
      const { stdout } = await run('bash', [`${root}bench/loadgen/build.sh`], { timeout: 120_000 });
      loadgen = stdout.trim();
    }
    return true;
  };

  const loadgenRun = async (args: string[]): Promise<Summary[]> => {
    const { stdout } = await run(
      loadgen,
      [...args, '-b', broker.bootstrapServers, '-q', '-T', '60'],
      {
        timeout: 90_000,
      },
    );
    return summaries(stdout);
  };

  it('produces with acks=all and consumes in a group the same count, with latencies', async (t) => {
    if (!(await ready(t))) return;
    const [produced] = await loadgenRun([
      'produce',
      '-t',
      'lg',
      '-n',
      '2000',
      '-s',
      '200',
      '-a',
      '-1',
    ]);
    assert.equal(produced.role, 'produce');
    assert.equal(produced.messages, 2000);
    assert.equal(produced.bytes, 2000 * 200);
    assert.ok(produced.latency_us!.p50 > 0 && produced.latency_us!.p99 >= produced.latency_us!.p50);
    assert.equal(
      broker.replicas.partition('lg', 0)!.highWatermark +
        broker.replicas.partition('lg', 1)!.highWatermark,
      2000,
    );

    const [consumed] = await loadgenRun(['consume', '-t', 'lg', '-g', 'lg-group', '-n', '2000']);
    assert.equal(consumed.role, 'consume');
    assert.equal(consumed.messages, 2000);
    assert.equal(consumed.bytes, 2000 * 200);
  });

  it('end to end at a set rate reports both roles and end-to-end latencies', async (t) => {
    if (!(await ready(t))) return;
    await loadgenRun(['produce', '-t', 'lg-e2e', '-n', '1', '-s', '8']); // creates the topic
    const roles = await loadgenRun([
      'e2e',
      '-t',
      'lg-e2e',
      '-g',
      'lg-e2e',
      '-n',
      '500',
      '-s',
      '100',
      '-r',
      '1000',
      '-l',
      '0',
    ]);
    const consumed = roles.find((summary) => summary.role === 'consume')!;
    assert.equal(roles.find((summary) => summary.role === 'produce')!.messages, 500);
    // The topic already held the one record above, written before the consumer's clock started.
    assert.ok(consumed.messages >= 500);
    assert.ok(consumed.latency_us!.p50 > 0);
  });

  it('spread: many producer instances send to every partition of every topic, in equal shares', async (t) => {
    if (!(await ready(t))) return;
    // Three topics of two partitions (num.partitions), created by a first record each.
    for (const topic of ['lg-spread-0', 'lg-spread-1', 'lg-spread-2'])
      await loadgenRun(['produce', '-t', topic, '-n', '1', '-s', '8']);
    const before = (topic: string, partition: number): number =>
      broker.replicas.partition(topic, partition)!.highWatermark;
    const start = new Map<string, number>();
    for (let topic = 0; topic < 3; topic++)
      for (let partition = 0; partition < 2; partition++)
        start.set(`${topic}-${partition}`, before(`lg-spread-${topic}`, partition));
    const [produced] = await loadgenRun([
      'spread',
      '-t',
      'lg-spread-',
      '-k',
      '3',
      '-p',
      '2',
      '-c',
      '4',
      '-n',
      '1200',
      '-s',
      '64',
      '-a',
      'all',
    ]);
    assert.equal(produced.role, 'produce');
    assert.equal(produced.messages, 1200);
    assert.equal(produced.bytes, 1200 * 64);
    for (let topic = 0; topic < 3; topic++)
      for (let partition = 0; partition < 2; partition++)
        assert.equal(
          before(`lg-spread-${topic}`, partition) - start.get(`${topic}-${partition}`)!,
          200,
          `lg-spread-${topic} partition ${partition} took its sixth`,
        );
  });

  it('refuses a run without a topic with its usage', async (t) => {
    if (!(await ready(t))) return;
    const result = spawnSync(loadgen, ['produce', '-b', broker.bootstrapServers], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 64);
    assert.match(result.stderr, /usage: loadgen/);
  });
});
