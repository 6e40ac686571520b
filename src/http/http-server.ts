// The broker's HTTP door: one node:http server per address in http.listeners, all serving one
// route table. broker.ts is the one place that wires routes (metrics and health today; the push
// delivery API and the console will add theirs), so this module knows paths and status codes and
// nothing of what answers them.
//
// A route is keyed by its path for GET (and HEAD), or by "METHOD /path" for another method
// ("POST /ui/api/topics"), whose body (at most HTTP_BODY_BYTES_MAX) it is given whole. An unknown
// path is 404 and a known path asked with a method it lacks 405. A route that throws is a bug: the
// request gets 500 and the error goes to the logger, and the server keeps serving. A mount takes
// every request under a path prefix with the raw request and response (the push delivery API:
// streams, upgrades); it is added once the broker part behind it exists, so until then its paths
// are 404.
//
// Every request is first authenticated by the door's HttpAccess (http-access.ts; everyone is
// User:ANONYMOUS until the broker sets one): bad credentials are 401 before any route or mount
// sees the request, and each is given the caller to check its ACLs against.
//
// An https:// address is served by node:https with the broker's TlsContext for it (the ssl.*
// settings as the listener HTTPS sees them): the files are watched and a new context, from a
// renewed file or AlterConfigs, serves new connections while open ones keep theirs. A client
// certificate's principal is worked out once per connection. HTTP Basic over a plain http://
// address sends passwords in clear: allowed, but the door says so when access control starts.

import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';

import { type ListenerAddress, formatHostPort } from '../config/listeners.js';
import {
  type HttpAccess,
  type HttpCaller,
  HttpAuthenticationError,
  basicChallenge,
  openHttpAccess,
} from './http-access.js';
import type { ServerLogger } from '../server/logger.js';
import { type TlsContext, serveReloadedCertificates } from '../security/tls-context.js';
import { assert } from '../util/assert.js';
import { BrookError } from '../util/errors.js';

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  /**
   * Text, or bytes already encoded, in chunks (a large answer, /metrics, is sent from the chunks
   * it keeps, neither encoded nor copied into one buffer on every send).
   */
  readonly body: string | readonly Buffer[];
  /** `gzip` when the body is gzipped (only ever for a request that `acceptsGzip`). */
  readonly contentEncoding?: 'gzip';
}

/** Takes an HTTP upgrade (WebSocket) under a mount's prefix; owns the socket from then on. */
export type HttpUpgradeHandler = (
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  url: URL,
  caller: HttpCaller,
) => void;

/** What a route may read of its request besides the query. */
export interface HttpRequestInfo {
  readonly method: string;
  /** Empty for GET and HEAD. */
  readonly body: Buffer;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Who asks (User:ANONYMOUS without credentials). */
  readonly principal: string;
  /** Whether the request's Accept-Encoding takes gzip (Prometheus' scrapes do). */
  readonly acceptsGzip: boolean;
}

/** Answers one request; the URL's search parameters are given parsed. */
export type HttpRoute = (
  query: URLSearchParams,
  request: HttpRequestInfo,
) => HttpAnswer | Promise<HttpAnswer>;

/** The largest request body read; a larger one is answered 413 unread. */
export const HTTP_BODY_BYTES_MAX = 1024 * 1024;

/** Serves every request under a mount's prefix; owns the response from then on. */
export type HttpMountHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  caller: HttpCaller,
) => void;

/** A bound address of the door. */
export interface HttpListener {
  /** HTTP or HTTPS. */
  readonly name: string;
  readonly host: string;
  /** The actual port when port 0 was asked for. */
  readonly port: number;
}

export interface HttpDoor {
  readonly listeners: readonly HttpListener[];
  /**
   * Sends every request whose path starts with `prefix` to `handler`, and upgrades to `upgrade`
   * (refused without one); returns the unmount.
   */
  mount(prefix: string, handler: HttpMountHandler, upgrade?: HttpUpgradeHandler): () => void;
  /** Authenticates every later request with `access` (authorizer.enabled). */
  useAccess(access: HttpAccess): void;
  /** Stops accepting, ends idle keep-alive connections and resolves once every server closed. */
  stop(): Promise<void>;
}

export class HttpStartError extends BrookError {
  declare readonly code: 'BROOK_HTTP_LISTEN';

  constructor(message: string) {
    super('BROOK_HTTP_LISTEN', message);
    this.name = 'HttpStartError';
  }
}

