// One broker's membership in a cluster: the etcd client, the metadata view, the registration and
// the controller candidacy, started in that order and stopped in reverse. This is what the broker
// holds when etcd.endpoints is set; tests use it to run several members in one process.
//
// Two steps, because a broker learns its own address only once it listens (port 0): open() reads
// the cluster (before the logs are opened, so a foreign cluster id stops the start early), and
// register() announces the broker and stands for controller once clients can reach it.

import type { Etcd3 } from 'etcd3';
import type {
  BrokerEndpoint,
  ListenerEndpoint,
  ReplicaName,
} from '../metadata/cluster-metadata.js';
import { BrokerRegistry } from './broker-registry.js';
import { Controller } from './controller.js';
import { connectEtcd } from './etcd-client.js';
import { EtcdMetadataStore, clusterKeys } from './etcd-metadata-store.js';
import { EtcdUserSettings } from './etcd-user-settings.js';
import { SessionFencedView } from './session-fenced-view.js';
import type { ClusterSettings } from './settings.js';
import { assert } from '../util/assert.js';

/**
 * How long a controlled shutdown waits for its leaderships to move: Kafka's
 * controlled.shutdown.max.retries (3) × controlled.shutdown.retry.backoff.ms (5000).
 */
export const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 15_000;

export interface OpenClusterOptions {
  /** cluster.id, or the id kept in the log directory; must match etcd's when both exist. */
  readonly clusterId?: string | null;
  /** How long to wait for etcd at start before failing with ETCD_UNAVAILABLE. */
  readonly connectTimeoutMs?: number;
  readonly onRetry?: (message: string) => void;
  /** Told of controller work that failed and will be retried (etcd away): for the broker's log. */
  readonly onWarning?: (message: string) => void;
  /** Kafka's leader.imbalance.check.interval.seconds, in ms (tests shorten it). */
  readonly leaderImbalanceCheckIntervalMs?: number;
}

export interface JoinClusterOptions extends OpenClusterOptions {
  /** Where clients reach this broker. */
  readonly host: string;
  readonly port: number;
  /** This broker's offline replicas (see `register`); none when absent. */
  readonly offlineReplicas?: () => readonly ReplicaName[];
}

export class ClusterMember {
  private registration: { registry: BrokerRegistry; controller: Controller } | undefined;
  /**
   * The view for the parts that lead and coordinate: etcd's, with no partition led here while
   * the session is fenced (session-fenced-view.ts). The controller and replication read `store`.
   */
  readonly view: SessionFencedView;

  private constructor(
    readonly settings: ClusterSettings,
    readonly client: Etcd3,
    readonly store: EtcdMetadataStore,
    /** SCRAM credentials and client quotas, the cluster's rather than this broker's. */
    readonly userSettings: EtcdUserSettings,
    private readonly options: OpenClusterOptions,
  ) {
    this.view = new SessionFencedView(store, settings.brokerId);
  }

