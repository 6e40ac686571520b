// Connection limits, checked when a connection is accepted: max.connections across listeners,
// max.connections.per.ip (with max.connections.per.ip.overrides), max.connection.creation.rate
// across listeners and the per-address connection_creation_rate of an `ip` client quota. A
// connection over any of them is closed at once, before a byte is read.
//
// Refusals come in floods (a client in a reconnect loop), so they are logged once per
// `refusalLogIntervalMs` with a count of those not logged, and counted per limit for the metrics.
//
// Owned by the server; `admit` and `release` are synchronous, called from socket events.

import { SampledRate, type SampleWindows } from './sampled-rate.js';

export interface ConnectionLimits {
  readonly connectionsMax: number;
  readonly connectionsPerIpMax: number;
  /** Per-address exceptions to connectionsPerIpMax. */
  readonly connectionsPerIpOverrides: ReadonlyMap<string, number>;
  /** New connections per second across listeners. */
  readonly connectionCreationRateMax: number;
  readonly windows: SampleWindows;
}

/** The names refusals are reported and counted under: the setting that refused. */
export type ConnectionLimitName =
  | 'max.connections'
  | 'max.connections.per.ip'
  | 'max.connection.creation.rate'
  | 'connection_creation_rate';

const refusalLogIntervalMs = 10_000;
/** Addresses whose connection_creation_rate is tracked; past this many, tracking starts over. */
const trackedAddressesMax = 10_000;
const INT_MAX_VALUE = 2 ** 31 - 1;

export class ConnectionQuotas {
  private readonly byAddress = new Map<string, number>();
  private readonly creationRate: SampledRate;
  private readonly creationRateByAddress = new Map<string, SampledRate>();
  private total = 0;
  private lastLoggedMs = -Infinity;
  private unloggedRefusals = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly hooks: {
      /** A client quota's connection_creation_rate for an address, if one applies. */
      readonly creationRateOf?: (address: string) => number | undefined;
      readonly warn: (message: string, fields: Record<string, unknown>) => void;
      readonly refused?: (limit: ConnectionLimitName) => void;
    },
    private readonly now: () => number = () => performance.now(),
  ) {
    this.creationRate = new SampledRate(limits.windows);
  }

  /** Connections admitted and not yet released. */
  get count(): number {
    return this.total;
  }

  /**
   * Admits a new connection from `address` (counted until `release`), or answers the limit that
   * refuses it, after logging and counting the refusal.
   */
  admit(address: string, listener: string): ConnectionLimitName | null {
    const refusedBy = this.refusal(address);
    if (refusedBy !== null) {
      this.reportRefusal(refusedBy, address, listener);
      return refusedBy;
    }
    this.total++;
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    return null;
  }

  release(address: string): void {
    this.total--;
    const remaining = (this.byAddress.get(address) ?? 1) - 1;
    if (remaining === 0) this.byAddress.delete(address);
    else this.byAddress.set(address, remaining);
  }

  private refusal(address: string): ConnectionLimitName | null {
    const { limits } = this;
    if (this.total >= limits.connectionsMax) return 'max.connections';
    const perAddressMax =
      limits.connectionsPerIpOverrides.get(plainAddress(address)) ?? limits.connectionsPerIpMax;
    if ((this.byAddress.get(address) ?? 0) >= perAddressMax) return 'max.connections.per.ip';
    // As in Kafka, an attempt counts towards the rate whether or not it is admitted, so a client
    // in a tight reconnect loop stays refused until it slows down.
    const nowMs = this.now();
    if (limits.connectionCreationRateMax < INT_MAX_VALUE) {
      this.creationRate.record(1, nowMs);
      if (this.creationRate.throttleTimeMs(limits.connectionCreationRateMax, nowMs) > 0) {
        return 'max.connection.creation.rate';
      }
    }
    const addressRateMax = this.hooks.creationRateOf?.(plainAddress(address));
    if (addressRateMax !== undefined) {
      let rate = this.creationRateByAddress.get(address);
      if (rate === undefined) {
        if (this.creationRateByAddress.size >= trackedAddressesMax) {
          this.creationRateByAddress.clear();
        }
        rate = new SampledRate(limits.windows);
        this.creationRateByAddress.set(address, rate);
      }
      rate.record(1, nowMs);
      if (rate.throttleTimeMs(addressRateMax, nowMs) > 0) return 'connection_creation_rate';
    }
    return null;
  }

  private reportRefusal(limit: ConnectionLimitName, address: string, listener: string): void {
    this.hooks.refused?.(limit);
    const nowMs = this.now();
    if (nowMs - this.lastLoggedMs < refusalLogIntervalMs) {
      this.unloggedRefusals++;
      return;
    }
    this.hooks.warn(`refusing connection: ${limit} reached`, {
      listener,
      remote: address,
      refusedSinceLastReport: this.unloggedRefusals,
    });
    this.lastLoggedMs = nowMs;
    this.unloggedRefusals = 0;
  }
}

/** An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; limits name it a.b.c.d. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
