// The end-to-end step of `npm run bench:broker` alone (issue 14): one librdkafka producer at 10k
// msg/s of 100 B, linger.ms=0, acks=all, and a consumer in the same loadgen process reading them
// (bench/loadgen, mode e2e), against a broker process with bench/e2e-probe.mjs loaded, so a run
// prints beside the latency where the broker's time went: event-loop delay, GC pauses, fdatasync
// and writev as the broker saw them, how many writes came while their file's fdatasync ran (each
// waits for it and the next), how soon a socket write followed an fdatasync, the request
// log's phases per API (sampled), and the broker's CPU per request and per record.
//
//   node --import tsx bench/e2e-bench.ts [--root CHECKOUT]... [--rounds 3] [--count 100000]
//                                        [--rate 10000] [--sample 0] [--node22]
//                                        [--direct | --both-launches] [--node-arg ARG]...
//
// The broker runs as `brook start` runs it: bin/brook, with the node options it chooses for the
// machine, the probe and any --node-arg in BROOK_NODE_OPTIONS. --direct runs node on the compiled
// CLI instead, under node's defaults, as this bench did before 2026-12-06; --both-launches
// alternates the two.
// Each --root is a checkout whose `dist/` is measured (default: this one); with several, the
// rounds alternate between them so the machine's noise falls on each. --node22 measures each one
// on the Node.js 22 of .ci/install-node22.sh too, alternating with the Node running the bench.
// --sample is the request log's sample rate (request.log.sample.rate; 0 turns the log off). Every
// round also takes the disk's own fdatasync latency (4 KiB appends, bench/machine-limits.ts) and
// the load average: the machine is shared, so compare within one run.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BrokerProcess, startBrokerProcess } from './broker-process.js';
import { createOnePartitionTopic, loadgenSummary } from './loadgen-runs.js';
import { measureFsyncLatency } from './machine-limits.js';
import { type NewerNode, newerNode } from '../test/helpers/newer-node.js';

const root = new URL('..', import.meta.url).pathname;
const probe = join(root, 'bench', 'e2e-probe.mjs');

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}
const roots = process.argv.flatMap((argument, index) =>
  argument === '--root' ? [process.argv[index + 1]] : [],
);
if (roots.length === 0) roots.push(root);
const nodes: Array<NewerNode | null> = [null];
if (process.argv.includes('--node22')) {
  const newer = newerNode();
  if (newer === null)
    throw new Error('no Node.js 22 in .bench/node22: run bash .ci/install-node22.sh');
  nodes.push(newer);
}
const rounds = Number(option('rounds', '3'));
const count = Number(option('count', '100000'));
const rate = Number(option('rate', '10000'));
const sampleRate = Number(option('sample', '0'));
/** --node-arg ARG (repeatable): more node flags for the broker (--cpu-prof, --trace-gc, ...). */
const nodeArguments = process.argv.flatMap((argument, index) =>
  argument === '--node-arg' ? [process.argv[index + 1]] : [],
);
type Launch = 'bin/brook' | 'node directly';
const launches: Launch[] = process.argv.includes('--both-launches')
  ? ['bin/brook', 'node directly']
  : process.argv.includes('--direct')
    ? ['node directly']
    : ['bin/brook'];

interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}
interface ProbeResult {
  eventLoopDelay: { p50: number; p99: number; max: number };
  gc: {
    pauses: Percentiles;
    byKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
  };
  cpu: { userUs: number; systemUs: number };
  allocatedBytes: number;
  loopBusyMs: number;
  fdatasync: Percentiles;
  writev: Percentiles;
  writevSync: Percentiles;
  writesBehindFsync: number;
  descriptorWrites: number;
  afterFsync: Percentiles;
  socketWrites: number;
  socketWritevs: number;
  responses: number;
}
interface LoadgenFigures {
  role: 'produce' | 'consume';
  messages: number;
  latency_us: { p50: number; p99: number; p999: number; max: number };
}

