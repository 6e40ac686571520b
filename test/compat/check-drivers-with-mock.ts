// Checks the client drivers' data path (produce in every codec, read back exactly, look offsets up
// by time) against librdkafka's built-in mock cluster, for working on the drivers without a Brook
// broker. Not part of `npm test`: the mock has no admin APIs, keeps nothing on disk and answers
// ListOffsets by timestamp with -1, so only produce and read-back are asserted here. What each
// client produces is read back by every other installed client too, which checks the codecs
// (kafkajs's snappy, lz4 and zstd are registered by client-kafkajs.ts) across implementations.
//
//   node --import tsx test/compat/check-drivers-with-mock.ts [driver-name ...]
import {
  topicPartitions,
  assertReadBack,
  scenarioRuns,
  type ClientDriver,
} from '../helpers/client-scenario.js';
import {
  ChildClient,
  clientInstalled,
  systemPython,
  waitFor,
  type ClientName,
} from '../helpers/clients.js';
import { compatDrivers } from './drivers.js';

const wanted = process.argv.slice(2);
const mock = new ChildClient(systemPython, ['test/compat/python/rdkafka_mock_cluster.py']);
let failures = 0;
try {
  const started = await waitFor(() => mock.events[0], 'the mock cluster to start', 15_000);
  const bootstrap = started.bootstrapServers as string;
  console.log(`mock cluster at ${bootstrap}`);
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
      delivered = await instance.produce(bootstrap, topic, runs);
      const offsets = await instance.offsetsForTimes(bootstrap, topic, [
        { partition: 0, timestamp: 0 },
      ]);
      console.log(`${clientName}: produced; offset for time 0 on the mock: ${offsets[0]}`);
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
  mock.kill();
}
process.exit(failures === 0 ? 0 : 1);
