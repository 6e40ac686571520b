// num.io.threads measured on a broker process: the same librdkafka load (bench/loadgen) against the
// compiled broker with two settings, by default 1 (the event loop does everything) and 2 (a
// network thread serves the sockets), alternating in each round so both see the same machine. Per
// workload it prints the throughput, the broker's CPU per record (all threads) and the event
// loop's own CPU per record (the main thread, /proc/PID/task/PID: the thread that owns the logs,
// which is what network threads are there to relieve), and the ratio of each figure with the
// second setting to the figure with the first, beside the load generator's ceiling against
// librdkafka's mock cluster measured in the same run. Two workloads produce over an SSL listener
// of the same broker (the network threads then do the encryption too), one of them from eight
// producers, whose connections several network threads share out; its certificates are made fresh
// with openssl.
//
//   npm run bench:io-threads-broker [-- --rounds N] [-- --pin] [-- --threads A,B] [-- --node22]
//
// --node22 runs the broker on the Node.js 22 of .ci/install-node22.sh (with `--threads 2,3`: one
// network thread against two, which need Node 22.12's reusePort).
// --pin runs the load generator on CPU 0 and the broker on CPU 1 (taskset): the broker's threads
// then share one core, which shows what the design costs when there is no core to spare. Without
// it the kernel places the threads (on this two-core machine the load generator needs about one).
// BENCH_QUICK=1 shortens every workload.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BrokerProcess, startBrokerProcess } from './broker-process.js';
import { makeTestCertificates } from '../test/security/certificates.js';
import {
  type LoadgenSummary,
  createOnePartitionTopic,
  loadgenSummary,
  runFromRoot,
} from './loadgen-runs.js';
import { processCpuSeconds, threadCpuSeconds } from './proc-cpu.js';
import { newerNode } from '../test/helpers/newer-node.js';

const root = new URL('..', import.meta.url).pathname;
const quick = process.env.BENCH_QUICK === '1';
const pin = process.argv.includes('--pin');
const roundsFlag = process.argv.indexOf('--rounds');
const rounds = roundsFlag >= 0 ? Number(process.argv[roundsFlag + 1]) : 3;
const threadsFlag = process.argv.indexOf('--threads');
const [first, second] =
  threadsFlag >= 0 ? process.argv[threadsFlag + 1].split(',').map(Number) : [1, 2];
const newer = process.argv.includes('--node22') ? newerNode() : null;
if (process.argv.includes('--node22') && newer === null)
  throw new Error('no Node.js 22 in .bench/node22: run bash .ci/install-node22.sh');

interface Workload {
  readonly name: string;
  readonly topic: string;
  readonly args: (bootstrap: string, topic: string, round: number) => string[];
  /** The listener it talks to (PLAINTEXT unless said). */
  readonly ssl?: boolean;
  readonly role: LoadgenSummary['role'];
  /** Its figure is the latency (end to end), not the rate. */
  readonly latency?: boolean;
}

let loadgen = '';

function loadgenRun(args: string[]): string {
  const full = [...args, '-q', '-T', '120'];
  return pin ? runFromRoot('taskset', ['-c', '0', loadgen, ...full]) : runFromRoot(loadgen, full);
}

/** The process's CPU in all (exited threads included), and its main thread's (the event loop). */
function cpuOf(pid: number): { all: number; loop: number } {
  return { all: processCpuSeconds(pid), loop: threadCpuSeconds(pid, pid) };
}

