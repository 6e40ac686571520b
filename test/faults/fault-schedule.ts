// The skeleton the scenario files share, said once: which load a single broker or a cluster runs,
// a cluster that is stopped whatever the scenario does, a fault repeated for the fault time (and
// at least a given number of times, so a slow machine still proves something), and a restart
// recorded in the history the way the checker's reports show it.

import type { StartClusterOptions } from '../../src/cluster/start-cluster.js';
import { clusterPlacement, clusterProducers, clusterSettings } from './cluster-scenario.js';
import { type FaultBroker, type FaultCluster, startBrokerCluster } from './fault-cluster.js';
import type { History } from './history.js';
import { type LoadRun, type ProducerKind, runUnderLoad } from './scenario.js';

/** The single-broker scenarios' load: kafkajs and librdkafka producers, a topic of 3 partitions. */
export const singleBrokerLoad = {
  producers: ['kafkajs', 'rdkafka'] as readonly ProducerKind[],
  partitions: 3,
};

/** Runs `scenario` on the cluster once it has started, and stops the cluster afterwards. */
export async function withFaultCluster<T>(
  starting: Promise<FaultCluster>,
  scenario: (cluster: FaultCluster) => Promise<T>,
): Promise<T> {
  const cluster = await starting;
  try {
    return await scenario(cluster);
  } finally {
    await cluster.stop();
  }
}

/**
 * Runs `round` again and again until `durationMs` has passed and at least `minimumRounds` have
 * run; resolves with the number of rounds.
 */
export async function repeatFaults(
  durationMs: number,
  minimumRounds: number,
  round: () => Promise<void>,
): Promise<number> {
  const deadline = Date.now() + durationMs;
  let rounds = 0;
  while (Date.now() < deadline || rounds < minimumRounds) {
    await round();
    rounds++;
  }
  return rounds;
}

/** Restarts a broker that is down and records in the history how long it took. */
export async function restartRecorded(broker: FaultBroker, history: History): Promise<void> {
  await broker.restart();
  history.record({
    type: 'fault',
    description: `broker ${broker.id} restarted in ${broker.lastRestartMs} ms`,
  });
}

/** How many partitions a cluster scenario's topic has unless it says otherwise. */
export const clusterPartitions = 3;

/**
 * A cluster scenario: a fresh 3-broker cluster (clusterSettings, then `settings`), clusterProducers
 * writing a clusterPlacement topic of `partitions` (default clusterPartitions) while `faults`
 * runs, then runUnderLoad's checks; the cluster is stopped whatever happens.
 */
export function runClusterScenario(options: {
  seed: number;
  file: string;
  settings?: Readonly<Record<string, string | number | boolean>>;
  /** Per-broker settings, for a cluster whose links run through proxies (`broker-links.ts`). */
  brokerSettings?: StartClusterOptions['brokerSettings'];
  partitions?: number;
  faults: (cluster: FaultCluster, run: LoadRun) => Promise<void>;
}): Promise<{ history: History; acknowledged: number; read: number }> {
  const settings = { ...clusterSettings, ...options.settings };
  const starting = startBrokerCluster({
    brokers: 3,
    settings,
    brokerSettings: options.brokerSettings,
  });
  return withFaultCluster(starting, (cluster) =>
    runUnderLoad({
      cluster,
      seed: options.seed,
      file: options.file,
      producers: clusterProducers,
      partitions: options.partitions ?? clusterPartitions,
      placement: clusterPlacement,
      faults: (run) => options.faults(cluster, run),
    }),
  );
}
