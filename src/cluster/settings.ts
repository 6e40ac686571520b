// The settings of cluster mode, read once from the broker's config. `etcd.endpoints` unset means
// single-broker mode: clusterSettings() returns null and nothing under src/cluster/ runs.

import { type BrokerConfig, brokerSetting } from '../config/index.js';

export interface ClusterSettings {
  readonly etcdEndpoints: readonly string[];
  /** Always ends with '/'; every key Brook writes in etcd starts with it. */
  readonly etcdPrefix: string;
  readonly brokerId: number;
  readonly brokerRack: string | null;
  /** The TTL of the broker's etcd lease, which etcd counts in whole seconds (rounded up). */
  readonly brokerSessionTimeoutMs: number;
  /** broker.session.fence.enable: fence this broker while its lease may be over (session-fenced-view.ts). */
  readonly brokerSessionFenceEnable: boolean;
  readonly defaultReplicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly replicaLagTimeMaxMs: number;
  readonly uncleanLeaderElectionEnable: boolean;
  readonly offsetsTopicReplicationFactor: number;
  readonly transactionStateLogReplicationFactor: number;
  readonly transactionStateLogMinIsr: number;
  readonly autoLeaderRebalanceEnable: boolean;
  /** leader.imbalance.check.interval.seconds, in milliseconds. */
  readonly leaderImbalanceCheckIntervalMs: number;
  readonly controlledShutdownEnable: boolean;
}

/** The prefix used when etcd.prefix is unset: one cluster per cluster.id, or a fixed default. */
export function defaultEtcdPrefix(clusterId: string | null): string {
  return `/brook/${clusterId ?? 'default'}/`;
}

export function clusterSettings(config: BrokerConfig): ClusterSettings | null {
  const endpoints = brokerSetting(config, 'etcd.endpoints') as readonly string[] | null;
  if (endpoints === null || endpoints.length === 0) return null;
  const prefix = brokerSetting(config, 'etcd.prefix') as string | null;
  return Object.freeze({
    etcdEndpoints: endpoints.map((endpoint) => endpoint.replace(/\/$/, '')),
    etcdPrefix: prefix === null ? defaultEtcdPrefix(config.clusterId) : withTrailingSlash(prefix),
    brokerId: config.nodeId,
    brokerRack: brokerSetting(config, 'broker.rack') as string | null,
    brokerSessionTimeoutMs: brokerSetting(config, 'broker.session.timeout.ms') as number,
    brokerSessionFenceEnable: brokerSetting(config, 'broker.session.fence.enable') as boolean,
    defaultReplicationFactor: config.defaultReplicationFactor,
    minInsyncReplicas: config.minInsyncReplicas,
    replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
    uncleanLeaderElectionEnable: brokerSetting(config, 'unclean.leader.election.enable') as boolean,
    offsetsTopicReplicationFactor: config.offsetsTopicReplicationFactor,
    transactionStateLogReplicationFactor: config.transactionStateLogReplicationFactor,
    transactionStateLogMinIsr: brokerSetting(config, 'transaction.state.log.min.isr') as number,
    autoLeaderRebalanceEnable: brokerSetting(config, 'auto.leader.rebalance.enable') as boolean,
    leaderImbalanceCheckIntervalMs:
      (brokerSetting(config, 'leader.imbalance.check.interval.seconds') as number) * 1000,
    controlledShutdownEnable: brokerSetting(config, 'controlled.shutdown.enable') as boolean,
  });
}

function withTrailingSlash(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** etcd leases are granted in whole seconds. */
export function leaseTtlSeconds(sessionTimeoutMs: number): number {
  return Math.max(1, Math.ceil(sessionTimeoutMs / 1000));
}
