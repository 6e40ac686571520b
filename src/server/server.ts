// The Kafka listeners: one net.Server per configured listener, each accepting connections that
// are served by Connection. The server knows frames, headers and the handler registry; it knows
// nothing of topics, partitions or storage.

import { type Server, type Socket, createServer } from 'node:net';
import type { ListenerAddress } from '../config/listeners.js';
import type { ApiMessage } from '../protocol/api-message.js';
import { apiMessages as generatedApiMessages } from '../protocol/generated/index.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { assert } from '../util/assert.js';
import { BrookError } from '../util/errors.js';
import { Connection, type RequestObserver } from './connection.js';
import { type ServerLimits, defaultServerLimits } from './limits.js';
import { type Logger, asLogger } from '../util/logger.js';
import { type ServerLogger, stderrLogger } from './logger.js';

export interface ServerOptions {
  readonly listeners: readonly ListenerAddress[];
  readonly registry: HandlerRegistry;
  readonly limits?: Partial<ServerLimits>;
  readonly logger?: ServerLogger;
  /** The codecs by API key; the generated ones unless a test substitutes its own. */
  readonly apiMessages?: ReadonlyMap<number, ApiMessage>;
  /** Told of every answered request (the broker's metrics). */
  readonly observer?: RequestObserver;
}

/** A listener once bound: `port` is the actual one when port 0 was asked for. */
export interface BoundListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface BrookServer {
  readonly listeners: readonly BoundListener[];
  /** Connections currently open, across listeners. */
  readonly connectionCount: number;
  /**
   * Stops accepting, stops reading, gives in-flight requests up to limits.shutdownGraceMs to be
   * answered, closes every connection and resolves once all sockets and listeners are closed.
   */
  stop(): Promise<void>;
}

export class ServerStartError extends BrookError {
  declare readonly code: 'BROOK_SERVER_LISTEN';

  constructor(message: string) {
    super('BROOK_SERVER_LISTEN', message);
    this.name = 'ServerStartError';
  }
}

let nextConnectionId = 1;

export async function startServer(options: ServerOptions): Promise<BrookServer> {
  const limits: ServerLimits = { ...defaultServerLimits, ...options.limits };
  const logger = asLogger(options.logger ?? stderrLogger);
  const refusals = new RefusalReport(logger);
  const apiMessages = options.apiMessages ?? generatedApiMessages;
  checkHandlersHaveCodecs(options.registry, apiMessages);
  if (options.listeners.length === 0) throw new ServerStartError('no listeners to start');

  const connections = new Set<Connection>();
  const connectionsByAddress = new Map<string, number>();
  const servers: Server[] = [];
  const bound: BoundListener[] = [];
  let stopping = false;

  const accept = (listener: ListenerAddress, socket: Socket): void => {
    if (stopping) {
      socket.destroy();
      return;
    }
    const remoteAddress = socket.remoteAddress ?? '';
    const fromAddress = connectionsByAddress.get(remoteAddress) ?? 0;
    if (connections.size >= limits.connectionsMax || fromAddress >= limits.connectionsPerIpMax) {
      const limit =
        connections.size >= limits.connectionsMax ? 'max.connections' : 'max.connections.per.ip';
      refusals.refused(limit, listener.name, remoteAddress);
      socket.destroy();
      return;
    }
    connectionsByAddress.set(remoteAddress, fromAddress + 1);
    const connection = new Connection({
      id: nextConnectionId++,
      socket,
      listenerName: listener.name,
      registry: options.registry,
      apiMessages,
      limits,
      logger,
      observer: options.observer,
    });
    connections.add(connection);
    logger.debug('connection opened', {
      connectionId: connection.id,
      listener: listener.name,
      remote: `${connection.remoteAddress}:${connection.remotePort}`,
    });
    void connection.closed.then(() => {
      connections.delete(connection);
      const remaining = (connectionsByAddress.get(remoteAddress) ?? 1) - 1;
      if (remaining === 0) connectionsByAddress.delete(remoteAddress);
      else connectionsByAddress.set(remoteAddress, remaining);
    });
  };

  try {
    for (const listener of options.listeners) {
      const server = createServer({ noDelay: true }, (socket) => accept(listener, socket));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException): void => {
          reject(
            new ServerStartError(
              `cannot listen on ${listener.name}://${listener.host}:${listener.port}: ${error.message}`,
            ),
          );
        };
        server.once('error', onError);
        server.listen(
          { port: listener.port, host: listener.host === '' ? undefined : listener.host },
          () => {
            server.off('error', onError);
            resolve();
          },
        );
      });
      server.on('error', (error) =>
        logger.error('listener error', { listener: listener.name, error: error.message }),
      );
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : listener.port;
      bound.push({ name: listener.name, host: listener.host, port });
    }
  } catch (error) {
    await Promise.all(servers.map((server) => closeServer(server)));
    throw error;
  }

  let stopped: Promise<void> | null = null;
  return {
    listeners: bound,
    get connectionCount() {
      return connections.size;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const listenersClosed = Promise.all(servers.map((server) => closeServer(server)));
        await Promise.all(
          [...connections].map((connection) => connection.stop(limits.shutdownGraceMs)),
        );
        await listenersClosed;
      })();
      return stopped;
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/** Every advertised version must be decodable; a gap here is a wiring bug, found at start. */
function checkHandlersHaveCodecs(
  registry: HandlerRegistry,
  apiMessages: ReadonlyMap<number, ApiMessage>,
): void {
  for (const handler of registry.list()) {
    const api = apiMessages.get(handler.apiKey);
    assert(
      api !== undefined,
      `a handler is registered for API key ${handler.apiKey}, which has no codec`,
    );
    // An API whose versions are all unstable has no validVersions; its codecs still start at 0.
    const codecVersionMin = api.validVersions?.min ?? 0;
    assert(
      handler.minVersion >= codecVersionMin && handler.maxVersion <= api.codecVersionMax,
      `handler for ${api.name} serves ${handler.minVersion}-${handler.maxVersion}, codecs have ${codecVersionMin}-${api.codecVersionMax}`,
    );
  }
}

/** Connections refused by a limit are reported once per this interval at most, with a count. */
const REFUSAL_REPORT_INTERVAL_MS = 10_000;

/**
 * Reports connections refused by max.connections or max.connections.per.ip: the first refusal at
 * once, then at most one line per interval saying how many more were refused, so a client
 * hammering a full broker cannot flood the log.
 */
class RefusalReport {
  private lastReportMs = -Infinity;
  private unreported = 0;
  private unreportedLimits = new Set<string>();

  constructor(private readonly logger: Logger) {}

  refused(limit: string, listener: string, remote: string): void {
    const nowMs = performance.now();
    if (nowMs - this.lastReportMs < REFUSAL_REPORT_INTERVAL_MS) {
      this.unreported += 1;
      this.unreportedLimits.add(limit);
      return;
    }
    const since = this.unreported;
    this.logger.warn(`refusing connection: ${limit} reached`, {
      limit,
      listener,
      remote,
      ...(since > 0 ? { refusedSinceLastReport: since, limits: [...this.unreportedLimits] } : {}),
    });
    this.lastReportMs = nowMs;
    this.unreported = 0;
    this.unreportedLimits = new Set();
  }
}
