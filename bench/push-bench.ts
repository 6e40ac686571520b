// Push delivery (issue 12): one shared subscription read over Server-Sent Events with range
// acknowledgements, beside the Kafka Fetch consume rate of the same records in the same run.
//
//   npm run bench:push [-- --records N] [--record-locks N (share.partition.max.record.locks)]
//                      [--cpu-prof-sse FILE (a V8 CPU profile of the broker during the SSE
//                       phase; open it in Chrome DevTools or speedscope)]
//
// An in-process broker (default durability) gets N records of 100 B (default 200,000) on one
// partition, appended as batches of 5,000. Then, each client in a process of its own
// (bench/push-client.ts), as a real consumer is, so the broker's event loop does only its work:
//   - SSE: a subscription with maxInFlight 20,000; one SSE reader (a light streaming parser:
//     framing and the id of each event, not its JSON data) takes every event, and every
//     1,000 records posts one range acknowledgement. The rate is records / time from opening the
//     stream to the last record received, all acknowledged durably.
//   - Fetch: kafkajs reads the same partition from the beginning (eachBatch) in the same run.
//     This is the client's ceiling as much as the broker's; the goal compares the two.
//   - Latency (in this process): 2,000 records produced over HTTP at 1,000 records/s, each timed
//     from its produce answer (durable) to its SSE event; p50 and p99.
// Goals (issue 12): SSE >= 300 k records/s and >= 0.3 x the Fetch rate; p99 <= 5 ms. Nothing
// here is asserted.
//
// Beside each rate, the CPU time per record in that phase of the broker (this process, every
// thread: process.cpuUsage) and of the client. On a shared machine the rates follow the load of
// other processes; the CPU cost per record much less so, and its ratio is what compares runs.
// (Until 2026-12-04 the clients ran in the broker's process, sharing its event loop: figures
// from before then are not comparable with these.)

import { writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Session } from 'node:inspector/promises';

import { startBroker } from '../src/broker.js';
import { localRecordWriter, writeRecords } from '../src/share/record-writer.js';
import { type Event, readEvents } from './sse-reader.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const recordsArgument = process.argv.indexOf('--records');
const recordCount = recordsArgument > 0 ? Number(process.argv[recordsArgument + 1]) : 200_000;
const locksArgument = process.argv.indexOf('--record-locks');
const recordLocks = locksArgument > 0 ? Number(process.argv[locksArgument + 1]) : 2000;
const profileArgument = process.argv.indexOf('--cpu-prof-sse');
const profilePath = profileArgument > 0 ? process.argv[profileArgument + 1] : null;
const batchRecords = 5_000;
const ackEvery = 1_000;

/** What bench/push-client.ts printed: its phase's records, time and CPU. */
interface ClientFigures {
  records: number;
  seconds: number;
  cpuMicros: number;
  resets: number;
}

/** Runs bench/push-client.ts with `args` in a process of its own; resolves with its figures. */
async function runClient(args: string[]): Promise<ClientFigures> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', new URL('./push-client.ts', import.meta.url).pathname, ...args],
    { encoding: 'utf8', timeout: 600_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as ClientFigures;
}