function threadCount(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

const certificatesDirectory = mkdtempSync(join(tmpdir(), 'brook-io-threads-certificates-'));
const certificates = makeTestCertificates(certificatesDirectory);

/** Waits (bounded) until the broker has printed what `pattern` matches. */
async function waitForOutput(broker: BrokerProcess, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pattern.test(broker.output())) {
    if (Date.now() > deadline)
      throw new Error(`broker never printed ${pattern}:\n${broker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** librdkafka's settings for the SSL listener, whose CA the bench made. */
const sslClient = [
  '-X',
  'security.protocol=ssl',
  '-X',
  `ssl.ca.location=${certificates.caLocation}`,
];

const count100 = quick ? 200_000 : 1_000_000;
const count1k = quick ? 60_000 : 300_000;
const countE2e = quick ? 10_000 : 30_000;

/** The 1 KiB produce workloads' records: count, size, acks=all. */
const records1k = ['-n', String(count1k), '-s', '1024', '-a', '-1'];

const workloads: Workload[] = [
  {
    name: 'produce 100 B, acks=all',
    topic: 'w-100',
    role: 'produce',
    args: (b, t) => ['produce', '-b', b, '-t', t, '-n', String(count100), '-s', '100', '-a', '-1'],
  },
  {
    name: 'produce 1 KiB, acks=all',
    topic: 'w-1k',
    role: 'produce',
    args: (b, t) => ['produce', '-b', b, '-t', t, ...records1k],
  },
  {
    name: 'produce 1 KiB over SSL, acks=all',
    topic: 'w-1k-ssl',
    role: 'produce',
    ssl: true,
    args: (b, t) => ['produce', '-b', b, '-t', t, ...records1k, ...sslClient],
  },
  {
    name: 'produce 1 KiB over SSL, 8 producers, acks=all',
    topic: 'w-1k-ssl-8',
    role: 'produce',
    ssl: true,
    args: (b, t) => ['spread', '-b', b, '-t', t, '-p', '1', '-c', '8', ...records1k, ...sslClient],
  },
  {
    name: 'consume 100 B',
    topic: 'w-100',
    role: 'consume',
    args: (b, t, round) => [
      'consume',
      '-b',
      b,
      '-t',
      t,
      '-g',
      `c-${round}`,
      '-n',
      String(count100),
    ],
  },
  {
    name: 'end-to-end 10k msg/s, linger 0',
    topic: 'w-e2e',
    role: 'consume',
    latency: true,
    args: (b, t, round) => [
      'e2e',
      '-b',
      b,
      '-t',
      t,
      '-g',
      `e-${round}`,
      '-n',
      String(countE2e),
      '-s',
      '100',
      '-r',
      '10000',
      '-l',
      '0',
      '-a',
      '-1',
    ],
  },
];

interface Measured {
  readonly summary: LoadgenSummary;
  readonly cpuPerRecordUs: number;
  readonly loopPerRecordUs: number;
}

async function measureBroker(ioThreads: number, round: number): Promise<Map<string, Measured>> {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-io-threads-'));
  const broker = await startBrokerProcess(root, logDir, {
    // The newer Node loads the compiled broker with its own build of fs-ext (newer-node-hooks.mjs).
    ...(newer === null ? {} : { node: newer.node, nodeArguments: newer.nodeArgs }),
    arguments: [
      '--num-io-threads',
      String(ioThreads),
      '--listeners',
      'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
      '--ssl-keystore-location',
      certificates.serverKeystoreLocation,
    ],
  });
  await waitForOutput(broker, /listening on SSL:\/\/(\S+)/);
  const sslBootstrap = /listening on SSL:\/\/(\S+)/.exec(broker.output())![1];
  const pid = broker.child.pid!;
  if (pin) runFromRoot('taskset', ['-a', '-p', '-c', '1', String(pid)]);
  const measured = new Map<string, Measured>();
  try {
    for (const topic of new Set(workloads.map((workload) => workload.topic)))
      await createOnePartitionTopic(broker.bootstrap, topic);
    for (const workload of workloads) {
      const before = cpuOf(pid);
      const bootstrap = workload.ssl === true ? sslBootstrap : broker.bootstrap;
      const output = loadgenRun(workload.args(bootstrap, workload.topic, round));
      const after = cpuOf(pid);
      const summary = loadgenSummary(output, workload.role);
      measured.set(workload.name, {
        summary,
        cpuPerRecordUs: ((after.all - before.all) * 1e6) / summary.messages,
        loopPerRecordUs: ((after.loop - before.loop) * 1e6) / summary.messages,
      });
    }
    console.log(`  (num.io.threads ${ioThreads}: ${threadCount(pid)} threads in the process)`);
  } finally {
    broker.child.kill('SIGTERM');
    await new Promise((resolve) => broker.child.once('exit', resolve));
    rmSync(logDir, { recursive: true, force: true });
  }
  return measured;
}

function figureOf(workload: Workload, measured: Measured): string {
  const { summary } = measured;
  const rate =
    workload.latency === true && summary.latency_us !== undefined
      ? `p50 ${(summary.latency_us.p50 / 1000).toFixed(2)} ms p99 ${(summary.latency_us.p99 / 1000).toFixed(2)} ms`
      : `${Math.round(summary.msgs_per_s)} msg/s`;
  return `${rate}, CPU ${measured.cpuPerRecordUs.toFixed(2)} us/rec, loop ${measured.loopPerRecordUs.toFixed(2)} us/rec`;
}

async function main(): Promise<void> {
  runFromRoot('npm', ['run', '-s', 'build']);
  loadgen = runFromRoot('bash', [join(root, 'bench', 'loadgen', 'build.sh')]).trim();
  const cores = Number(runFromRoot('nproc', []).trim());
  console.log(
    `# num.io.threads ${first} against ${second}, ${rounds} rounds, ${cores} cores, node ${newer === null ? process.version : runFromRoot(newer.node, ['--version']).trim()}${pin ? ', pinned: load generator CPU 0, broker CPU 1' : ''}`,
  );
  const mock = loadgenSummary(
    loadgenRun(['produce', '-m', '-t', 'mock', '-n', String(count100), '-s', '100', '-a', '-1']),
    'produce',
  );
  console.log(
    `limit: librdkafka's mock cluster, produce 100 B: ${Math.round(mock.msgs_per_s)} msg/s`,
  );
  const ratios = new Map<string, { rate: number[]; cpu: number[]; loop: number[] }>();
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? [first, second] : [second, first];
    const results = new Map<number, Map<string, Measured>>();
    for (const ioThreads of order) results.set(ioThreads, await measureBroker(ioThreads, round));
    console.log(`round ${round} (order ${order.join(', ')})`);
    for (const workload of workloads) {
      const one = results.get(first)!.get(workload.name)!;
      const two = results.get(second)!.get(workload.name)!;
      const rate = (m: Measured): number =>
        workload.latency === true ? m.summary.latency_us!.p99 : m.summary.msgs_per_s;
      const entry = ratios.get(workload.name) ?? { rate: [], cpu: [], loop: [] };
      entry.rate.push(rate(two) / rate(one));
      entry.cpu.push(two.cpuPerRecordUs / one.cpuPerRecordUs);
      entry.loop.push(two.loopPerRecordUs / one.loopPerRecordUs);
      ratios.set(workload.name, entry);
      const ofMock = workload.name.startsWith('produce 100')
        ? ` (${((100 * one.summary.msgs_per_s) / mock.msgs_per_s).toFixed(0)}% / ${((100 * two.summary.msgs_per_s) / mock.msgs_per_s).toFixed(0)}% of mock)`
        : '';
      console.log(`  ${workload.name}${ofMock}`);
      console.log(`    ${first}: ${figureOf(workload, one)}`);
      console.log(`    ${second}: ${figureOf(workload, two)}`);
    }
  }
  console.log(
    `\n# ratios, ${second} threads / ${first} (median of rounds; rate: msg/s, or p99 for end-to-end)`,
  );
  const median = (values: number[]): number =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  for (const [name, entry] of ratios) {
    console.log(
      `${name}: rate ${median(entry.rate).toFixed(2)}, CPU/record ${median(entry.cpu).toFixed(2)}, event loop CPU/record ${median(entry.loop).toFixed(2)}`,
    );
  }
}

try {
  await main();
} finally {
  rmSync(certificatesDirectory, { recursive: true, force: true });
}
