// The push delivery API under /v1 on the broker's HTTP door: produce over HTTP, shared
// subscriptions, Server-Sent Events, acknowledgements and the OpenAPI document that describes
// them. One route table below is both what is served and what /v1/openapi.json lists.
//
// Every error is a problem document (application/problem+json) whose `code` comes from the one
// table in src/share/share-errors.ts. Bodies are validated against src/http/push-schemas.ts
// before anything is done, so a bad request changes nothing.
//
// With authorizer.enabled each route is checked against the ACLs, as the Kafka API it mirrors:
// producing needs Topic Write; a subscription is a share group named after it, so reading one
// (SSE, WebSocket, acks) needs Group Read and Topic Read on its topic, creating or changing it
// the same, describing it Group Describe, deleting it Group Delete. A refusal is 403 `forbidden`.
//
// Streams: each SSE response is a consumer of its subscription. It is given records only while
// its socket takes them (a backed-up socket stops deliveries until 'drain'), and never more than
// its credits. close() ends every stream, so the door can stop.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';

import {
  type RecordToWrite,
  type RecordWriterPorts,
  writeRecords,
} from '../share/record-writer.js';
import type { ShareEngine } from '../share/share-engine.js';
import { ShareError, type ShareErrorCode, shareErrorCodes } from '../share/share-errors.js';
import { type Delivery, sseEvents } from '../share/delivery.js';
import { type AckAnswer, type AckBody, settleAcks } from './push-acks.js';
import { createPushSockets } from './push-socket.js';
import type { SubscriptionRequest } from '../share/subscription-definition.js';
import { type JsonSchema, validateSchema } from './json-schema.js';
import { type PushSchemaName, pushSchemas } from './push-schemas.js';
import { AclOperation, ResourceType } from '../security/acl.js';
import { type HttpAccess, type HttpCaller, openHttpAccess } from './http-access.js';
import {
  type ClusterSubscriptionSource,
  SERVED_HERE_PARAMETER,
  listClusterSubscriptions,
  loadingHere,
} from './cluster-subscription-list.js';

export interface PushApi {
  handle(request: IncomingMessage, response: ServerResponse, url: URL, caller?: HttpCaller): void;
  /** A WebSocket upgrade (/v1/subscriptions/{name}/ws). */
  upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    caller?: HttpCaller,
  ): void;
  /** Ends every open stream; the door may then stop. */
  close(): void;
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface RouteContext {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** The body, parsed and validated against the route's request schema. */
  readonly body: unknown;
  /** The raw body, for routes that take bytes. */
  readonly rawBody: Buffer;
  readonly caller: HttpCaller;
}

/** One ACL check a route needs to pass: the operation on a resource. */
interface Permission {
  readonly operation: AclOperation;
  readonly resourceType: ResourceType;
  readonly name: string;
}

interface RouteAnswer {
  readonly status: number;
  readonly body: unknown;
}

interface Route {
  readonly method: Method;
  /** OpenAPI path template: /v1/subscriptions/{name}. */
  readonly path: string;
  readonly summary: string;
  readonly requestSchema?: PushSchemaName;
  /** Other accepted body types than JSON (raw bytes). */
  readonly rawContentTypes?: readonly string[];
  readonly responses: Readonly<
    Record<number, { description: string; schema?: PushSchemaName; contentType?: string }>
  >;
  readonly parameters?: ReadonlyArray<{
    name: string;
    in: 'query' | 'header';
    description: string;
  }>;
  /** What the caller must be allowed, once the body is read (none when absent). */
  readonly permissions?: (context: RouteContext) => readonly Permission[];
  /** Answers with a JSON body, or null when it took the response itself (streams). */
  readonly serve: (context: RouteContext) => Promise<RouteAnswer | null> | RouteAnswer | null;
}

const maxBodyBytes = 16 * 1024 * 1024;
const sseHeartbeatMs = 15_000;
const problemBase = 'https://brook.dev/problems/';

