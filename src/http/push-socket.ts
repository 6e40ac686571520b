// WebSocket consumers: GET /v1/subscriptions/{name}/ws upgraded (the `ws` library does the
// framing). Records, acknowledgements and credits travel on the one socket, as JSON text frames:
//
//   server → client  {"type":"consumer","consumer":"<id>"}            once, first
//                    {"type":"records","records":[<Record>...]}       deliveries
//                    {"type":"acks","requestId":…,"acknowledged":n,…}  the answer to an ack message
//                    {"type":"error","code":"…","detail":"…","requestId":…}
//   client → server  {"type":"ack","requestId":…,"ack":[…],"release":[…],"nack":[…],"reject":[…]}
//                    {"type":"credits","maxInFlight":n}               the consumer's window
//
// A socket is a consumer like an SSE stream: it holds at most its credits, and is given nothing
// while more than `maxBufferedBytes` wait unsent (a client that stops reading stops receiving,
// and one that lets the buffer pass `maxUnreadBytes` is disconnected). Its held records stay held
// after it closes, until acknowledged by the same consumer id or their lock expires.

import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';

import { type WebSocket, WebSocketServer } from 'ws';

import type { ShareEngine } from '../share/share-engine.js';
import { ShareError, shareErrorCodes } from '../share/share-errors.js';
import { type Delivery, deliveriesJson } from '../share/delivery.js';
import { validateSchema } from './json-schema.js';
import { type AckBody, settleAcks } from './push-acks.js';
import { pushSchemas } from './push-schemas.js';
import type { HttpCaller } from './http-access.js';

const maxBufferedBytes = 1024 * 1024;
const maxUnreadBytes = 64 * 1024 * 1024;
const maxMessageBytes = 4 * 1024 * 1024;
const pingIntervalMs = 30_000;

export interface PushSockets {
  upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    caller?: HttpCaller,
  ): void;
  /** Closes the sockets of a subscription no longer served here (1012: connect again). */
  closeSubscription(name: string): void;
  close(): void;
}

