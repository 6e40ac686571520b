// The two scenarios that run through a coordinator as well as through partition leaders, written
// once for a single broker and for a cluster: a consumer group reading while brokers are killed
// (at-least-once delivery to the group), and a transactional consume-transform-produce loop
// (exactly-once output). The caller brings the cluster, the topics' placement and the fault: on
// one broker the fault kills the broker and with it every coordinator; in a cluster it kills a
// partition's leader or the group's or the transaction's coordinator, one broker at a time.

import assert from 'node:assert/strict';
import { offsetsPartitionFor } from '../../src/coordinator/group/group-coordinator.js';
import { transactionStatePartitionFor } from '../../src/coordinator/txn/transaction-log.js';
import type { FaultBroker, FaultCluster } from './fault-cluster.js';
import { repeatFaults, restartRecorded } from './fault-schedule.js';
import { History } from './history.js';
import {
  createTopic,
  type GroupMemberLoad,
  readTopic,
  startKafkajsGroupMember,
  startKafkajsProducer,
  startRdkafkaProducer,
  startRdkafkaTransform,
  type TopicPlacement,
} from './recorded-clients.js';
import {
  assertHistoryHolds,
  brokerOutputs,
  failureReport,
  seededDelay,
  stopWithin,
} from './scenario.js';
import { metadataOf } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';
import { faultDurationMs, SeededRandom } from './seeds.js';

/** What a fault round may aim at besides the whole broker set. */
export interface ScenarioTargets {
  /** The data topics the scenario writes and reads. */
  readonly topics: readonly string[];
  /** The consumer group whose coordinator a fault may kill. */
  readonly group: string;
  /** The transactional id whose coordinator a fault may kill, if the scenario has one. */
  readonly transactionalId?: string;
}

export interface CoordinatedScenario {
  readonly cluster: FaultCluster;
  readonly seed: number;
  readonly file: string;
  readonly partitions: number;
  readonly placement?: TopicPlacement;
  /** Which client writes the group scenario's topic (librdkafka unless said). */
  readonly producer?: 'rdkafka' | 'kafkajs';
  /** One fault: takes a broker down and brings it back, recording both in `history`. */
  fault(random: SeededRandom, history: History, targets: ScenarioTargets): Promise<void>;
}

/** The single-broker fault: after a seeded pause, SIGKILL the broker and restart it at once. */
export async function killTheBroker(
  cluster: FaultCluster,
  random: SeededRandom,
  history: History,
): Promise<void> {
  await seededDelay(random, 300, 1_500);
  const broker = random.pick(cluster.brokers);
  history.record({ type: 'fault', description: `SIGKILL broker ${broker.id}` });
  await broker.kill();
  await restartRecorded(broker, history);
}

/**
 * The cluster fault: once every replica of every topic (the coordinators' too) is in sync, after a
 * seeded pause, SIGKILL the broker leading a seeded partition of a data topic, the group's
 * coordinator or the transaction's coordinator (seeded which), and restart it after a seeded
 * pause: sometimes before its session lapses, sometimes after its leaderships moved.
 */
