// ClientDriver for the Python driver programs in test/compat/python (python3-confluent-kafka and
// python3-kafka). Each call runs the program under /usr/bin/python3 with a bounded time.
import { join } from 'node:path';
import { compatDirectory, runChecked, systemPython } from './clients.js';
import {
  fromWire,
  toWire,
  type ClientDriver,
  type Codec,
  type DeliveredOffset,
  type ReadRecord,
  type RecordRun,
  type WireRecord,
} from './client-scenario.js';

const callTimeoutMs = 90_000;

export function pythonDriver(name: string, script: string, codecs: Codec[]): ClientDriver {
  const path = join(compatDirectory, 'python', script);
  async function call(
    command: string,
    bootstrap: string,
    topic: string,
    input?: unknown,
    ...rest: string[]
  ) {
    const stdout = await runChecked(systemPython, [path, command, bootstrap, topic, ...rest], {
      input: input === undefined ? '' : JSON.stringify(input),
      timeoutMs: callTimeoutMs,
    });
    return JSON.parse(stdout) as unknown;
  }
  return {
    name,
    codecs,
    textOnly: false,
    setsTimestamps: true,
    async createTopic(bootstrap, topic, partitions, configs) {
      await call('create', bootstrap, topic, configs, String(partitions));
    },
    async describeTopicConfigs(bootstrap, topic) {
      return (await call('describe', bootstrap, topic)) as Record<string, string | null>;
    },
    async alterTopicConfigs(bootstrap, topic, _changes, all) {
      await call('alter', bootstrap, topic, all);
    },
    async produce(bootstrap, topic, runs: RecordRun[]) {
      const wireRuns = runs.map((run) => ({ codec: run.codec, records: run.records.map(toWire) }));
      return (await call('produce', bootstrap, topic, wireRuns)) as DeliveredOffset[];
    },
    async readAll(bootstrap, topic, partitions): Promise<ReadRecord[]> {
      const records = (await call(
        'read',
        bootstrap,
        topic,
        undefined,
        String(partitions),
      )) as WireRecord[];
      return records.map(fromWire);
    },
    async offsetsForTimes(bootstrap, topic, queries) {
      return (await call('offsets-for-times', bootstrap, topic, queries)) as number[];
    },
    async deleteTopic(bootstrap, topic) {
      await call('delete', bootstrap, topic);
    },
    async listTopics(bootstrap) {
      return (await call('list', bootstrap, '-')) as string[];
    },
  };
}
