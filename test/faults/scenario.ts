// The shape every fault scenario shares: a cluster, recorded producers under load, a seeded fault
// schedule for a while, a check that the load recovered, a complete read, and the checker. A
// failure prints the seed and the command that replays it, and keeps the history as JSON lines.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHistory, describeViolations, type CheckOptions } from './checker.js';
import type { FaultCluster } from './fault-cluster.js';
import { History } from './history.js';
import {
  createTopic,
  type Load,
  readTopic,
  startKafkajsProducer,
  startRdkafkaProducer,
  type TopicPlacement,
} from './recorded-clients.js';
import { SeededRandom } from './seeds.js';
import { waitFor } from '../helpers/poll.js';

export type ProducerKind = 'kafkajs' | 'rdkafka';

/** How a scenario failure tells the reader to replay it. */
export function replayHint(file: string, seed: number): string {
  return `replay: BROOK_FAULT_SEED=${seed} node scripts/run-tests.mjs ${file}`;
}

/** Waits a seeded time in [minimumMs, maximumMs]: the schedule varies with the seed, not the clock. */
export function seededDelay(
  random: SeededRandom,
  minimumMs: number,
  maximumMs: number,
): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, random.integer(minimumMs, maximumMs)));
}

export interface LoadRun {
  readonly history: History;
  readonly random: SeededRandom;
  /** The topic the producers write. */
  readonly topic: string;
  /** Acknowledgements so far. */
  acknowledged(): number;
}

/**
 * Runs `faults` while idempotent acks=all producers write to a fresh topic, then requires the
 * load to make progress after the faults (a broker that never recovers fails here, not in the
 * checker), stops the producers, reads the topic completely and checks the history.
 */
export async function runUnderLoad(options: {
  cluster: FaultCluster;
  seed: number;
  file: string;
  producers: readonly ProducerKind[];
  partitions: number;
  faults: (run: LoadRun) => Promise<void>;
  check?: Partial<CheckOptions>;
  /** Replication factor and topic configs (cluster scenarios); default: the broker's defaults. */
  placement?: TopicPlacement;
  /** Client request timeout; shorter than a pause makes clients retry into a stalled broker. */
  requestTimeoutMs?: number;
}): Promise<{ history: History; acknowledged: number; read: number }> {
  const { cluster, seed } = options;
  const random = new SeededRandom(seed);
  const history = new History();
  const topic = `faults-${seed}`;
  await createTopic(cluster.bootstrapServers, topic, options.partitions, options.placement);

  const loads: Load[] = [];
  for (const [index, kind] of options.producers.entries()) {
    const name = `${kind}${index}`;
    const producerOptions = {
      bootstrapServers: cluster.bootstrapServers,
      topic,
      partitions: options.partitions,
      name,
      history,
      random: random.fork(name),
      requestTimeoutMs: options.requestTimeoutMs,
      config:
        options.requestTimeoutMs === undefined
          ? undefined
          : { 'request.timeout.ms': options.requestTimeoutMs },
    };
    loads.push(
      kind === 'kafkajs'
        ? await startKafkajsProducer(producerOptions)
        : startRdkafkaProducer(producerOptions),
    );
  }
  const acknowledged = (): number => history.count('ack');

  try {
    await waitFor(() => acknowledged() >= 20, 'the first acknowledgements', { timeoutMs: 30_000 });
    await options.faults({ history, random: random.fork('faults'), topic, acknowledged });
    const afterFaults = acknowledged();
    await waitFor(
      () => acknowledged() >= afterFaults + 20,
      'acknowledgements after the last fault',
      { timeoutMs: 60_000 },
    );
  } catch (error) {
    // A producer that died (its script raised) stops acknowledging too: say so, with its stderr.
    const producerErrors = await stopWithin(loads);
    // What was acknowledged so far must still hold: a producer's fatal error (the broker
    // answering out of order, say) can follow a loss that only the checker would name.
    const verdict = await checkWhatWasAcknowledged(cluster, topic, history, options.check);
    throw new Error(
      failureReport(String(error) + producerErrors + verdict, history, seed, options.file) +
        brokerOutputs(cluster),
    );
  }
  await Promise.all(loads.map((load) => load.stop()));

  const read = await readTopic({
    bootstrapServers: cluster.bootstrapServers,
    topic,
    isolation: 'read_committed',
    consumer: 'verifier',
    history,
  });
  assertHistoryHolds(history, { idempotent: true, ...options.check }, seed, options.file);
  return { history, acknowledged: acknowledged(), read };
}

/** For a failed run: reads the topic and runs the checker, saying what it found (never throws). */
async function checkWhatWasAcknowledged(
  cluster: FaultCluster,
  topic: string,
  history: History,
  check: Partial<CheckOptions> | undefined,
): Promise<string> {
  try {
    await readTopic({
      bootstrapServers: cluster.bootstrapServers,
      topic,
      isolation: 'read_committed',
      consumer: 'verifier',
      history,
    });
    const violations = checkHistory(history.events, { idempotent: true, ...check });
    return violations.length === 0
      ? '\nthe checker found no violation in what was acknowledged before it'
      : `\nthe checker found, in what was acknowledged before it:\n${describeViolations(violations)}`;
  } catch (error) {
    return `\nthe checker could not read the topic: ${String(error)}`;
  }
}

/** Runs the checker; on violations fails with them, the seed, the replay command and the history. */
export function assertHistoryHolds(
  history: History,
  check: CheckOptions,
  seed: number,
  file: string,
): void {
  const violations = checkHistory(history.events, check);
  if (violations.length > 0)
    assert.fail(failureReport(describeViolations(violations), history, seed, file));
}

/** What a failed scenario says: the detail, the seed and how to replay it, the saved history. */
export function failureReport(
  detail: string,
  history: History,
  seed: number,
  file: string,
): string {
  return `${detail}\nseed ${seed}; ${replayHint(file, seed)}\n${saveHistory(history, seed)}`;
}

export function saveHistory(history: History, seed: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'brook-fault-history-')), `seed-${seed}.jsonl`);
  history.save(path);
  return `history: ${path}`;
}

/**
 * Stops loads, each given `withinMs`: a client that hangs in its stop must not hang the test, or
 * keep a failure already found from being reported. Returns what went wrong, a line each ('' when
 * every load stopped).
 */
export async function stopWithin(loads: readonly Load[], withinMs = 20_000): Promise<string> {
  const lines = await Promise.all(
    loads.map(async (load) => {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve(`${load.name} did not stop within ${withinMs} ms`),
          withinMs,
        );
      });
      const stopped = load.stop().then(
        () => '',
        (error: unknown) => `${load.name} failed: ${String(error)}`,
      );
      const line = await Promise.race([stopped, hung]);
      clearTimeout(timer);
      return line;
    }),
  );
  return lines
    .filter((line) => line !== '')
    .map((line) => `\n${line}`)
    .join('');
}

export function brokerOutputs(cluster: FaultCluster): string {
  return cluster.brokers
    .map((broker) => `\n--- broker ${broker.id} ---\n${broker.output().slice(-4000)}`)
    .join('');
}
