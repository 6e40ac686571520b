// The broker's HTTP door: one node:http server per address in http.listeners, all serving one
// route table. broker.ts is the one place that wires routes (metrics and health today; the push
// delivery API and the console will add theirs), so this module knows paths and status codes and
// nothing of what answers them.
//
// The simple routes (metrics, health) answer GET with a whole body; an unknown path is 404 and
// another method 405. A route that throws is a bug: the request gets 500 and the error goes to
// the logger, and the server keeps serving. A mount takes every request under a path prefix with
// the raw request and response (the push delivery API: other methods, bodies, streams); it is
// added once the broker part behind it exists, so until then its paths are 404.

import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

import type { ListenerAddress } from '../config/listeners.js';
import type { ServerLogger } from '../server/logger.js';
import { BrookError } from '../util/errors.js';

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Takes an HTTP upgrade (WebSocket) under a mount's prefix; owns the socket from then on. */
export type HttpUpgradeHandler = (
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  url: URL,
) => void;

/** Answers one GET; the URL's search parameters are given parsed. */
export type HttpRoute = (query: URLSearchParams) => HttpAnswer | Promise<HttpAnswer>;

/** Serves every request under a mount's prefix; owns the response from then on. */
export type HttpMountHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
) => void;

export interface HttpDoor {
  /** Bound addresses: the actual port when port 0 was asked for. */
  readonly listeners: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /**
   * Sends every request whose path starts with `prefix` to `handler`, and upgrades to `upgrade`
   * (refused without one); returns the unmount.
   */
  mount(prefix: string, handler: HttpMountHandler, upgrade?: HttpUpgradeHandler): () => void;
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
}): Promise<HttpDoor> {
  const { routes, logger } = options;
  const servers: Server[] = [];
  const mounts = new Map<string, HttpMountHandler>();
  const upgrades = new Map<string, HttpUpgradeHandler>();

  const serveUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://brook');
    for (const [prefix, handler] of upgrades) {
      if (url.pathname.startsWith(prefix)) {
        handler(request, socket, head, url);
        return;
      }
    }
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  };

  const serve = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://brook');
    for (const [prefix, handler] of mounts) {
      if (url.pathname.startsWith(prefix)) {
        handler(request, response, url);
        return;
      }
    }
    const route = routes.get(url.pathname);
    if (route === undefined) {
      send(response, jsonAnswer(404, { error: `no such path: ${url.pathname}` }));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(response, jsonAnswer(405, { error: `${request.method} is not served here` }));
      return;
    }
    Promise.resolve()
      .then(() => route(url.searchParams))
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
      const server = createServer(serve);
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
          `cannot listen on http://${listener.host}:${listener.port} (http.listeners): ${error.code ?? error.message}`,
        );
      });
    }
  } catch (error) {
    await closeAll(servers);
    throw error;
  }

  return {
    listeners: servers.map((server, index) => ({
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
    stop: () => closeAll(servers),
  };
}

function send(response: ServerResponse, answer: HttpAnswer, headOnly = false): void {
  response.statusCode = answer.status;
  response.setHeader('content-type', answer.contentType);
  response.setHeader('cache-control', 'no-store');
  response.end(headOnly ? undefined : answer.body);
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
