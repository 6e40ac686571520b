// Client quotas: what is configured (AlterClientQuotas, persisted) and what each client has used
// (rates over Kafka's sample windows), and from the two, how long a client is throttled after a
// request. The server charges a request as it starts (`requestStarted`: a produce's bytes) and
// once it is answered (`requestAnswered`: a fetch's bytes, time, mutations), puts the longer
// throttle in the response's throttle_time_ms and stops reading the connection for that long (KIP-219).
//
// Which quota applies to a request from user U with client id C is Kafka's precedence, first
// match per quota key:
//
//   user=U,client-id=C   user=U,client-id=<default>   user=U
//   user=<default>,client-id=C   user=<default>,client-id=<default>   user=<default>
//   client-id=C   client-id=<default>
//
// and the usage it is measured against is shared as Kafka shares it: a quota set on a user (or
// on the user default) is one budget for all of that user's client ids; one set on a client id
// alone is one budget per client id whatever the user; one set on both, per pair.
//
// Owned by the broker. `alter` serialises its read-modify-persist through one promise chain;
// `throttleTimeMs` is synchronous and reads the last applied state.

import { ApiKey } from '../protocol/generated/index.js';
import type { RequestContext } from '../handlers/registry.js';
import type { RequestThrottler, RequestUsage } from '../server/connection.js';
import { SampledRate, type SampleWindows } from './sampled-rate.js';
import {
  EntityType,
  type QuotaEntity,
  QuotaKey,
  entityFromKey,
  entityKey,
} from './quota-entity.js';

/** One entity's quotas as stored: the entity's text key (`entityKey`) and its values by key. */
export interface StoredClientQuota {
  readonly entity: string;
  readonly values: Readonly<Record<string, number>>;
}

/**
 * Where client quotas are kept: the local metadata store for a single broker, etcd for a cluster
 * (src/cluster/etcd-user-settings.ts).
 */
export interface ClientQuotaStore {
  clientQuotas(): readonly StoredClientQuota[];
  /** Replaces every stored quota; resolves once the change is durable. */
  setClientQuotas(quotas: readonly StoredClientQuota[]): Promise<void>;
}

/**
 * The user a request's quotas are looked up by: its principal's name (`User:alice` → `alice`).
 * Every quota decision reads the user through here, so the principal SASL or TLS establishes is
 * the one quotas see as soon as the connection carries it.
 */
export function quotaUserOf(context: Pick<RequestContext, 'principal'>): string {
  const { principal } = context;
  const separator = principal.indexOf(':');
  return separator < 0 ? principal : principal.slice(separator + 1);
}

/** The change to one quota: a value to set, or null to remove it. */
export interface QuotaChange {
  readonly key: string;
  readonly value: number | null;
}

