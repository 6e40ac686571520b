// A consume-transform-produce loop in transactions (librdkafka) runs while the broker is SIGKILLed
// and restarted at seeded moments and an idempotent kafkajs producer keeps feeding its input. Some
// transactions are aborted on purpose, others die with the broker. Exactly-once: every
// acknowledged input has exactly one committed output, and read_committed never shows an aborted
// one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSingleBroker } from './fault-cluster.js';
import { restartRecorded } from './fault-schedule.js';
import { History } from './history.js';
import {
  createTopic,
  readTopic,
  startKafkajsProducer,
  startRdkafkaTransform,
} from './recorded-clients.js';
import { assertHistoryHolds, brokerOutputs, seededDelay, failureReport } from './scenario.js';
import { waitFor } from '../helpers/poll.js';
import { faultDurationMs, faultSeeds, SeededRandom } from './seeds.js';

const file = 'test/faults/transactions.test.ts';
const partitions = 3;

for (const seed of faultSeeds('transactions')) {
  test(`a transactional transform through broker kills writes each input exactly once (seed ${seed})`, async () => {
    const cluster = await startSingleBroker({
      settings: { 'group.initial.rebalance.delay.ms': 0 },
    });
    const random = new SeededRandom(seed);
    const history = new History();
    const inputTopic = `input-${seed}`;
    const outputTopic = `output-${seed}`;
    const failure = (error: unknown): Error =>
      new Error(failureReport(String(error), history, seed, file) + brokerOutputs(cluster));
    try {
      await createTopic(cluster.bootstrapServers, inputTopic, partitions);
      await createTopic(cluster.bootstrapServers, outputTopic, partitions);
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
        name: 'transform',
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
        // Faults go on until the transform has also aborted a few transactions on purpose, or
        // the aborted-visible check below would have nothing to look at (a slow machine can
        // reach the deadline with few transactions); bounded by a minute past the deadline.
        const enoughAborts = () => transform.outcomes.abort >= 3;
        while (
          (Date.now() < deadline || kills < 2 || !enoughAborts()) &&
          Date.now() < deadline + 60_000
        ) {
          await seededDelay(faults, 300, 1_500);
          const broker = faults.pick(cluster.brokers);
          history.record({ type: 'fault', description: `SIGKILL broker ${broker.id}` });
          await broker.kill();
          kills++;
          await restartRecorded(broker, history);
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
        await Promise.allSettled([input.stop(), transform.stop()]);
        throw failure(error);
      }

      const read = (
        topic: string,
        consumer: string,
        isolation: 'read_committed' | 'read_uncommitted',
      ) =>
        readTopic({
          bootstrapServers: cluster.bootstrapServers,
          topic,
          isolation,
          consumer,
          history,
        });
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
      const restarts = history.events.flatMap((event) =>
        event.type === 'fault' && event.description.includes('restarted')
          ? [event.description]
          : [],
      );
      console.log(`seed ${seed}: ${restarts.join('; ')}`);
      console.log(
        `seed ${seed}: ${kills} kills; transactions ${JSON.stringify(transform.outcomes)}; ` +
          `${transform.committedSources.size} inputs transformed; ${dirtyAborted} aborted records in the log`,
      );
    } finally {
      await cluster.stop();
    }
  });
}
