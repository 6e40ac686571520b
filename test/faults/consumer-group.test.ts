// A consumer group of two kafkajs members reads while the broker (and with it the group
// coordinator) is SIGKILLed and restarted at seeded moments and a librdkafka idempotent producer
// writes. Every acknowledged record must reach some member at least once, each member's reads
// between two joins must go forward, and the log itself must lose and duplicate nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSingleBroker } from './fault-cluster.js';
import { repeatFaults, restartRecorded } from './fault-schedule.js';
import { History } from './history.js';
import {
  createTopic,
  type GroupMemberLoad,
  readTopic,
  startKafkajsGroupMember,
  startRdkafkaProducer,
} from './recorded-clients.js';
import { assertHistoryHolds, brokerOutputs, failureReport, seededDelay } from './scenario.js';
import { waitFor } from '../helpers/poll.js';
import { faultDurationMs, faultSeeds, SeededRandom } from './seeds.js';

const file = 'test/faults/consumer-group.test.ts';
const partitions = 4;

for (const seed of faultSeeds('consumer-group')) {
  test(`a consumer group through broker kills receives every acknowledged record (seed ${seed})`, async () => {
    const cluster = await startSingleBroker({
      settings: { 'group.initial.rebalance.delay.ms': 0 },
    });
    const random = new SeededRandom(seed);
    const history = new History();
    const topic = `grouped-${seed}`;
    const group = `group-${seed}`;
    const failure = (error: unknown): Error =>
      new Error(failureReport(String(error), history, seed, file) + brokerOutputs(cluster));
    try {
      await createTopic(cluster.bootstrapServers, topic, partitions);
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
      const producer = startRdkafkaProducer({
        bootstrapServers: cluster.bootstrapServers,
        topic,
        partitions,
        name: 'rdkafka',
        history,
        random: random.fork('producer'),
      });
      const deliveredCount = (): number =>
        new Set(members.flatMap((member) => [...member.delivered])).size;
      let kills = 0;
      try {
        await waitFor(() => deliveredCount() >= 20, 'the first deliveries', { timeoutMs: 60_000 });
        const faults = random.fork('faults');
        kills = await repeatFaults(faultDurationMs(5_000), 2, async () => {
          await seededDelay(faults, 300, 1_500);
          const broker = faults.pick(cluster.brokers);
          history.record({ type: 'fault', description: `SIGKILL broker ${broker.id}` });
          await broker.kill();
          await restartRecorded(broker, history);
        });
        await producer.stop();
        const acknowledged = history.events.flatMap((event) =>
          event.type === 'ack' ? [event.id] : [],
        );
        await waitFor(
          () => acknowledged.every((id) => members.some((member) => member.delivered.has(id))),
          `the group to receive all ${acknowledged.length} acknowledged records`,
          { timeoutMs: 60_000 },
        );
      } catch (error) {
        await Promise.allSettled([producer.stop(), ...members.map((member) => member.stop())]);
        throw failure(error);
      }
      await Promise.all(members.map((member) => member.stop()));
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
      const redelivered = groupReads - deliveredCount();
      console.log(
        `seed ${seed}: ${kills} kills, ${history.count('ack')} acknowledged, ` +
          `${deliveredCount()} delivered to the group (${redelivered} redeliveries)`,
      );
    } finally {
      await cluster.stop();
    }
  });
}
