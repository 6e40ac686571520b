// Power loss under idempotent acks=all load: the broker is SIGKILLed and every file it wrote is
// cut back to its last fsync (fsync-journal.ts records them inside the broker process), then it
// restarts. Brook acknowledges only fsynced records, so nothing acknowledged may be lost. The same
// run with fsync decoupled from acknowledgement must lose records: proof that the simulation and
// the checker can fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type FaultCluster, startSingleBroker } from './fault-cluster.js';
import {
  repeatFaults,
  restartRecorded,
  singleBrokerLoad,
  withFaultCluster,
} from './fault-schedule.js';
import { seededDelay, runUnderLoad } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/power-loss.test.ts';

async function powerLossesUnderLoad(cluster: FaultCluster, seed: number) {
  let losses = 0;
  let discardedBytes = 0;
  const result = await runUnderLoad({
    cluster,
    seed,
    file,
    ...singleBrokerLoad,
    async faults({ history, random }) {
      losses = await repeatFaults(faultDurationMs(5_000), 2, async () => {
        await seededDelay(random, 200, 1_000);
        // Every broker at once: the whole machine (or data centre) loses power.
        history.record({ type: 'fault', description: 'power loss on every broker' });
        for (const broker of cluster.brokers) discardedBytes += await broker.powerLoss();
        for (const broker of cluster.brokers) await restartRecorded(broker, history);
      });
    },
  });
  return { ...result, losses, discardedBytes };
}

for (const seed of faultSeeds('power-loss')) {
  test(`acknowledged records survive power losses under idempotent load (seed ${seed})`, () =>
    withFaultCluster(startSingleBroker(), async (cluster) => {
      const { losses, discardedBytes, acknowledged, read } = await powerLossesUnderLoad(
        cluster,
        seed,
      );
      assert.ok(losses >= 2, `only ${losses} power losses happened`);
      console.log(
        `seed ${seed}: ${losses} power losses cut ${discardedBytes} unsynced bytes; ` +
          `${acknowledged} acknowledged, ${read} read`,
      );
    }));
}

test('with acknowledgements before fsync, a power loss loses acknowledged records and the checker says so', async () => {
  const [seed = 1] = faultSeeds('power-loss-unsafe');
  // Kafka's own default: flush rarely, acknowledge from the page cache.
  const unsafe = startSingleBroker({
    settings: { 'log.flush.interval.messages': 1_000_000_000, 'log.flush.interval.ms': 600_000 },
  });
  await withFaultCluster(unsafe, (cluster) =>
    assert.rejects(powerLossesUnderLoad(cluster, seed), (error: Error) => {
      assert.match(error.message, /\d+ violations \(\d+ lost/);
      assert.match(error.message, /lost: \S+-\d+: acknowledged at faults-\d+-\d@\d+/);
      assert.match(error.message, new RegExp(`BROOK_FAULT_SEED=${seed}`));
      return true;
    }),
  );
});