export function createPushApi(options: {
  readonly engine: ShareEngine;
  /** Where produced records go: this broker's partitions, or (cluster mode) their leaders. */
  readonly writer: RecordWriterPorts;
  readonly log: (message: string, error: unknown) => void;
  /** Who callers are and what the ACLs allow them; everyone everything without it. */
  readonly access?: HttpAccess;
  /**
   * Cluster mode: the base URL (scheme://host:port) of a broker's HTTP listener of the scheme
   * the request came in on, where a request for a subscription it serves is redirected.
   */
  readonly httpListenerOf?: (brokerId: number, secure: boolean) => string | undefined;
  /** Cluster mode: where GET /v1/subscriptions finds the other brokers' subscriptions. */
  readonly clusterSubscriptions?: ClusterSubscriptionSource;
}): PushApi {
  const { engine, writer } = options;
  const access = options.access ?? openHttpAccess;
  /** Open event streams, with the subscription each reads. */
  const streams = new Map<ServerResponse, string>();
  /** A 307 to the broker serving the subscription; undefined when its address is not known. */
  const locationOf = (
    error: ShareError,
    url: URL,
    request: IncomingMessage,
  ): string | undefined => {
    if (error.problem !== 'subscription-moved' || error.ownerBrokerId === undefined)
      return undefined;
    // The door's URLs all say http: whether it came over TLS is the socket's to tell.
    const secure = (request.socket as { encrypted?: boolean }).encrypted === true;
    const base = options.httpListenerOf?.(error.ownerBrokerId, secure);
    return base === undefined ? undefined : `${base}${url.pathname}${url.search}`;
  };
  /** A moved subscription whose owner has no known HTTP address is answered as unavailable. */
  const answerable = (error: ShareError, url: URL, request: IncomingMessage): ShareError =>
    error.problem === 'subscription-moved' && locationOf(error, url, request) === undefined
      ? new ShareError(
          'subscription-unavailable',
          `${error.message}, whose HTTP listener is not known here`,
        )
      : error;
  const check = (caller: HttpCaller, permissions: readonly Permission[]): void => {
    for (const { operation, resourceType, name } of permissions) {
      if (!access.authorize(caller, operation, resourceType, name)) {
        throw new ShareError(
          'forbidden',
          `${caller.principal} may not ${operationWord(operation)} ${resourceType === ResourceType.TOPIC ? 'topic' : 'subscription'} ${name}`,
        );
      }
    }
  };
  /** A subscription's consumers: Group Read on it and Topic Read on its topic (share groups). */
  const consuming = (subscription: string, topic: string): Permission[] => [
    { operation: AclOperation.READ, resourceType: ResourceType.GROUP, name: subscription },
    { operation: AclOperation.READ, resourceType: ResourceType.TOPIC, name: topic },
  ];
  const topicOf = (subscription: string): string =>
    engine.subscription(subscription).definition.topic;
  const sockets = createPushSockets({
    engine,
    log: options.log,
    locationOf,
    checkConsumer: (caller, subscription, topic) => check(caller, consuming(subscription, topic)),
  });

  const routes: Route[] = [
    {
      method: 'POST',
      path: '/v1/topics/{topic}/records',
      summary:
        'Appends records; answers their offsets once durable (acks=all unless ?acks=leader). A body of application/octet-stream is one record whose value is the bytes (?key=, ?partition=).',
      requestSchema: 'ProduceRequest',
      rawContentTypes: ['application/octet-stream'],
      parameters: [
        { name: 'acks', in: 'query', description: 'all (default) or leader' },
        { name: 'key', in: 'query', description: 'the key of a raw-bytes record' },
        { name: 'partition', in: 'query', description: 'the partition of a raw-bytes record' },
      ],
      responses: {
        200: { description: 'the records are durable', schema: 'ProduceResponse' },
      },
      permissions: ({ params }) => [
        { operation: AclOperation.WRITE, resourceType: ResourceType.TOPIC, name: params.topic },
      ],
      serve: async ({ params, body, rawBody, request, url }) => {
        const acks = url.searchParams.get('acks') === 'leader' ? 'leader' : 'all';
        const records = isRawBody(request)
          ? [rawRecord(rawBody, url)]
          : produceRecords(body as ProduceBody);
        const offsets = await writeRecords(writer, params.topic, records, acks);
        return { status: 200, body: { offsets } };
      },
    },
    {
      method: 'GET',
      path: '/v1/subscriptions',
      summary:
        "Lists the subscriptions; in cluster mode every broker's, each with the broker serving it (?served=here: only this broker's).",
      parameters: [
        {
          name: SERVED_HERE_PARAMETER,
          in: 'query',
          description: 'here: only the subscriptions this broker serves (cluster mode)',
        },
      ],
      responses: { 200: { description: 'the names', schema: 'SubscriptionList' } },
      serve: async ({ caller, url, request }) => {
        const describable = (name: string): boolean =>
          access.authorize(caller, AclOperation.DESCRIBE, ResourceType.GROUP, name, true);
        const servedHere = engine.list();
        const cluster = options.clusterSubscriptions;
        if (cluster === undefined)
          return { status: 200, body: { subscriptions: servedHere.filter(describable) } };
        if (url.searchParams.get(SERVED_HERE_PARAMETER) === 'here') {
          const subscriptions = servedHere.filter(describable);
          return {
            status: 200,
            body: {
              subscriptions,
              servedBy: Object.fromEntries(subscriptions.map((name) => [name, cluster.brokerId])),
              unavailable: loadingHere(cluster),
            },
          };
        }
        const listed = await listClusterSubscriptions(cluster, servedHere, {
          authorization: request.headers.authorization,
          secure: (request.socket as { encrypted?: boolean }).encrypted === true,
        });
        const subscriptions = listed.subscriptions.filter(describable);
        return {
          status: 200,
          body: {
            subscriptions,
            servedBy: Object.fromEntries(
              subscriptions.map((name) => [name, listed.servedBy[name]]),
            ),
            unreachable: listed.unreachable,
            unavailable: listed.unavailable,
          },
        };
      },
    },
    {
      method: 'PUT',
      path: '/v1/subscriptions/{name}',
      summary:
        'Creates a subscription (201) or changes the limits of an existing one on the same topic (200).',
      requestSchema: 'SubscriptionRequest',
      responses: {
        200: { description: 'changed', schema: 'Subscription' },
        201: { description: 'created', schema: 'Subscription' },
      },
      permissions: ({ params, body }) =>
        consuming(params.name, (body as SubscriptionRequest).topic),
      serve: async ({ params, body }) => {
        checkName(params.name);
        const { created } = await engine.put(params.name, body as SubscriptionRequest);
        return { status: created ? 201 : 200, body: describe(params.name) };
      },
    },
    {
      method: 'GET',
      path: '/v1/subscriptions/{name}',
      summary: 'The subscription and its stats (available, in flight, acknowledged, DLQ, lag).',
      responses: { 200: { description: 'the subscription', schema: 'Subscription' } },
      permissions: ({ params }) => [
        { operation: AclOperation.DESCRIBE, resourceType: ResourceType.GROUP, name: params.name },
      ],
      serve: ({ params }) => ({ status: 200, body: describe(params.name) }),
    },
    {
      method: 'DELETE',
      path: '/v1/subscriptions/{name}',
      summary: 'Deletes the subscription and its state; open streams end.',
      responses: { 204: { description: 'deleted' } },
      permissions: ({ params }) => [
        { operation: AclOperation.DELETE, resourceType: ResourceType.GROUP, name: params.name },
      ],
      serve: async ({ params }) => {
        await engine.delete(params.name);
        return { status: 204, body: null };
      },
    },
    {
      method: 'GET',
      path: '/v1/subscriptions/{name}/events',
      summary:
        'Server-Sent Events: one `record` event per delivered record, id <partition>:<offset>. Reconnecting with Last-Event-ID and the same ?consumer= resends what was sent after that id and is still held.',
      parameters: [
        { name: 'consumer', in: 'query', description: 'a stable consumer id (default: random)' },
        {
          name: 'maxInFlight',
          in: 'query',
          description: 'credits: unacknowledged records held at most',
        },
        { name: 'Last-Event-ID', in: 'header', description: 'resume after this event' },
      ],
      responses: {
        200: {
          description: 'the event stream',
          contentType: 'text/event-stream',
          schema: 'Record',
        },
      },
      permissions: ({ params }) => consuming(params.name, topicOf(params.name)),
      serve: (context) => {
        openEventStream(context);
        return null;
      },
    },
    {
      method: 'GET',
      path: '/v1/subscriptions/{name}/ws',
      summary:
        'WebSocket (upgrade): server sends {"type":"consumer"}, {"type":"records","records":[Record...]}, {"type":"acks",...AckResponse}, {"type":"error",code,detail}; client sends {"type":"ack",requestId,...AckRequest} and {"type":"credits","maxInFlight":n}.',
      parameters: [
        { name: 'consumer', in: 'query', description: 'a stable consumer id (default: random)' },
        { name: 'maxInFlight', in: 'query', description: 'initial credits' },
      ],
      responses: { 101: { description: 'switched to the WebSocket protocol' } },
      serve: () => {
        throw new ShareError(
          'upgrade-required',
          'connect with a WebSocket client (Upgrade: websocket)',
        );
      },
    },
    {
      method: 'POST',
      path: '/v1/subscriptions/{name}/acks',
      summary:
        'Settles held records: ack, release, nack (release with a delay) and reject (to the dead-letter topic). Ids are <partition>:<offset> or <partition>:<first>-<last>. Answers once the new states are durable.',
      requestSchema: 'AckRequest',
      responses: { 200: { description: 'what was settled', schema: 'AckResponse' } },
      permissions: ({ params }) => consuming(params.name, topicOf(params.name)),
      serve: async ({ params, body }) => ({
        status: 200,
        body: await settle(params.name, body as AckBody),
      }),
    },
    {
      method: 'GET',
      path: '/v1/openapi.json',
      summary: 'This document.',
      responses: { 200: { description: 'the OpenAPI 3.0 document' } },
      serve: () => ({ status: 200, body: openApiDocument(routes) }),
    },
  ];

  const describe = (name: string): unknown => {
    const description = engine.describe(name);
    const webhook =
      description.webhook === null ? null : { ...description.webhook, secret: undefined };
    return { ...description, webhook };
  };

  const settle = (name: string, body: AckBody): Promise<AckAnswer> =>
    settleAcks(engine.subscription(name), body);

  const openEventStream = ({ request, response, url, params }: RouteContext): void => {
    const subscription = engine.subscription(params.name);
    const consumerId = url.searchParams.get('consumer') ?? randomUUID();
    const requestedCredits = Number(url.searchParams.get('maxInFlight') ?? Infinity);
    const maxInFlight =
      Number.isInteger(requestedCredits) && requestedCredits > 0
        ? requestedCredits
        : subscription.definition.maxInFlight;
    const lastEventId = headerValue(request, 'last-event-id');
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write(
      `retry: 1000\nevent: consumer\ndata: ${JSON.stringify({ consumer: consumerId })}\n\n`,
    );
    streams.set(response, params.name);
    const sink = {
      maxInFlight,
      get writable() {
        return !response.writableNeedDrain && !response.destroyed;
      },
      deliver(records: readonly Delivery[]) {
        response.write(sseEvents(records));
      },
    };
    const detach = subscription.attach(consumerId, sink, lastEventId);
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), sseHeartbeatMs);
    heartbeat.unref();
    response.on('drain', () => subscription.resume());
    response.on('close', () => {
      clearInterval(heartbeat);
      streams.delete(response);
      detach();
    });
  };

  const match = (
    method: string,
    pathname: string,
  ): { route: Route; params: Record<string, string> } | 'method' | null => {
    let pathMatched = false;
    for (const route of routes) {
      const params = matchPath(route.path, pathname);
      if (params === null) continue;
      pathMatched = true;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET'))
        return { route, params };
    }
    return pathMatched ? 'method' : null;
  };

  const handle = (
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    caller: HttpCaller = { principal: 'User:ANONYMOUS', remoteAddress: '' },
  ): void => {
    const matched = match(request.method ?? 'GET', url.pathname);
    if (matched === null) {
      sendProblem(response, new ShareError('not-found', `no such path: ${url.pathname}`));
      return;
    }
    if (matched === 'method') {
      const allowed = routes
        .filter((route) => matchPath(route.path, url.pathname) !== null)
        .map((route) => route.method);
      response.setHeader('allow', allowed.join(', '));
      sendProblem(
        response,
        new ShareError('method-not-allowed', `${request.method} is not served on ${url.pathname}`),
      );
      return;
    }
    const { route, params } = matched;
    readBody(request, route)
      .then(async ({ body, rawBody }) => {
        const context = { request, response, url, params, body, rawBody, caller };
        // Cluster mode: a subscription is served by one broker; the others redirect to it.
        if (params.name !== undefined) engine.checkServedHere(params.name);
        if (access.enabled) check(caller, route.permissions?.(context) ?? []);
        const answer = await route.serve(context);
        if (answer === null) return;
        if (answer.status === 204) {
          response.writeHead(204, { 'cache-control': 'no-store' }).end();
          return;
        }
        sendJson(response, answer.status, answer.body);
      })
      .catch((error: unknown) => {
        if (!(error instanceof ShareError))
          options.log(`HTTP ${route.method} ${route.path} failed`, error);
        if (response.headersSent) {
          response.destroy();
          return;
        }
        if (!(error instanceof ShareError)) {
          sendProblem(response, new ShareError('internal-error', 'internal error'));
          return;
        }
        const answer = answerable(error, url, request);
        const location = locationOf(answer, url, request);
        if (location !== undefined) response.setHeader('location', location);
        if (answer.problem === 'subscription-unavailable') response.setHeader('retry-after', '1');
        sendProblem(response, answer);
      });
  };

  // A subscription closed here (deleted, or in cluster mode moved to another broker): its
  // streams end, and an EventSource reconnecting is redirected to its new broker.
  engine.onSubscriptionClosed((name) => {
    for (const [stream, subscription] of streams) {
      if (subscription !== name) continue;
      streams.delete(stream);
      stream.end();
    }
    sockets.closeSubscription(name);
  });

  return {
    handle,
    upgrade: sockets.upgrade,
    close() {
      sockets.close();
      // Ended and their sockets closed: a keep-alive socket of an ended stream would hold the
      // door's stop until the client noticed.
      for (const stream of streams.keys()) {
        stream.end();
        stream.socket?.destroySoon();
      }
      streams.clear();
    },
  };
}

