// Checks the client drivers' data path (produce in every codec, read back exactly, look offsets up
// by time) against librdkafka's built-in mock cluster, for working on the drivers without a Brook
// broker. Not part of `npm test`: the mock has no admin APIs, keeps nothing on disk and answers
// ListOffsets by timestamp with -1, so only produce and read-back are asserted here.
//
//   node --import tsx test/compat/check-drivers-with-mock.ts [driver-name ...]
import { topicPartitions, assertReadBack, scenarioRuns, type ClientDriver } from '../helpers/client-scenario.js';
import { ChildClient, clientInstalled, systemPython, waitFor, type ClientName } from '../helpers/clients.js';
import { compatDrivers } from './drivers.js';

const wanted = process.argv.slice(2);
const mock = new ChildClient(systemPython, ['test/compat/python/rdkafka_mock_cluster.py']);
let failures = 0;
try {
  const started = await waitFor(() => mock.events[0], 'the mock cluster to start', 15_000);
  const bootstrap = started.bootstrapServers as string;
  console.log(`mock cluster at ${bootstrap}`);
  for (const [clientName, driver] of Object.entries(compatDrivers) as [ClientName, () => ClientDriver][]) {
    if (wanted.length > 0 && !wanted.includes(clientName)) continue;
    if (!clientInstalled(clientName)) {
      console.log(`${clientName}: not installed, skipped`);
      continue;
    }
    const instance = driver();
    const topic = `mock-${clientName}-${Date.now()}`;
    try {
      const runs = scenarioRuns(instance, topicPartitions, Date.now() - 600_000);
      const delivered = await instance.produce(bootstrap, topic, runs);
      const read = await instance.readAll(bootstrap, topic, topicPartitions, runs.flatMap((run) => run.records).length);
      assertReadBack(runs, read.filter((record) => record.partition < topicPartitions), topicPartitions, delivered);
      const offsets = await instance.offsetsForTimes(bootstrap, topic, [{ partition: 0, timestamp: 0 }]);
      console.log(`${clientName}: ok, ${read.length} records read back exactly; offset for time 0 on the mock: ${offsets[0]}`);
    } catch (error) {
      failures++;
      console.log(`${clientName}: FAILED ${error instanceof Error ? error.stack : String(error)}`);
    }
  }
} finally {
  mock.kill();
}
process.exit(failures === 0 ? 0 : 1);
