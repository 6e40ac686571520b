// A consumer group of two kafkajs members reads while the broker (and with it the group
// coordinator) is SIGKILLed and restarted at seeded moments and a librdkafka idempotent producer
// writes. Every acknowledged record must reach some member at least once, each member's reads
// between two joins must go forward, and the log itself must lose and duplicate nothing.

import { test } from 'node:test';
import { killTheBroker, runConsumerGroupScenario } from './coordinated-scenarios.js';
import { startSingleBroker } from './fault-cluster.js';
import { withFaultCluster } from './fault-schedule.js';
import { faultSeeds } from './seeds.js';

for (const seed of faultSeeds('consumer-group')) {
  test(`a consumer group through broker kills receives every acknowledged record (seed ${seed})`, () =>
    withFaultCluster(
      startSingleBroker({ settings: { 'group.initial.rebalance.delay.ms': 0 } }),
      (cluster) =>
        runConsumerGroupScenario({
          cluster,
          seed,
          file: 'test/faults/consumer-group.test.ts',
          partitions: 4,
          fault: (random, history) => killTheBroker(cluster, random, history),
        }),
    ));
}
