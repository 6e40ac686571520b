// A broker's registration: its endpoint under `brokers/<id>`, held by an etcd lease whose TTL is
// broker.session.timeout.ms. While the lease is renewed the broker is alive to the cluster; when
// the process dies or stalls past the TTL, etcd deletes the key and the controller moves the
// broker's leaderships away.
//
// The key is created only if absent, so a second broker started with a live broker's id is
// refused (BROKER_ID_IN_USE) instead of silently taking its place. After a crash, the dead
// broker's key lingers until its lease expires; start() waits that long for it rather than
// failing a restart that is merely early.
//
// When keepalives fail past the TTL (etcd unreachable, the process paused) the lease is lost:
// the registry reports it ('lost') and registers again with a new lease as soon as etcd answers
// and the id is free, then reports 'registered'. Owned by the broker; start() and stop() must not
// overlap.

import { EventEmitter } from 'node:events';
import type { Lease } from 'etcd3';
import type { BrokerEndpoint } from '../metadata/cluster-metadata.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { type EtcdMetadataStore, clusterKeys } from './etcd-metadata-store.js';
import { leaseTtlSeconds } from './settings.js';

export interface BrokerRegistryEvents {
  registered: [leaseId: string];
  lost: [reason: string];
}

export class BrokerRegistry extends EventEmitter<BrokerRegistryEvents> {
  private lease: Lease | undefined;
  private stopped = false;
  private reregistering: Promise<void> | undefined;

  constructor(
    private readonly store: EtcdMetadataStore,
    readonly endpoint: BrokerEndpoint,
    private readonly sessionTimeoutMs: number,
  ) {
    super();
  }

  /** The current lease (controller candidacy shares it), undefined while unregistered. */
  get currentLease(): Lease | undefined {
    return this.lease;
  }

  /**
   * Registers, waiting up to one session timeout for a previous incarnation's key to expire;
   * throws BROKER_ID_IN_USE when another live broker keeps the id past that.
   */
  async start(): Promise<void> {
    const deadline = Date.now() + this.sessionTimeoutMs + 1000;
    for (;;) {
      const holder = await this.tryRegister();
      if (holder === null) return;
      if (Date.now() > deadline) {
        throw new ClusterError(
          ClusterErrorCode.BROKER_ID_IN_USE,
          `broker id ${this.endpoint.brokerId} is registered by a live broker at ${holder}; give this broker another broker.id (node.id)`,
        );
      }
      await delay(200);
    }
  }

  /** Revokes the lease: the cluster sees this broker leave at once, not after the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    const lease = this.lease;
    this.lease = undefined;
    await this.reregistering;
    if (lease !== undefined) await lease.revoke().catch(() => lease.release());
  }

  /** Stops renewing without revoking (a crash, for tests): the key lives until the TTL ends. */
  release(): void {
    this.stopped = true;
    this.lease?.release();
    this.lease = undefined;
  }

  /** Returns null when registered, else the address of the broker holding the id. */
  private async tryRegister(): Promise<string | null> {
    const { namespace } = this.store;
    const key = clusterKeys.broker(this.endpoint.brokerId);
    const lease = namespace.lease(leaseTtlSeconds(this.sessionTimeoutMs), { autoKeepAlive: true });
    const leaseId = await lease.grant();
    let result;
    try {
      result = await namespace
        .if(key, 'Version', '==', 0)
        .then(namespace.put(key).value(JSON.stringify(this.endpoint)).lease(leaseId))
        .else(namespace.get(key))
        .commit();
    } catch (error) {
      // Stop renewing; etcd lets the lease expire on its own.
      lease.release();
      throw error;
    }
    if (!result.succeeded) {
      await lease.revoke().catch(() => lease.release());
      const holder = result.responses[0]?.response_range.kvs[0]?.value.toString('utf8');
      const parsed = holder === undefined ? undefined : (JSON.parse(holder) as BrokerEndpoint);
      return parsed === undefined ? 'an unknown address' : `${parsed.host}:${parsed.port}`;
    }
    this.lease = lease;
    lease.on('lost', (error) => this.onLost(lease, error.message));
    this.emit('registered', leaseId);
    return null;
  }

  private onLost(lease: Lease, reason: string): void {
    if (this.lease !== lease || this.stopped) return;
    this.lease = undefined;
    lease.release();
    this.emit('lost', reason);
    this.reregistering = this.reregister();
  }

  /** Tries again every 250 ms until registered or stopped; etcd may still be away. */
  private async reregister(): Promise<void> {
    while (!this.stopped) {
      try {
        if ((await this.tryRegister()) === null) {
          if (this.stopped) await this.lease?.revoke().catch(() => undefined);
          return;
        }
      } catch {
        // etcd unreachable: keep trying.
      }
      await delay(250);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
