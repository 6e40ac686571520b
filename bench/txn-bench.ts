// Transactional throughput against plain idempotent throughput, measured in the same run on the
// same broker: librdkafka (python3-confluent-kafka, a separate process) produces 512-byte records
// to a 3-partition topic of an in-process Brook broker (default durability: acknowledged after
// fsync), in alternating rounds of: idempotent; transactional committing every 1,000 records;
// transactional committing every 100 ms. Prints records/s per mode and the ratio to idempotent.
//
//   npm run bench:txn          BROOK_BENCH_ROUND_S=3 BROOK_BENCH_ROUNDS=3 (defaults)

import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { startBroker } from '../src/broker.js';

const ROUND_S = Number(process.env.BROOK_BENCH_ROUND_S ?? 3);
const ROUNDS = Number(process.env.BROOK_BENCH_ROUNDS ?? 3);
const VALUE_BYTES = 512;
const MODES = ['idempotent', 'txn-records', 'txn-interval'] as const;
type Mode = (typeof MODES)[number];
const producerScript = join(new URL('.', import.meta.url).pathname, 'txn-bench-producer.py');

function runRound(
  mode: Mode,
  bootstrap: string,
  topic: string,
): Promise<{ records: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [
      producerScript,
      mode,
      bootstrap,
      topic,
      String(ROUND_S),
      String(VALUE_BYTES),
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (ROUND_S + 60) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${mode} round failed (${code}): ${stderr.slice(-2000)}`));
      else
        resolve(
          JSON.parse(stdout.trim().split('\n').at(-1)!) as { records: number; seconds: number },
        );
    });
  });
}

const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 5 } });
try {
  const topic = 'txn-bench';
  await broker.replicas.createTopic({ name: topic, partitionCount: 3 });
  const totals = new Map<Mode, { records: number; seconds: number }>(
    MODES.map((mode) => [mode, { records: 0, seconds: 0 }]),
  );
  await runRound('txn-records', broker.bootstrapServers, topic); // warm-up: state topic, connections, JIT
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const mode of MODES) {
      const result = await runRound(mode, broker.bootstrapServers, topic);
      const total = totals.get(mode)!;
      total.records += result.records;
      total.seconds += result.seconds;
    }
  }
  const rate = (mode: Mode): number => totals.get(mode)!.records / totals.get(mode)!.seconds;
  const idempotent = rate('idempotent');
  console.log(
    `txn-bench: ${ROUNDS} rounds of ${ROUND_S} s per mode, ${VALUE_BYTES}-byte records, 3 partitions, librdkafka ${'(python3-confluent-kafka)'}`,
  );
  for (const mode of MODES) {
    const ratio = rate(mode) / idempotent;
    console.log(
      `  ${mode.padEnd(13)} ${Math.round(rate(mode)).toString().padStart(8)} records/s   ratio to idempotent ${ratio.toFixed(2)}   cost ${((1 - ratio) * 100).toFixed(1)}%`,
    );
  }
} finally {
  await broker.stop();
}