/** User and system CPU time of the process since `start`, in microseconds. */
function cpuMicros(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return user + system;
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

const broker = await startBroker({
  settings: {
    'http.listeners': 'http://127.0.0.1:0',
    'share.partition.max.record.locks': recordLocks,
  },
});
const base = `http://127.0.0.1:${broker.httpListeners[0].port}`;
const json = { 'content-type': 'application/json' };
try {
  await broker.replicas.createTopic({ name: 'bench', partitionCount: 1 });
  const value = Buffer.alloc(100, 'x');
  for (let written = 0; written < recordCount; written += batchRecords) {
    const count = Math.min(batchRecords, recordCount - written);
    await writeRecords(
      localRecordWriter(broker.replicas),
      'bench',
      Array.from({ length: count }, () => ({ key: null, value, headers: [], partition: 0 })),
    );
  }

  // SSE with range acks.
  await fetch(`${base}/v1/subscriptions/bench-sse`, {
    method: 'PUT',
    headers: json,
    body: JSON.stringify({ topic: 'bench', maxInFlight: 20_000 }),
  });
  const profiler = profilePath === null ? null : new Session();
  if (profiler !== null) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const sseCpu = process.cpuUsage();
  const sse = await runClient(['sse', base, 'bench-sse', String(recordCount), String(ackEvery)]);
  const sseBrokerCpuMicros = cpuMicros(sseCpu);
  if (profiler !== null && profilePath !== null) {
    const { profile } = await profiler.post('Profiler.stop');
    await writeFile(profilePath, JSON.stringify(profile));
    profiler.disconnect();
  }

  // Kafka Fetch, same records, same run. The broker's CPU counts from the client's start, so it
  // includes the group join (a few requests) that the client's own time leaves out.
  const fetchCpu = process.cpuUsage();
  const fetched = await runClient(['fetch', broker.bootstrapServers, 'bench', String(recordCount)]);
  const fetchBrokerCpuMicros = cpuMicros(fetchCpu);

  // Push latency at 1,000 records/s.
  await fetch(`${base}/v1/subscriptions/bench-latency`, {
    method: 'PUT',
    headers: json,
    // Credits for every record: this figure is the push path's, not the acknowledgement loop's.
    body: JSON.stringify({ topic: 'bench', start: 'latest', maxInFlight: 5_000 }),
  });
  const latencyController = new AbortController();
  const answeredAt = new Map<number, number>();
  const receivedAt = new Map<number, number>();
  const latencyReading = readEvents(
    `${base}/v1/subscriptions/bench-latency/events`,
    latencyController.signal,
    (event) => receivedAt.set(event.offset, performance.now()),
  );
  const latencyRecords = 2_000;
  const startMs = performance.now();
  for (let index = 0; index < latencyRecords; index += 1) {
    const dueMs = startMs + index;
    const waitMs = dueMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    fetch(`${base}/v1/topics/bench/records`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ records: [{ value: 'x'.repeat(100), partition: 0 }] }),
    })
      .then((response) => response.json())
      .then((answer) => {
        answeredAt.set((answer as { offsets: Event[] }).offsets[0].offset, performance.now());
      })
      .catch((error: unknown) => console.error(`produce failed: ${String(error)}`));
  }
  const deadline = performance.now() + 30_000;
  while (receivedAt.size < latencyRecords && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  latencyController.abort();
  await latencyReading;
  const latencies = [...answeredAt].flatMap(([offset, at]) => {
    const got = receivedAt.get(offset);
    return got === undefined ? [] : [Math.max(0, got - at)];
  });

  const sseRate = recordCount / sse.seconds;
  const fetchRate = recordCount / fetched.seconds;
  console.log(
    `records: ${recordCount} x 100 B, one partition; each client in a process of its own`,
  );
  const perRecord = (broker: number, client: number): string =>
    `CPU per record: broker ${(broker / recordCount).toFixed(2)} us, client ${(client / recordCount).toFixed(2)} us`;
  console.log(
    `SSE + range acks: ${Math.round(sseRate).toLocaleString('en')} records/s (goal >= 300,000); ${perRecord(sseBrokerCpuMicros, sse.cpuMicros)}`,
  );
  if (sse.resets > 0) console.log(`connection resets on ack requests: ${sse.resets}`);
  console.log(
    `Kafka Fetch (kafkajs): ${Math.round(fetchRate).toLocaleString('en')} records/s; ${perRecord(fetchBrokerCpuMicros, fetched.cpuMicros)}`,
  );
  console.log(
    `SSE / Fetch: ${(sseRate / fetchRate).toFixed(2)} by rate (goal >= 0.3); the broker's CPU per record, Fetch / SSE: ${(fetchBrokerCpuMicros / sseBrokerCpuMicros).toFixed(2)}`,
  );
  console.log(
    `push latency at 1,000/s (produce answered -> event): p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms over ${latencies.length} records (goal p99 <= 5 ms)`,
  );
} finally {
  await broker.stop();
}
