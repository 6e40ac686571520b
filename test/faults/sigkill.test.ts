// SIGKILL under idempotent acks=all load, repeatedly: the broker process dies at seeded moments
// while kafkajs and librdkafka producers write, and restarts on the same directory and port.
// Nothing acknowledged may be lost, duplicated or reordered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSingleBroker } from './fault-cluster.js';
import {
  repeatFaults,
  restartRecorded,
  singleBrokerLoad,
  withFaultCluster,
} from './fault-schedule.js';
import { seededDelay, runUnderLoad } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/sigkill.test.ts';

for (const seed of faultSeeds('sigkill')) {
  test(`acknowledged records survive repeated SIGKILLs under idempotent load (seed ${seed})`, () =>
    withFaultCluster(startSingleBroker(), async (cluster) => {
      let kills = 0;
      const { acknowledged, read, history } = await runUnderLoad({
        cluster,
        seed,
        file,
        ...singleBrokerLoad,
        async faults({ history, random }) {
          kills = await repeatFaults(faultDurationMs(6_000), 2, async () => {
            await seededDelay(random, 200, 1_200);
            const broker = random.pick(cluster.brokers);
            history.record({ type: 'fault', description: `SIGKILL broker ${broker.id}` });
            await broker.kill();
            await seededDelay(random, 0, 500);
            await restartRecorded(broker, history);
          });
        },
      });
      assert.ok(kills >= 2, `only ${kills} kills happened: the scenario proved little`);
      const restarts = history.events.flatMap((event) =>
        event.type === 'fault' && event.description.includes('restarted')
          ? [event.description]
          : [],
      );
      console.log(`seed ${seed}: ${kills} kills, ${acknowledged} acknowledged, ${read} read`);
      console.log(`seed ${seed}: ${restarts.join('; ')}`);
    }));
}
