// What a Prometheus scrape does to produce latency (issue 13: scraping /metrics must not move
// produce p99 by more than 10%). A broker process (the real CLI, `brook start`, with
// http.listeners) holds topics × partitions partitions and that many groups, each with committed
// offsets on 10 partitions; librdkafka (bench/loadgen) produces a steady paced load with acks=all
// to one 8-partition topic, and this process scrapes /metrics every interval (1 s, as Prometheus
// would, and 100 ms as a stress point) in every other round:
//
//   interval 1 s:    A (no scraper) B (scraper) A B A B ...
//   interval 100 ms: A B A B ...
//
// so machine noise falls on both alike. Each round prints loadgen's produce latency (enqueue to
// acknowledgement, per record: p50, p99, p999), the broker's CPU, its longest event-loop delay
// (its own monitorEventLoopDelay, as /metrics reports it) and the scrapes' own times; each
// interval ends with the medians over rounds and the ratio of p99 with/without the scraper (goal
// ≤ 1.10), beside the fsync latency and loopback throughput measured in the same run on the same
// disk (a produce with acks=all waits for an fsync).
//
//   node --import tsx bench/scrape-latency-bench.ts [--topics 100] [--partitions 100]
//        [--groups 1000] [--rounds 3] [--seconds 10] [--rate 5000] [--linger 5]
//        [--intervals 1000,100] [--idle-scrapes N] [--control] [--identity]
//        [--cpu-prof DIRECTORY] [--broker-root CHECKOUT] [--allocation] [--built | --launcher]
//        [--broker-node-options '--trace-gc ...'] [--broker-log FILE]
//
// --built runs the compiled CLI (dist/cli/main.js, which bin/brook runs, here with node's defaults;
// `npm run build` first, in each checkout measured) instead of the sources through tsx. The
// figures to compare with the goal are the compiled broker's: tsx compiles with esbuild's
// keepNames, which names every function through Object.defineProperty, and such a function keeps
// its properties in a dictionary of its own (with 10,000 partitions, about 180,000 of them: 46 MB of
// a 176 MB heap), so each major collection marks far more than the compiled broker's would.
// --launcher runs the broker as `brook start` does: bin/brook, which execs node on the compiled CLI
// with the options it chooses for the machine (--v8-pool-size=1 on one or two cores), and the
// bench's own node options through BROOK_NODE_OPTIONS.
// --idle-scrapes N first scrapes N times back to back with no load, N asking for gzip and N not,
// and prints the broker's CPU per scrape each way (with --rounds 0, that alone).
// --allocation runs the broker with a young generation of 128 MB (scavenged about every 128 MB
// allocated, not every few MB) and adds to the idle figures the bytes the broker allocated per
// scrape: the growth of its used heap (the heap gauge each scrape reads) from one scrape to the
// next, over the pairs with no collection in between (the median and the mean of those pairs).
// --linger is librdkafka's linger.ms (5, its default: a request carries what 5 ms gathered).
// --broker-root runs the broker of another checkout (with its node_modules), the same load and
// scraper, so a change and its base are measured by one bench on one machine.
// --control adds a third kind of round (C): the same scraper fetching the same bytes from a
// separate process that serves them ready-made, so what the scraper and the transfer cost on a
// shared machine is told apart from what the broker's own scrape costs.
// --identity scrapes without gzip (a scraper, like Prometheus, asks for gzip by default; the
// broker then sends about a tenth of the bytes).
// --broker-node-options passes node's own options to the broker, space-separated (`--trace-gc
// --trace-incremental-marking`, `--heapsnapshot-signal=SIGUSR2`); with --broker-log (below) what
// they print is kept beside each round's start and end.
// --cpu-prof runs the broker under `node --cpu-prof` and leaves its profile in DIRECTORY (written
// when the broker stops at the end). Needs gcc and librdkafka-dev for the load generator.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Kafka, logLevel } from 'kafkajs';

