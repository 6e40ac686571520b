// What the benches that drive one broker with bench/loadgen share: running a command from the
// checkout's root, reading loadgen's one-line JSON summaries, and a topic of one partition made
// through kafkajs's admin client.

import { execFileSync } from 'node:child_process';

import { Kafka, logLevel } from 'kafkajs';

const root = new URL('..', import.meta.url).pathname;

/** One role's summary line from loadgen (see bench/loadgen/loadgen.c). */
export interface LoadgenSummary {
  role: 'produce' | 'consume';
  messages: number;
  msgs_per_s: number;
  MB_per_s: number;
  latency_us?: { p50: number; p99: number; p999: number; max: number };
  /** The loadgen process's own CPU (every thread, user and system) over its run, in seconds. */
  cpu_s?: number;
}

/** Runs `command` in the checkout's root; its output, or a throw when it fails. */
export function runFromRoot(
  command: string,
  args: string[],
  options: { timeoutMs?: number } = {},
): string {
  return execFileSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 300_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The summary loadgen printed for `role`; throws with the output when there is none. */
export function loadgenSummary(output: string, role: LoadgenSummary['role']): LoadgenSummary {
  const found = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LoadgenSummary)
    .find((summary) => summary.role === role);
  if (found === undefined) throw new Error(`loadgen printed no ${role} summary:\n${output}`);
  return found;
}

export async function createOnePartitionTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
}
