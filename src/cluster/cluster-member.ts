// One broker's membership in a cluster: the etcd client, the metadata view, the registration and
// the controller candidacy, started in that order and stopped in reverse. This is what the broker
// holds when etcd.endpoints is set; tests use it to run several members in one process.

import type { Etcd3 } from 'etcd3';
import type { BrokerEndpoint } from '../metadata/cluster-metadata.js';
import { BrokerRegistry } from './broker-registry.js';
import { Controller } from './controller.js';
import { connectEtcd } from './etcd-client.js';
import { EtcdMetadataStore } from './etcd-metadata-store.js';
import type { ClusterSettings } from './settings.js';

export interface JoinClusterOptions {
  /** Where clients reach this broker. */
  readonly host: string;
  readonly port: number;
  /** cluster.id, or the id kept in the log directory; must match etcd's when both exist. */
  readonly clusterId?: string | null;
  /** How long to wait for etcd at start before failing with ETCD_UNAVAILABLE. */
  readonly connectTimeoutMs?: number;
  readonly onRetry?: (message: string) => void;
  /** Kafka's leader.imbalance.check.interval.seconds, in ms (tests shorten it). */
  readonly leaderImbalanceCheckIntervalMs?: number;
}

export class ClusterMember {
  private constructor(
    readonly client: Etcd3,
    readonly store: EtcdMetadataStore,
    readonly registry: BrokerRegistry,
    readonly controller: Controller,
  ) {}

  static async join(
    settings: ClusterSettings,
    options: JoinClusterOptions,
  ): Promise<ClusterMember> {
    const client = await connectEtcd(settings.etcdEndpoints, {
      timeoutMs: options.connectTimeoutMs ?? 60_000,
      onRetry: options.onRetry,
    });
    let store: EtcdMetadataStore | undefined;
    try {
      store = await EtcdMetadataStore.open(client, settings.etcdPrefix, {
        clusterId: options.clusterId,
      });
      const endpoint: BrokerEndpoint = {
        brokerId: settings.brokerId,
        host: options.host,
        port: options.port,
        rack: settings.brokerRack,
      };
      const registry = new BrokerRegistry(store, endpoint, settings.brokerSessionTimeoutMs);
      await registry.start();
      const controller = new Controller(store, registry, {
        brokerId: settings.brokerId,
        uncleanLeaderElectionEnable: settings.uncleanLeaderElectionEnable,
        autoLeaderRebalanceEnable: settings.autoLeaderRebalanceEnable,
        leaderImbalanceCheckIntervalMs: options.leaderImbalanceCheckIntervalMs,
      });
      await controller.campaign();
      return new ClusterMember(client, store, registry, controller);
    } catch (error) {
      await store?.close();
      client.close();
      throw error;
    }
  }

  /** Leaves cleanly: withdraws from the election, revokes the registration, stops watching. */
  async leave(): Promise<void> {
    await this.controller.stop();
    await this.registry.stop();
    await this.store.close();
    this.client.close();
  }

  /**
   * Drops the connection without revoking anything, as a crashed process would: the cluster
   * notices only when the lease expires. For tests.
   */
  async abandon(): Promise<void> {
    this.controller.halt();
    this.registry.release();
    await this.store.close().catch(() => undefined);
    this.client.close();
  }
}