import { AdminClient } from '../src/client/admin-client.js';
import { measureFsyncLatency, measureLoopbackTcp } from './machine-limits.js';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const topicCount = Number(argument('topics', '100'));
const partitionsPerTopic = Number(argument('partitions', '100'));
const groupCount = Number(argument('groups', '1000'));
const partitionsPerGroup = 10;
const rounds = Number(argument('rounds', '3'));
const roundSeconds = Number(argument('seconds', '10'));
const recordsPerSecond = Number(argument('rate', '5000'));
const intervalsMs = argument('intervals', '1000,100').split(',').map(Number);
const lingerMs = argument('linger', '5');
const cpuProfileDirectory = argument('cpu-prof', '');
const idleScrapes = Number(argument('idle-scrapes', '0'));
const control = process.argv.includes('--control');
const measureAllocation = process.argv.includes('--allocation');
/**
 * Scrapes ask for gzip, as Prometheus does (fetch asks for it and decodes), unless --identity:
 * the uncompressed answer, to compare the two in one run.
 */
const scrapeHeaders: Record<string, string> = process.argv.includes('--identity')
  ? { 'accept-encoding': 'identity' }
  : {};
/** Whose broker runs: another checkout (its src/cli/main.ts), to compare a change with its base. */
const brokerRoot = argument('broker-root', new URL('..', import.meta.url).pathname);
const launcher = process.argv.includes('--launcher');
const built = launcher || process.argv.includes('--built');
const brokerNodeOptions = argument('broker-node-options', '').split(' ').filter(Boolean);
/**
 * --broker-log FILE keeps the broker's own output (its slow-request warnings among it: the broker
 * runs with request.log.slow.ms 200 then) with each round's start and end, all timestamped, so a
 * stalled round can be matched with what the broker said during it.
 */
const brokerLog = argument('broker-log', '');
function noteInBrokerLog(text: string): void {
  if (brokerLog !== '') appendFileSync(brokerLog, `${new Date().toISOString()} ${text}\n`);
}
const loadTopic = 'load';
const repositoryRoot = new URL('..', import.meta.url).pathname;

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

interface BrokerChild {
  readonly child: ChildProcess;
  readonly bootstrapServers: string;
  readonly metricsUrl: string;
  readonly exited: Promise<void>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function startBrokerProcess(logDir: string): Promise<BrokerChild> {
  const profiling: string[] =
    cpuProfileDirectory === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfileDirectory];
  if (measureAllocation) profiling.push('--min-semi-space-size=128', '--max-semi-space-size=128');
  const nodeOptions = [...(built ? [] : ['--import', 'tsx']), ...profiling, ...brokerNodeOptions];
  const child = spawn(
    launcher ? join(brokerRoot, 'bin', 'brook') : process.execPath,
    [
      ...(launcher
        ? []
        : [
            ...nodeOptions,
            built
              ? join(brokerRoot, 'dist', 'cli', 'main.js')
              : join(brokerRoot, 'src', 'cli', 'main.ts'),
          ]),
      'start',
      '--log-dirs',
      logDir,
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
      '--http-listeners',
      'http://127.0.0.1:0',
    ],
    {
      cwd: brokerRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...(launcher ? { BROOK_NODE_OPTIONS: nodeOptions.join(' ') } : {}),
        ...(brokerLog === ''
          ? {}
          : { BROOK_REQUEST_LOG_SLOW_MS: process.env.BROOK_REQUEST_LOG_SLOW_MS ?? '200' }),
      },
    },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const [kafkaPort, httpPort] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${output}`)), 60_000);
    // Drained for the whole run, so the broker never blocks on a full pipe.
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      noteInBrokerLog(`broker: ${chunk.toString().trimEnd()}`);
      const kafka = /listening on PLAINTEXT:\/\/[^:\s]+:(\d+)/.exec(output);
      const http = /HTTP on http:\/\/[^:\s]+:(\d+)/.exec(output);
      if (kafka && http) {
        clearTimeout(timer);
        resolve([kafka[1], http[1]]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}:\n${output}`)));
  });
  return {
    child,
    bootstrapServers: `127.0.0.1:${kafkaPort}`,
    metricsUrl: `http://127.0.0.1:${httpPort}/metrics`,
    exited,
  };
}