  /** Connects (retrying until connectTimeoutMs) and loads the view; registers nothing yet. */
  static async open(
    settings: ClusterSettings,
    options: OpenClusterOptions,
  ): Promise<ClusterMember> {
    const client = await connectEtcd(settings.etcdEndpoints, {
      timeoutMs: options.connectTimeoutMs ?? 60_000,
      onRetry: options.onRetry,
    });
    try {
      const store = await EtcdMetadataStore.open(client, settings.etcdPrefix, {
        clusterId: options.clusterId,
      });
      const userSettings = await EtcdUserSettings.open(client, settings.etcdPrefix);
      return new ClusterMember(settings, client, store, userSettings, options);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** open() then register(): a member ready in one call (tests). */
  static async join(
    settings: ClusterSettings,
    options: JoinClusterOptions,
  ): Promise<ClusterMember> {
    const member = await ClusterMember.open(settings, options);
    try {
      await member.register(options.host, options.port, undefined, options.offlineReplicas);
    } catch (error) {
      await member.abandon();
      throw error;
    }
    return member;
  }

  get registry(): BrokerRegistry {
    return this.registered().registry;
  }

  get controller(): Controller {
    return this.registered().controller;
  }

  /**
   * Registers under a lease (BROKER_ID_IN_USE if a live broker has the id) and stands for
   * controller. `offlineReplicas` says which of this broker's replicas are offline (their logs
   * cannot be kept), read at every registration and `publishOfflineReplicas`.
   */
  async register(
    host: string,
    port: number,
    listeners?: readonly ListenerEndpoint[],
    offlineReplicas?: () => readonly ReplicaName[],
  ): Promise<void> {
    const { settings } = this;
    const endpoint: BrokerEndpoint = {
      brokerId: settings.brokerId,
      host,
      port,
      rack: settings.brokerRack,
      ...(listeners === undefined ? {} : { listeners }),
    };
    const registry = new BrokerRegistry(
      this.store,
      endpoint,
      settings.brokerSessionTimeoutMs,
      offlineReplicas,
    );
    await registry.start();
    const controller = new Controller(this.store, registry, {
      brokerId: settings.brokerId,
      uncleanLeaderElectionEnable: settings.uncleanLeaderElectionEnable,
      autoLeaderRebalanceEnable: settings.autoLeaderRebalanceEnable,
      leaderImbalanceCheckIntervalMs:
        this.options.leaderImbalanceCheckIntervalMs ?? settings.leaderImbalanceCheckIntervalMs,
    });
    controller.on('warning', (error) =>
      this.options.onWarning?.(`cluster controller: ${error.message}; retrying`),
    );
    registry.on('lost', (reason) =>
      this.options.onWarning?.(`broker registration lost (${reason}); registering again`),
    );
    // broker.session.fence.enable: off, a broker cut off from etcd goes on leading and acks=all
    // stays safe by the ISR; on, it fences itself and leads only the partitions whose followers
    // still take it for the leader (session-fenced-view.ts), so an etcd outage stops nothing.
    if (this.settings.brokerSessionFenceEnable) {
      this.view.useFence(() => registry.fenced);
      registry.on('fenced', (reason) => {
        this.view.setFenced(true);
        this.options.onWarning?.(
          `etcd session may be over (${reason}); leading and coordinating only the partitions whose in-sync followers still fetch from this broker, until it is back`,
        );
      });
      registry.on('unfenced', () => {
        this.view.setFenced(false);
        this.options.onWarning?.('etcd session back and the view caught up; leading as etcd says');
      });
    }
    this.registration = { registry, controller };
    await controller.campaign();
  }

  /**
   * Tells the cluster again which replicas are offline (a log failed while running): the
   * controller moves their leaderships away and takes them out of their ISRs. Nothing before
   * registration (it writes them itself).
   */
  async publishOfflineReplicas(): Promise<void> {
    await this.registration?.registry.publishOfflineReplicas();
  }

  /**
   * Controlled shutdown: asks the controller to move this broker's leaderships to other in-sync
   * replicas (`shutting-down/<id>` under the registration lease, so a crash mid-way withdraws the
   * request) and waits, at most `timeoutMs`, until it leads nothing another live ISR member could
   * lead. Returns the partitions it still leads (none could take them, or the time ran out). If
   * this broker is the controller it moves them itself; leave() then resigns. Call leave() after.
   */
  async controlledShutdown(timeoutMs: number = CONTROLLED_SHUTDOWN_TIMEOUT_MS): Promise<string[]> {
    const registry = this.registration?.registry;
    const lease = registry?.currentLease;
    if (lease === undefined) return [];
    const brokerId = this.settings.brokerId;
    const leaseId = await lease.grant();
    await this.store.namespace
      .put(clusterKeys.shuttingDownBroker(brokerId))
      .value(String(brokerId))
      .lease(leaseId)
      .exec();
    let unsubscribe = (): void => undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (this.movableLeaderships().length === 0) resolve();
        };
        unsubscribe = this.store.subscribe(check);
        timer = setTimeout(resolve, timeoutMs);
        check();
      });
    } finally {
      unsubscribe();
      clearTimeout(timer);
    }
    return this.movableLeaderships();
  }

  /** Partitions this broker leads that another live, not shutting down, ISR member could lead. */
  private movableLeaderships(): string[] {
    const brokerId = this.settings.brokerId;
    const live = this.store.brokers();
    const shuttingDown = this.store.shuttingDownBrokers();
    const movable: string[] = [];
    for (const [topic, assignment] of this.store.topics()) {
      for (let partition = 0; partition < assignment.partitions.length; partition++) {
        const state = this.store.partitionState(topic, partition);
        if (state === undefined || state.leader !== brokerId) continue;
        const successor = state.isr.some(
          (id) =>
            id !== brokerId &&
            live.has(id) &&
            !shuttingDown.has(id) &&
            !this.store.isReplicaOffline(id, topic, partition),
        );
        if (successor) movable.push(`${topic}-${partition}`);
      }
    }
    return movable;
  }

  /** Leaves cleanly: withdraws from the election, revokes the registration, stops watching. */
  async leave(): Promise<void> {
    this.view.close();
    await this.registration?.controller.stop();
    await this.registration?.registry.stop();
    await this.userSettings.close();
    await this.store.close();
    this.client.close();
  }

  /**
   * Drops the connection without revoking anything, as a crashed process would: the cluster
   * notices only when the lease expires. For tests.
   */
  async abandon(): Promise<void> {
    this.view.close();
    this.registration?.controller.halt();
    this.registration?.registry.release();
    await this.userSettings.close().catch(() => undefined);
    await this.store.close().catch(() => undefined);
    this.client.close();
  }

  private registered(): { registry: BrokerRegistry; controller: Controller } {
    assert(this.registration !== undefined, 'the cluster member is not registered yet');
    return this.registration;
  }
}
