// What the metrics cost (issue 13's goals): a scrape of /metrics on a broker holding many
// partitions and groups, and produce throughput with metrics on (http.listeners set) against off,
// in the same run.
//
//   node --import tsx bench/metrics-bench.ts [--topics 100] [--partitions 100] [--groups 1000]
//   node --import tsx bench/metrics-bench.ts --registry-only     (the first figure alone)
//   node --import tsx bench/metrics-bench.ts --latency-only      (the request-latency A/B alone)
//
// What a scrape does to produce p99 on a broker process under load: bench/scrape-latency-bench.ts.
//
// Prints:
//   - CPU per request of recording its latency: six phase histograms (request-metrics.ts) against
//     one prom-client histogram observed with {api, version} labels, as the broker did before;
//   - scrape time (median and worst of 20, after 3 unmeasured) of the metrics registry over sources that report
//     10,000 partitions and 1,000 groups of 10 partitions each, up to the bytes an HTTP answer
//     sends (the registry's own cost, without building a broker that large), with values
//     unchanged, with 8 partitions and the lag on them moved, and with every offset and lag moved
//     between scrapes, for the broker's registry with change marks (change-tracking.ts: reads
//     what moved), without them (walks everything, renders from kept lines) and for prom-client's
//     own, alternated, their text compared; goal ≤ 200 ms; and the longest the
//     event loop was held during a scrape (the broker's registry renders in slices, prom-client's
//     in one piece): a produce arriving meanwhile waits that long;
//   - scrape time of a real broker with topics × partitions partitions and that many groups each
//     holding a committed offset (defaults are small: creating partitions dominates the setup);
//   - produce records/s with kafkajs (acks=all, batches of 100 × 100 B, 8 in flight) on a broker
//     without metrics and one with them, alternated over rounds so machine noise falls on both;
//     the ratio is the figure (goal ≥ 0.97: metrics cost at most 3% of produce throughput).
//     kafkajs, in this process, bounds both runs alike; the ratio is what matters, not the rate.

import { Kafka, logLevel } from 'kafkajs';
import { Histogram, Registry } from 'prom-client';
import { startBroker, type Broker } from '../src/broker.js';
import { BrokerMetrics, errorCodesIn } from '../src/observability/metrics.js';
import { singleBrokerReplication } from '../src/observability/replication-metrics.js';
import { RequestLatencyHistograms } from '../src/observability/request-metrics.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { ChangeMark } from '../src/util/change-set.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const topicCount = argument('topics', 10);
const partitionsPerTopic = argument('partitions', 20);
const groupCount = argument('groups', 100);
const rounds = argument('rounds', 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function kafkaFor(broker: Broker, clientId: string): Kafka {
  return new Kafka({ brokers: [broker.bootstrapServers], clientId, logLevel: logLevel.NOTHING });
}

/**
 * Runs `work` while counting turns of the event loop: the longest time between two turns is the
 * longest stretch during which no request could have been served.
 */
async function withLongestBlock<T>(
  work: () => Promise<T>,
): Promise<{ result: T; longestBlockMs: number }> {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const turn = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(turn);
  };
  setImmediate(turn);
  const result = await work();
  running = false;
  return { result, longestBlockMs: Math.max(longest, performance.now() - last) };
}

