// etcd killed and restarted on a 3-broker cluster (RF 3, min.insync.replicas 2) under idempotent
// acks=all load: etcd (the metadata store, its leases and the controller election) is SIGKILLed
// for a seeded 0.5-4 s, past the brokers' session timeout, then started again on its directory.
// Produce goes on from what the brokers know; nothing acknowledged may be lost, duplicated or
// reordered, and the load must still be acknowledged after etcd is back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repeatFaults, runClusterScenario } from './fault-schedule.js';
import { seededDelay } from './scenario.js';
import { faultDurationMs, faultSeeds } from './seeds.js';

const file = 'test/faults/cluster-etcd.test.ts';

for (const seed of faultSeeds('cluster-etcd')) {
  test(`a cluster keeps every acknowledged record while etcd is killed and restarted (seed ${seed})`, async () => {
    let outages = 0;
    const { acknowledged, read } = await runClusterScenario({
      seed,
      file,
      async faults(cluster, { history, random }) {
        const etcd = cluster.etcd;
        assert.ok(etcd !== undefined, 'startBrokerCluster gives access to etcd');
        outages = await repeatFaults(faultDurationMs(4_000), 2, async () => {
          await seededDelay(random, 300, 1_500);
          history.record({ type: 'fault', description: 'SIGKILL etcd' });
          await etcd.kill();
          await seededDelay(random, 500, 4_000);
          await etcd.restart();
          history.record({ type: 'fault', description: 'etcd restarted' });
        });
      },
    });
    assert.ok(outages >= 2, `only ${outages} etcd outages happened`);
    console.log(
      `seed ${seed}: ${outages} etcd outages, ${acknowledged} acknowledged, ${read} read`,
    );
  });
}
