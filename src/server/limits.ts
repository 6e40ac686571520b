// The limits one connection lives under. Every queue in the server is bounded by one of these.

import { parseConnectionsPerIpOverrides } from '../config/broker-definitions.js';
import type { BrokerConfig } from '../config/index.js';

export interface ServerLimits {
  /** socket.request.max.bytes: a larger (or negative) frame length closes the connection. */
  readonly requestBytesMax: number;
  /**
   * queued.max.request.bytes, per connection: request bytes whose response has not been written,
   * plus response bytes waiting to be written, above which the server stops reading from the
   * socket until the client catches up. -1 means no byte limit. 32 MiB by default: bytes in flight
   * are produce throughput times the time to fsync them, and in bench:broker's produce runs 16 MiB
   * cost a 1 KiB producer some of its rate where 32 MiB and 100 MiB did not differ; 100 MiB made
   * one producer that pipelines all it has the largest part of the broker's RSS (issue 14).
   */
  readonly inFlightBytesMax: number;
  /**
   * queued.max.request.bytes.total, for the whole server: the same bytes summed over every
   * connection, above which a connection starts one request at a time (request-memory.ts).
   * -1 means no limit.
   */
  readonly requestMemoryBytesMax: number;
  /** queued.max.requests, per connection: requests awaiting a response before reading pauses. */
  readonly inFlightRequestsMax: number;
  /**
   * connections.max.idle.ms: a connection with nothing in flight that has sent and received
   * nothing for this long is closed, and so is one whose partial frame has been incomplete this
   * long (a slow client must not hold a frame buffer open forever).
   */
  readonly connectionsMaxIdleMs: number;
  /** max.connections: across all listeners; a connection above it is closed on accept. */
  readonly connectionsMax: number;
  /** max.connections.per.ip: per remote address; a connection above it is closed on accept. */
  readonly connectionsPerIpMax: number;
  /** max.connections.per.ip.overrides: per-address exceptions to connectionsPerIpMax. */
  readonly connectionsPerIpOverrides: ReadonlyMap<string, number>;
  /** max.connection.creation.rate: new connections per second; more are closed on accept. */
  readonly connectionCreationRateMax: number;
  /** quota.window.num and quota.window.size.seconds: the windows every quota rate uses. */
  readonly quotaWindowCount: number;
  readonly quotaWindowMs: number;
  /** How long stop() waits for in-flight requests to be answered before closing connections. */
  readonly shutdownGraceMs: number;
}

export const defaultServerLimits: ServerLimits = {
  requestBytesMax: 104857600,
  inFlightBytesMax: 33554432,
  requestMemoryBytesMax: 268435456,
  inFlightRequestsMax: 500,
  connectionsMaxIdleMs: 600000,
  connectionsMax: 2 ** 31 - 1,
  connectionsPerIpMax: 2 ** 31 - 1,
  connectionsPerIpOverrides: new Map(),
  connectionCreationRateMax: 2 ** 31 - 1,
  quotaWindowCount: 11,
  quotaWindowMs: 1000,
  shutdownGraceMs: 5000,
};

export function serverLimitsFromConfig(config: BrokerConfig): ServerLimits {
  return {
    requestBytesMax: config.socketRequestMaxBytes,
    inFlightBytesMax: config.queuedMaxRequestBytes,
    requestMemoryBytesMax: config.queuedMaxRequestBytesTotal,
    inFlightRequestsMax: config.queuedMaxRequests,
    connectionsMaxIdleMs: config.connectionsMaxIdleMs,
    connectionsMax: config.maxConnections,
    connectionsPerIpMax: config.maxConnectionsPerIp,
    connectionsPerIpOverrides: parseConnectionsPerIpOverrides(
      config.maxConnectionsPerIpOverrides ?? '',
    ),
    connectionCreationRateMax: config.maxConnectionCreationRate,
    quotaWindowCount: config.quotaWindowNum,
    quotaWindowMs: config.quotaWindowSizeSeconds * 1000,
    shutdownGraceMs: defaultServerLimits.shutdownGraceMs,
  };
}