/** Requests never charged to request_percentage: those a client needs to reach the broker at all. */
const requestQuotaExempt = new Set<number>([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);

/** Budgets unused this long are dropped, so client ids that come and go do not pile up. */
const idleUsageMs = 60 * 60 * 1000;
const usageSweepEvery = 1024;
const resolvedCacheMax = 10_000;

interface Usage {
  readonly rate: SampledRate;
  lastRecordedMs: number;
}

export class ClientQuotas implements RequestThrottler {
  /** Configured quotas by `entityKey`. Never holds an entity with no values. */
  private readonly configured = new Map<string, Map<string, number>>();
  private readonly usage = new Map<string, Usage>();
  /** `quotaFor` answers by key, user and client id; emptied by every change. */
  private readonly resolved = new Map<string, { bound: number; budget: string } | null>();
  private usageCreated = 0;
  private changes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: ClientQuotaStore,
    private readonly windows: SampleWindows,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.reload();
  }

  /**
   * Reads the configured quotas from the store again: cluster mode calls it when any broker
   * changed one (src/cluster/etcd-user-settings.ts). Usage so far is kept.
   */
  reload(): void {
    this.configured.clear();
    for (const { entity, values } of this.store.clientQuotas()) {
      const map = new Map(Object.entries(values));
      if (map.size > 0) this.configured.set(entity, map);
    }
    this.resolved.clear();
  }

  /** Every configured entity with its quotas. */
  entries(): Array<{ entity: QuotaEntity; values: ReadonlyMap<string, number> }> {
    return [...this.configured].map(([key, values]) => ({ entity: entityFromKey(key), values }));
  }

  /**
   * Applies changes to several entities at once and persists them; validation is the caller's
   * (the AlterClientQuotas handler), so everything given here is applied.
   */
  alter(changes: ReadonlyArray<{ entity: QuotaEntity; changes: readonly QuotaChange[] }>) {
    const run = this.changes.then(async () => {
      for (const { entity, changes: entityChanges } of changes) {
        const key = entityKey(entity);
        const values = new Map(this.configured.get(key));
        for (const { key: quotaKey, value } of entityChanges) {
          if (value === null) values.delete(quotaKey);
          else values.set(quotaKey, value);
        }
        if (values.size === 0) this.configured.delete(key);
        else this.configured.set(key, values);
      }
      this.resolved.clear();
      await this.store.setClientQuotas(
        [...this.configured].map(([entity, values]) => ({
          entity,
          values: Object.fromEntries(values),
        })),
      );
    });
    this.changes = run.catch(() => undefined);
    return run;
  }

  /**
   * Charges a starting request what is known of it already (a produce's bytes) and answers how
   * long the client must now wait. Cheap when no quota is configured.
   */
  requestStarted(context: RequestContext, requestBytes: number): number {
    if (this.configured.size === 0 || context.apiKey !== ApiKey.Produce) return 0;
    return this.charge(context, [[QuotaKey.PRODUCER_BYTE_RATE, requestBytes]]);
  }

  /** Charges an answered request the rest of what it used: fetched bytes, time, mutations. */
  requestAnswered(usage: RequestUsage): number {
    if (this.configured.size === 0) return 0;
    const { context } = usage;
    const charges: Array<[QuotaKey, number]> = [];
    if (context.apiKey === ApiKey.Fetch && !isFollowerFetch(usage.request)) {
      charges.push([QuotaKey.CONSUMER_BYTE_RATE, usage.responseBytes]);
    }
    const mutations = controllerMutationsOf(context.apiKey, usage.request, usage.response);
    if (mutations > 0) charges.push([QuotaKey.CONTROLLER_MUTATION_RATE, mutations]);
    if (!requestQuotaExempt.has(context.apiKey)) {
      // Kafka charges request time as a percentage of one thread per second.
      charges.push([QuotaKey.REQUEST_PERCENTAGE, usage.handlerMs / 10]);
    }
    return this.charge(context, charges);
  }

  /** Records each charge against the quota that applies; the longest resulting throttle. */
  private charge(context: RequestContext, charges: ReadonlyArray<[QuotaKey, number]>): number {
    const user = quotaUserOf(context);
    const clientId = context.clientId ?? '';
    const nowMs = this.now();
    let throttleMs = 0;
    for (const [quotaKey, value] of charges) {
      const applied = this.quotaFor(quotaKey, user, clientId);
      if (applied === undefined) continue;
      const budget = this.usageOf(`${quotaKey}\u0000${applied.budget}`, nowMs);
      budget.rate.record(value, nowMs);
      throttleMs = Math.max(throttleMs, budget.rate.throttleTimeMs(applied.bound, nowMs));
    }
    return Math.min(throttleMs, this.windows.windowCount * this.windows.windowMs);
  }

  /** The quota that applies to (user, clientId) for one key, and the budget it is shared in. */
  quotaFor(
    quotaKey: string,
    user: string,
    clientId: string,
  ): { bound: number; budget: string } | undefined {
    const cacheKey = `${quotaKey}\u0000${user}\u0000${clientId}`;
    const cached = this.resolved.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.resolve(quotaKey, user, clientId);
    if (this.resolved.size >= resolvedCacheMax) this.resolved.clear();
    this.resolved.set(cacheKey, found ?? null);
    return found;
  }

  private resolve(
    quotaKey: string,
    user: string,
    clientId: string,
  ): { bound: number; budget: string } | undefined {
    const candidates: Array<[string | null | undefined, string | null | undefined]> = [
      [user, clientId],
      [user, null],
      [user, undefined],
      [null, clientId],
      [null, null],
      [null, undefined],
      [undefined, clientId],
      [undefined, null],
    ];
    for (const [userName, clientName] of candidates) {
      const entity = new Map<EntityType, string | null>();
      if (userName !== undefined) entity.set(EntityType.USER, userName);
      if (clientName !== undefined) entity.set(EntityType.CLIENT_ID, clientName);
      const bound = this.configured.get(entityKey(entity))?.get(quotaKey);
      if (bound === undefined) continue;
      const userTag = userName === undefined ? '' : user;
      const clientTag = clientName === undefined ? '' : clientId;
      return { bound, budget: `${userTag}\u0000${clientTag}` };
    }
    return undefined;
  }

  /** The connection_creation_rate of an `ip` quota on this address, else on the ip default. */
  connectionCreationRateOf(address: string): number | undefined {
    if (this.configured.size === 0) return undefined;
    for (const name of [address, null]) {
      const entity = new Map<EntityType, string | null>([[EntityType.IP, name]]);
      const rate = this.configured.get(entityKey(entity))?.get(QuotaKey.CONNECTION_CREATION_RATE);
      if (rate !== undefined) return rate;
    }
    return undefined;
  }

  private usageOf(key: string, nowMs: number): Usage {
    let found = this.usage.get(key);
    if (found === undefined) {
      found = { rate: new SampledRate(this.windows), lastRecordedMs: nowMs };
      this.usage.set(key, found);
      if (++this.usageCreated % usageSweepEvery === 0) this.sweep(nowMs);
    }
    found.lastRecordedMs = nowMs;
    return found;
  }

  private sweep(nowMs: number): void {
    for (const [key, usage] of this.usage) {
      if (nowMs - usage.lastRecordedMs > idleUsageMs) this.usage.delete(key);
    }
  }
}