/** An operation as the sentence of a 403 says it. */
function operationWord(operation: AclOperation): string {
  switch (operation) {
    case AclOperation.WRITE:
      return 'write to';
    case AclOperation.READ:
      return 'read';
    case AclOperation.DELETE:
      return 'delete';
    default:
      return 'describe';
  }
}

// ───────────────────────────── bodies ─────────────────────────────

interface ProduceBody {
  readonly records: ReadonlyArray<{
    readonly key?: string | null;
    readonly value?: string | null;
    readonly headers?: Readonly<Record<string, string | null>>;
    readonly partition?: number;
    readonly timestamp?: number;
  }>;
  readonly valueEncoding?: 'utf8' | 'base64';
}

function isRawBody(request: IncomingMessage): boolean {
  return (
    (request.headers['content-type'] ?? '').split(';')[0].trim() === 'application/octet-stream'
  );
}

async function readBody(
  request: IncomingMessage,
  route: Route,
): Promise<{ body: unknown; rawBody: Buffer }> {
  if (route.method === 'GET' || route.method === 'DELETE')
    return { body: null, rawBody: Buffer.alloc(0) };
  const chunks: Buffer[] = [];
  let sizeBytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    sizeBytes += chunk.length;
    if (sizeBytes > maxBodyBytes) {
      throw new ShareError('payload-too-large', `the body is larger than ${maxBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const rawBody = Buffer.concat(chunks);
  const contentType = (request.headers['content-type'] ?? 'application/json').split(';')[0].trim();
  if (route.rawContentTypes?.includes(contentType)) return { body: null, rawBody };
  if (contentType !== 'application/json' && !contentType.endsWith('+json')) {
    throw new ShareError(
      'unsupported-media-type',
      `${contentType} is not served here; send application/json${route.rawContentTypes ? ` or ${route.rawContentTypes.join(', ')}` : ''}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch (error) {
    throw new ShareError('invalid-json', `the body is not JSON: ${(error as Error).message}`);
  }
  if (route.requestSchema !== undefined) {
    const violations = validateSchema(pushSchemas[route.requestSchema], body, pushSchemas);
    if (violations.length > 0) {
      throw new ShareError(
        'invalid-request',
        violations
          .map((violation) => `${violation.pointer || 'body'} ${violation.message}`)
          .join('; '),
        violations,
      );
    }
  }
  return { body, rawBody };
}

function decodeText(
  text: string | null | undefined,
  encoding: 'utf8' | 'base64',
  where: string,
): Buffer | null {
  if (text === null || text === undefined) return null;
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0)
    throw new ShareError('invalid-encoding', `${where} is not base64`);
  return Buffer.from(text, 'base64');
}

function produceRecords(body: ProduceBody): RecordToWrite[] {
  const encoding = body.valueEncoding ?? 'utf8';
  return body.records.map((record, index) => ({
    key: decodeText(record.key, encoding, `records/${index}/key`),
    value: decodeText(record.value, encoding, `records/${index}/value`),
    headers: Object.entries(record.headers ?? {}).map(([key, value]) => ({
      key,
      value: decodeText(value, encoding, `records/${index}/headers/${key}`),
    })),
    partition: record.partition,
    timestamp: record.timestamp,
  }));
}

function rawRecord(rawBody: Buffer, url: URL): RecordToWrite {
  const key = url.searchParams.get('key');
  const partitionText = url.searchParams.get('partition');
  const partition = partitionText === null ? undefined : Number(partitionText);
  if (partition !== undefined && !(Number.isInteger(partition) && partition >= 0))
    throw new ShareError(
      'invalid-request',
      `?partition=${partitionText} is not a partition number`,
    );
  return {
    key: key === null ? null : Buffer.from(key, 'utf8'),
    value: rawBody,
    headers: [],
    partition,
  };
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(name))
    throw new ShareError('invalid-request', 'a subscription name is 1 to 249 of A-Z a-z 0-9 . _ -');
}

