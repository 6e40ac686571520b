// Push delivery (issue 12): one shared subscription read over Server-Sent Events with range
// acknowledgements, beside the Kafka Fetch consume rate of the same records in the same run.
//
//   npm run bench:push [-- --records N] [--record-locks N (share.partition.max.record.locks)]
//                      [--cpu-prof-sse FILE (a V8 CPU profile of the SSE phase alone, broker and
//                       client together; open it in Chrome DevTools or speedscope)]
//
// An in-process broker (default durability) gets N records of 100 B (default 200,000) on one
// partition, appended as batches of 5,000. Then:
//   - SSE: a subscription with maxInFlight 20,000; one SSE reader (a light streaming parser:
//     framing and the id of each event, not its JSON data) takes every event, and every
//     1,000 records posts one range acknowledgement. The rate is records / time from opening the
//     stream to the last record received, all acknowledged durably.
//   - Fetch: kafkajs reads the same partition from the beginning (eachBatch) in the same run.
//     This is the client's ceiling as much as the broker's; the goal compares the two.
//   - Latency: 2,000 records produced over HTTP at 1,000 records/s, each timed from its produce
//     answer (durable) to its SSE event; p50 and p99.
// Goals (issue 12): SSE >= 300 k records/s and >= 0.3 x the Fetch rate; p99 <= 5 ms. Nothing
// here is asserted.
//
// Beside each rate, the CPU time the process spent per record in that phase (broker and client
// together, every thread: process.cpuUsage). On a shared machine the rates follow the load of
// other processes; the CPU cost per record much less so, and its ratio is what compares runs.

import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { Session } from 'node:inspector/promises';

import { Kafka, logLevel } from 'kafkajs';

import { startBroker } from '../src/broker.js';
import { localRecordWriter, writeRecords } from '../src/share/record-writer.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const recordsArgument = process.argv.indexOf('--records');
const recordCount = recordsArgument > 0 ? Number(process.argv[recordsArgument + 1]) : 200_000;
const locksArgument = process.argv.indexOf('--record-locks');
const recordLocks = locksArgument > 0 ? Number(process.argv[locksArgument + 1]) : 2000;
const profileArgument = process.argv.indexOf('--cpu-prof-sse');
const profilePath = profileArgument > 0 ? process.argv[profileArgument + 1] : null;
const batchRecords = 5_000;
const agent = new http.Agent({ keepAlive: true });
const ackEvery = 1_000;

interface Event {
  id: string;
  partition: number;
  offset: number;
}

const newline = 0x0a;
const idField = Buffer.from('id: ');
const eventField = Buffer.from('event: ');
const recordType = Buffer.from('record');

/**
 * Reads an SSE stream, calling `onRecord` with each record event's id. A light streaming parser,
 * as a consumer that acknowledges by id needs: it walks the bytes line by line (the broker ends
 * lines with `\n`), ends an event at a blank line, keeps only `record` events and reads the
 * `id: <partition>:<offset>` field from its digits. The event's JSON data is not decoded (kafkajs,
 * in the Fetch phase, does decode each record into an object).
 */
function readEvents(
  url: string,
  signal: AbortSignal,
  onRecord: (event: Event) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, signal, headers: { accept: 'text/event-stream' } });
    request.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    request.on('response', (response) => {
      let rest: Buffer | null = null;
      let id: Event | null = null;
      let isRecord = false;
      response.on('data', (chunk: Buffer) => {
        const bytes = rest === null ? chunk : Buffer.concat([rest, chunk]);
        let line = 0;
        let end;
        while ((end = bytes.indexOf(newline, line)) >= 0) {
          if (end === line) {
            if (isRecord && id !== null) onRecord(id);
            id = null;
            isRecord = false;
          } else if (startsWith(bytes, line, idField)) {
            id = parseId(bytes, line + idField.length, end);
          } else if (startsWith(bytes, line, eventField)) {
            const type = line + eventField.length;
            isRecord = end - type === recordType.length && startsWith(bytes, type, recordType);
          }
          line = end + 1;
        }
        rest = line === bytes.length ? null : bytes.subarray(line);
      });
      response.on('close', resolve);
      response.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    });
  });
}

function startsWith(bytes: Buffer, position: number, prefix: Buffer): boolean {
  if (position + prefix.length > bytes.length) return false;
  for (let index = 0; index < prefix.length; index += 1)
    if (bytes[position + index] !== prefix[index]) return false;
  return true;
}