/** A Fetch from a follower replica is replication, never charged to a consumer quota. */
function isFollowerFetch(request: unknown): boolean {
  const fetch = request as { replicaId?: number; replicaState?: { replicaId?: number } };
  return (fetch.replicaId ?? -1) >= 0 || (fetch.replicaState?.replicaId ?? -1) >= 0;
}

/**
 * Partitions created or deleted by a request, for controller_mutation_rate. Kafka counts the
 * partitions of each topic; Brook counts a created topic's partitions, and one per topic for
 * deletes and partition additions (their responses do not carry the count).
 */
function controllerMutationsOf(apiKey: number, request: unknown, response: unknown): number {
  if (
    apiKey !== ApiKey.CreateTopics &&
    apiKey !== ApiKey.DeleteTopics &&
    apiKey !== ApiKey.CreatePartitions
  ) {
    return 0;
  }
  if ((request as { validateOnly?: boolean }).validateOnly === true) return 0;
  const answered = response as {
    topics?: Array<{ errorCode?: number; numPartitions?: number }>;
    responses?: Array<{ errorCode?: number }>;
    results?: Array<{ errorCode?: number }>;
  };
  const succeeded = <T extends { errorCode?: number }>(list: T[] | undefined): T[] =>
    (list ?? []).filter((entry) => (entry.errorCode ?? 0) === 0);
  if (apiKey === ApiKey.CreateTopics) {
    return succeeded(answered.topics).reduce(
      (sum, topic) => sum + Math.max(1, topic.numPartitions ?? 1),
      0,
    );
  }
  return succeeded(apiKey === ApiKey.DeleteTopics ? answered.responses : answered.results).length;
}
