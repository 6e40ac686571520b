// A rolling restart of a 3-broker cluster (etcd, RF 3, min.insync.replicas 2) under idempotent
// acks=all load: each broker in turn gets SIGTERM (controlled shutdown hands its leaderships away
// first), exits, restarts on its directory, and must be back in every ISR before the next one
// goes. Nothing acknowledged may be lost, duplicated or reordered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clusterPlacement,
  clusterProducers,
  clusterSettings,
  waitForFullIsr,
} from './cluster-scenario.js';
import { startBrokerCluster } from './fault-cluster.js';
import { seededDelay, runUnderLoad } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/cluster-rolling-restart.test.ts';

for (const seed of faultSeeds('cluster-rolling-restart')) {
  test(`a cluster keeps every acknowledged record through a rolling restart (seed ${seed})`, async () => {
    const cluster = await startBrokerCluster({ brokers: 3, settings: clusterSettings });
    try {
      let restarts = 0;
      const { acknowledged, read } = await runUnderLoad({
        cluster,
        seed,
        file,
        producers: clusterProducers,
        partitions: 3,
        placement: clusterPlacement,
        async faults({ history, random, topic }) {
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
              await broker.restart();
              restarts++;
              history.record({
                type: 'fault',
                description: `broker ${broker.id} restarted in ${broker.lastRestartMs} ms`,
              });
            }
          } while (Date.now() < deadline);
        },
      });
      assert.ok(restarts >= cluster.brokers.length, `only ${restarts} restarts happened`);
      console.log(`seed ${seed}: ${restarts} restarts, ${acknowledged} acknowledged, ${read} read`);
    } finally {
      await cluster.stop();
    }
  });
}