export function jsonAnswer(status: number, value: unknown): HttpAnswer {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value)}\n` };
}

export async function startHttpDoor(options: {
  readonly listeners: readonly ListenerAddress[];
  readonly routes: ReadonlyMap<string, HttpRoute>;
  readonly logger: ServerLogger;
  /** The TLS of the HTTPS listener; required when `listeners` has one. */
  readonly tls?: TlsContext | null;
}): Promise<HttpDoor> {
  const { routes, logger } = options;
  const servers: Server[] = [];
  const mounts = new Map<string, HttpMountHandler>();
  const upgrades = new Map<string, HttpUpgradeHandler>();
  let access = openHttpAccess;
  /** Each TLS connection's certificate principal, or why it is refused, once worked out. */
  const certificatePrincipals = new WeakMap<TLSSocket, string | Error>();

  const certificatePrincipalOf = (request: IncomingMessage): (() => string) | undefined => {
    const tls = options.tls;
    if (tls === undefined || tls === null || !('encrypted' in request.socket)) return undefined;
    const socket = request.socket as TLSSocket;
    return () => {
      let principal = certificatePrincipals.get(socket);
      if (principal === undefined) {
        try {
          principal = tls.principalOf(socket);
        } catch (error) {
          principal = error as Error;
        }
        certificatePrincipals.set(socket, principal);
      }
      if (principal instanceof Error) throw principal;
      return principal;
    };
  };

  /** The caller of a request, or null once it was answered 401 (or 500). */
  const callerOf = async (
    request: IncomingMessage,
    refuse: (status: number, body: unknown) => void,
  ): Promise<HttpCaller | null> => {
    try {
      const principal = await access.authenticate(
        request.headers.authorization,
        `${request.socket.remoteAddress ?? ''}:${request.socket.remotePort ?? 0}`,
        certificatePrincipalOf(request),
      );
      return { principal, remoteAddress: request.socket.remoteAddress ?? '' };
    } catch (error) {
      if (error instanceof HttpAuthenticationError) {
        refuse(401, { error: error.message });
      } else {
        logger.error('HTTP authentication failed', {
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        refuse(500, { error: 'internal error' });
      }
      return null;
    }
  };

  const serveUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://brook');
    const refuse = (status: number, body: unknown): void => {
      const text = `${JSON.stringify(body)}\n`;
      const reason = status === 401 ? 'Unauthorized' : 'Internal Server Error';
      const challenge = status === 401 ? `www-authenticate: ${basicChallenge}\r\n` : '';
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\n${challenge}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
    };
    void callerOf(request, refuse).then((caller) => {
      if (caller === null) return;
      for (const [prefix, handler] of upgrades) {
        if (url.pathname.startsWith(prefix)) {
          handler(request, socket, head, url, caller);
          return;
        }
      }
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
  };

  const serve = (request: IncomingMessage, response: ServerResponse): void => {
    const refuse = (status: number, body: unknown): void => {
      if (status === 401) response.setHeader('www-authenticate', basicChallenge);
      send(response, jsonAnswer(status, body));
    };
    void callerOf(request, refuse).then((caller) => {
      if (caller !== null) dispatch(request, response, caller);
    });
  };

  const dispatch = (request: IncomingMessage, response: ServerResponse, caller: HttpCaller) => {
    const url = new URL(request.url ?? '/', 'http://brook');
    for (const [prefix, handler] of mounts) {
      if (url.pathname.startsWith(prefix)) {
        handler(request, response, url, caller);
        return;
      }
    }
    const method = request.method ?? 'GET';
    const readsOnly = method === 'GET' || method === 'HEAD';
    const route = routes.get(readsOnly ? url.pathname : `${method} ${url.pathname}`);
    if (route === undefined) {
      const allowed = [...routes.keys()].flatMap((key) =>
        key === url.pathname
          ? ['GET', 'HEAD']
          : key.endsWith(` ${url.pathname}`)
            ? [key.split(' ')[0]]
            : [],
      );
      if (allowed.length === 0) {
        send(response, jsonAnswer(404, { error: `no such path: ${url.pathname}` }));
        return;
      }
      response.setHeader('allow', allowed.join(', '));
      send(response, jsonAnswer(405, { error: `${method} is not served here` }));
      return;
    }
    const declaredBytes = Number(request.headers['content-length'] ?? 0);
    if (declaredBytes > HTTP_BODY_BYTES_MAX) {
      response.setHeader('connection', 'close');
      send(
        response,
        jsonAnswer(413, { error: `bodies are limited to ${HTTP_BODY_BYTES_MAX} bytes` }),
      );
      return;
    }
    readBody(request, readsOnly)
      .then((body) =>
        route(url.searchParams, {
          method,
          body,
          remoteAddress: request.socket.remoteAddress ?? '',
          remotePort: request.socket.remotePort ?? 0,
          principal: caller.principal,
          acceptsGzip: acceptsGzip(request.headers['accept-encoding']),
        }),
      )
      .then(
        (answer) => send(response, answer, request.method === 'HEAD'),
        (error: unknown) => {
          logger.error('HTTP route failed', {
            path: url.pathname,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          });
          send(response, jsonAnswer(500, { error: 'internal error' }));
        },
      );
  };

  try {
    for (const listener of options.listeners) {
      const server =
        listener.name === 'HTTPS'
          ? httpsServerFor(listener, options.tls, serve, logger, (clientAddress, reason) =>
              access.handshakeFailed?.(clientAddress, reason),
            )
          : createServer(serve);
      server.on('upgrade', serveUpgrade);
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listener.port, listener.host === '' ? undefined : listener.host, () => {
          server.off('error', reject);
          resolve();
        });
      }).catch((error: NodeJS.ErrnoException) => {
        throw new HttpStartError(
          `cannot listen on ${listener.name.toLowerCase()}://${listener.host}:${listener.port} (http.listeners): ${error.code ?? error.message}`,
        );
      });
    }
  } catch (error) {
    await closeAll(servers);
    throw error;
  }

  return {
    listeners: servers.map((server, index) => ({
      name: options.listeners[index].name,
      host: options.listeners[index].host,
      port: (server.address() as AddressInfo).port,
    })),
    mount(prefix, handler, upgrade) {
      mounts.set(prefix, handler);
      if (upgrade !== undefined) upgrades.set(prefix, upgrade);
      return () => {
        if (mounts.get(prefix) === handler) mounts.delete(prefix);
        if (upgrades.get(prefix) === upgrade) upgrades.delete(prefix);
      };
    },
    useAccess(chosen) {
      access = chosen;
      if (!chosen.enabled) return;
      options.listeners.forEach((listener, index) => {
        if (listener.name !== 'HTTP') return;
        const port = (servers[index].address() as AddressInfo).port;
        logger.warn(
          'HTTP Basic passwords cross this http.listeners address in clear; serve it as https:// off a trusted network',
          { address: `http://${formatHostPort(listener.host, port)}` },
        );
      });
    },
    stop: () => closeAll(servers),
  };
}

