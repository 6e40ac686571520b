// A follower SIGKILLed on a 3-broker cluster (etcd, RF 3, min.insync.replicas 2) under idempotent
// acks=all load, repeatedly: the partition has one leader throughout (the topic has one partition,
// so the killed broker leads nothing), the leader drops the dead follower from the ISR once
// replica.lag.time.max.ms passes and produce goes on with two in sync; the follower restarts on its
// directory, catches up and rejoins before the next kill. Nothing acknowledged may be lost,
// duplicated or reordered, and the leader must not change.

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
import { partitionStates } from './recorded-clients.js';
import { seededDelay, runUnderLoad } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';
import { waitFor } from '../helpers/poll.js';

const file = 'test/faults/cluster-follower-kill.test.ts';
const partitions = 1;

for (const seed of faultSeeds('cluster-follower-kill')) {
  test(`a cluster keeps every acknowledged record through repeated follower SIGKILLs (seed ${seed})`, async () => {
    const cluster = await startBrokerCluster({
      brokers: 3,
      settings: { ...clusterSettings, 'replica.lag.time.max.ms': 2_000 },
    });
    try {
      let kills = 0;
      let shrinks = 0;
      const leaders = new Set<number>();
      const { acknowledged, read } = await runUnderLoad({
        cluster,
        seed,
        file,
        producers: clusterProducers,
        partitions,
        placement: clusterPlacement,
        async faults({ history, random, topic }) {
          const deadline = Date.now() + faultDurationMs(4_000);
          while (Date.now() < deadline || kills < 2) {
            await waitForFullIsr(cluster, topic);
            await seededDelay(random, 200, 1_000);
            const { broker: leader } = await seededLeader(cluster, topic, partitions, random);
            leaders.add(leader.id);
            const followers = cluster.brokers.filter((broker) => broker.id !== leader.id);
            const victim = followers[random.integer(0, followers.length - 1)]!;
            history.record({
              type: 'fault',
              description: `SIGKILL broker ${victim.id} (a follower of ${topic}-0)`,
            });
            await victim.kill();
            kills++;
            if (kills % 2 === 1) {
              // Every other kill waits for the ISR to shrink: produce must go on with two in sync.
              await waitFor(
                async () => {
                  const states = await partitionStates(cluster.bootstrapServers, topic);
                  return !(states.get(0)?.isr ?? [victim.id]).includes(victim.id);
                },
                `broker ${victim.id} out of the ISR of ${topic}-0`,
                { timeoutMs: 30_000, intervalMs: 200 },
              );
              shrinks++;
            } else {
              // The others come back before the leader may have noticed.
              await seededDelay(random, 0, 1_500);
            }
            await victim.restart();
            history.record({ type: 'fault', description: `restarted broker ${victim.id}` });
          }
          await waitForFullIsr(cluster, topic);
          const { broker: last } = await seededLeader(cluster, topic, partitions, random);
          leaders.add(last.id);
        },
      });
      assert.ok(kills >= 2, `only ${kills} follower kills happened: the scenario proved little`);
      assert.ok(shrinks >= 1, 'no kill was waited out of the ISR');
      assert.equal(leaders.size, 1, `the leader changed (${[...leaders].join(', ')})`);
      console.log(
        `seed ${seed}: ${kills} follower kills (${shrinks} waited out of the ISR), ${acknowledged} acknowledged, ${read} read`,
      );
    } finally {
      await cluster.stop();
    }
  });
}
