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
//
// The session fence. etcd3 gives a lease up only at twice its TTL, long after etcd has expired it
// and the controller has moved this broker's leaderships; a broker that waited for that would go
// on acknowledging writes its successor never sees. So the registry keeps its own deadline: etcd
// renews a lease no earlier than it receives the keep-alive, so the lease lives at least until
// (send time of the last answered keep-alive) + TTL. A little before that (FENCE_MARGIN) the
// registry reports 'fenced', and at once on a lease found revoked; the broker then stops leading
// and coordinating. It reports 'unfenced' once the session is good again (keep-alives answered on
// the same lease, or a new registration) AND the view has caught up with etcd: a write made under
// the lease has come back through the watch, so every change made while this broker was cut off
// (a new leader elected in its place) is in the view before it serves anything again.
//
//   keep-alive sent ──answered──► deadline = sent + TTL − margin ──passed──► fenced
//   fenced ──lease answered or registered again──► put brokers/<id> ──seen by the watch──► unfenced
//
// Offline replicas (KIP-112). The registration transaction also puts `offline-replicas/<id>`
// under the same lease: the replicas whose logs this broker cannot keep (their log directory could
// not be opened, or their log failed). The controller therefore never sees this broker alive
// without knowing which of its replicas are offline, so it never hands one of them a leadership.
// A log that fails later is published by `publishOfflineReplicas`, a put under the current lease
// (only this broker writes the key, and a put on a lease that is gone fails; a registration
// again writes the value of that moment).

import { EventEmitter } from 'node:events';
import type { Lease } from 'etcd3';
import type { BrokerEndpoint, ReplicaName } from '../metadata/cluster-metadata.js';
import { CoalescedTask } from '../util/coalesced-task.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import {
  type EtcdMetadataStore,
  clusterKeys,
  offlineReplicasValue,
} from './etcd-metadata-store.js';
import { leaseTtlSeconds } from './settings.js';

export interface BrokerRegistryEvents {
  registered: [leaseId: string];
  lost: [reason: string];
  /** The session may be over: this broker must stop acting as leader or coordinator. */
  fenced: [reason: string];
  /** The session is good again and the view has caught up with etcd. */
  unfenced: [];
}

/**
 * How long before the earliest moment etcd could expire the lease the broker fences itself: time
 * for its followers to copy what it took last, before the controller can elect one of them.
 */
export function fenceMarginMs(leaseTtlMs: number): number {
  return Math.max(100, Math.min(500, leaseTtlMs / 10));
}

export class BrokerRegistry extends EventEmitter<BrokerRegistryEvents> {
  private lease: Lease | undefined;
  private stopped = false;
  private reregistering: Promise<void> | undefined;
  private fencedValue = false;
  /** Raised at each fence: a confirmation begun for an earlier fence does not lift a later one. */
  private fenceGeneration = 0;
  private fenceTimer: NodeJS.Timeout | undefined;
  /** When the fence falls (performance.now() time) unless a keep-alive is answered first. */
  private fenceAtMs = Number.POSITIVE_INFINITY;
  /** The lease a confirmation (a write seen back through the watch) is under way for. */
  private confirming: Lease | undefined;
  private readonly offlinePublisher = new CoalescedTask(() => this.putOfflineReplicas());

  constructor(
    private readonly store: EtcdMetadataStore,
    readonly endpoint: BrokerEndpoint,
    private readonly sessionTimeoutMs: number,
    /** This broker's replicas whose logs are offline, read at each registration and publication. */
    private readonly offlineReplicas: () => readonly ReplicaName[] = () => [],
  ) {
    super();
  }

  /**
   * Writes the offline replicas again (a log failed while running). Resolves once etcd has them,
   * or once there is no lease to write under (the next registration writes them); retried every
   * 250 ms meanwhile (etcd away).
   */
  publishOfflineReplicas(): Promise<void> {
    return this.offlinePublisher.run();
  }