function ask(broker: BrokerProcess, message: 'start' | 'stop'): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (answer: { probe: string; result?: ProbeResult; error?: string }): void => {
      if (answer.probe !== message) return;
      broker.child.off('message', onMessage);
      if (answer.error !== undefined) reject(new Error(`probe: ${answer.error}`));
      else resolve(answer.result!);
    };
    broker.child.on('message', onMessage);
    broker.child.send(message);
  });
}

function percentilesOf(values: number[]): string {
  if (values.length === 0) return 'none';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `p50 ${at(0.5).toFixed(3)} p99 ${at(0.99).toFixed(3)} max ${sorted[sorted.length - 1].toFixed(3)}`;
}

/** The request log's sampled lines: each phase's percentiles per API (ms). */
function requestPhases(output: string, from: number): string[] {
  const byApi = new Map<string, Record<string, number[]>>();
  for (const line of output.slice(from).split('\n')) {
    if (!line.startsWith('{') || !line.includes('"totalMs"')) continue;
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const api = String(fields.api);
    const phases = byApi.get(api) ?? {};
    byApi.set(api, phases);
    for (const phase of [
      'totalMs',
      'queueMs',
      'localMs',
      'remoteMs',
      'responseQueueMs',
      'sendMs',
    ]) {
      if (typeof fields[phase] !== 'number') continue;
      (phases[phase] ??= []).push(fields[phase] as number);
    }
  }
  const lines: string[] = [];
  for (const [api, phases] of byApi) {
    lines.push(`  request log ${api} (${phases.totalMs?.length ?? 0} sampled):`);
    for (const [phase, values] of Object.entries(phases))
      lines.push(`    ${phase.padEnd(16)} ${percentilesOf(values)}`);
  }
  return lines;
}

function parseLoadgen(output: string, role: LoadgenFigures['role']): LoadgenFigures {
  return loadgenSummary(output, role) as LoadgenFigures;
}

function nodeVersion(node: NewerNode): string {
  return execFileSync(node.node, ['--version'], { encoding: 'utf8' }).trim();
}