/** The HTTPS listener's server: the TLS context's options now and after every reload. */
function httpsServerFor(
  listener: ListenerAddress,
  tls: TlsContext | null | undefined,
  serve: (request: IncomingMessage, response: ServerResponse) => void,
  logger: ServerLogger,
  onHandshakeFailure: (clientAddress: string, reason: string) => void,
): Server {
  assert(tls !== undefined && tls !== null, 'an https:// address of http.listeners has no TLS');
  const server = createHttpsServer(
    { ...tls.serverOptions, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
    serve,
  );
  // A plaintext client, an untrusted certificate under ssl.client.auth=required: one line each.
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    const clientAddress = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    logger.warn('HTTPS handshake failed', {
      remote: clientAddress,
      error: error.code ?? error.message,
    });
    onHandshakeFailure(clientAddress, error.code ?? error.message);
    socket.destroy();
  });
  serveReloadedCertificates(server, tls, listener.name, logger);
  return server;
}

/** How long a TLS handshake may take before the connection is dropped. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The whole body of a POST (bounded by HTTP_BODY_BYTES_MAX); nothing is read for a GET. */
async function readBody(request: IncomingMessage, readsOnly: boolean): Promise<Buffer> {
  if (readsOnly) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > HTTP_BODY_BYTES_MAX) throw new Error(`body over ${HTTP_BODY_BYTES_MAX} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, answer: HttpAnswer, headOnly = false): void {
  response.statusCode = answer.status;
  response.setHeader('content-type', answer.contentType);
  response.setHeader('cache-control', 'no-store');
  if (answer.contentEncoding !== undefined) {
    response.setHeader('content-encoding', answer.contentEncoding);
    response.setHeader('vary', 'accept-encoding');
  }
  const { body } = answer;
  if (typeof body === 'string') {
    response.end(headOnly ? undefined : body);
    return;
  }
  // Indexed loops: an answer of hundreds of chunks allocates no iterator results.
  let length = 0;
  for (let index = 0; index < body.length; index++) length += body[index].length;
  response.setHeader('content-length', length);
  // Corked, the chunks (hundreds of kept blocks for /metrics) go to the socket in one writev
  // when `end` uncorks, instead of one write and its request object each.
  response.cork();
  if (!headOnly) for (let index = 0; index < body.length; index++) response.write(body[index]);
  response.end();
}

/**
 * Whether an Accept-Encoding header takes gzip: listed by name (or `*`) with a weight other than
 * zero (RFC 9110, section 12.5.3). `x-gzip` is the same coding.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  let starWeight: number | undefined;
  for (const entry of header.split(',')) {
    const [coding, ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (coding === 'gzip' || coding === 'x-gzip') return weight > 0;
    if (coding === '*') starWeight = weight;
  }
  return starWeight !== undefined && starWeight > 0;
}

async function closeAll(servers: readonly Server[]): Promise<void> {
  await Promise.all(
    servers
      .filter((server) => server.listening)
      .map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // The door stops last, once every part behind it has: a connection still open now
            // (a keep-alive socket whose client has not noticed an ended stream) has nothing
            // left to wait for.
            server.closeAllConnections();
          }),
      ),
  );
}