  private async putOfflineReplicas(): Promise<void> {
    for (;;) {
      const lease = this.lease;
      if (lease === undefined || this.stopped) return;
      try {
        await this.store.namespace
          .put(clusterKeys.offlineReplicas(this.endpoint.brokerId))
          .value(offlineReplicasValue(this.offlineReplicas()))
          .lease(await lease.grant())
          .exec();
        return;
      } catch {
        // etcd away, or the lease lost: a registration again writes the value of its moment.
        if (this.lease !== lease) return;
        await delay(250);
      }
    }
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

  /**
   * Whether the session may be over (see the header): nothing may be led or coordinated. Read on
   * the data path, it also compares the clock with the deadline, so a process resumed after a
   * stall (SIGSTOP, a long pause) is fenced before its overdue timer has run: Node may serve the
   * I/O that queued meanwhile, a produce among it, first.
   */
  get fenced(): boolean {
    return this.fencedValue || performance.now() >= this.fenceAtMs;
  }

  /** Revokes the lease: the cluster sees this broker leave at once, not after the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.fenceTimer);
    const lease = this.lease;
    this.lease = undefined;
    await this.reregistering;
    if (lease !== undefined) await lease.revoke().catch(() => lease.release());
  }

  /** Stops renewing without revoking (a crash, for tests): the key lives until the TTL ends. */
  release(): void {
    this.stopped = true;
    clearTimeout(this.fenceTimer);
    this.lease?.release();
    this.lease = undefined;
  }

  /** Returns null when registered, else the address of the broker holding the id. */
  private async tryRegister(): Promise<string | null> {
    const { namespace } = this.store;
    const key = clusterKeys.broker(this.endpoint.brokerId);
    const lease = namespace.lease(leaseTtlSeconds(this.sessionTimeoutMs), { autoKeepAlive: true });
    const grantSentAtMs = performance.now();
    const leaseId = await lease.grant();
    let result;
    try {
      result = await namespace
        .if(key, 'Version', '==', 0)
        .then(
          namespace.put(key).value(JSON.stringify(this.endpoint)).lease(leaseId),
          namespace
            .put(clusterKeys.offlineReplicas(this.endpoint.brokerId))
            .value(offlineReplicasValue(this.offlineReplicas()))
            .lease(leaseId),
        )
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
    this.watchKeepAlives(lease, grantSentAtMs);
    this.emit('registered', leaseId);
    if (this.fencedValue) void this.confirm(lease, Number(result.header.revision));
    return null;
  }

  /**
   * Follows the lease's keep-alives to keep the fence deadline. etcd answers a keep-alive stream
   * in order, so the n-th answer on a stream is for its n-th keep-alive.
   */
  private watchKeepAlives(lease: Lease, grantSentAtMs: number): void {
    const ttlMs = leaseTtlSeconds(this.sessionTimeoutMs) * 1000;
    const sentAtMs: number[] = [];
    lease.on('keepaliveEstablished', () => (sentAtMs.length = 0));
    lease.on('keepaliveFired', () => sentAtMs.push(performance.now()));
    lease.on('keepaliveSucceeded', () => {
      const renewedAtMs = sentAtMs.shift();
      if (renewedAtMs !== undefined) this.renewed(lease, renewedAtMs, ttlMs);
    });
    this.renewed(lease, grantSentAtMs, ttlMs);
  }

  private renewed(lease: Lease, renewedAtMs: number, ttlMs: number): void {
    if (this.lease !== lease || this.stopped) return;
    clearTimeout(this.fenceTimer);
    const fenceAtMs = renewedAtMs + ttlMs - fenceMarginMs(ttlMs);
    this.fenceAtMs = fenceAtMs;
    this.fenceTimer = setTimeout(
      () => {
        if (this.lease !== lease || this.stopped) return;
        this.fence(
          `no lease keep-alive answered for ${Math.round(performance.now() - renewedAtMs)} ms of a ${ttlMs} ms TTL`,
        );
      },
      Math.max(0, fenceAtMs - performance.now()),
    );
    this.fenceTimer.unref();
    // Answered again on the same lease: etcd never expired it (it was away, or the cut was short).
    if (this.fencedValue) void this.confirmRenewed(lease);
  }

  private fence(reason: string): void {
    this.fenceGeneration++;
    if (this.fencedValue) return;
    this.fencedValue = true;
    this.emit('fenced', reason);
  }

  /** The lease held through the outage: write under it, then confirm as a new registration does. */
  private async confirmRenewed(lease: Lease): Promise<void> {
    if (this.confirming === lease) return;
    this.confirming = lease;
    try {
      const { namespace } = this.store;
      const result = await namespace
        .put(clusterKeys.broker(this.endpoint.brokerId))
        .value(JSON.stringify(this.endpoint))
        .lease(await lease.grant())
        .exec();
      await this.confirm(lease, Number(result.header.revision));
    } catch {
      // etcd away again, or the lease gone after all: the next answer or registration retries.
    } finally {
      if (this.confirming === lease) this.confirming = undefined;
    }
  }

  /** Lifts the fence once the view has seen `revision`, a write made under `lease`. */
  private async confirm(lease: Lease, revision: number): Promise<void> {
    const generation = this.fenceGeneration;
    const ttlMs = leaseTtlSeconds(this.sessionTimeoutMs) * 1000;
    // Bounded: a watch that does not deliver (etcd away again) leaves the fence for the next try.
    if (!(await this.store.whenWatched(revision, ttlMs))) return;
    if (this.lease !== lease || this.stopped || generation !== this.fenceGeneration) return;
    if (!this.fencedValue) return;
    this.fencedValue = false;
    this.emit('unfenced');
  }

  private onLost(lease: Lease, reason: string): void {
    if (this.lease !== lease || this.stopped) return;
    clearTimeout(this.fenceTimer);
    this.fence(`lease lost: ${reason}`);
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