/** `<partition>:<offset>` from its digits. */
function parseId(bytes: Buffer, position: number, end: number): Event {
  let partition = 0;
  let index = position;
  for (; index < end && bytes[index] !== 0x3a; index += 1)
    partition = partition * 10 + bytes[index] - 0x30;
  let offset = 0;
  for (index += 1; index < end; index += 1) offset = offset * 10 + bytes[index] - 0x30;
  return { id: `${partition}:${offset}`, partition, offset };
}

/** POSTs `body` as JSON on a kept-alive connection; resolves with the answer's text. */
function postJson(url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (piece: string) => (text += piece));
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(text)
          : reject(new Error(`${response.statusCode}: ${text}`)),
      );
    });
    request.end(body);
  });
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
  const controller = new AbortController();
  let received = 0;
  let resets = 0;
  let firstUnacked = 0;
  const acks: Promise<unknown>[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const profiler = profilePath === null ? null : new Session();
  if (profiler !== null) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const sseStartMs = performance.now();
  const sseCpu = process.cpuUsage();
  const reading = readEvents(
    `${base}/v1/subscriptions/bench-sse/events`,
    controller.signal,
    (event) => {
      received += 1;
      if (received - firstUnacked >= ackEvery || received === recordCount) {
        const body = JSON.stringify({ ack: [`0:${firstUnacked}-${event.offset}`] });
        const post = (): Promise<unknown> =>
          postJson(`${base}/v1/subscriptions/bench-sse/acks`, body);
        // A reset connection happens now and then here (not explained yet); an ack is safe to
        // send again: what was already settled is answered `settled`.
        acks.push(
          post().catch((error: unknown) => {
            resets += 1;
            console.error(`ack reset (${String(error)}); sending it again`);
            return post();
          }),
        );
        firstUnacked = event.offset + 1;
      }
      if (received === recordCount) done();
    },
  );
  await finished;
  await Promise.all(acks);
  const sseSeconds = (performance.now() - sseStartMs) / 1000;
  const sseCpuMicros = cpuMicros(sseCpu);
  if (profiler !== null && profilePath !== null) {
    const { profile } = await profiler.post('Profiler.stop');
    await writeFile(profilePath, JSON.stringify(profile));
    profiler.disconnect();
  }
  controller.abort();
  await reading;

  // Kafka Fetch, same records, same run.
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'bench-fetch', maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'bench', fromBeginning: true });
  let fetched = 0;
  let fetchStartMs = 0;
  let fetchCpu = process.cpuUsage();
  let fetchDone!: () => void;
  const fetchFinished = new Promise<void>((resolve) => (fetchDone = resolve));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (fetchStartMs === 0) {
        fetchStartMs = performance.now();
        fetchCpu = process.cpuUsage();
      }
      fetched += batch.messages.length;
      if (fetched >= recordCount) fetchDone();
    },
  });
  await fetchFinished;
  // From the first batch on: the group join before it is kafkajs's, not the fetch path's.
  const fetchSeconds = (performance.now() - fetchStartMs) / 1000;
  const fetchCpuMicros = cpuMicros(fetchCpu);
  await consumer.disconnect();

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

  const sseRate = recordCount / sseSeconds;
  const fetchRate = recordCount / fetchSeconds;
  console.log(`records: ${recordCount} x 100 B, one partition`);
  const perRecord = (micros: number): string =>
    `${(micros / recordCount).toFixed(2)} us CPU/record`;
  console.log(
    `SSE + range acks: ${Math.round(sseRate).toLocaleString('en')} records/s (goal >= 300,000), ${perRecord(sseCpuMicros)}`,
  );
  if (resets > 0) console.log(`connection resets on ack requests: ${resets}`);
  console.log(
    `Kafka Fetch (kafkajs): ${Math.round(fetchRate).toLocaleString('en')} records/s, ${perRecord(fetchCpuMicros)}`,
  );
  console.log(
    `SSE / Fetch: ${(sseRate / fetchRate).toFixed(2)} by rate (goal >= 0.3), ${(fetchCpuMicros / sseCpuMicros).toFixed(2)} by CPU per record`,
  );
  console.log(
    `push latency at 1,000/s (produce answered -> event): p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms over ${latencies.length} records (goal p99 <= 5 ms)`,
  );
} finally {
  await broker.stop();
}
