// The Kafka listeners: one net.Server (tls.Server for SSL and SASL_SSL) per configured listener,
// each accepting connections that are served by Connection. The server knows frames, headers, the
// handler registry and each listener's security; it knows nothing of topics, partitions or storage.

import { type Server, type Socket, createServer } from 'node:net';
import { readingInPlace } from './read-in-place.js';
import type { NetworkThread, PortSocket } from './network-thread.js';
import type { TLSSocket } from 'node:tls';
import { nodeTls } from '../util/node-tls.js';
import {
  ConnectionAuthentication,
  type ListenerSecurity,
  serveReloadedCertificates,
  applyReloadedCertificates,
  plaintextSecurity,
  type TlsContext,
} from '../security/index.js';
import type { ListenerAddress } from '../config/listeners.js';
import type { ApiMessage } from '../protocol/api-message.js';
import { apiMessages as generatedApiMessages } from '../protocol/generated/index.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { assert } from '../util/assert.js';
import { BrookError } from '../util/errors.js';
import { ConnectionQuotas, type ConnectionLimitName } from '../quota/connection-quotas.js';
import {
  Connection,
  type ConnectionOptions,
  type RequestAuditor,
  type RequestObserver,
  type RequestThrottler,
} from './connection.js';
import { type ServerLimits, defaultServerLimits } from './limits.js';
import { asLogger } from '../util/logger.js';
import { type ServerLogger, stderrLogger } from './logger.js';
import type { FrameReader } from '../protocol/frame-reader.js';
import type { RequestLog } from './request-log.js';
import { requestFrameReader } from './request-frames.js';
import { RequestMemory } from './request-memory.js';

export interface ServerOptions {
  readonly listeners: readonly ListenerAddress[];
  readonly registry: HandlerRegistry;
  readonly limits?: Partial<ServerLimits>;
  readonly logger?: ServerLogger;
  /** The codecs by API key; the generated ones unless a test substitutes its own. */
  readonly apiMessages?: ReadonlyMap<number, ApiMessage>;
  /** Told of every answered request (the broker's metrics). */
  readonly observer?: ServerObserver;
  /** Client quotas: how long to throttle a client after each request. */
  readonly throttler?: RequestThrottler;
  /** The request log (every request, or the slow ones); none: nothing is logged per request. */
  readonly requestLog?: RequestLog;
  /** An `ip` client quota's connection_creation_rate for an address, if one applies. */
  readonly connectionCreationRateOf?: (address: string) => number | undefined;
  /** Each listener's security by listener name; PLAINTEXT for a listener not named. */
  readonly security?: ReadonlyMap<string, ListenerSecurity>;
  /** The audit log: every answered request, every failed authentication; none when it is off. */
  readonly auditor?: ServerAuditor;
  /**
   * num.io.threads: 1 (the default here) serves everything on the event loop; n ≥ 2 gives every
   * listener's sockets (TLS included) to n - 1 network threads (network-thread.ts), which share
   * each listening port through SO_REUSEPORT. Where Node lacks it (before 22.12), one network
   * thread: a listening descriptor cannot be shared between threads soundly without it.
   */
  readonly ioThreads?: number;
}

/** What the server tells the audit log. */
export interface ServerAuditor extends RequestAuditor {
  authenticationFailed(event: {
    readonly listener: string;
    readonly clientAddress: string;
    readonly principal: string;
    readonly api: 'SaslAuthenticate' | 'TlsHandshake';
    readonly reason: string;
  }): void;
}

/** What the server tells the metrics: each answered request, each refused connection. */
export interface ServerObserver extends RequestObserver {
  connectionRefused?(limit: ConnectionLimitName): void;
}

