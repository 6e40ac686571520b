// SIGSTOP/SIGCONT under idempotent acks=all load: the broker freezes with its sockets open for
// seeded stretches, some longer than the clients' request timeout, so producers time out and
// retry batches the broker may already have written. Idempotence must turn every retry into the
// original offset: nothing acknowledged lost, nothing duplicated, order kept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSingleBroker } from './fault-cluster.js';
import { repeatFaults, singleBrokerLoad, withFaultCluster } from './fault-schedule.js';
import { seededDelay, runUnderLoad } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/pause.test.ts';
const requestTimeoutMs = 1_500;

for (const seed of faultSeeds('pause')) {
  test(`a paused and resumed broker acknowledges each record once (seed ${seed})`, () =>
    withFaultCluster(startSingleBroker(), async (cluster) => {
      let pauses = 0;
      const { acknowledged, read, history } = await runUnderLoad({
        cluster,
        seed,
        file,
        ...singleBrokerLoad,
        requestTimeoutMs,
        async faults({ history, random }) {
          pauses = await repeatFaults(faultDurationMs(6_000), 2, async () => {
            await seededDelay(random, 200, 800);
            const broker = random.pick(cluster.brokers);
            history.record({ type: 'fault', description: `SIGSTOP broker ${broker.id}` });
            broker.pause();
            await seededDelay(random, 300, requestTimeoutMs * 2);
            history.record({ type: 'fault', description: `SIGCONT broker ${broker.id}` });
            broker.resume();
          });
        },
      });
      assert.ok(pauses >= 2, `only ${pauses} pauses happened`);
      console.log(
        `seed ${seed}: ${pauses} pauses, ${acknowledged} acknowledged, ` +
          `${history.count('fail')} sends given up, ${read} read`,
      );
    }));
}
