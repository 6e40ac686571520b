// Transactional throughput against plain idempotent throughput, measured in the same run on the
// same broker: PRODUCERS concurrent librdkafka producers (python3-confluent-kafka, one process
// and one transactional id each, identical client settings in every mode) write 512-byte records
// to one 4-partition topic of an in-process Brook broker (default durability: acknowledged after
// fsync), in alternating rounds of: idempotent; transactional committing every 1,000 records;
// transactional committing every 100 ms. Several producers keep the broker busy while one of them
// waits for its commit, so the ratio measures the broker's cost of transactions rather than one
// client's stop-and-wait.
//
// Prints records/s per mode with the ratio to idempotent, and per transactional mode the commit
// as the clients see it: the drain (flush of the transaction's records) and the EndTxn round
// trip (commit_transaction() once nothing else is left to send), p50 and p99, and the broker's
// CPU time per record (this process's; the producers run in their own).
//
//   npm run bench:txn          BROOK_BENCH_ROUND_S=3 BROOK_BENCH_ROUNDS=3 BROOK_BENCH_PRODUCERS=4

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';

import { startBroker } from '../src/broker.js';

const ROUND_S = Number(process.env.BROOK_BENCH_ROUND_S ?? 3);
const ROUNDS = Number(process.env.BROOK_BENCH_ROUNDS ?? 3);
const PRODUCERS = Number(process.env.BROOK_BENCH_PRODUCERS ?? 4);
const PARTITIONS = 4;
const VALUE_BYTES = 512;
/** A producer that has not finished this long after its round should have is killed. */
const ROUND_GRACE_S = 60;
const MODES = ['idempotent', 'txn-records', 'txn-interval'] as const;
type Mode = (typeof MODES)[number];
const producerScript = join(new URL('.', import.meta.url).pathname, 'txn-bench-producer.py');

interface ProducerResult {
  records: number;
  seconds: number;
  drainMs: number[];
  endTxnMs: number[];
}

interface Totals {
  records: number;
  seconds: number;
  drainMs: number[];
  endTxnMs: number[];
  /** CPU time of this process (the broker; the producers are child processes), in microseconds. */
  brokerCpuUs: number;
}

function startProducer(
  mode: Mode,
  bootstrap: string,
  topic: string,
  transactionalId: string,
): {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  result: Promise<ProducerResult>;
} {
  const child = spawn('/usr/bin/python3', [
    producerScript,
    mode,
    bootstrap,
    topic,
    String(ROUND_S),
    String(VALUE_BYTES),
    transactionalId,
  ]);
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), (ROUND_S + ROUND_GRACE_S) * 1000);
  const result = new Promise<ProducerResult>((resolve, reject) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0)
        reject(new Error(`${mode} producer failed (${code}): ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as ProducerResult);
    });
  });
  // A producer that dies before it is ready fails the round through `result`.
  return { child, ready: Promise.race([ready, result.then(() => undefined)]), result };
}

/** Runs PRODUCERS producers of one mode together; they start producing at the same moment. */
async function runRound(
  mode: Mode,
  bootstrap: string,
  topic: string,
  round: number,
): Promise<Totals> {
  const producers = Array.from({ length: PRODUCERS }, (_, index) =>
    startProducer(mode, bootstrap, topic, `txn-bench-${mode}-${round}-${index}`),
  );
  await Promise.all(producers.map((producer) => producer.ready));
  const cpuBefore = process.cpuUsage();
  for (const producer of producers) producer.child.stdin.end('go\n');
  const results = await Promise.all(producers.map((producer) => producer.result));
  const cpu = process.cpuUsage(cpuBefore);
  return {
    brokerCpuUs: cpu.user + cpu.system,
    records: results.reduce((sum, result) => sum + result.records, 0),
    // The producers ran side by side: the round lasted as long as the slowest.
    seconds: Math.max(...results.map((result) => result.seconds)),
    drainMs: results.flatMap((result) => result.drainMs),
    endTxnMs: results.flatMap((result) => result.endTxnMs),
  };
}

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 5 } });
try {
  const topic = 'txn-bench';
  await broker.replicas.createTopic({ name: topic, partitionCount: PARTITIONS });
  const totals = new Map<Mode, Totals>(
    MODES.map((mode) => [
      mode,
      { records: 0, seconds: 0, drainMs: [], endTxnMs: [], brokerCpuUs: 0 },
    ]),
  );
  await runRound('txn-records', broker.bootstrapServers, topic, -1); // warm-up: state topic, JIT
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const mode of MODES) {
      const result = await runRound(mode, broker.bootstrapServers, topic, round);
      const total = totals.get(mode)!;
      total.records += result.records;
      total.seconds += result.seconds;
      total.drainMs.push(...result.drainMs);
      total.endTxnMs.push(...result.endTxnMs);
      total.brokerCpuUs += result.brokerCpuUs;
    }
  }
  const rate = (mode: Mode): number => totals.get(mode)!.records / totals.get(mode)!.seconds;
  const idempotent = rate('idempotent');
  console.log(
    `txn-bench: ${ROUNDS} rounds of ${ROUND_S} s per mode, ${PRODUCERS} producers per mode, ${VALUE_BYTES}-byte records, ${PARTITIONS} partitions, librdkafka (python3-confluent-kafka)`,
  );
  for (const mode of MODES) {
    const ratio = rate(mode) / idempotent;
    const total = totals.get(mode)!;
    const commits =
      total.endTxnMs.length === 0
        ? ''
        : `   ${total.endTxnMs.length} commits: EndTxn p50 ${percentile(total.endTxnMs, 0.5).toFixed(2)} ms p99 ${percentile(total.endTxnMs, 0.99).toFixed(2)} ms, drain p50 ${percentile(total.drainMs, 0.5).toFixed(2)} ms`;
    const brokerCpu = `   broker CPU ${(total.brokerCpuUs / total.records).toFixed(2)} µs/record`;
    console.log(
      `  ${mode.padEnd(13)} ${Math.round(rate(mode)).toString().padStart(8)} records/s   ratio to idempotent ${ratio.toFixed(2)}   cost ${((1 - ratio) * 100).toFixed(1)}%${brokerCpu}${commits}`,
    );
  }
} finally {
  await broker.stop();
}