async function oneRound(
  checkout: string,
  node: NewerNode | null,
  launch: Launch,
  loadgen: string,
): Promise<string[]> {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-e2e-'));
  const fsync = await measureFsyncLatency(logDir, { writes: 400 });
  const settings: string[] = [];
  if (sampleRate > 0)
    settings.push('--request-log-enabled', 'true', '--request-log-sample-rate', String(sampleRate));
  const broker = await startBrokerProcess(checkout, logDir, {
    arguments: settings,
    nodeArguments: [...(node?.nodeArgs ?? []), '--import', probe, ...nodeArguments],
    ...(node === null ? {} : { node: node.node }),
    launcher: launch === 'bin/brook',
    ipc: true,
  });
  try {
    await createOnePartitionTopic(broker.bootstrap, 'bench-e2e');
    const loadBefore = loadavg()[0];
    const outputFrom = broker.output().length;
    await ask(broker, 'start');
    const output = execFileSync(
      loadgen,
      [
        ...['e2e', '-b', broker.bootstrap, '-t', 'bench-e2e', '-g', 'bench-e2e'],
        ...['-n', String(count), '-s', '100', '-r', String(rate), '-l', '0', '-a', '-1'],
        ...['-q', '-T', '120'],
      ],
      { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const figures = await ask(broker, 'stop');
    // The request log's lines reach the pipe behind the run (the logger buffers): let them in.
    if (sampleRate > 0) await new Promise((resolve) => setTimeout(resolve, 2000));
    const loadAfter = loadavg()[0];
    const consume = parseLoadgen(output, 'consume');
    const produce = parseLoadgen(output, 'produce');
    const allRequests = figures.responses;
    const cpuUs = figures.cpu.userUs + figures.cpu.systemUs;
    const gcTotal = Object.values(figures.gc.byKind).reduce((sum, kind) => sum + kind.totalMs, 0);
    const ms = (us: number): string => (us / 1000).toFixed(2);
    return [
      `${checkout}${node === null ? '' : ` on ${nodeVersion(node)}`}, ${launch}: load ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}; disk fdatasync p50 ${fsync.p50Ms.toFixed(3)} p99 ${fsync.p99Ms.toFixed(3)} ms`,
      `  end-to-end (consume) p50 ${ms(consume.latency_us.p50)} p99 ${ms(consume.latency_us.p99)} p999 ${ms(consume.latency_us.p999)} max ${ms(consume.latency_us.max)} ms (p99/fsync p99 ${(consume.latency_us.p99 / 1000 / fsync.p99Ms).toFixed(1)})`,
      `  produce ack   p50 ${ms(produce.latency_us.p50)} p99 ${ms(produce.latency_us.p99)} p999 ${ms(produce.latency_us.p999)} max ${ms(produce.latency_us.max)} ms`,
      `  broker CPU ${(cpuUs / 1e6).toFixed(2)} s (user ${(figures.cpu.userUs / 1e6).toFixed(2)}, system ${(figures.cpu.systemUs / 1e6).toFixed(2)}): ${(cpuUs / consume.messages).toFixed(1)} us per record, ${(cpuUs / allRequests).toFixed(1)} us per request (${allRequests} answered); event loop busy ${((figures.loopBusyMs * 1000) / consume.messages).toFixed(1)} us per record`,
      `  heap allocated ${(figures.allocatedBytes / 1e6).toFixed(1)} MB: ${(figures.allocatedBytes / allRequests).toFixed(0)} B per request, ${(figures.allocatedBytes / consume.messages).toFixed(0)} B per record`,
      `  event-loop delay p50 ${figures.eventLoopDelay.p50} p99 ${figures.eventLoopDelay.p99} max ${figures.eventLoopDelay.max} ms`,
      `  gc ${figures.gc.pauses.count} pauses, ${gcTotal.toFixed(1)} ms in all, p99 ${figures.gc.pauses.p99 ?? 0} max ${figures.gc.pauses.max ?? 0} ms; by kind ${JSON.stringify(figures.gc.byKind, (key, value: unknown) => (typeof value === 'number' ? Math.round(value * 100) / 100 : value))}`,
      `  fdatasyncs ${figures.fdatasync.count}: ${(consume.messages / Math.max(1, figures.fdatasync.count)).toFixed(2)} records and ${(allRequests / Math.max(1, figures.fdatasync.count)).toFixed(2)} requests per fdatasync`,
      `  fdatasync in broker ${describe(figures.fdatasync)}; writev ${describe(figures.writev)}; writevSync ${describe(figures.writevSync)}`,
      `  writes while an fdatasync of their file ran: ${figures.writesBehindFsync} of ${figures.descriptorWrites}`,
      `  fdatasync done → socket write ${describe(figures.afterFsync)}`,
      `  socket write calls ${figures.socketWrites} (${(figures.socketWrites / allRequests).toFixed(2)} per request), _writev ${figures.socketWritevs}`,
      ...requestPhases(broker.output(), outputFrom),
    ];
  } finally {
    broker.child.kill('SIGTERM');
    await new Promise((resolve) => broker.child.once('exit', resolve));
    rmSync(logDir, { recursive: true, force: true });
  }
}

function describe(figures: Percentiles): string {
  if (figures.count === 0) return 'none';
  return `${figures.count}× p50 ${figures.p50} p99 ${figures.p99} p999 ${figures.p999} max ${figures.max} ms`;
}

async function main(): Promise<void> {
  const loadgen = execFileSync('bash', [join(root, 'bench', 'loadgen', 'build.sh')], {
    encoding: 'utf8',
  }).trim();
  for (let round = 0; round < rounds; round++) {
    for (const checkout of roots) {
      for (const node of nodes) {
        for (const launch of launches) {
          console.log(`# round ${round + 1} (${new Date().toISOString()})`);
          for (const line of await oneRound(checkout, node, launch, loadgen)) console.log(line);
        }
      }
    }
  }
}

await main();
