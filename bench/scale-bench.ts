// Many partitions on one broker: a broker process (the real CLI, `brook start`) gets 1,000 topics
// of 10 partitions each from a kafkajs admin client, created 100 topics per CreateTopics, then is
// stopped, started and killed. Prints, beside the fsync latency and the open-file limit measured
// in the same run:
//   - creation time (and partitions per second against fsyncs per second: creation makes files
//     durable, so the fsync rate bounds it);
//   - the broker's resident memory and open file descriptors at rest, after creation;
//   - clean stop (SIGTERM → exit), clean start (spawn → a Metadata answer listing every
//     partition), and start after SIGKILL (the same, after a kill -9 at rest), each start with
//     the CPU time the broker process used until then (all threads), which machine load does
//     not inflate as it does the elapsed time.
//
//   node --import tsx bench/scale-bench.ts [--topics N] [--partitions N] [--batch N]
//                                          [--cpu-prof DIRECTORY] [--log-dir DIRECTORY]
//                                          [--starts N] [--built]
//                                          [--produce] [--producers N] [--records N]
//                                          [--record-bytes N] [--rounds N] [--linger-ms N]
//
// --cpu-prof runs the broker under `node --cpu-prof` and leaves one profile per broker life in
// DIRECTORY (creation, clean start, start after SIGKILL).
// --log-dir keeps the log directory there (created by the first run, reused by the next ones,
// which skip the creation), so clean starts can be compared without creating the topics again.
// --starts times that many clean starts in a row (each stopped cleanly before the next).
// --built runs the compiled CLI (dist/cli/main.js, as `npm start` and an installed `brook` do;
// build it first with `npm run build`) instead of the sources through tsx, whose loader and
// helpers add to every start.
// --produce replaces the stop/start/kill timings by a produce phase on the same broker (after
// the creation, or a clean start of a kept --log-dir): librdkafka (bench/loadgen `spread`, one
// process holding --producers producer instances, default 100, each with its own connections)
// sends --records records (default 200,000) of --record-bytes (default 256) with acks=all,
// every producer spreading its records round-robin over every partition (at most 1,000
// unacknowledged per producer): once over all the topics' partitions, once over one topic of 16
// partitions (`spread-16`), --rounds times (default 1), alternated; the producers' linger.ms is
// --linger-ms (default 5). Per run: MB/s and records/s (acknowledged), acknowledgement latency,
// the broker's fsyncs per second (brook_fsync_duration_seconds' count on /metrics) and their
// mean duration, and the broker's and loadgen's CPU per MB; then the ratio of the two loads.
// Beside them, the same-run fsync limits: one file's rate and the rate of 64 files fsynced
// together.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { REST_IDLE_MS } from '../src/storage/file-pool.js';
import { openFileLimit } from '../src/util/open-file-limit.js';
import { measureFsyncLatency, measureParallelFsyncs } from './machine-limits.js';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const topicCount = Number(argument('--topics', '1000'));
const partitionsPerTopic = Number(argument('--partitions', '10'));
const topicsPerRequest = Number(argument('--batch', '100'));
const cpuProfileDirectory = argument('--cpu-prof', '');
const keptLogDir = argument('--log-dir', '');
const cleanStarts = Number(argument('--starts', '1'));
const built = process.argv.includes('--built');
const produce = process.argv.includes('--produce');
const producerCount = Number(argument('--producers', '100'));
const recordCount = Number(argument('--records', '200000'));
const recordBytes = Number(argument('--record-bytes', '256'));
const produceRounds = Number(argument('--rounds', '1'));
const lingerMs = argument('--linger-ms', '5');
const narrowTopic = 'spread-16';
const narrowPartitions = 16;
const partitionCount = topicCount * partitionsPerTopic;
const repositoryRoot = new URL('..', import.meta.url).pathname;
const mebibyte = 1024 * 1024;

