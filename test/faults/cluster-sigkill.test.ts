// Leader SIGKILL on a 3-broker cluster (etcd, RF 3, min.insync.replicas 2) under idempotent
// acks=all load from two client families at once (librdkafka and kafkajs), repeatedly: the leader of a seeded partition dies at a seeded moment, another
// replica takes over once its session lapses, and the dead broker restarts later on its directory
// and must truncate and catch up before the next kill. Nothing acknowledged may be lost,
// duplicated or reordered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clusterPlacement,
  clusterProducers,
  clusterSettings,
  seededLeader,
  waitForFullIsr,
} from './cluster-scenario.js';
import { startBrokerCluster } from './fault-cluster.js';
import { seededDelay, runUnderLoad } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/cluster-sigkill.test.ts';
const partitions = 3;
// Two client families through the same kills: librdkafka (several requests in flight) and kafkajs
// (one), each recorded under its kind and index, as runUnderLoad names them.
const kinds = [...clusterProducers, 'kafkajs'] as const;
const producers = kinds.map((kind, index) => `${kind}${index}`);

for (const seed of faultSeeds('cluster-sigkill')) {
  test(`a cluster keeps every acknowledged record through repeated leader SIGKILLs (seed ${seed})`, async () => {
    const cluster = await startBrokerCluster({ brokers: 3, settings: clusterSettings });
    try {
      let kills = 0;
      const { history, acknowledged, read } = await runUnderLoad({
        cluster,
        seed,
        file,
        producers: kinds,
        partitions,
        placement: clusterPlacement,
        async faults({ history, random, topic }) {
          const deadline = Date.now() + faultDurationMs(6_000);
          while (Date.now() < deadline || kills < 2) {
            await waitForFullIsr(cluster, topic);
            await seededDelay(random, 200, 1_200);
            const { partition, broker } = await seededLeader(cluster, topic, partitions, random);
            history.record({
              type: 'fault',
              description: `SIGKILL broker ${broker.id} (leader of ${topic}-${partition})`,
            });
            await broker.kill();
            kills++;
            // Sometimes back before its session lapses, sometimes after the leadership moved.
            await seededDelay(random, 0, 4_000);
            await broker.restart();
            history.record({
              type: 'fault',
              description: `broker ${broker.id} restarted in ${broker.lastRestartMs} ms`,
            });
          }
        },
      });
      assert.ok(kills >= 2, `only ${kills} kills happened: the scenario proved little`);
      // Each client family must have gone through the kills, not only the load as a whole.
      const lastFaultMs = Math.max(
        ...history.events.filter((event) => event.type === 'fault').map((event) => event.atMs),
      );
      const perProducer = producers.map((name) => {
        const events = history.events.filter(
          (event) => (event.type === 'ack' || event.type === 'fail') && event.producer === name,
        );
        const acks = events.filter((event) => event.type === 'ack');
        assert.ok(
          acks.some((event) => event.atMs > lastFaultMs),
          `producer ${name} acknowledged nothing after the last fault`,
        );
        return `${name} ${acks.length} acknowledged, ${events.length - acks.length} failed`;
      });
      console.log(
        `seed ${seed}: ${kills} leader kills, ${acknowledged} acknowledged (${perProducer.join('; ')}), ${read} read`,
      );
    } finally {
      await cluster.stop();
    }
  });
}
