// A consumer group of two kafkajs members reads from a 3-broker cluster (RF 3, min.insync 2) while
// the leader of one of its topic's partitions or the broker coordinating the group is SIGKILLed
// at seeded moments, one broker at a time, and restarted (sometimes before its session lapses,
// sometimes after its leaderships moved); a kafkajs idempotent producer writes meanwhile.
// Every acknowledged record must reach some member at least once, each member's reads between two
// joins must go forward, and the log must lose and duplicate nothing.

import { test } from 'node:test';
import { clusterPlacement, clusterSettings } from './cluster-scenario.js';
import { killLeaderOrCoordinator, runConsumerGroupScenario } from './coordinated-scenarios.js';
import { startBrokerCluster } from './fault-cluster.js';
import { withFaultCluster } from './fault-schedule.js';
import { faultSeeds } from './seeds.js';

for (const seed of faultSeeds('cluster-consumer-group')) {
  test(`a consumer group on a cluster receives every acknowledged record through leader and coordinator kills (seed ${seed})`, () =>
    withFaultCluster(
      startBrokerCluster({
        brokers: 3,
        settings: { ...clusterSettings, 'group.initial.rebalance.delay.ms': 0 },
      }),
      (cluster) =>
        runConsumerGroupScenario({
          cluster,
          seed,
          file: 'test/faults/cluster-consumer-group.test.ts',
          partitions: 4,
          placement: clusterPlacement,
          // The group is what is tested here; librdkafka's producer through leader kills is
          // cluster-sigkill's (its fatal OUT_OF_ORDER_SEQUENCE_NUMBER after a failover, seen once
          // here, was produces refused during a new leader's take-up; they now wait for it).
          producer: 'kafkajs',
          fault: (random, history, targets) =>
            killLeaderOrCoordinator(cluster, random, history, targets),
        }),
    ));
}
