// A consume-transform-produce loop in transactions (librdkafka) runs while the broker is SIGKILLed
// and restarted at seeded moments and an idempotent kafkajs producer keeps feeding its input. Some
// transactions are aborted on purpose, others die with the broker. Exactly-once: every
// acknowledged input has exactly one committed output, and read_committed never shows an aborted
// one.

import { test } from 'node:test';
import { killTheBroker, runTransformScenario } from './coordinated-scenarios.js';
import { startSingleBroker } from './fault-cluster.js';
import { withFaultCluster } from './fault-schedule.js';
import { faultSeeds } from './seeds.js';

for (const seed of faultSeeds('transactions')) {
  test(`a transactional transform through broker kills writes each input exactly once (seed ${seed})`, () =>
    withFaultCluster(
      startSingleBroker({ settings: { 'group.initial.rebalance.delay.ms': 0 } }),
      (cluster) =>
        runTransformScenario({
          cluster,
          seed,
          file: 'test/faults/transactions.test.ts',
          partitions: 3,
          fault: (random, history) => killTheBroker(cluster, random, history),
        }),
    ));
}
