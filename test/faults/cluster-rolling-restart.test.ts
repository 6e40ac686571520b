// A rolling restart of a 3-broker cluster (etcd, RF 3, min.insync.replicas 2) under idempotent
// acks=all load: each broker in turn gets SIGTERM (controlled shutdown hands its leaderships away
// first), exits, restarts on its directory, and must be back in every ISR before the next one
// goes. Nothing acknowledged may be lost, duplicated or reordered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForFullIsr } from './cluster-scenario.js';
import { restartRecorded, runClusterScenario } from './fault-schedule.js';
import { seededDelay } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/cluster-rolling-restart.test.ts';

for (const seed of faultSeeds('cluster-rolling-restart')) {
  test(`a cluster keeps every acknowledged record through a rolling restart (seed ${seed})`, async () => {
    let restarts = 0;
    let brokers = 0;
    const { acknowledged, read } = await runClusterScenario({
      seed,
      file,
      async faults(cluster, { history, random, topic }) {
        brokers = cluster.brokers.length;
        const deadline = Date.now() + faultDurationMs(0);
        // At least one whole round; more rounds while the fault time lasts.
        do {
          // A seeded starting broker, then around the cluster in id order.
          const first = random.integer(0, cluster.brokers.length - 1);
          const order = [...cluster.brokers.slice(first), ...cluster.brokers.slice(0, first)];
          for (const broker of order) {
            await waitForFullIsr(cluster, topic);
            await seededDelay(random, 100, 800);
            history.record({ type: 'fault', description: `SIGTERM broker ${broker.id}` });
            await broker.terminate();
            await seededDelay(random, 0, 1_000);
            await restartRecorded(broker, history);
            restarts++;
          }
        } while (Date.now() < deadline);
      },
    });
    assert.ok(restarts >= brokers, `only ${restarts} restarts happened`);
    console.log(`seed ${seed}: ${restarts} restarts, ${acknowledged} acknowledged, ${read} read`);
  });
}
