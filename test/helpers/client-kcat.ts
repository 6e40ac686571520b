// ClientDriver for kcat 1.7.1 (Debian; librdkafka 2.0.2). kcat has no admin commands, so creating,
// describing, altering and deleting the topic goes through python3-confluent-kafka (the same
// librdkafka); kcat itself produces (-P with -K key delimiter, -H headers, -z codec, -p partition),
// consumes (-C -o beginning -e -J), lists metadata (-L -J) and looks offsets up by time (-o s@TS).
import { pythonDriver } from './client-python.js';
import { runChecked } from './clients.js';
import type { ClientDriver, ReadRecord, RecordRun } from './client-scenario.js';

const callTimeoutMs = 60_000;
const keyDelimiter = '\t';

interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

function kcat(bootstrap: string, args: string[], input?: string): Promise<string> {
  return runChecked(
    'kcat',
    ['-b', bootstrap, '-m', '15', '-X', 'socket.timeout.ms=10000', ...args],
    {
      input,
      timeoutMs: callTimeoutMs,
    },
  );
}

function parseMessages(stdout: string): KcatMessage[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatMessage);
}

function toReadRecord(message: KcatMessage): ReadRecord {
  const headers: [string, Buffer | null][] = [];
  const flat = message.headers ?? [];
  for (let index = 0; index < flat.length; index += 2) {
    const value = flat[index + 1];
    headers.push([flat[index]!, value === null || value === undefined ? null : Buffer.from(value)]);
  }
  return {
    partition: message.partition,
    offset: message.offset,
    key: message.key === null ? null : Buffer.from(message.key),
    value: Buffer.from(message.payload ?? ''),
    headers,
    timestamp: message.ts,
  };
}

export function kcatDriver(): ClientDriver {
  const admin = pythonDriver('kcat', 'confluent_kafka_driver.py', []);
  return {
    name: 'kcat',
    codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    textOnly: true,
    setsTimestamps: false,
    createTopic: admin.createTopic,
    describeTopicConfigs: admin.describeTopicConfigs,
    alterTopicConfigs: admin.alterTopicConfigs,
    deleteTopic: admin.deleteTopic,
    async produce(bootstrap, topic, runs: RecordRun[]) {
      // One kcat per run: -H and -z apply to everything one invocation sends.
      for (const run of runs) {
        const args = [
          '-P',
          '-t',
          topic,
          '-p',
          String(run.partition),
          '-X',
          `compression.codec=${run.codec}`,
        ];
        args.push('-X', 'linger.ms=5', '-X', 'acks=all');
        if (run.keyed) args.push('-K', keyDelimiter);
        for (const [key, value] of run.headers) args.push('-H', `${key}=${value.toString()}`);
        const lines = run.records.map((record) => {
          const value = record.value.toString();
          if (value.includes('\n') || value.includes(keyDelimiter)) {
            throw new Error('kcat records must be text without newlines or tabs');
          }
          return run.keyed ? `${record.key!.toString()}${keyDelimiter}${value}` : value;
        });
        await kcat(bootstrap, args, lines.join('\n') + '\n');
      }
      return null;
    },
    async readAll(bootstrap, topic) {
      const stdout = await kcat(bootstrap, [
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-J',
        '-q',
      ]);
      return parseMessages(stdout).map(toReadRecord);
    },
    async offsetsForTimes(bootstrap, topic, queries) {
      const offsets: number[] = [];
      for (const query of queries) {
        const stdout = await kcat(bootstrap, [
          '-C',
          '-t',
          topic,
          '-p',
          String(query.partition),
          '-o',
          `s@${query.timestamp}`,
          '-c',
          '1',
          '-e',
          '-J',
          '-q',
        ]);
        const messages = parseMessages(stdout);
        offsets.push(messages.length === 0 ? -1 : messages[0]!.offset);
      }
      return offsets;
    },
    async listTopics(bootstrap) {
      const metadata = JSON.parse(await kcat(bootstrap, ['-L', '-J'])) as {
        topics: { topic: string }[];
      };
      return metadata.topics.map((entry) => entry.topic);
    },
  };
}
