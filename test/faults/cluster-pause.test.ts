// A paused leader on a 3-broker cluster (etcd, RF 3, min.insync.replicas 2) under idempotent
// acks=all load: the leader of a seeded partition is SIGSTOPped past broker.session.timeout.ms
// (its session lapses and another replica is elected), then SIGCONTed. Whatever the frozen broker
// held must not be acknowledged after it was deposed; it must truncate and rejoin. Nothing
// acknowledged may be lost, duplicated or reordered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededLeader, sessionTimeoutMs, waitForFullIsr } from './cluster-scenario.js';
import { clusterPartitions, repeatFaults, runClusterScenario } from './fault-schedule.js';
import { seededDelay } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/cluster-pause.test.ts';

for (const seed of faultSeeds('cluster-pause')) {
  test(`a cluster keeps every acknowledged record through a leader paused past its session (seed ${seed})`, async () => {
    let pauses = 0;
    const { acknowledged, read } = await runClusterScenario({
      seed,
      file,
      async faults(cluster, { history, random, topic }) {
        pauses = await repeatFaults(faultDurationMs(2_000), 2, async () => {
          await waitForFullIsr(cluster, topic);
          await seededDelay(random, 200, 1_000);
          const { partition, broker } = await seededLeader(
            cluster,
            topic,
            clusterPartitions,
            random,
          );
          history.record({
            type: 'fault',
            description: `SIGSTOP broker ${broker.id} (leader of ${topic}-${partition})`,
          });
          broker.pause();
          // Past the session timeout: the leadership moves while the old leader is frozen.
          await seededDelay(random, sessionTimeoutMs + 500, 2 * sessionTimeoutMs + 1_000);
          broker.resume();
          history.record({ type: 'fault', description: `SIGCONT broker ${broker.id}` });
        });
      },
    });
    assert.ok(pauses >= 2, `only ${pauses} pauses happened: the scenario proved little`);
    console.log(
      `seed ${seed}: ${pauses} leader pauses, ${acknowledged} acknowledged, ${read} read`,
    );
  });
}