async function syntheticScrapeBench(): Promise<void> {
  const partitions = Array.from({ length: 10_000 }, (_, index) => ({
    topic: `topic-${Math.floor(index / 100)}`,
    partition: index % 100,
    logStartOffset: 0,
    logEndOffset: 1_000_000 + index,
    highWatermark: 1_000_000 + index,
    sizeBytes: 1 << 30,
    segments: 2,
    changes: new ChangeMark(),
  }));
  const groups = Array.from({ length: 1000 }, (_, group) => ({
    group: `group-${group}`,
    state: 'Stable',
    members: 3,
    lag: Array.from({ length: 10 }, (_, partition) => ({
      topic: `topic-${group % 100}`,
      partition,
      lag: partition * 10,
    })),
    changes: new ChangeMark(),
  }));
  const sources = {
    partitions: () => partitions,
    groups: () => groups,
    connections: () => 100,
    networkThreadConnections: () => [],
    requestMemory: () => ({ used: 0, maxBytes: -1 }),
    tailCache: () => ({ bytes: 0, maxBytes: -1 }),
    logDirs: () => ['.'],
    replication: () => singleBrokerReplication(partitions.length),
  };
  // With change marks, as the broker's sources: a scrape reads what registered a change.
  const trackedSources = {
    ...sources,
    tracked: {
      partitions: {
        items: () => partitions,
        layout: () => 0,
        changes: (partition: (typeof partitions)[number]) => partition.changes,
        figures: (partition: (typeof partitions)[number]) => partition,
      },
      groups: {
        items: () => groups,
        layout: () => 0,
        changes: (group: (typeof groups)[number]) => group.changes,
        figures: (group: (typeof groups)[number]) => group,
      },
    },
  };
  // The broker's registry (scraped families render kept lines, in slices of the event loop),
  // with and without change tracking, against prom-client's own (one piece).
  const registries = {
    tracked: new BrokerMetrics(trackedSources),
    'kept lines': new BrokerMetrics(sources),
    'prom-client': new BrokerMetrics(sources, { registry: new Registry() }),
  };
  /**
   * Partitions' end offsets move, with the lag of the groups reading them: 8 partitions (a load on
   * one 8-partition topic) or every one of them.
   */
  const move = (moved: number): void => {
    for (let index = 0; index < moved; index++) {
      const partition = partitions[(index * 1237) % partitions.length];
      partition.logEndOffset += 1;
      partition.highWatermark += 1;
      partition.changes.changed();
    }
    const movedPartitions = new Set(
      Array.from({ length: moved }, (_, index) => {
        const { topic, partition } = partitions[(index * 1237) % partitions.length];
        return `${topic}/${partition}`;
      }),
    );
    for (const group of groups)
      for (const entry of group.lag)
        if (movedPartitions.has(`${entry.topic}/${entry.partition}`)) entry.lag += 1;
  };
  const scenarios = [
    ['values unchanged', 0],
    ['8 partitions and their lag moved', 8],
    ['every offset and lag moved', partitions.length],
  ] as const;
  for (const [scenario, moved] of scenarios) {
    // Alternated scrape by scrape, so machine noise falls on both alike.
    const times = new Map<string, { wall: number[]; cpu: number[]; block: number[] }>();
    let bytes = 0;
    for (let index = 0; index < 23; index += 1) {
      move(moved);
      const bodies: string[] = [];
      for (const [name, metrics] of Object.entries(registries)) {
        const started = performance.now();
        const cpuStarted = process.cpuUsage();
        const {
          result: { body },
          longestBlockMs,
        } = await withLongestBlock(async () => {
          // Up to the bytes an HTTP answer sends: text is encoded (as the answer would).
          const { body } = await metrics.scrape();
          return { body: typeof body === 'string' ? [Buffer.from(body)] : body };
        });
        const cpu = process.cpuUsage(cpuStarted);
        const wall = performance.now() - started;
        // Figures of the process and the disk move between the two scrapes; the rest must not.
        bodies.push(
          Buffer.concat(body)
            .toString()
            .replace(/^brook_(process_|nodejs_|log_dir_free).*\n/gm, ''),
        );
        bytes = body.reduce((total, chunk) => total + chunk.length, 0);
        // The first 3 are unmeasured (warming up, and the first fill of the kept lines).
        if (index < 3) continue;
        if (!times.has(name)) times.set(name, { wall: [], cpu: [], block: [] });
        times.get(name)!.wall.push(wall);
        times.get(name)!.block.push(longestBlockMs);
        // CPU time is the steadier figure on a shared machine: wall time adds whatever else ran.
        times.get(name)!.cpu.push((cpu.user + cpu.system) / 1000);
      }
      if (bodies.some((body) => body !== bodies[0]))
        throw new Error('the registries rendered different text');
    }
    const figures = [...times].map(
      ([name, { wall, cpu, block }]) =>
        `${name} median ${median(wall).toFixed(1)} ms (CPU ${median(cpu).toFixed(1)} ms), ` +
        `worst ${Math.max(...wall).toFixed(0)} ms, event loop held at most ` +
        `${median(block).toFixed(1)} ms (median of scrapes)`,
    );
    console.log(
      `scrape of the registry, 10,000 partitions and 1,000 groups × 10 partitions, ` +
        `${scenario} between scrapes (${(bytes / 1e6).toFixed(1)} MB, same text): ` +
        `${figures.join('; ')}; goal ≤ 200 ms`,
    );
  }
}