/** 10,000 partitions (by default), 1,000 groups with offsets on 10 each, and the load topic. */
async function populate(bootstrapServers: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'scrape-latency-bench',
    brokers: [bootstrapServers],
    logLevel: logLevel.NOTHING,
    requestTimeout: 600_000,
  }).admin();
  await admin.connect();
  try {
    for (let first = 0; first < topicCount; first += 20) {
      const topics = [];
      for (let index = first; index < Math.min(topicCount, first + 20); index++)
        topics.push({ topic: `bench-${index}`, numPartitions: partitionsPerTopic });
      await admin.createTopics({ topics, waitForLeaders: false, timeout: 600_000 });
    }
    await admin.createTopics({ topics: [{ topic: loadTopic, numPartitions: 8 }] });
    // Offsets committed without joining (kafkajs' setOffsets joins each group, seconds apiece).
    const client = new AdminClient({
      bootstrapServer: bootstrapServers,
      clientId: 'scrape-latency-bench',
      requestTimeoutMs: 600_000,
    });
    try {
      const offsets = new Map<number, bigint>();
      for (
        let partition = 0;
        partition < Math.min(partitionsPerGroup, partitionsPerTopic);
        partition++
      )
        offsets.set(partition, 0n);
      for (let group = 0; group < groupCount; group++)
        await client.commitOffsets(`bench-group-${group}`, `bench-${group % topicCount}`, offsets);
    } finally {
      client.close();
    }
  } finally {
    await admin.disconnect();
  }
}

/** The broker's user+system CPU so far, in seconds (/proc/PID/stat, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  return userAndSystemSeconds(pid).reduce((total, seconds) => total + seconds, 0);
}

/** The broker's user and its system (kernel) CPU so far, in seconds. */
function userAndSystemSeconds(pid: number): [user: number, system: number] {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

/**
 * One scrape: its time, and the broker's longest event-loop delay since the scrape before (the
 * broker's own monitorEventLoopDelay histogram, which each scrape reads and resets).
 */
async function scrape(
  url: string,
  headers = scrapeHeaders,
): Promise<{ ms: number; eventLoopDelayMaxMs: number; gc: GcTotals; heapUsedBytes: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers });
  // Bytes, not text: the scraper shares the cores with the broker, so it decodes one line only.
  const body = Buffer.from(await response.arrayBuffer());
  const ms = performance.now() - started;
  const name = '\nbrook_nodejs_eventloop_lag_max_seconds ';
  const at = body.indexOf(name);
  const delay =
    at < 0
      ? null
      : /^(\S+)/.exec(body.subarray(at + name.length, at + name.length + 40).toString());
  if (response.status !== 200 || delay === null)
    throw new Error(`/metrics answered ${response.status} without the event-loop delay`);
  const heapName = '\nbrook_nodejs_heap_size_used_bytes ';
  const heapAt = body.indexOf(heapName);
  const heapUsedBytes = Number(
    /^(\S+)/.exec(
      body.subarray(heapAt + heapName.length, heapAt + heapName.length + 40).toString(),
    )?.[1],
  );
  return {
    ms,
    eventLoopDelayMaxMs: Number(delay[1]) * 1000,
    gc: gcTotals(body),
    heapUsedBytes: heapAt < 0 ? NaN : heapUsedBytes,
  };
}

/** The broker's garbage collections so far, by kind: how many, and their seconds in all. */
type GcTotals = Record<'major' | 'minor', { count: number; seconds: number }>;

