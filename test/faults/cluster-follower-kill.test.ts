// A follower SIGKILLed on a 3-broker cluster (etcd, RF 3, min.insync.replicas 2) under idempotent
// acks=all load, repeatedly: the partition has one leader throughout (the topic has one partition,
// so the killed broker leads nothing), the leader drops the dead follower from the ISR and produce
// goes on with two in sync; the follower restarts on its directory, catches up and rejoins before
// the next kill. Nothing acknowledged may be lost, duplicated or reordered, and the leader must
// not change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededLeader, waitForFullIsr } from './cluster-scenario.js';
import { repeatFaults, restartRecorded, runClusterScenario } from './fault-schedule.js';
import { partitionStates } from './recorded-clients.js';
import { seededDelay } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';
import { waitFor } from '../helpers/poll.js';

const file = 'test/faults/cluster-follower-kill.test.ts';
const partitions = 1;

for (const seed of faultSeeds('cluster-follower-kill')) {
  test(`a cluster keeps every acknowledged record through repeated follower SIGKILLs (seed ${seed})`, async () => {
    let kills = 0;
    let shrinks = 0;
    const leaders = new Set<number>();
    const { acknowledged, read } = await runClusterScenario({
      seed,
      file,
      partitions,
      settings: { 'replica.lag.time.max.ms': 2_000 },
      async faults(cluster, { history, random, topic }) {
        const isrOf = async () =>
          (await partitionStates(cluster.bootstrapServers, topic)).get(0)?.isr ?? [];
        kills = await repeatFaults(faultDurationMs(4_000), 2, async () => {
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
          if (shrinks === 0) {
            // The first kill waits for the ISR to shrink: produce must go on with two in sync.
            await waitFor(
              async () => !(await isrOf()).includes(victim.id),
              `broker ${victim.id} out of the ISR of ${topic}-0`,
              { timeoutMs: 30_000, intervalMs: 200 },
            );
            shrinks++;
          } else {
            // The others come back before the leader may have noticed.
            await seededDelay(random, 0, 1_500);
          }
          await restartRecorded(victim, history);
        });
        await waitForFullIsr(cluster, topic);
        leaders.add((await seededLeader(cluster, topic, partitions, random)).broker.id);
      },
    });
    assert.ok(kills >= 2, `only ${kills} follower kills happened: the scenario proved little`);
    assert.equal(shrinks, 1, 'the first kill was waited out of the ISR');
    assert.equal(leaders.size, 1, `the leader changed (${[...leaders].join(', ')})`);
    console.log(
      `seed ${seed}: ${kills} follower kills (one waited out of the ISR), ${acknowledged} acknowledged, ${read} read`,
    );
  });
}