export async function killLeaderOrCoordinator(
  cluster: FaultCluster,
  random: SeededRandom,
  history: History,
  targets: ScenarioTargets,
): Promise<void> {
  await everyReplicaInSync(cluster);
  await seededDelay(random, 200, 1_200);
  const aims: { description: string; topic: string; partition: (count: number) => number }[] = [
    ...targets.topics.map((topic) => ({
      description: `leader of ${topic}`,
      topic,
      partition: (count: number) => random.integer(0, count - 1),
    })),
    {
      description: `coordinator of group ${targets.group}`,
      topic: '__consumer_offsets',
      partition: (count: number) => offsetsPartitionFor(targets.group, count),
    },
  ];
  const transactionalId = targets.transactionalId;
  if (transactionalId !== undefined)
    aims.push({
      description: `coordinator of transactional id ${transactionalId}`,
      topic: '__transaction_state',
      partition: (count: number) => transactionStatePartitionFor(transactionalId, count),
    });
  const aim = random.pick(aims);
  const { broker, partition } = await waitFor(
    async () => {
      const metadata = await metadataOf(runningBroker(cluster), [aim.topic]);
      const partitions = metadata.topics[0]?.partitions ?? [];
      if (partitions.length === 0) return undefined;
      const index = aim.partition(partitions.length);
      const leader = partitions.find((candidate) => candidate.partitionIndex === index)?.leaderId;
      const found = cluster.brokers.find(
        (candidate) => candidate.id === leader && candidate.running,
      );
      return found === undefined ? undefined : { broker: found, partition: index };
    },
    `a running ${aim.description}`,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  history.record({
    type: 'fault',
    description: `SIGKILL broker ${broker.id} (${aim.description}: ${aim.topic}-${partition})`,
  });
  await broker.kill();
  await seededDelay(random, 0, 4_000);
  await restartRecorded(broker, history);
}

function runningBroker(cluster: FaultCluster): { bootstrapServers: string } {
  const broker: FaultBroker | undefined = cluster.brokers.find((candidate) => candidate.running);
  assert.ok(broker, 'a running broker');
  return { bootstrapServers: broker.address };
}

/**
 * Waits until every partition of every topic, the internal ones included, has all its replicas
 * in sync, so the next kill never takes a partition's last in-sync replica.
 */
async function everyReplicaInSync(cluster: FaultCluster): Promise<void> {
  let behind: string[] = [];
  await waitFor(
    async () => {
      const metadata = await metadataOf(runningBroker(cluster), null);
      behind = metadata.topics.flatMap((topic) =>
        topic.partitions
          .filter((partition) => partition.isrNodes.length < partition.replicaNodes.length)
          .map((partition) => `${topic.name}-${partition.partitionIndex}`),
      );
      return behind.length === 0;
    },
    () => `every replica in sync (behind: ${behind.join(', ')})`,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

/**
 * Two kafkajs group members read a topic an idempotent producer writes, while faults
 * run: every acknowledged record must reach some member at least once, each member's reads
 * between two joins must go forward, and the log must lose and duplicate nothing.
 */
export async function runConsumerGroupScenario(scenario: CoordinatedScenario): Promise<void> {
  const { cluster, seed, file, partitions } = scenario;
  const random = new SeededRandom(seed);
  const history = new History();
  const topic = `grouped-${seed}`;
  const group = `group-${seed}`;
  const failure = (error: unknown): Error =>
    new Error(failureReport(String(error), history, seed, file) + brokerOutputs(cluster));
  await createTopic(cluster.bootstrapServers, topic, partitions, scenario.placement);
  const members: GroupMemberLoad[] = [];
  for (const member of ['a', 'b'])
    members.push(
      await startKafkajsGroupMember({
        bootstrapServers: cluster.bootstrapServers,
        topic,
        group,
        member,
        history,
      }),
    );
  const producerOptions = {
    bootstrapServers: cluster.bootstrapServers,
    topic,
    partitions,
    name: scenario.producer ?? 'rdkafka',
    history,
    random: random.fork('producer'),
  };
  const producer =
    scenario.producer === 'kafkajs'
      ? await startKafkajsProducer(producerOptions)
      : startRdkafkaProducer(producerOptions);
  const deliveredCount = (): number =>
    new Set(members.flatMap((member) => [...member.delivered])).size;
  let kills = 0;
  try {
    await waitFor(() => deliveredCount() >= 20, 'the first deliveries', { timeoutMs: 60_000 });
    const faults = random.fork('faults');
    kills = await repeatFaults(faultDurationMs(5_000), 2, () =>
      scenario.fault(faults, history, { topics: [topic], group }),
    );
    await producer.stop();
    const acknowledged = history.events.flatMap((event) =>
      event.type === 'ack' ? [event.id] : [],
    );
    const undelivered = () =>
      acknowledged.filter((id) => !members.some((member) => member.delivered.has(id)));
    await waitFor(
      () => undelivered().length === 0,
      () =>
        `the group to receive all ${acknowledged.length} acknowledged records; ` +
        undeliveredReport(history, new Set(undelivered())),
      { timeoutMs: 60_000 },
    );
  } catch (error) {
    throw failure(String(error) + (await stopWithin([producer, ...members])));
  }
  const stopProblems = await stopWithin(members);
  if (stopProblems !== '') throw failure(`the group's members did not stop:${stopProblems}`);
  await readTopic({
    bootstrapServers: cluster.bootstrapServers,
    topic,
    isolation: 'read_committed',
    consumer: 'verifier',
    history,
  });
  assertHistoryHolds(
    history,
    { idempotent: true, atLeastOnce: { topic, consumerPrefix: `${group}/` } },
    seed,
    file,
  );
  assert.ok(kills >= 2, `only ${kills} kills happened`);
  const groupReads = history.events.filter(
    (event) => event.type === 'read' && event.consumer.startsWith(`${group}/`),
  ).length;
  console.log(
    `seed ${seed}: ${kills} kills, ${history.count('ack')} acknowledged, ` +
      `${deliveredCount()} delivered to the group (${groupReads - deliveredCount()} redeliveries)`,
  );
}

/**
 * Where the records a group never received sit, against how far its members read each partition,
 * and what the members and the faults did: for reading a group scenario that timed out.
 */
function undeliveredReport(history: History, undelivered: ReadonlySet<string>): string {
  const missing = new Map<number, number[]>();
  const readTo = new Map<number, number>();
  const happenings: string[] = [];
  for (const event of history.events) {
    if (event.type === 'ack' && undelivered.has(event.id)) {
      const offsets = missing.get(event.partition) ?? [];
      offsets.push(event.offset);
      missing.set(event.partition, offsets);
    } else if (event.type === 'read')
      readTo.set(event.partition, Math.max(readTo.get(event.partition) ?? -1, event.offset));
    else if (event.type === 'client' || event.type === 'fault')
      happenings.push(
        `${event.atMs} ms ${event.type === 'client' ? event.client : 'fault'}: ${event.description}`,
      );
  }
  const partitions = [...missing].map(
    ([partition, offsets]) =>
      `partition ${partition}: ${offsets.length} at offsets ${Math.min(...offsets)}-` +
      `${Math.max(...offsets)}, the group read to ${readTo.get(partition) ?? 'nothing'}`,
  );
  // The last events are the ones that matter when delivery stalled; kafkajs's warnings are many.
  const last = happenings.slice(-80).join('\n');
  return `${undelivered.size} never delivered; ${partitions.join('; ')}\n${last}`;
}

/**
 * librdkafka's transactional consume-transform-produce loop reads an input topic an idempotent
 * kafkajs producer feeds and writes an output topic, aborting some transactions on purpose, while
 * faults run. Exactly-once: every acknowledged input has exactly one committed output, and
 * read_committed never shows an aborted one.
 */
export async function runTransformScenario(scenario: CoordinatedScenario): Promise<void> {
  const { cluster, seed, file, partitions } = scenario;
  const random = new SeededRandom(seed);
  const history = new History();
  const inputTopic = `input-${seed}`;
  const outputTopic = `output-${seed}`;
  const transformName = 'transform';
  const failure = (error: unknown): Error =>
    new Error(failureReport(String(error), history, seed, file) + brokerOutputs(cluster));
  await createTopic(cluster.bootstrapServers, inputTopic, partitions, scenario.placement);
  await createTopic(cluster.bootstrapServers, outputTopic, partitions, scenario.placement);
  const input = await startKafkajsProducer({
    bootstrapServers: cluster.bootstrapServers,
    topic: inputTopic,
    partitions,
    name: 'input',
    history,
    random: random.fork('input'),
    maxRecords: 400,
  });
  const transform = startRdkafkaTransform({
    bootstrapServers: cluster.bootstrapServers,
    inputTopic,
    outputTopic,
    name: transformName,
    history,
    random: random.fork('transform'),
    abortPercent: 20,
  });
  let kills = 0;
  try {
    await waitFor(() => transform.outcomes.commit >= 3, 'the first committed transactions', {
      timeoutMs: 60_000,
    });
    const faults = random.fork('faults');
    const deadline = Date.now() + faultDurationMs(6_000);
    // Faults go on until the transform has also aborted a few transactions on purpose, or the
    // aborted-visible check below would have nothing to look at (a slow machine can reach the
    // deadline with few transactions); bounded by a minute past the deadline.
    const enoughAborts = () => transform.outcomes.abort >= 3;
    while (
      (Date.now() < deadline || kills < 2 || !enoughAborts()) &&
      Date.now() < deadline + 60_000
    ) {
      await scenario.fault(faults, history, {
        topics: [inputTopic, outputTopic],
        group: `${transformName}-group`,
        transactionalId: transformName,
      });
      kills++;
    }
    await input.stop();
    const acknowledgedInputs = history.events.flatMap((event) =>
      event.type === 'ack' && event.topic === inputTopic ? [event.id] : [],
    );
    await waitFor(
      () => acknowledgedInputs.every((id) => transform.committedSources.has(id)),
      `the transform to commit all ${acknowledgedInputs.length} acknowledged inputs`,
      { timeoutMs: 60_000 },
    );
    await transform.stop();
  } catch (error) {
    throw failure(String(error) + (await stopWithin([input, transform])));
  }

  const read = (
    topic: string,
    consumer: string,
    isolation: 'read_committed' | 'read_uncommitted',
  ) =>
    readTopic({ bootstrapServers: cluster.bootstrapServers, topic, isolation, consumer, history });
  await read(inputTopic, 'verify-input', 'read_committed');
  await read(outputTopic, 'verify-output', 'read_committed');
  await read(outputTopic, 'dirty-output', 'read_uncommitted');
  assertHistoryHolds(
    history,
    { idempotent: true, exactlyOnce: { inputTopic, outputTopic } },
    seed,
    file,
  );

  // The run must have produced what the checks look for, or they proved nothing.
  const aborted = new Set(
    history.events.flatMap((event) =>
      event.type === 'transaction' && event.outcome === 'abort' ? [event.transaction] : [],
    ),
  );
  const abortedSends = new Set(
    history.events.flatMap((event) =>
      event.type === 'send' && event.transaction !== undefined && aborted.has(event.transaction)
        ? [event.id]
        : [],
    ),
  );
  const dirtyAborted = history.events.filter(
    (event) =>
      event.type === 'read' && event.consumer === 'dirty-output' && abortedSends.has(event.id),
  ).length;
  assert.ok(kills >= 2, `only ${kills} kills happened`);
  assert.ok(
    dirtyAborted > 0,
    'no aborted record ever reached the log: aborted-visible was not tested',
  );
  const faultsSeen = history.events.flatMap((event) =>
    event.type === 'fault' ? [event.description] : [],
  );
  console.log(`seed ${seed}: ${faultsSeen.join('; ')}`);
  console.log(
    `seed ${seed}: ${kills} kills; transactions ${JSON.stringify(transform.outcomes)}; ` +
      `${transform.committedSources.size} inputs transformed; ${dirtyAborted} aborted records in the log`,
  );
}