export function createPushSockets(options: {
  readonly engine: ShareEngine;
  readonly log: (message: string, error: unknown) => void;
  /** Throws ShareError('forbidden') when the caller may not consume the subscription. */
  readonly checkConsumer?: (caller: HttpCaller, subscription: string, topic: string) => void;
  /** Where a refused upgrade is redirected ('subscription-moved'); undefined: nowhere. */
  readonly locationOf?: (
    error: ShareError,
    url: URL,
    request: IncomingMessage,
  ) => string | undefined;
}): PushSockets {
  const server = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });

  /** Open sockets, with the subscription each reads. */
  const open = new Map<WebSocket, string>();
  const refuse = (
    socket: Duplex,
    error: ShareError,
    redirect?: { url: URL; request: IncomingMessage },
  ): void => {
    const location =
      redirect === undefined
        ? undefined
        : options.locationOf?.(error, redirect.url, redirect.request);
    if (error.problem === 'subscription-moved' && location === undefined)
      error = new ShareError('subscription-unavailable', error.message);
    const { status, title } = shareErrorCodes[error.problem];
    const body = JSON.stringify({
      type: `https://brook.dev/problems/${error.problem}`,
      title,
      status,
      code: error.problem,
      detail: error.message,
    });
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\n` +
        (location === undefined ? '' : `location: ${location}\r\n`) +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };

  const upgrade = (
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    caller?: HttpCaller,
  ): void => {
    const match = /^\/v1\/subscriptions\/([^/]+)\/ws$/.exec(url.pathname);
    if (match === null) {
      refuse(socket, new ShareError('not-found', `no WebSocket at ${url.pathname}`));
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(match[1]);
      const subscription = options.engine.subscription(name);
      if (caller !== undefined)
        options.checkConsumer?.(caller, name, subscription.definition.topic);
    } catch (error) {
      refuse(
        socket,
        error instanceof ShareError ? error : new ShareError('not-found', String(error)),
        { url, request },
      );
      return;
    }
    server.handleUpgrade(request, socket, head, (webSocket) => serve(webSocket, name, url));
  };

  const serve = (webSocket: WebSocket, name: string, url: URL): void => {
    /** Sends a message already encoded as JSON text. */
    const sendText = (text: string): void => {
      if (webSocket.readyState !== webSocket.OPEN) return;
      if (webSocket.bufferedAmount > maxUnreadBytes) {
        webSocket.terminate();
        return;
      }
      webSocket.send(text, () => subscription.resume());
    };
    const send = (message: object): void => sendText(JSON.stringify(message));
    const subscription = options.engine.subscription(name);
    const consumerId = url.searchParams.get('consumer') ?? randomUUID();
    const requested = Number(url.searchParams.get('maxInFlight'));
    let credits =
      Number.isInteger(requested) && requested > 0
        ? requested
        : subscription.definition.maxInFlight;
    const sink = {
      get maxInFlight() {
        return credits;
      },
      get writable() {
        return (
          webSocket.readyState === webSocket.OPEN && webSocket.bufferedAmount < maxBufferedBytes
        );
      },
      deliver(records: readonly Delivery[]) {
        sendText(`{"type":"records","records":${deliveriesJson(records)}}`);
      },
    };
    send({ type: 'consumer', consumer: consumerId });
    const detach = subscription.attach(consumerId, sink);
    open.set(webSocket, name);
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) {
        webSocket.terminate();
        return;
      }
      alive = false;
      webSocket.ping();
    }, pingIntervalMs);
    ping.unref();
    webSocket.on('pong', () => {
      alive = true;
    });
    webSocket.on('close', () => {
      open.delete(webSocket);
      clearInterval(ping);
      detach();
    });
    webSocket.on('error', () => webSocket.terminate());
    webSocket.on('message', (data, isBinary) => {
      let message: { type?: unknown; requestId?: unknown; maxInFlight?: unknown } & AckBody;
      try {
        if (isBinary) throw new ShareError('invalid-json', 'messages are JSON text frames');
        const text = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
        try {
          message = JSON.parse(text) as typeof message;
        } catch (error) {
          throw new ShareError('invalid-json', `not JSON: ${(error as Error).message}`);
        }
      } catch (error) {
        const shareError = error as ShareError;
        send({ type: 'error', code: shareError.problem, detail: shareError.message });
        return;
      }
      const requestId = message.requestId ?? null;
      const fail = (error: unknown): void => {
        const shareError =
          error instanceof ShareError ? error : new ShareError('internal-error', 'internal error');
        if (!(error instanceof ShareError)) options.log('WebSocket message failed', error);
        send({ type: 'error', requestId, code: shareError.problem, detail: shareError.message });
      };
      if (message.type === 'credits') {
        const value = message.maxInFlight;
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100000) {
          fail(
            new ShareError('invalid-request', 'credits: maxInFlight is a whole number 0..100000'),
          );
          return;
        }
        credits = value;
        subscription.resume();
        return;
      }
      if (message.type !== 'ack') {
        fail(new ShareError('invalid-request', 'a message type is "ack" or "credits"'));
        return;
      }
      const { type: _type, requestId: _requestId, ...body } = message;
      const violations = validateSchema(pushSchemas.AckRequest, body, pushSchemas);
      if (violations.length > 0) {
        fail(
          new ShareError(
            'invalid-request',
            violations.map((violation) => `${violation.pointer} ${violation.message}`).join('; '),
          ),
        );
        return;
      }
      settleAcks(subscription, { consumer: consumerId, ...body }).then(
        (answer) => send({ type: 'acks', requestId, ...answer }),
        fail,
      );
    });
  };

  return {
    upgrade,
    closeSubscription(name) {
      for (const [webSocket, subscription] of open)
        if (subscription === name) webSocket.close(1012, 'the subscription moved');
    },
    close() {
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
}