/** A TLS handshake that has not finished by then is abandoned (a plaintext client, a stalled one). */
const tlsHandshakeTimeoutMs = 10_000;

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
  /** Connections each network thread serves, in thread order; empty with num.io.threads 1. */
  networkThreadConnections(): number[];
  /** The memory for requests in flight that every connection shares (request-memory.ts). */
  readonly requestMemory: RequestMemory;
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
  const requestMemory = new RequestMemory(limits.requestMemoryBytesMax);
  const logger = asLogger(options.logger ?? stderrLogger);
  const apiMessages = options.apiMessages ?? generatedApiMessages;
  checkHandlersHaveCodecs(options.registry, apiMessages);
  if (options.listeners.length === 0) throw new ServerStartError('no listeners to start');

  const connections = new Set<Connection>();
  const connectionQuotas = new ConnectionQuotas(
    {
      connectionsMax: limits.connectionsMax,
      connectionsPerIpMax: limits.connectionsPerIpMax,
      connectionsPerIpOverrides: limits.connectionsPerIpOverrides,
      connectionCreationRateMax: limits.connectionCreationRateMax,
      windows: { windowCount: limits.quotaWindowCount, windowMs: limits.quotaWindowMs },
    },
    {
      creationRateOf: options.connectionCreationRateOf,
      warn: (message, fields) => logger.warn(message, fields),
      refused: (limit) => options.observer?.connectionRefused?.(limit),
    },
  );
  const servers: Server[] = [];
  const bound: BoundListener[] = [];
  let stopping = false;

  const accept = (listener: ListenerAddress, accepted: Socket): void => {
    if (stopping) {
      accepted.destroy();
      return;
    }
    // A plaintext socket reads in place, into the frame reader's buffers; a TLS one streams.
    const served: { connection?: Connection } = {};
    const frames =
      (accepted as Partial<TLSSocket>).encrypted === true
        ? undefined
        : requestFrameReader(limits.requestBytesMax, { reuseProduceFrames: true });
    const socket =
      frames === undefined
        ? accepted
        : readingInPlace(accepted, frames, (count) => {
            // Reads start on the next turn of the loop, after the connection below exists.
            if (served.connection === undefined) socket.destroy();
            else served.connection.bytesRead(count);
          });
    serve(listener, socket, frames, served);
  };

  /** A connection the network thread accepted: its frames come whole over the port. */
  const acceptFromThread = (listener: ListenerAddress, socket: PortSocket): void => {
    if (stopping) {
      socket.destroy();
      return;
    }
    const served: { connection?: Connection } = {};
    serve(listener, socket, undefined, served, {
      frameBytesMaxChanged: (bytes) => socket.limitFrames(bytes),
    });
    const connection = served.connection;
    if (connection === undefined) return;
    socket.on('badFrame', (message: string) => connection.close(`invalid frame: ${message}`));
    socket.receiveFrames((received, partial) => connection.framesReceived(received, partial));
  };

  const serve = (
    listener: ListenerAddress,
    socket: Socket | PortSocket,
    frames: FrameReader | undefined,
    served: { connection?: Connection },
    framedElsewhere?: ConnectionOptions['framedElsewhere'],
  ): void => {
    const remoteAddress = socket.remoteAddress ?? '';
    // A TLS client whose certificate maps to no principal is refused before it counts.
    const security = options.security?.get(listener.name) ?? plaintextSecurity;
    let authentication: ConnectionAuthentication | undefined;
    const clientAddress = `${remoteAddress}:${socket.remotePort ?? 0}`;
    if (security.protocol !== 'PLAINTEXT') {
      try {
        authentication = connectionAuthentication(security, socket, (reason) => {
          logger.warn('authentication failed', {
            listener: listener.name,
            remote: clientAddress,
            reason,
          });
          options.auditor?.authenticationFailed({
            listener: listener.name,
            clientAddress,
            principal: authentication?.principal ?? 'User:ANONYMOUS',
            api: 'SaslAuthenticate',
            reason,
          });
        });
      } catch (error) {
        logger.warn('refusing TLS connection', {
          listener: listener.name,
          remote: remoteAddress,
          error: (error as Error).message,
        });
        options.auditor?.authenticationFailed({
          listener: listener.name,
          clientAddress,
          principal: 'User:ANONYMOUS',
          api: 'TlsHandshake',
          reason: (error as Error).message,
        });
        socket.destroy();
        return;
      }
    }
    if (connectionQuotas.admit(remoteAddress, listener.name) !== null) {
      socket.destroy();
      return;
    }
    const connection = new Connection({
      id: nextConnectionId++,
      socket,
      frames,
      framedElsewhere,
      listenerName: listener.name,
      registry: options.registry,
      apiMessages,
      limits,
      logger,
      observer: options.observer,
      authentication,
      throttler: options.throttler,
      auditor: options.auditor,
      requestLog: options.requestLog,
      memory: requestMemory,
    });
    served.connection = connection;
    connections.add(connection);
    logger.debug('connection opened', {
      connectionId: connection.id,
      listener: listener.name,
      remote: `${connection.remoteAddress}:${connection.remotePort}`,
    });
    void connection.closed.then(() => {
      connections.delete(connection);
      connectionQuotas.release(remoteAddress);
    });
  };

  // With num.io.threads 2 or more, every Kafka listener is the network threads'.
  const ioThreads = options.ioThreads ?? 1;
  const threadListeners = ioThreads > 1 ? [...options.listeners] : [];
  const networkThreads: NetworkThread[] = [];
  /** The TLS contexts whose reloads go to the network threads; their watches end at stop. */
  const watchedTls: TlsContext[] = [];
  try {
    if (threadListeners.length > 0) {
      // Loaded only here: a broker of one thread loads none of it (nor node:worker_threads).
      const { NetworkThread, reusePortAvailable } = await import('./network-thread.js');
      const count = reusePortAvailable() ? ioThreads - 1 : 1;
      for (let thread = 0; thread < count; thread++) {
        networkThreads.push(
          new NetworkThread(
            {
              accepted: (index, socket) => acceptFromThread(threadListeners[index], socket),
              failed: (error) => {
                if (!stopping)
                  logger.error('network thread failed', { thread, error: error.message });
              },
              tlsFailed: (index, clientAddress, reason) =>
                reportTlsHandshakeFailure(
                  threadListeners[index].name,
                  clientAddress,
                  reason,
                  logger,
                  options.auditor,
                ),
            },
            count === 1 ? 'brook-network' : `brook-network-${thread}`,
          ),
        );
      }
      // Kafka's sample server.properties sets num.io.threads=8 for its request handler pool; here
      // it counts the event loop and the network threads, so the start says what it made of it.
      logger.info('network threads serve the Kafka listeners (num.io.threads above 1)', {
        numIoThreads: ioThreads,
        networkThreads: count,
        ...(count < ioThreads - 1
          ? {
              reason: `one network thread: sharing a port needs Node 22.12 (this is ${process.version})`,
            }
          : {}),
      });
    }
    for (const listener of options.listeners) {
      const index = threadListeners.indexOf(listener);
      if (networkThreads.length > 0 && index >= 0) {
        const security = options.security?.get(listener.name) ?? plaintextSecurity;
        const frameBytesMax =
          security.sasl === null
            ? limits.requestBytesMax
            : Math.min(limits.requestBytesMax, security.sasl.receiveBytesMax);
        const tls =
          security.tls === null
            ? null
            : { options: security.tls.serverOptions, handshakeTimeoutMs: tlsHandshakeTimeoutMs };
        // The first thread binds the port asked for (0: any), the others the one it got.
        const reusePort = networkThreads.length > 1;
        let port = listener.port;
        try {
          for (const thread of networkThreads)
            port = await thread.listen(
              index,
              { host: listener.host, port },
              frameBytesMax,
              tls,
              reusePort,
            );
        } catch (error) {
          throw new ServerStartError(
            `cannot listen on ${listener.name}://${listener.host}:${listener.port}: ${(error as Error).message}`,
          );
        }
        bound.push({ name: listener.name, host: listener.host, port });
        if (security.tls !== null) {
          applyReloadedCertificates(security.tls, listener.name, logger, (reloaded) => {
            for (const thread of networkThreads) thread.reloadTls(index, reloaded);
          });
          watchedTls.push(security.tls);
        }
        continue;
      }
      const server = createListenerServer(
        listener,
        options.security?.get(listener.name) ?? plaintextSecurity,
        logger,
        options.auditor,
        (socket) => accept(listener, socket),
      );
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
    for (const tls of watchedTls) tls.close();
    await Promise.all(networkThreads.map((thread) => thread.terminate()));
    throw error;
  }

  let stopped: Promise<void> | null = null;
  return {
    listeners: bound,
    requestMemory,
    get connectionCount() {
      return connections.size;
    },
    networkThreadConnections: () => networkThreads.map((thread) => thread.connectionCount),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const listenersClosed = Promise.all([
          ...servers.map((server) => closeServer(server)),
          ...networkThreads.map((thread) => thread.unlisten()),
        ]);
        await Promise.all(
          [...connections].map((connection) => connection.stop(limits.shutdownGraceMs)),
        );
        await listenersClosed;
        for (const tls of watchedTls) tls.close();
        await Promise.all(networkThreads.map((thread) => thread.terminate()));
      })();
      return stopped;
    },
  };
}