function gcTotals(body: Buffer): GcTotals {
  const figure = (kind: string, suffix: string): number => {
    const name = `\nbrook_nodejs_gc_duration_seconds_${suffix}{kind="${kind}"} `;
    const at = body.indexOf(name);
    if (at < 0) return 0;
    return Number(
      /^(\S+)/.exec(body.subarray(at + name.length, at + name.length + 40).toString())![1],
    );
  };
  const of = (kind: string) => ({ count: figure(kind, 'count'), seconds: figure(kind, 'sum') });
  return { major: of('major'), minor: of('minor') };
}

/** Scrapes every `intervalMs` (never two at once, as Prometheus does) until `stop` is called. */
function startScraper(
  url: string,
  intervalMs: number,
): { stop: () => Promise<Array<{ ms: number; eventLoopDelayMaxMs: number }>> } {
  const scrapes: Array<{ ms: number; eventLoopDelayMaxMs: number }> = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      scrapes.push(await scrape(url));
      const next = started + intervalMs - performance.now();
      if (next > 0) await new Promise((resolve) => setTimeout(resolve, next));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return scrapes;
    },
  };
}

/**
 * A process serving `file` as it is on every GET, gzipped if the scraper accepts gzip (the
 * control rounds' stand-in for /metrics); returns its URL.
 */
