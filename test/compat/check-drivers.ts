// Checks the client drivers' data path (produce in every codec, read back exactly) against
// librdkafka's built-in mock cluster (default) or an in-process Brook broker with auto-created
// 3-partition topics (--brook), for working on the drivers, or on the broker's produce and fetch,
// before the admin APIs exist. Not part of `npm test`: the mock has no admin APIs, keeps nothing on
// disk and answers ListOffsets by timestamp with -1, so only produce and read-back are asserted.
// What each client produces is read back by every other installed client too, which checks the
// codecs (kafkajs's snappy, lz4 and zstd are registered by client-kafkajs.ts) across implementations.
//
//   node --import tsx test/compat/check-drivers.ts [--brook] [driver-name ...]
import {
  topicPartitions,
  assertReadBack,
  scenarioRuns,
  type ClientDriver,
} from '../helpers/client-scenario.js';
import { ChildClient, clientInstalled, systemPython, type ClientName } from '../helpers/clients.js';
import { waitFor } from '../helpers/poll.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codecsOnDisk } from '../helpers/client-broker.js';
import { kafkajsCluster } from '../helpers/client-kafkajs.js';
import { compatDrivers } from './drivers.js';

async function autoCreateTopic(bootstrap: string, topic: string): Promise<void> {
  const cluster = kafkajsCluster(bootstrap, true);
  await cluster.connect();
  try {
    await waitFor(async () => {
      await cluster.addTargetTopic(topic);
      return true;
    }, `${topic} to be auto-created`);
  } finally {
    await cluster.disconnect();
  }
}

const useBrook = process.argv.includes('--brook');
const wanted = process.argv.slice(2).filter((argument) => argument !== '--brook');
let mock: ChildClient | undefined;
let brook: { bootstrapServers: string; stop(): Promise<void> } | undefined;
let brookLogDir: string | undefined;
let failures = 0;
try {
  let bootstrap: string;
  if (useBrook) {
    const specifier = '../../src/broker.js';
    const { startBroker } = (await import(specifier)) as {
      startBroker(options: unknown): Promise<{ bootstrapServers: string; stop(): Promise<void> }>;
    };
    brookLogDir = mkdtempSync(join(tmpdir(), 'brook-check-drivers-'));
    brook = await startBroker({
      logDirs: [brookLogDir],
      settings: { 'num.partitions': topicPartitions, 'auto.create.topics.enable': true },
    });
    bootstrap = brook.bootstrapServers;
    console.log(`Brook broker at ${bootstrap}`);
  } else {
    mock = new ChildClient(systemPython, ['test/compat/python/rdkafka_mock_cluster.py']);
    const started = await waitFor(() => mock!.events[0], 'the mock cluster to start', {
      timeoutMs: 15_000,
    });
    bootstrap = started.bootstrapServers as string;
    console.log(`mock cluster at ${bootstrap}`);
  }
  for (const [clientName, driver] of Object.entries(compatDrivers) as [
    ClientName,
    () => ClientDriver,
  ][]) {
    if (wanted.length > 0 && !wanted.includes(clientName)) continue;
    if (!clientInstalled(clientName)) {
      console.log(`${clientName}: not installed, skipped`);
      continue;
    }
    const instance = driver();
    const topic = `mock-${clientName}-${Date.now()}`;
    let runs;
    let delivered;
    try {
      runs = scenarioRuns(instance, topicPartitions, Date.now() - 600_000);
      // Producers that do not auto-create find the topic made by a Metadata request that may.
      if (useBrook) await autoCreateTopic(bootstrap, topic);
      delivered = await instance.produce(bootstrap, topic, runs);
      const offsets = await instance.offsetsForTimes(bootstrap, topic, [
        { partition: 0, timestamp: 0 },
      ]);
      console.log(`${clientName}: produced; offset for time 0: ${offsets[0]}`);
      if (brookLogDir) {
        const onDisk = codecsOnDisk(brookLogDir, topic);
        assert.deepEqual([...onDisk.keys()].sort(), [...instance.codecs].sort(), 'codecs on disk');
        console.log(`  batches on disk by codec: ${JSON.stringify(Object.fromEntries(onDisk))}`);
      }
    } catch (error) {
      failures++;
      console.log(
        `${clientName}: produce FAILED ${error instanceof Error ? error.stack : String(error)}`,
      );
      continue;
    }
    for (const [readerName, reader] of Object.entries(compatDrivers) as [
      ClientName,
      () => ClientDriver,
    ][]) {
      const readerDriver = reader();
      // kcat prints values as text: it reads back only what a text-only producer wrote; a client
      // reads back only codecs it has (@platformatic/kafka has no zstd on Node.js 20).
      if (!clientInstalled(readerName) || (readerDriver.textOnly && !instance.textOnly)) continue;
      if (instance.codecs.some((codec) => !readerDriver.codecs.includes(codec))) continue;
      try {
        const read = await readerDriver.readAll(bootstrap, topic, topicPartitions, 0);
        const inScenario = read.filter((record) => record.partition < topicPartitions);
        assertReadBack(
          runs,
          inScenario,
          topicPartitions,
          readerName === clientName ? delivered : null,
          instance,
          readerDriver,
        );
        console.log(`  read back exactly by ${readerName}: ${inScenario.length} records`);
      } catch (error) {
        failures++;
        console.log(
          `  read back by ${readerName} FAILED ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }
} finally {
  mock?.kill();
  await brook?.stop();
  if (brookLogDir) rmSync(brookLogDir, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);