interface BrokerChild {
  readonly child: ChildProcess;
  readonly bootstrapServers: string;
  /** host:port of its HTTP endpoint (/metrics), with --produce only. */
  readonly http: string | null;
  readonly exited: Promise<void>;
  /** Everything the broker printed so far. */
  output(): string;
}

async function startBroker(logDir: string): Promise<BrokerChild> {
  const nodeArgs =
    cpuProfileDirectory === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfileDirectory];
  const child = spawn(
    process.execPath,
    [
      ...(built ? [] : ['--import', 'tsx']),
      ...nodeArgs,
      built
        ? join(repositoryRoot, 'dist', 'cli', 'main.js')
        : join(repositoryRoot, 'src', 'cli', 'main.ts'),
      'start',
      '--log-dirs',
      logDir,
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
      ...(produce ? ['--http-listeners', 'http://127.0.0.1:0'] : []),
    ],
    { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let started = false;
  /** The broker's first error lines (a failed phase shows why). */
  const errorLines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      // Once started, only the output's tail is kept (for the report of a failed phase).
      if (started) {
        for (const line of chunk.toString().split('\n'))
          if (line.includes('"level":"error"') && errorLines.length < 5) errorLines.push(line);
        if (output.length > 256 * 1024) output = output.slice(-128 * 1024);
        return;
      }
      const match = /listening on PLAINTEXT:\/\/[^:\s]+:(\d+)/.exec(output);
      // The HTTP line comes after the listener lines, in the same write or a later one.
      if (match && (!produce || /HTTP on http:\/\/\S+/.test(output))) {
        started = true;
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}:\n${output}`)));
  });
  // Keep draining output so the broker never blocks on a full pipe.
  const http = /HTTP on http:\/\/(\S+)/.exec(output)?.[1] ?? null;
  return {
    child,
    bootstrapServers: `127.0.0.1:${port}`,
    http,
    exited,
    output: () => [...errorLines, output.split('\n').slice(-3).join('\n')].join('\n'),
  };
}

function kafka(bootstrapServers: string): Kafka {
  return new Kafka({
    clientId: 'scale-bench',
    brokers: [bootstrapServers],
    logLevel: logLevel.NOTHING,
    requestTimeout: 600_000,
    retry: { retries: 0 },
  });
}

/** Polls Metadata until it lists every topic with every partition led. */
async function waitForMetadata(bootstrapServers: string, deadlineMs: number): Promise<void> {
  const admin = kafka(bootstrapServers).admin();
  try {
    await admin.connect();
    while (performance.now() < deadlineMs) {
      try {
        const metadata = await admin.fetchTopicMetadata();
        const led = metadata.topics
          .filter((topic) => topic.name.startsWith('scale-'))
          .reduce(
            (sum, topic) =>
              sum + topic.partitions.filter((partition) => partition.leader >= 0).length,
            0,
          );
        if (led === partitionCount) return;
      } catch {
        // Not serving yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('Metadata did not list every partition in time');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** CPU time the process used so far, all threads, user and system (seconds): load-independent. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime, fields 14 and 15 of the line (11 and 12 after the command), in clock ticks.
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function openFileDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function stopClean(broker: BrokerChild): Promise<number> {
  const started = performance.now();
  broker.child.kill('SIGTERM');
  await broker.exited;
  return performance.now() - started;
}

async function startToMetadata(
  logDir: string,
): Promise<{ broker: BrokerChild; ms: number; cpuSeconds: number }> {
  const started = performance.now();
  const broker = await startBroker(logDir);
  await waitForMetadata(broker.bootstrapServers, started + 600_000);
  const ms = performance.now() - started;
  return { broker, ms, cpuSeconds: cpuSeconds(broker.child.pid!) };
}

/** Creates the topics through CreateTopics; leaves the broker running, and at rest. */
async function createTopics(broker: BrokerChild, fsyncsPerSecond: number): Promise<void> {
  const admin = kafka(broker.bootstrapServers).admin();
  await admin.connect();
  const createStarted = performance.now();
  for (let first = 0; first < topicCount; first += topicsPerRequest) {
    const topics = [];
    for (let index = first; index < Math.min(first + topicsPerRequest, topicCount); index++)
      topics.push({ topic: `scale-${index}`, numPartitions: partitionsPerTopic });
    await admin.createTopics({ topics, waitForLeaders: false, timeout: 600_000 });
  }
  await waitForMetadata(broker.bootstrapServers, performance.now() + 600_000);
  const createMs = performance.now() - createStarted;
  await admin.disconnect();
  const partitionsPerSecond = partitionCount / (createMs / 1000);
  console.log(
    `creation: ${(createMs / 1000).toFixed(1)} s, ${Math.round(partitionsPerSecond)} partitions/s (${(partitionsPerSecond / fsyncsPerSecond).toFixed(2)} partitions per fsync of this disk)`,
  );
}

/** One role's summary line from loadgen (see bench/loadgen/loadgen.c). */
interface LoadgenFigures {
  messages: number;
  bytes: number;
  seconds: number;
  msgs_per_s: number;
  MB_per_s: number;
  latency_us: { p50: number; p99: number; p999: number; max: number };
  /** loadgen's own CPU time, all threads (its metadata look-ups before the clock included). */
  cpu_s: number;
}

interface ProduceFigures {
  readonly load: LoadgenFigures;
  readonly fsyncsPerSecond: number;
  readonly fsyncMeanMs: number;
  readonly brokerCpuMsPerMegabyte: number;
}

/** brook_fsync_duration_seconds' count and sum, and Produce's errors, from the broker's /metrics. */
async function fsyncTotals(
  http: string,
): Promise<{ count: number; seconds: number; produceErrors: number }> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  let produceErrors = 0;
  for (const match of text.matchAll(/^brook_request_errors_total\{api="Produce",[^}]*\} (\S+)$/gm))
    produceErrors += Number(match[1]);
  const count = /^brook_fsync_duration_seconds_count(?:\{\})? (\S+)$/m.exec(text);
  const sum = /^brook_fsync_duration_seconds_sum(?:\{\})? (\S+)$/m.exec(text);
  if (count === null || sum === null)
    throw new Error('no brook_fsync_duration_seconds on /metrics');
  return { count: Number(count[1]), seconds: Number(sum[1]), produceErrors };
}

/** One loadgen `spread` run against the broker, with the broker's fsyncs and CPU over it. */
async function produceOnce(
  loadgen: string,
  broker: BrokerChild,
  target: { topic: string; topics: number; partitions: number },
): Promise<ProduceFigures> {
  const pid = broker.child.pid!;
  const fsyncsBefore = await fsyncTotals(broker.http!);
  const cpuBefore = cpuSeconds(pid);
  const { stdout } = await promisify(execFile)(
    loadgen,
    [
      'spread',
      '-b',
      broker.bootstrapServers,
      '-t',
      target.topic,
      ...(target.topics > 0 ? ['-k', String(target.topics)] : []),
      '-p',
      String(target.partitions),
      '-c',
      String(producerCount),
      '-n',
      String(recordCount),
      '-s',
      String(recordBytes),
      '-a',
      'all',
      '-l',
      lingerMs,
      '-q',
      '-T',
      '900',
    ],
    { encoding: 'utf8', timeout: 1_000_000, maxBuffer: 16 * mebibyte },
  ).catch((error: unknown) => {
    const tail = broker.output();
    console.log(`!! loadgen failed (${(error as Error).message.split('\n')[0]}); broker:\n${tail}`);
    throw error;
  });
  const cpuUsed = cpuSeconds(pid) - cpuBefore;
  const fsyncsAfter = await fsyncTotals(broker.http!);
  const line = stdout.split('\n').find((text) => text.startsWith('{"role":"produce"'));
  if (line === undefined) throw new Error(`loadgen printed no produce summary:\n${stdout}`);
  const load = JSON.parse(line) as LoadgenFigures;
  // The broker's counters include the metadata look-ups before loadgen's clock starts; the
  // fsyncs of those are few (none is a log append), so the window is loadgen's own.
  const fsyncs = fsyncsAfter.count - fsyncsBefore.count;
  const errors = fsyncsAfter.produceErrors - fsyncsBefore.produceErrors;
  if (errors > 0) {
    const tail = broker.output();
    console.log(
      `!! ${errors} partition errors in Produce responses (retried by librdkafka); broker:\n${tail}`,
    );
  }
  return {
    load,
    fsyncsPerSecond: fsyncs / load.seconds,
    fsyncMeanMs: fsyncs === 0 ? 0 : ((fsyncsAfter.seconds - fsyncsBefore.seconds) * 1000) / fsyncs,
    brokerCpuMsPerMegabyte: (cpuUsed * 1000) / (load.bytes / 1e6),
  };
}

function describeProduce(label: string, figures: ProduceFigures): string {
  const { load } = figures;
  return (
    `${label}: ${load.MB_per_s.toFixed(2)} MB/s, ${Math.round(load.msgs_per_s)} records/s ` +
    `(${load.messages} in ${load.seconds.toFixed(1)} s), ack p50 ${(load.latency_us.p50 / 1000).toFixed(0)} ms ` +
    `p99 ${(load.latency_us.p99 / 1000).toFixed(0)} ms; broker ${Math.round(figures.fsyncsPerSecond)} fsyncs/s ` +
    `(mean ${figures.fsyncMeanMs.toFixed(2)} ms), CPU ${figures.brokerCpuMsPerMegabyte.toFixed(0)} ms/MB ` +
    `(loadgen ${((load.cpu_s * 1000) / (load.bytes / 1e6)).toFixed(0)} ms/MB)`
  );
}

/** The produce phase (--produce): every partition against one topic of 16, same broker, same run. */
async function producePhase(broker: BrokerChild): Promise<void> {
  const loadgen = execFileSync('bash', [join(repositoryRoot, 'bench', 'loadgen', 'build.sh')], {
    encoding: 'utf8',
  }).trim();
  const admin = kafka(broker.bootstrapServers).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(narrowTopic))
      await admin.createTopics({
        topics: [{ topic: narrowTopic, numPartitions: narrowPartitions }],
        waitForLeaders: true,
        timeout: 60_000,
      });
  } finally {
    await admin.disconnect();
  }
  console.log(
    `\n# produce: ${producerCount} librdkafka producers in one loadgen process, ${recordCount} records of ${recordBytes} B, acks=all, linger.ms ${lingerMs}, each producer round-robin over every partition (load: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`,
  );
  const wide: ProduceFigures[] = [];
  const narrow: ProduceFigures[] = [];
  for (let round = 1; round <= produceRounds; round++) {
    const label = produceRounds > 1 ? ` (round ${round})` : '';
    const many = await produceOnce(loadgen, broker, {
      topic: 'scale-',
      topics: topicCount,
      partitions: partitionsPerTopic,
    });
    wide.push(many);
    console.log(describeProduce(`${partitionCount} partitions${label}`, many));
    const few = await produceOnce(loadgen, broker, {
      topic: narrowTopic,
      topics: 0,
      partitions: narrowPartitions,
    });
    narrow.push(few);
    console.log(describeProduce(`${narrowPartitions} partitions${label}`, few));
    console.log(
      `ratio ${partitionCount} / ${narrowPartitions} partitions${label}: ${(many.load.MB_per_s / few.load.MB_per_s).toFixed(2)} (goal ≥ 0.5)`,
    );
  }
  console.log(
    `load after the produce phase: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  // What the load left open: the descriptor pool keeps files in use past its rest bound, and
  // closes them again once they have gone unused (storage/file-pool.ts).
  const pid = broker.child.pid!;
  const busy = openFileDescriptors(pid);
  await new Promise((resolve) => setTimeout(resolve, REST_IDLE_MS + 3000));
  console.log(
    `open fds right after the produce phase: ${busy}; at rest ${(REST_IDLE_MS + 3000) / 1000} s later: ${openFileDescriptors(pid)}`,
  );
}

async function main(): Promise<void> {
  const reused = keptLogDir !== '' && existsSync(join(keptLogDir, 'scale-0-0'));
  const logDir =
    keptLogDir === '' ? await mkdtemp(join(tmpdir(), 'brook-scale-bench-')) : keptLogDir;
  await mkdir(logDir, { recursive: true });
  let broker: BrokerChild | undefined;
  try {
    console.log('# machine limits (same run, same disk)');
    const fsync = await measureFsyncLatency(logDir, { writes: 200 });
    console.log(
      `fsync 4 KiB: p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms, ${Math.round(fsync.syncsPerSecond)} fsyncs/s`,
    );
    if (produce) {
      const parallel = await measureParallelFsyncs(logDir, { files: 64, rounds: 10 });
      console.log(
        `fsync 256 B, 64 files at once (UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'unset: 4'}): ${Math.round(parallel)} fsyncs/s`,
      );
    }
    console.log(`open-file limit (ulimit -n): ${openFileLimit() ?? 'unknown'}`);
    console.log(
      `\n# ${topicCount} topics × ${partitionsPerTopic} partitions = ${partitionCount} partitions, ${topicsPerRequest} topics per CreateTopics`,
    );

    if (reused) {
      console.log(`reusing ${logDir}: creation skipped`);
    } else {
      broker = await startBroker(logDir);
      await createTopics(broker, fsync.syncsPerSecond);
      // At rest: let the creation's garbage and background work settle first, and the descriptor
      // pool close what it kept open past its rest bound while the logs were in use.
      await new Promise((resolve) => setTimeout(resolve, REST_IDLE_MS + 3000));
      const pid = broker.child.pid!;
      console.log(
        `at rest: RSS ${Math.round(residentBytes(pid) / mebibyte)} MiB, ${openFileDescriptors(pid)} open fds (limit ${openFileLimit() ?? 'unknown'})`,
      );
      if (produce) {
        await producePhase(broker);
        await stopClean(broker);
        broker = undefined;
        return;
      }
      console.log(
        `clean stop (SIGTERM → exit): ${((await stopClean(broker)) / 1000).toFixed(1)} s`,
      );
      broker = undefined;
    }

    if (produce) {
      const clean = await startToMetadata(logDir);
      broker = clean.broker;
      await producePhase(broker);
      await stopClean(broker);
      broker = undefined;
      return;
    }

    for (let start = 1; start <= cleanStarts; start++) {
      if (broker !== undefined) {
        console.log(
          `clean stop (SIGTERM → exit): ${((await stopClean(broker)) / 1000).toFixed(1)} s`,
        );
        broker = undefined;
      }
      const clean = await startToMetadata(logDir);
      broker = clean.broker;
      console.log(
        `clean start (spawn → Metadata lists every partition): ${(clean.ms / 1000).toFixed(1)} s (broker CPU ${clean.cpuSeconds.toFixed(1)} s)`,
      );
    }
    // At rest, as after the creation (the descriptor pool's sweep included).
    await new Promise((resolve) => setTimeout(resolve, REST_IDLE_MS + 3000));
    console.log(
      `after a clean start, at rest: RSS ${Math.round(residentBytes(broker!.child.pid!) / mebibyte)} MiB, ${openFileDescriptors(broker!.child.pid!)} open fds`,
    );

    broker!.child.kill('SIGKILL');
    await broker!.exited;
    broker = undefined;
    const recovered = await startToMetadata(logDir);
    broker = recovered.broker;
    console.log(
      `start after SIGKILL (spawn → Metadata lists every partition): ${(recovered.ms / 1000).toFixed(1)} s (broker CPU ${recovered.cpuSeconds.toFixed(1)} s)`,
    );
    await stopClean(broker);
    broker = undefined;
  } finally {
    if (broker !== undefined) {
      broker.child.kill('SIGKILL');
      await broker.exited;
    }
    if (keptLogDir === '') await rm(logDir, { recursive: true, force: true });
  }
}

await main();