function headerValue(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

// ───────────────────────────── answers ─────────────────────────────

function matchPath(template: string, pathname: string): Record<string, string> | null {
  const templateParts = template.split('/');
  const parts = pathname.split('/');
  if (templateParts.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let index = 0; index < parts.length; index += 1) {
    const expected = templateParts[index];
    if (expected.startsWith('{') && expected.endsWith('}')) {
      if (parts[index] === '') return null;
      try {
        params[expected.slice(1, -1)] = decodeURIComponent(parts[index]);
      } catch {
        return null;
      }
    } else if (expected !== parts[index]) {
      return null;
    }
  }
  return params;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(`${JSON.stringify(body)}\n`);
}

function sendProblem(response: ServerResponse, error: ShareError): void {
  const { status, title } = shareErrorCodes[error.problem];
  sendJson(
    response,
    status,
    {
      type: `${problemBase}${error.problem}`,
      title,
      status,
      code: error.problem,
      detail: error.message,
      ...(error.errors.length > 0 ? { errors: error.errors } : {}),
    },
    'application/problem+json',
  );
}

// ───────────────────────────── OpenAPI ─────────────────────────────

function openApiDocument(routes: readonly Route[]): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const parameters = [
      ...pathParameters,
      ...(route.parameters ?? []).map((parameter) => ({
        ...parameter,
        required: false,
        schema: { type: 'string' },
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(route.responses)) {
      responses[status] = {
        description: answer.description,
        ...(answer.schema === undefined
          ? {}
          : {
              content: {
                [answer.contentType ?? 'application/json']: {
                  schema: { $ref: `#/components/schemas/${answer.schema}` },
                },
              },
            }),
      };
    }
    responses.default = {
      description: 'an error',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
    const requestContent: Record<string, unknown> = {};
    if (route.requestSchema !== undefined)
      requestContent['application/json'] = {
        schema: { $ref: `#/components/schemas/${route.requestSchema}` },
      };
    for (const contentType of route.rawContentTypes ?? [])
      requestContent[contentType] = { schema: { type: 'string', format: 'binary' } };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(\w)?/g, (_, letter?: string) => (letter ?? '').toUpperCase())}`,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(Object.keys(requestContent).length > 0
        ? { requestBody: { required: true, content: requestContent } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Brook push delivery API',
      version: '1',
      description:
        'Shared subscriptions over Kafka topics: produce, subscribe, receive over Server-Sent Events or webhooks, acknowledge. Errors are problem documents whose code is one of: ' +
        Object.entries(shareErrorCodes)
          .map(([code, { status, title }]) => `${code} (${status}: ${title})`)
          .join('; '),
    },
    paths,
    components: { schemas: pushSchemas as Readonly<Record<string, JsonSchema>> },
  };
}

export type { ShareErrorCode };
