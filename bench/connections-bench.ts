// Idle connections on one broker (issue 14): a broker process (the compiled CLI, as `npm start`
// runs it) gets N idle client connections, each after one ApiVersions, the way a fleet of
// services that produce rarely keeps its connections open. Prints, beside the disk's fsync
// latency measured in the same run:
//   - the broker's resident memory per idle connection (goal: 10,000 of them within 150 MB);
//   - the acknowledgement latency of one active producer (librdkafka, bench/loadgen, acks=all,
//     linger 0, a steady rate) without and with the idle connections, rounds alternating, and
//     the p99 ratio (goal: at most 1.20).
//
//   node --import tsx bench/connections-bench.ts [--connections N] [--rounds N] [--rate N]
//
// Needs gcc and librdkafka-dev for the load generator (.ci/install-system-packages.sh), and an
// open-file limit above N (`ulimit -n`). Speed is compared as ratios within one run, never
// asserted.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaConnection } from '../src/client/kafka-connection.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { startBrokerProcess } from './broker-process.js';
import { measureFsyncLatency } from './machine-limits.js';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const connectionCount = Number(argument('--connections', '10000'));
const rounds = Number(argument('--rounds', '3'));
const rate = Number(argument('--rate', '2000'));
const repositoryRoot = new URL('..', import.meta.url).pathname;

interface ProduceFigures {
  msgs_per_s: number;
  latency_us: { p50: number; p99: number; p999: number; max: number };
}

function residentMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function produceRound(loadgen: string, bootstrap: string): ProduceFigures {
  const output = execFileSync(
    loadgen,
    [
      ...['produce', '-b', bootstrap, '-t', 'connections-bench'],
      ...['-n', String(rate * 5), '-s', '100', '-a', '-1', '-r', String(rate), '-l', '0'],
      ...['-q', '-T', '120'],
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
  if (line === undefined) throw new Error(`loadgen printed no summary:\n${output}`);
  return JSON.parse(line) as ProduceFigures;
}

/** Opens `count` connections, each answered one ApiVersions, and leaves them idle. */
async function openIdle(bootstrap: string, count: number): Promise<KafkaConnection[]> {
  const opened: KafkaConnection[] = [];
  const batch = 200;
  for (let start = 0; start < count; start += batch) {
    const connections = await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, () =>
        KafkaConnection.open(bootstrap, { clientId: 'idle', requestTimeoutMs: 60_000 }),
      ),
    );
    await Promise.all(
      connections.map((connection) =>
        connection.request(ApiKey.ApiVersions, 3, {
          clientSoftwareName: 'connections-bench',
          clientSoftwareVersion: '1',
        }),
      ),
    );
    opened.push(...connections);
  }
  return opened;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: repositoryRoot, stdio: 'inherit' });
  const loadgen = execFileSync('bash', [join(repositoryRoot, 'bench', 'loadgen', 'build.sh')], {
    encoding: 'utf8',
  }).trim();
  const logDir = await mkdtemp(join(tmpdir(), 'brook-connections-'));
  const fsync = await measureFsyncLatency(logDir);
  console.log(
    `# disk (same run): fdatasync p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms`,
  );
  const { child, bootstrap } = await startBrokerProcess(repositoryRoot, logDir);
  const pid = child.pid!;
  try {
    produceRound(loadgen, bootstrap); // creates the topic and warms the broker
    const without: number[] = [];
    const withIdle: number[] = [];
    const perConnectionKb: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const alone = produceRound(loadgen, bootstrap);
      without.push(alone.latency_us.p99);
      const restingMb = residentMegabytes(pid);
      const idle = await openIdle(bootstrap, connectionCount);
      // Let the broker settle (its per-connection state allocated, GC run) before measuring.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const loadedMb = residentMegabytes(pid);
      const descriptors = openDescriptors(pid);
      const crowded = produceRound(loadgen, bootstrap);
      withIdle.push(crowded.latency_us.p99);
      perConnectionKb.push(((loadedMb - restingMb) * 1024) / connectionCount);
      console.log(
        `round ${round + 1}: RSS ${restingMb.toFixed(0)} -> ${loadedMb.toFixed(0)} MB with ${connectionCount} idle connections (${descriptors} descriptors); ` +
          `producer p50/p99 ${(alone.latency_us.p50 / 1000).toFixed(2)}/${(alone.latency_us.p99 / 1000).toFixed(2)} ms alone, ` +
          `${(crowded.latency_us.p50 / 1000).toFixed(2)}/${(crowded.latency_us.p99 / 1000).toFixed(2)} ms among them`,
      );
      for (const connection of idle) connection.close();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const rssPerConnection = median(perConnectionKb);
    const p99Ratio = median(withIdle) / median(without);
    console.log(
      `\nidle connection: ${rssPerConnection.toFixed(1)} KB of broker RSS each; ${connectionCount} of them ${((rssPerConnection * connectionCount) / 1024).toFixed(0)} MB (goal for 10,000: <= 150 MB)`,
    );
    console.log(
      `producer p99 at ${rate} msg/s: ${(median(without) / 1000).toFixed(2)} ms alone, ${(median(withIdle) / 1000).toFixed(2)} ms among idle connections; ratio ${p99Ratio.toFixed(2)} (goal <= 1.20); disk fdatasync p99 ${fsync.p99Ms.toFixed(2)} ms`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(logDir, { recursive: true, force: true });
  }
}

await main();
