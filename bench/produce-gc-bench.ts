// What one produce request costs the broker in garbage: bytes the JavaScript heap allocated per
// request, collections, and collection time per MB received, measured inside a broker process by
// bench/gc-probe.mjs between two messages, around a fixed load. Counts, not speed: the same
// requests allocate the same bytes however busy the machine is, so two checkouts (a change and
// its base) can be compared on a shared machine. Collection times are reported too; they are
// noisier.
//
//   npm run bench:produce-gc -- [--records 9000] [--record-bytes 100] [--requests 200]
//                               [--in-flight 5] [--checkout DIR ...]
//
// Each request carries one uncompressed batch of `--records` records of `--record-bytes` bytes
// (the defaults make a frame just under max.message.bytes, ~1 MB, what librdkafka sends at full speed with its default
// batch.size). The same batch is sent every time, pipelined `--in-flight` deep, on one
// connection, after a warm-up of the same length. `--checkout` (repeatable) measures the
// `dist/` of other checkouts with the same load, after this tree's.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Kafka, logLevel } from 'kafkajs';

import { KafkaConnection } from '../src/client/kafka-connection.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { buildUncompressedBatch } from '../src/record/records.js';
import { type BrokerProcess, startBrokerProcess } from './broker-process.js';

const root = new URL('..', import.meta.url).pathname;
const probe = join(root, 'bench', 'gc-probe.mjs');
const PRODUCE_VERSION = 9;

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '9000' },
    'record-bytes': { type: 'string', default: '100' },
    requests: { type: 'string', default: '200' },
    'in-flight': { type: 'string', default: '5' },
    checkout: { type: 'string', multiple: true, default: [] },
    sites: { type: 'boolean', default: false },
  },
  strict: true,
});
const recordsPerRequest = Number(values.records);
const recordBytes = Number(values['record-bytes']);
const requests = Number(values.requests);
const inFlight = Number(values['in-flight']);
/** BENCH_TRACE_GC=1: the broker runs with --trace-gc, and its collections are counted by reason. */
const traceGc = process.env.BENCH_TRACE_GC === '1';

/** Counts the `--trace-gc` lines (warm-up included) by kind and by the reason V8 gives. */
function printCollectionReasons(output: string): void {
  const counts = new Map<string, number>();
  for (const line of output.split('\n')) {
    const kind = /ms: (Scavenge|Mark-Compact|Minor Mark-Sweep)/.exec(line)?.[1];
    if (kind === undefined) continue;
    const reason = /current mu = [\d.]+\) (.*?);?\s*$/.exec(line)?.[1] ?? '?';
    const key = `${kind}: ${reason}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, count] of counts) console.log(`  --trace-gc ${count} × ${key}`);
}

interface ProbeResult {
  allocatedBytes: number;
  collections: Record<string, number>;
  collectionMs: number;
  heapUsedBytes: number;
  externalBytes: number;
  sites: { sampledBytes: number; sites: { site: string; share: number }[] } | null;
}

function ask(
  broker: BrokerProcess,
  message: 'start' | 'start sampled' | 'stop',
): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (answer: { probe: string; result?: ProbeResult; error?: string }): void => {
      if (answer.probe !== message.split(' ')[0]) return;
      broker.child.off('message', onMessage);
      if (answer.error !== undefined) reject(new Error(`probe: ${answer.error}`));
      else resolve(answer.result!);
    };
    broker.child.on('message', onMessage);
    broker.child.send(message);
  });
}

async function produceAll(connection: KafkaConnection, topic: string, batch: Buffer) {
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < requests) {
      sent++;
      const response = await connection.request<{
        responses: { partitionResponses: { errorCode: number }[] }[];
      }>(ApiKey.Produce, PRODUCE_VERSION, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
      });
      const errorCode = response.responses[0].partitionResponses[0].errorCode;
      if (errorCode !== 0) throw new Error(`produce answered error ${errorCode}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

async function measure(checkout: string) {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-produce-gc-'));
  const broker = await startBrokerProcess(checkout, logDir, {
    nodeArguments: [
      '--import',
      probe,
      ...(traceGc ? ['--trace-gc'] : []),
      ...(process.env.BENCH_BROKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    ipc: true,
  });
  try {
    const topic = 'garbage';
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const value = Buffer.alloc(recordBytes, 'x');
    const batch = buildUncompressedBatch({
      records: Array.from({ length: recordsPerRequest }, () => ({ key: null, value })),
    });
    const connection = await KafkaConnection.open(broker.bootstrap, { clientId: 'produce-gc' });
    try {
      await produceAll(connection, topic, batch); // warm-up: the code is optimised, the log open
      await ask(broker, values.sites ? 'start sampled' : 'start');
      await produceAll(connection, topic, batch);
      const result = await ask(broker, 'stop');
      if (traceGc) printCollectionReasons(broker.output());
      return { result, frameBytes: batch.length };
    } finally {
      connection.close();
    }
  } finally {
    broker.child.kill('SIGINT');
    await new Promise((resolve) => broker.child.once('exit', resolve));
    rmSync(logDir, { recursive: true, force: true });
  }
}

const megabyte = 1024 * 1024;
for (const checkout of [root, ...values.checkout]) {
  const { result, frameBytes } = await measure(checkout);
  const receivedMegabytes = (frameBytes * requests) / megabyte;
  console.log(`\n${checkout}: ${requests} produce requests of ${frameBytes} bytes`);
  console.log(
    `  heap allocated per request ${(result.allocatedBytes / requests / 1024).toFixed(1)} KiB` +
      ` (${(result.allocatedBytes / (frameBytes * requests)).toFixed(3)} bytes per byte received)`,
  );
  console.log(
    `  collections ${JSON.stringify(result.collections)}, ${result.collectionMs.toFixed(0)} ms,` +
      ` ${(result.collectionMs / receivedMegabytes).toFixed(2)} ms per MB received`,
  );
  console.log(
    `  heap used at the end ${(result.heapUsedBytes / megabyte).toFixed(1)} MB, external ${(result.externalBytes / megabyte).toFixed(1)} MB`,
  );
  if (result.sites === null) continue;
  console.log(
    `  sampled allocation sites (${(result.sites.sampledBytes / megabyte).toFixed(0)} MB):`,
  );
  for (const { site, share } of result.sites.sites) {
    console.log(`    ${(share * 100).toFixed(1).padStart(5)}%  ${site}`);
  }
}