async function startStaticServer(file: string): Promise<{ child: ChildProcess; url: string }> {
  // Gzipped once, for a scraper that accepts gzip, as the broker answers it.
  const source =
    "const body = require('fs').readFileSync(process.argv[1]);" +
    "const gzipped = require('zlib').gzipSync(body, { level: 1 });" +
    "require('http').createServer((request, response) => {" +
    "const gzip = /gzip/.test(request.headers['accept-encoding'] ?? '');" +
    "if (gzip) response.setHeader('content-encoding', 'gzip');" +
    'const answer = gzip ? gzipped : body;' +
    "response.setHeader('content-length', answer.length); response.end(answer);" +
    "}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });";
  const child = spawn(process.execPath, ['-e', source, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the static server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/metrics` };
}

/**
 * One round: the paced load for `roundSeconds`, with a scraper of `scrapeUrl` (the broker's
 * /metrics unless given) when `scrapeIntervalMs` is set.
 */
async function round(
  loadgen: string,
  broker: BrokerChild,
  scrapeIntervalMs: number | null,
  scrapeUrl = broker.metricsUrl,
): Promise<{
  latency: Latency;
  brokerCpuSeconds: number;
  scrapesMs: number[];
  eventLoopDelayMaxMs: number;
  /** The broker's collections during the round (and the one scrape after it). */
  gc: GcTotals;
}> {
  const pid = broker.child.pid!;
  // Resets the broker's event-loop delay histogram: what the round's scrapes (or the one after
  // it) report covers the round alone.
  const before = await scrape(broker.metricsUrl);
  const cpuBefore = cpuSeconds(pid);
  const scraper = scrapeIntervalMs === null ? null : startScraper(scrapeUrl, scrapeIntervalMs);
  const { stdout, stderr } = await promisify(execFile)(loadgen, [
    'produce',
    '-b',
    broker.bootstrapServers,
    '-t',
    loadTopic,
    '-n',
    String(recordsPerSecond * roundSeconds),
    '-s',
    '100',
    '-a',
    '-1',
    '-l',
    lingerMs,
    '-r',
    String(recordsPerSecond),
    '-q',
    '-T',
    String(roundSeconds * 6 + 30),
  ]);
  if (stderr.trim() !== '') noteInBrokerLog(`loadgen: ${stderr.trimEnd()}`);
  const scrapes = (await scraper?.stop()) ?? [];
  const brokerCpuSeconds = cpuSeconds(pid) - cpuBefore;
  const after = await scrape(broker.metricsUrl);
  scrapes.push(after);
  const gc = Object.fromEntries(
    (['major', 'minor'] as const).map((kind) => [
      kind,
      {
        count: after.gc[kind].count - before.gc[kind].count,
        seconds: after.gc[kind].seconds - before.gc[kind].seconds,
      },
    ]),
  ) as GcTotals;
  const summary = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { role: string; latency_us?: Latency })
    .find((figures) => figures.role === 'produce');
  if (summary?.latency_us === undefined) throw new Error(`loadgen printed no latency:\n${stdout}`);
  return {
    latency: summary.latency_us,
    brokerCpuSeconds,
    // The last scrape, after the load, is not the scraper's.
    scrapesMs: scrapes.slice(0, -1).map((one) => one.ms),
    eventLoopDelayMaxMs: Math.max(...scrapes.map((one) => one.eventLoopDelayMaxMs)),
    gc,
  };
}

/** A round's collections: a major one can hold the loop for several milliseconds. */
function describeGc(gc: GcTotals): string {
  const ms = (seconds: number): string => (seconds * 1000).toFixed(0);
  return (
    `GC major ${gc.major.count} (${ms(gc.major.seconds)} ms), ` +
    `minor ${gc.minor.count} (${ms(gc.minor.seconds)} ms)`
  );
}

function describe(latency: Latency): string {
  const ms = (micros: number): string => (micros / 1000).toFixed(2);
  return `p50 ${ms(latency.p50)} ms, p99 ${ms(latency.p99)} ms, p999 ${ms(latency.p999)} ms`;
}

async function main(): Promise<void> {
  const loadgen = execFileSync('bash', [join(repositoryRoot, 'bench', 'loadgen', 'build.sh')], {
    encoding: 'utf8',
  }).trim();
  const logDir = await mkdtemp(join(tmpdir(), 'brook-scrape-latency-'));
  let broker: BrokerChild | undefined;
  let staticServer: { child: ChildProcess; url: string } | undefined;
  try {
    console.log(
      `# machine limits (same run, the broker's disk); load average ${loadavg()[0].toFixed(2)}`,
    );
    const fsync = await measureFsyncLatency(logDir, { writes: 300 });
    const loopback = await measureLoopbackTcp({ totalBytes: 256 * 1024 * 1024 });
    console.log(
      `fsync 4 KiB: p50 ${fsync.p50Ms.toFixed(2)} ms, p99 ${fsync.p99Ms.toFixed(2)} ms; ` +
        `loopback TCP ${loopback.toFixed(0)} MB/s`,
    );

    broker = await startBrokerProcess(logDir);
    const setupStarted = performance.now();
    await populate(broker.bootstrapServers);
    const firstScrapeStarted = performance.now();
    const body = await (await fetch(broker.metricsUrl)).text();
    const firstScrapeMs = performance.now() - firstScrapeStarted;
    const onTheWire = Number(
      (await fetch(broker.metricsUrl, { method: 'HEAD', headers: scrapeHeaders })).headers.get(
        'content-length',
      ),
    );
    console.log(
      `\n# ${topicCount * partitionsPerTopic} partitions, ${groupCount} groups × ${partitionsPerGroup} ` +
        `partitions (set up in ${((firstScrapeStarted - setupStarted) / 1000).toFixed(0)} s); ` +
        `/metrics ${(body.length / 1e6).toFixed(1)} MB (${(onTheWire / 1e6).toFixed(2)} MB sent, ` +
        `${scrapeHeaders['accept-encoding'] ?? 'gzip'}), first scrape ` +
        `${firstScrapeMs.toFixed(0)} ms`,
    );
    console.log(
      `load: loadgen produce, ${recordsPerSecond} records/s of 100 B, acks=all, linger ${lingerMs} ms, ` +
        `${roundSeconds} s a round, ${rounds} rounds each way`,
    );

    if (control) {
      const copy = join(logDir, 'metrics-copy.txt');
      writeFileSync(copy, body);
      staticServer = await startStaticServer(copy);
    }

    // The scrape's own CPU, without the load: scrapes back to back on an idle broker, asking
    // for gzip and not, alternated in rounds of 20 so machine noise falls on both alike.
    const pid = broker.child.pid!;
    const cpuSeconds = (): number => userAndSystemSeconds(pid).reduce((a, b) => a + b, 0);
    // What the broker spends with no scrape at all (timers, housekeeping of its partitions), per
    // millisecond, so a kind of scrape that takes longer is not charged for it.
    const background = async (): Promise<{ cpu: number; ms: number }> => {
      const [cpuBefore, started] = [cpuSeconds(), performance.now()];
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return { cpu: cpuSeconds() - cpuBefore, ms: performance.now() - started };
    };
    const idle = new Map(
      ['gzip', 'identity'].map((encoding) => [
        encoding,
        { user: 0, system: 0, ms: 0, times: [] as number[], allocated: [] as number[] },
      ]),
    );
    const quiet = idleScrapes > 0 ? [await background()] : [];
    for (let done = 0; done < idleScrapes; done += 20) {
      for (const [encoding, totals] of idle) {
        const headers = { 'accept-encoding': encoding };
        for (let index = 0; index < 3; index++) await scrape(broker.metricsUrl, headers);
        const [userBefore, systemBefore] = userAndSystemSeconds(pid);
        const started = performance.now();
        let last = await scrape(broker.metricsUrl, headers);
        for (let index = 0; index < Math.min(20, idleScrapes - done); index++) {
          const next = await scrape(broker.metricsUrl, headers);
          totals.times.push(next.ms);
          const collections = (gc: GcTotals): number => gc.major.count + gc.minor.count;
          // The heap grew by what one whole scrape allocated, if nothing was collected.
          if (collections(next.gc) === collections(last.gc))
            totals.allocated.push(next.heapUsedBytes - last.heapUsedBytes);
          last = next;
        }
        totals.ms += performance.now() - started;
        const [userAfter, systemAfter] = userAndSystemSeconds(pid);
        totals.user += userAfter - userBefore;
        totals.system += systemAfter - systemBefore;
      }
    }
    if (idleScrapes > 0) quiet.push(await background());
    const backgroundPerMs =
      quiet.reduce((sum, { cpu }) => sum + cpu, 0) / quiet.reduce((sum, { ms }) => sum + ms, 0);
    if (idleScrapes > 0)
      console.log(
        `idle broker with no scrape: ${(1000 * backgroundPerMs).toFixed(3)} ms of CPU per ms`,
      );
    for (const [encoding, { allocated, times }] of measureAllocation && idleScrapes > 0
      ? idle
      : []) {
      const kb = (bytes: number): string => (bytes / 1000).toFixed(0);
      const mean = allocated.reduce((sum, bytes) => sum + bytes, 0) / allocated.length;
      console.log(
        `idle broker, ${times.length} scrapes (${encoding}): allocated per scrape, median ` +
          `${kb(median(allocated))} KB, mean ${kb(mean)} KB (${allocated.length} pairs of ` +
          `scrapes with no collection between them)`,
      );
    }
    for (const [encoding, { user, system, ms, times }] of idleScrapes > 0 ? idle : []) {
      const perScrapeMs = (seconds: number): string => ((1000 * seconds) / times.length).toFixed(1);
      console.log(
        `idle broker, ${times.length} scrapes (${encoding}) back to back: broker CPU per scrape ` +
          `${perScrapeMs(user + system)} ms (in the kernel ${perScrapeMs(system)} ms; ` +
          `${perScrapeMs(user + system - backgroundPerMs * ms)} ms without the no-scrape rate), ` +
          `scrape median ${median(times).toFixed(1)} ms`,
      );
    }

    for (const intervalMs of rounds > 0 ? intervalsMs : []) {
      console.log(`\n## scrape every ${intervalMs} ms, rounds alternated without (A) and with (B)`);
      const without: Latency[] = [];
      const withScraper: Latency[] = [];
      const controlled: Latency[] = [];
      const scrapes: number[] = [];
      const delays = { A: [] as number[], B: [] as number[] };
      const cpu = { A: [] as number[], B: [] as number[] };
      for (let index = 0; index < rounds; index++) {
        for (const kind of staticServer === undefined ? ['A', 'B'] : ['A', 'B', 'C']) {
          noteInBrokerLog(`round ${kind} ${index + 1} starts (scrape every ${intervalMs} ms)`);
          if (kind === 'C') {
            const result = await round(loadgen, broker, intervalMs, staticServer!.url);
            controlled.push(result.latency);
            noteInBrokerLog(`round C ${index + 1} ends: ${describe(result.latency)}`);
            console.log(
              `C ${index + 1}: ${describe(result.latency)}; ${describeGc(result.gc)} (scraping the copy)`,
            );
            continue;
          }
          const scraping = kind === 'B';
          const result = await round(loadgen, broker, scraping ? intervalMs : null);
          (scraping ? withScraper : without).push(result.latency);
          noteInBrokerLog(`round ${kind} ${index + 1} ends: ${describe(result.latency)}`);
          scrapes.push(...result.scrapesMs);
          delays[scraping ? 'B' : 'A'].push(result.eventLoopDelayMaxMs);
          cpu[scraping ? 'B' : 'A'].push(result.brokerCpuSeconds);
          const scrapeText = scraping
            ? `; ${result.scrapesMs.length} scrapes, median ${median(result.scrapesMs).toFixed(0)} ms, ` +
              `worst ${Math.max(...result.scrapesMs).toFixed(0)} ms`
            : '';
          console.log(
            `${scraping ? 'B' : 'A'} ${index + 1}: ${describe(result.latency)}; broker CPU ` +
              `${((100 * result.brokerCpuSeconds) / roundSeconds).toFixed(0)}%, event-loop delay max ` +
              `${result.eventLoopDelayMaxMs.toFixed(0)} ms; ${describeGc(result.gc)}${scrapeText}`,
          );
        }
      }
      const medians = (latencies: Latency[]): Latency => ({
        p50: median(latencies.map((latency) => latency.p50)),
        p99: median(latencies.map((latency) => latency.p99)),
        p999: median(latencies.map((latency) => latency.p999)),
        max: median(latencies.map((latency) => latency.max)),
      });
      const a = medians(without);
      const b = medians(withScraper);
      console.log(`median of ${rounds}, without: ${describe(a)}`);
      console.log(`median of ${rounds}, with:    ${describe(b)}`);
      console.log(
        `p99 with/without scraping every ${intervalMs} ms: ${(b.p99 / a.p99).toFixed(2)} ` +
          `(goal ≤ 1.10); p999 ${(b.p999 / a.p999).toFixed(2)}; p99 without is ` +
          `${(a.p99 / 1000 / fsync.p99Ms).toFixed(1)}× this disk's fsync p99; scrape median ` +
          `${median(scrapes).toFixed(0)} ms; load average ${loadavg()[0].toFixed(2)}`,
      );
      if (controlled.length > 0) {
        const c = medians(controlled);
        console.log(
          `median of ${rounds}, scraping a ready-made copy (C): ${describe(c)}; p99 C/A ` +
            `${(c.p99 / a.p99).toFixed(2)}, B/C ${(b.p99 / c.p99).toFixed(2)}`,
        );
      }
      // The scrape's CPU: what the broker spent more with the scraper, per scrape.
      const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
      console.log(
        `broker event-loop delay max, median of rounds: without ${median(delays.A).toFixed(0)} ms, ` +
          `with ${median(delays.B).toFixed(0)} ms; broker CPU per scrape ` +
          `${((1000 * (sum(cpu.B) - sum(cpu.A))) / Math.max(1, scrapes.length)).toFixed(0)} ms`,
      );
    }
  } finally {
    staticServer?.child.kill('SIGTERM');
    if (broker !== undefined) {
      broker.child.kill('SIGTERM');
      await broker.exited;
    }
    await rm(logDir, { recursive: true, force: true });
  }
}

await main();