async function scrapeBench(): Promise<void> {
  const broker = await startBroker({
    settings: { 'http.listeners': 'http://127.0.0.1:0', 'offsets.topic.num.partitions': 50 },
  });
  try {
    const kafka = kafkaFor(broker, 'metrics-bench-admin');
    const admin = kafka.admin();
    await admin.connect();
    const setupStarted = performance.now();
    for (let first = 0; first < topicCount; first += 20) {
      const topics = [];
      for (let index = first; index < Math.min(topicCount, first + 20); index += 1) {
        topics.push({ topic: `bench-${index}`, numPartitions: partitionsPerTopic });
      }
      await admin.createTopics({ topics, timeout: 600_000 });
    }
    for (let group = 0; group < groupCount; group += 1) {
      await admin.setOffsets({
        groupId: `bench-group-${group}`,
        topic: `bench-${group % topicCount}`,
        partitions: [{ partition: group % partitionsPerTopic, offset: '0' }],
      });
    }
    await admin.disconnect();
    const setupSeconds = (performance.now() - setupStarted) / 1000;

    const url = `http://127.0.0.1:${broker.httpListeners[0].port}/metrics`;
    const times: number[] = [];
    let bytes = 0;
    for (let index = 0; index < 10; index += 1) {
      const started = performance.now();
      const body = await (await fetch(url)).text();
      times.push(performance.now() - started);
      bytes = body.length;
    }
    const partitions = topicCount * partitionsPerTopic;
    console.log(
      `scrape, ${partitions} partitions, ${groupCount} groups (set up in ${setupSeconds.toFixed(0)} s): ` +
        `median ${median(times).toFixed(0)} ms, worst ${Math.max(...times).toFixed(0)} ms, ` +
        `${(bytes / 1e6).toFixed(1)} MB; ${(median(times) / 200).toFixed(2)} of the 200 ms budget`,
    );
  } finally {
    await broker.stop();
  }
}

async function produceRate(withMetrics: boolean): Promise<number> {
  const broker = await startBroker({
    settings: withMetrics ? { 'http.listeners': 'http://127.0.0.1:0' } : {},
  });
  try {
    const kafka = kafkaFor(broker, 'metrics-bench-producer');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'load', numPartitions: 8 }] });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = Buffer.alloc(100, 'x');
    const messages = Array.from({ length: 100 }, () => ({ value }));
    const durationMs = 5_000;
    let records = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, partition) => {
        while (performance.now() - started < durationMs) {
          await producer.send({
            topic: 'load',
            acks: -1,
            messages: messages.map((message) => ({ ...message, partition })),
          });
          records += messages.length;
        }
      }),
    );
    const rate = records / ((performance.now() - started) / 1000);
    await producer.disconnect();
    return rate;
  } finally {
    await broker.stop();
  }
}

/**
 * What metrics add to one produce request, measured alone: the error-code walk of a response, the
 * latency histograms of its phases and the per-topic counters. Machine noise moves the throughput ratio below by
 * more than this; the per-request cost against the request's own time is the steadier figure.
 */
