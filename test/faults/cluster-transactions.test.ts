// A consume-transform-produce loop in transactions (librdkafka) runs on a 3-broker cluster (RF 3,
// min.insync 2) while the leader of an input or output partition, the broker coordinating its
// consumer group or the one coordinating its transactional id is SIGKILLed at seeded moments, one
// broker at a time, and restarted; an idempotent kafkajs producer keeps feeding the input. Some
// transactions are aborted on purpose, others die with a coordinator. Exactly-once: every
// acknowledged input has exactly one committed output, and read_committed never shows an aborted
// one.

import { test } from 'node:test';
import { clusterPlacement, clusterSettings } from './cluster-scenario.js';
import { killLeaderOrCoordinator, runTransformScenario } from './coordinated-scenarios.js';
import { startBrokerCluster } from './fault-cluster.js';
import { withFaultCluster } from './fault-schedule.js';
import { faultSeeds } from './seeds.js';

for (const seed of faultSeeds('cluster-transactions')) {
  test(`a transactional transform on a cluster writes each input exactly once through leader and coordinator kills (seed ${seed})`, () =>
    withFaultCluster(
      startBrokerCluster({
        brokers: 3,
        settings: { ...clusterSettings, 'group.initial.rebalance.delay.ms': 0 },
      }),
      (cluster) =>
        runTransformScenario({
          cluster,
          seed,
          file: 'test/faults/cluster-transactions.test.ts',
          partitions: 3,
          placement: clusterPlacement,
          fault: (random, history, targets) =>
            killLeaderOrCoordinator(cluster, random, history, targets),
        }),
    ));
}
