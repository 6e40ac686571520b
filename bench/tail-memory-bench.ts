// Memory that follows the partition count (issue 14): a broker process (the compiled CLI of each
// checkout given, `node CHECKOUT/dist/cli/main.js start` with http.listeners) gets one topic of
// --partitions partitions, then one produce of --batch-kib KiB (1 KiB records, acks=all, kafkajs)
// into each partition in turn, and nothing more. Prints its resident memory (VmRSS) after the
// creation, right after the produces and --settle-ms later, and what its tail caches hold
// (brook_tail_cache_bytes, where the checkout has it): the recent appends each partition's log
// keeps for readers at its tail, which log.tail.cache.max.bytes bounds over all partitions.
//
//   npm run bench:tail-memory -- [--partitions 1000] [--batch-kib 256] [--settle-ms 15000]
//                                [--rounds 1] [CHECKOUT...]
//
// Several checkouts (each built; nothing is built here) are measured in turn, one broker each per
// round, so that a busy machine weighs on all of them alike. Each checkout's broker runs with its
// own defaults.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

import { startBrokerProcess } from './broker-process.js';

const { values, positionals } = parseArgs({
  options: {
    partitions: { type: 'string', default: '1000' },
    'batch-kib': { type: 'string', default: '256' },
    'settle-ms': { type: 'string', default: '15000' },
    rounds: { type: 'string', default: '1' },
  },
  allowPositionals: true,
});
const partitions = Number(values.partitions);
const batchKib = Number(values['batch-kib']);
const settleMs = Number(values['settle-ms']);
const rounds = Number(values.rounds);
const checkouts =
  positionals.length > 0 ? positionals.map((path) => resolve(path)) : [process.cwd()];

function residentMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** brook_tail_cache_bytes in MB, or null where the broker does not expose it. */
async function tailCacheMegabytes(httpBase: string): Promise<number | null> {
  const exposition = await (await fetch(`${httpBase}/metrics`)).text();
  const line = exposition.split('\n').find((text) => text.startsWith('brook_tail_cache_bytes '));
  return line === undefined ? null : Number(line.slice(line.indexOf(' ') + 1)) / 1e6;
}

interface Reading {
  created: number;
  produced: number;
  settled: number;
  tailCache: number | null;
  seconds: number;
}

async function measure(checkout: string): Promise<Reading> {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-tail-memory-'));
  const broker = await startBrokerProcess(checkout, logDir, {
    arguments: ['--http-listeners', 'http://127.0.0.1:0'],
  });
  const pid = broker.child.pid!;
  const kafka = new Kafka({
    clientId: 'tail-memory-bench',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'wide', numPartitions: partitions }] });
    await producer.connect();
    const created = residentMegabytes(pid);
    const value = Buffer.alloc(1024, 7);
    const started = performance.now();
    for (let partition = 0; partition < partitions; partition++) {
      const messages = Array.from({ length: batchKib }, () => ({ partition, value }));
      await producer.send({ topic: 'wide', messages, acks: -1 });
    }
    const seconds = (performance.now() - started) / 1000;
    const produced = residentMegabytes(pid);
    await new Promise((settle) => setTimeout(settle, settleMs));
    const settled = residentMegabytes(pid);
    // Printed after the Kafka listener's line, which is all startBrokerProcess waits for.
    const httpBase = /HTTP on (http:\/\/\S+)/.exec(broker.output())?.[1];
    const tailCache = httpBase === undefined ? null : await tailCacheMegabytes(httpBase);
    return { created, produced, settled, tailCache, seconds };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    const exited = new Promise((done) => broker.child.once('exit', done));
    broker.child.kill('SIGTERM');
    await exited;
    rmSync(logDir, { recursive: true, force: true });
  }
}

console.log(
  `# ${partitions} partitions, one produce of ${batchKib} KiB into each (1 KiB records, acks=all); RSS ${settleMs / 1000} s after the last`,
);
for (let round = 1; round <= rounds; round++) {
  for (const checkout of checkouts) {
    const reading = await measure(checkout);
    const tail = reading.tailCache === null ? 'not exposed' : `${reading.tailCache.toFixed(1)} MB`;
    console.log(
      `round ${round} ${checkout}: RSS after creation ${reading.created.toFixed(0)} MB, after the produces ${reading.produced.toFixed(0)} MB (${reading.seconds.toFixed(1)} s), settled ${reading.settled.toFixed(0)} MB (+${(reading.settled - reading.created).toFixed(0)} MB); tail caches ${tail}`,
    );
  }
}