function perRequestCostMicros(): number {
  const metrics = new BrokerMetrics(
    {
      partitions: () => [],
      groups: () => [],
      connections: () => 0,
      networkThreadConnections: () => [],
      requestMemory: () => ({ used: 0, maxBytes: -1 }),
      tailCache: () => ({ bytes: 0, maxBytes: -1 }),
      logDirs: () => [],
      replication: () => singleBrokerReplication(0),
    },
    { processMetrics: false },
  );
  const response = {
    responses: [
      {
        name: 'load',
        partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 5n, recordErrors: [] }],
      },
    ],
    throttleTimeMs: 0,
  };
  // A produce's way through its connection, as the server reads it (performance.now() values).
  const times = {
    receivedMs: 1000,
    startedMs: 1000.05,
    localMs: 0.08,
    answeredMs: 1002.1,
    writtenMs: 1002.15,
    sentMs: 1002.2,
  };
  const count = 200_000;
  const started = performance.now();
  for (let index = 0; index < count; index += 1) {
    metrics.requestAnswered({ api: 'Produce', errorCodes: errorCodesIn(response) });
    metrics.requestCompleted(ApiKey.Produce, 9, times);
    metrics.recordsIn('load', 100, 10_000);
  }
  return ((performance.now() - started) * 1000) / count;
}

/**
 * Recording one request's latency, alternated over rounds in one run: the six phase histograms
 * against one prom-client histogram (label object, hash and bucket search per observation).
 */
function latencyRecordingBench(): void {
  // The broker's request-latency buckets (metrics.ts).
  const buckets = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
  ];
  const registers = [new Registry()];
  const single = new Histogram({
    name: 'single_seconds',
    help: 'one histogram, as before',
    labelNames: ['api', 'version'],
    buckets,
    registers,
  });
  const phases = new RequestLatencyHistograms({ bucketsSeconds: buckets, registers });
  const times = {
    receivedMs: 1000,
    startedMs: 1000.05,
    localMs: 0.08,
    answeredMs: 1002.1,
    writtenMs: 1002.15,
    sentMs: 1002.2,
  };
  const count = 1_000_000;
  const cpuNanosPerRequest = (run: () => void): number => {
    const started = process.cpuUsage();
    run();
    const cpu = process.cpuUsage(started);
    return ((cpu.user + cpu.system) * 1000) / count;
  };
  const before: number[] = [];
  const after: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    before.push(
      cpuNanosPerRequest(() => {
        for (let index = 0; index < count; index += 1)
          single.observe({ api: 'Produce', version: String(9) }, 0.0021);
      }),
    );
    after.push(
      cpuNanosPerRequest(() => {
        for (let index = 0; index < count; index += 1) phases.observe(ApiKey.Produce, 9, times);
      }),
    );
  }
  console.log(
    `request latency recording, CPU per request (median of 5 rounds of ${count}): ` +
      `six phase histograms ${median(after).toFixed(0)} ns; one prom-client histogram ` +
      `${median(before).toFixed(0)} ns`,
  );
}

latencyRecordingBench();
if (process.argv.includes('--latency-only')) process.exit(0);
await syntheticScrapeBench();
if (process.argv.includes('--registry-only')) process.exit(0);
await scrapeBench();
const off: number[] = [];
const on: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  off.push(await produceRate(false));
  on.push(await produceRate(true));
}
const ratio = median(on) / median(off);
const costMicros = perRequestCostMicros();
// Each request carried 100 records: the off run's request time is 100 / rate seconds per partition
// stream, 8 streams in flight.
const requestMicros = (8 * 100 * 1e6) / median(off);
console.log(
  `metrics per produce request: ${costMicros.toFixed(1)} µs of CPU; a request took ${requestMicros.toFixed(0)} µs ` +
    `in the off run → ${((100 * costMicros) / requestMicros).toFixed(2)}% (goal ≤ 3%)`,
);
console.log(
  `produce records/s, median of ${rounds}: metrics off ${median(off).toFixed(0)}, on ${median(on).toFixed(0)}; ` +
    `on/off ${ratio.toFixed(3)} (goal ≥ 0.97)`,
);