function createListenerServer(
  listener: ListenerAddress,
  security: ListenerSecurity,
  logger: ServerLogger,
  auditor: ServerAuditor | undefined,
  onConnection: (socket: Socket) => void,
): Server {
  const tls = security.tls;
  // Paused: the accepted socket never reads; its handle moves to one that reads in place.
  if (tls === null) return createServer({ noDelay: true, pauseOnConnect: true }, onConnection);
  const server = nodeTls().createServer(
    { ...tls.serverOptions, handshakeTimeout: tlsHandshakeTimeoutMs },
    onConnection,
  );
  // A plaintext client on a TLS port, an untrusted client certificate, an old protocol version:
  // one line per failed handshake, and the socket is gone.
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    const clientAddress = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    reportTlsHandshakeFailure(
      listener.name,
      clientAddress,
      error.code ?? error.message,
      logger,
      auditor,
    );
    socket.destroy();
  });
  serveReloadedCertificates(server, tls, listener.name, logger);
  return server;
}

/** One line per failed handshake, and the audit log's event (a plaintext client on a TLS port, an untrusted certificate, an old protocol version). */
function reportTlsHandshakeFailure(
  listenerName: string,
  clientAddress: string,
  reason: string,
  logger: ServerLogger,
  auditor: ServerAuditor | undefined,
): void {
  logger.warn('TLS handshake failed', {
    listener: listenerName,
    remote: clientAddress,
    error: reason,
  });
  auditor?.authenticationFailed({
    listener: listenerName,
    clientAddress,
    principal: 'User:ANONYMOUS',
    api: 'TlsHandshake',
    reason,
  });
}

function connectionAuthentication(
  security: ListenerSecurity,
  socket: Socket | PortSocket,
  onFailure: (reason: string) => void,
): ConnectionAuthentication {
  const transportPrincipal =
    security.tls === null ? 'User:ANONYMOUS' : security.tls.principalOf(socket as TLSSocket);
  return new ConnectionAuthentication(
    transportPrincipal,
    security.sasl === null ? null : { ...security.sasl, onFailure },
  );
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
  for (const handler of registry.servedApis()) {
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
