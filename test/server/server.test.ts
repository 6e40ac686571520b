import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApiVersionsHandler } from '../../src/handlers/api-versions.js';
import {
  CLOSE_CONNECTION,
  type Handler,
  HandlerRegistry,
  NO_RESPONSE,
  type RequestContext,
} from '../../src/handlers/registry.js';
import { type ApiMessage, apiMessageWithCodecs } from '../../src/protocol/api-message.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from '../../src/protocol/generated/api-versions.js';
import { apiMessages } from '../../src/protocol/generated/index.js';
import { Reader } from '../../src/protocol/reader.js';
import type { Writer } from '../../src/protocol/writer.js';
import {
  type BrookServer,
  type ServerLimits,
  type ServerLogger,
  startServer,
} from '../../src/server/index.js';
import { reusePortAvailable } from '../../src/server/network-thread.js';
import {
  type WireClient,
  connectWireClient,
  correlationIdOf,
  requestFrame,
} from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';

// A test-only API (key 1000, no Kafka meaning): the request carries a number, the response echoes
// it. What the handler does with each number is up to the test, through `behaviours`.
const echoKey = 1000;
interface EchoRequest {
  value: number;
}
const echoApi = apiMessageWithCodecs(
  {
    apiKey: echoKey,
    name: 'Echo',
    validVersions: { min: 0, max: 1 },
    codecVersionMax: 1,
    latestVersionUnstable: false,
    flexibleVersionsMin: null,
  },
  {
    request: {
      decode: (reader: Reader) => ({ value: reader.readInt32() }),
      encode: (writer: Writer, _version: number, value: never) =>
        writer.writeInt32((value as EchoRequest).value),
    },
    response: {
      decode: (reader: Reader) => ({ value: reader.readInt32() }),
      encode: (writer: Writer, _version: number, value: never) =>
        writer.writeInt32((value as EchoRequest).value),
    },
  },
);

type Behaviour = (request: EchoRequest, context: RequestContext) => unknown;
const behaviours = new Map<number, Behaviour>();
const handled: number[] = [];
const contexts: RequestContext[] = [];

const echoHandler: Handler<EchoRequest, EchoRequest> = {
  apiKey: echoKey,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    contexts.push(context);
    const behaviour = behaviours.get(request.value);
    const result = behaviour === undefined ? request : behaviour(request, context);
    if (result instanceof Promise) {
      return result.then((value) => {
        handled.push(request.value);
        return value as EchoRequest;
      });
    }
    handled.push(request.value);
    return result as EchoRequest;
  },
};

// A second test API whose handler has an errorResponse: the response carries the error code in
// place of the value. Versions 0-1 are advertised, v0 is refused (like Produce v0-2 in Kafka 4).
const reportingKey = 1001;
const reportingApi: ApiMessage = { ...echoApi, apiKey: reportingKey, name: 'Reporting' };
const reportingHandler: Handler<EchoRequest, EchoRequest> = {
  apiKey: reportingKey,
  minVersion: 0,
  maxVersion: 1,
  refusedBelow: 1,
  handle(request) {
    if (request.value < 0) throw new Error('negative value');
    return request;
  },
  errorResponse(request, errorCode) {
    // A value of 13 makes the error path itself fail, as a buggy handler's could.
    if (request.value === 13) throw new Error('errorResponse bug');
    return { value: errorCode };
  },
};

const logged: string[] = [];
const logger: ServerLogger = {
  info: () => {},
  warn: (message) => logged.push(message),
  error: (message) => logged.push(message),
};

const testApis = new Map<number, ApiMessage>([
  ...apiMessages,
  [echoKey, echoApi],
  [reportingKey, reportingApi],
]);
let server: BrookServer;
let port: number;
const clients: WireClient[] = [];
/** server-network-thread.test.ts runs every test here again with the network thread (2). */
const ioThreads = Number(process.env.BROOK_TEST_SERVER_IO_THREADS ?? 1);

async function client(onPort = port): Promise<WireClient> {
  const connected = await connectWireClient(onPort);
  clients.push(connected);
  return connected;
}

async function serverWith(limits: Partial<ServerLimits>): Promise<BrookServer> {
  const registry = new HandlerRegistry();
  registry
    .register(createApiVersionsHandler(registry))
    .register(echoHandler)
    .register(reportingHandler);
  return startServer({
    listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0 }],
    registry,
    limits,
    logger,
    apiMessages: testApis,
    ioThreads,
  });
}

function echoFrame(correlationId: number, value: number, apiVersion = 0): Buffer {
  return requestFrame({ apiKey: echoKey, apiVersion, correlationId }, (writer) =>
    writer.writeInt32(value),
  );
}

function apiVersionsFrame(correlationId: number, apiVersion: number): Buffer {
  return requestFrame({ apiKey: 18, apiVersion, correlationId }, (writer) => {
    if (apiVersion <= 4) {
      encodeApiVersionsRequest(writer, apiVersion, {
        clientSoftwareName: 'brook-test',
        clientSoftwareVersion: '1.0.0',
      });
    }
  });
}

function echoValueOf(frame: Buffer): number {
  const reader = new Reader(frame);
  reader.readInt32();
  return reader.readInt32();
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/**
 * A request answered on another connection of the same server: once it is back, the server has
 * processed everything that arrived before it, so a test can assert what did not happen.
 */
async function roundTrip(target: BrookServer): Promise<void> {
  const probe = await client(target.listeners[0].port);
  await probe.send(apiVersionsFrame(1, 0));
  await probe.nextFrame();
  probe.close();
}

before(async () => {
  server = await serverWith({ requestBytesMax: 4096, connectionsMaxIdleMs: 30_000 });
  port = server.listeners[0].port;
});

after(async () => {
  for (const connected of clients) connected.close();
  await server.stop();
});

test('the server listens on the port the operating system picked for port 0', () => {
  assert.equal(server.listeners.length, 1);
  assert.equal(server.listeners[0].name, 'PLAINTEXT');
  assert.ok(server.listeners[0].port > 0);
});

test('a request sent one byte at a time is answered', async () => {
  const connected = await client();
  const frame = apiVersionsFrame(7, 3);
  for (const byte of frame) {
    await connected.send(Buffer.from([byte]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const response = await connected.nextFrame();
  assert.equal(correlationIdOf(response), 7);
  const reader = new Reader(response, 4);
  const body = decodeApiVersionsResponse(reader, 3);
  assert.equal(body.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    body.apiKeys.map((api) => api.apiKey),
    [18, echoKey, reportingKey],
  );
});

test('pipelined requests are answered in request order even when a later one finishes first', async () => {
  const connected = await client();
  const gate = deferred();
  behaviours.set(101, async (request) => {
    await gate.promise;
    return request;
  });
  await connected.send(
    Buffer.concat([echoFrame(1, 101), echoFrame(2, 102), apiVersionsFrame(3, 0)]),
  );
  await waitFor(() => handled.includes(102), 'the second request to be handled', {
    timeoutMs: 5000,
  });
  // The second and third responses exist but must wait for the first.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(connected.frames.length, 0);
  gate.resolve();
  const responses = [
    await connected.nextFrame(),
    await connected.nextFrame(),
    await connected.nextFrame(),
  ];
  assert.deepEqual(responses.map(correlationIdOf), [1, 2, 3]);
  assert.equal(echoValueOf(responses[0]), 101);
  assert.equal(echoValueOf(responses[1]), 102);
});

test('the handler sees the connection it serves', async () => {
  const connected = await client();
  contexts.length = 0;
  await connected.send(echoFrame(5, 150, 1));
  await connected.nextFrame();
  const [context] = contexts;
  assert.equal(context.listenerName, 'PLAINTEXT');
  assert.equal(context.clientId, 'brook-test');
  assert.equal(context.apiVersion, 1);
  assert.equal(context.correlationId, 5);
  assert.equal(context.remoteAddress, '127.0.0.1');
  assert.equal(context.remotePort, connected.socket.localPort);
  assert.equal(context.signal.aborted, false);
  connected.close();
  await waitFor(() => context.signal.aborted, 'the context signal to abort on close', {
    timeoutMs: 5000,
  });
});

test('a handler that returns NO_RESPONSE sends nothing, and the next response still goes out', async () => {
  const connected = await client();
  behaviours.set(201, () => NO_RESPONSE);
  await connected.send(Buffer.concat([echoFrame(1, 201), echoFrame(2, 202)]));
  const response = await connected.nextFrame();
  assert.equal(correlationIdOf(response), 2);
  await waitFor(() => handled.includes(201), 'the no-response request to be handled', {
    timeoutMs: 5000,
  });
  assert.equal(connected.frames.length, 1);
});

test('a frame above socket.request.max.bytes closes the connection', async () => {
  const connected = await client();
  const header = Buffer.alloc(4);
  header.writeInt32BE(4097);
  await connected.send(header);
  await waitFor(() => connected.isClosed(), 'the connection to close', { timeoutMs: 5000 });
  assert.ok(logged.some((message) => message.includes('socket.request.max.bytes')));
});

test('a negative frame length closes the connection', async () => {
  const connected = await client();
  await connected.send(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  await waitFor(() => connected.isClosed(), 'the connection to close', { timeoutMs: 5000 });
});

test('ApiVersions at an unknown version is answered in v0 with UNSUPPORTED_VERSION, and the connection stays open', async () => {
  const connected = await client();
  // v99 with a v2 header and a body Brook cannot know the layout of.
  await connected.send(
    requestFrame({ apiKey: 18, apiVersion: 99, correlationId: 11 }, (writer) =>
      writer.writeInt32(12345),
    ),
  );
  const response = await connected.nextFrame();
  assert.equal(correlationIdOf(response), 11);
  const body = decodeApiVersionsResponse(new Reader(response, 4), 0);
  assert.equal(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  const apiVersions = body.apiKeys.find((api) => api.apiKey === 18)!;
  assert.deepEqual([apiVersions.minVersion, apiVersions.maxVersion], [0, 4]);
  // The client retries at a version both sides have, on the same connection.
  await connected.send(apiVersionsFrame(12, 3));
  const retry = await connected.nextFrame();
  assert.equal(correlationIdOf(retry), 12);
  assert.equal(decodeApiVersionsResponse(new Reader(retry, 4), 3).errorCode, ErrorCode.NONE);
  assert.equal(connected.isClosed(), false);
});

test('ApiVersions v3 with malformed client software is answered INVALID_REQUEST', async () => {
  const connected = await client();
  await connected.send(
    requestFrame({ apiKey: 18, apiVersion: 3, correlationId: 1 }, (writer) =>
      encodeApiVersionsRequest(writer, 3, {
        clientSoftwareName: '-bad name',
        clientSoftwareVersion: '1.0',
      }),
    ),
  );
  const body = decodeApiVersionsResponse(new Reader(await connected.nextFrame(), 4), 3);
  assert.equal(body.errorCode, ErrorCode.INVALID_REQUEST);
});

test('every ApiVersions version 0-4 decodes and lists the registry, v3+ with empty features', async () => {
  const connected = await client();
  for (let version = 0; version <= 4; version++) {
    await connected.send(apiVersionsFrame(100 + version, version));
    const body = decodeApiVersionsResponse(new Reader(await connected.nextFrame(), 4), version);
    assert.equal(body.errorCode, ErrorCode.NONE, `v${version}`);
    assert.deepEqual(body.apiKeys, [
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
      { apiKey: echoKey, minVersion: 0, maxVersion: 1 },
      { apiKey: reportingKey, minVersion: 0, maxVersion: 1 },
    ]);
    assert.equal(body.throttleTimeMs, 0);
    assert.equal(body.finalizedFeaturesEpoch, -1n);
    assert.deepEqual(body.supportedFeatures, []);
  }
});

test('an unknown API key closes only that connection; another client keeps working', async () => {
  const bad = await client();
  const good = await client();
  await bad.send(requestFrame({ apiKey: 999, apiVersion: 0, correlationId: 1 }, () => {}));
  await waitFor(() => bad.isClosed(), 'the bad connection to close', { timeoutMs: 5000 });
  assert.ok(logged.some((message) => message.includes('unsupported API key 999')));
  await good.send(echoFrame(2, 301));
  assert.equal(echoValueOf(await good.nextFrame()), 301);
});

test('an unsupported version of a known API closes the connection', async () => {
  const connected = await client();
  await connected.send(echoFrame(1, 1, 5));
  await waitFor(() => connected.isClosed(), 'the connection to close', { timeoutMs: 5000 });
});

test('a request whose body cannot be decoded closes the connection, the server stays up', async () => {
  const connected = await client();
  await connected.send(
    requestFrame({ apiKey: echoKey, apiVersion: 0, correlationId: 1 }, (writer) =>
      writer.writeInt16(1),
    ),
  );
  await waitFor(() => connected.isClosed(), 'the connection to close', { timeoutMs: 5000 });
  const other = await client();
  await other.send(echoFrame(2, 401));
  assert.equal(echoValueOf(await other.nextFrame()), 401);
});

test('a handler that throws is logged and its connection closed, never the process', async () => {
  const connected = await client();
  behaviours.set(501, () => {
    throw new Error('handler bug');
  });
  behaviours.set(502, () => Promise.reject(new Error('async handler bug')));
  await connected.send(echoFrame(1, 501));
  await waitFor(() => connected.isClosed(), 'the connection to close', { timeoutMs: 5000 });
  const second = await client();
  await second.send(echoFrame(1, 502));
  await waitFor(() => second.isClosed(), 'the second connection to close', { timeoutMs: 5000 });
  assert.ok(logged.includes('request handler failed'));
});

test('a slow client holding half a frame does not block others', async () => {
  const slow = await client();
  const frame = echoFrame(1, 601);
  await slow.send(frame.subarray(0, 6));
  const fast = await client();
  await fast.send(echoFrame(2, 602));
  assert.equal(echoValueOf(await fast.nextFrame()), 602);
  await slow.send(frame.subarray(6));
  assert.equal(echoValueOf(await slow.nextFrame()), 601);
});

test('an idle connection is closed after connections.max.idle.ms, and so is a frame left half-sent', async () => {
  const idleServer = await serverWith({ connectionsMaxIdleMs: 150 });
  try {
    const idle = await client(idleServer.listeners[0].port);
    const halfFrame = await client(idleServer.listeners[0].port);
    const busy = await client(idleServer.listeners[0].port);
    const gate = deferred();
    behaviours.set(701, async (request) => {
      await gate.promise;
      return request;
    });
    await busy.send(echoFrame(1, 701));
    // Trickle bytes of a frame that never completes, more often than the idle limit.
    const trickle = echoFrame(1, 702);
    const startedMs = Date.now();
    for (let index = 0; index < 5 && !halfFrame.isClosed(); index++) {
      await halfFrame.send(trickle.subarray(index, index + 1));
      await waitFor(
        () => Date.now() - startedMs >= (index + 1) * 60 || halfFrame.isClosed(),
        'the trickle interval',
        { timeoutMs: 1000 },
      );
    }
    await waitFor(
      () => idle.isClosed() && halfFrame.isClosed(),
      'the idle and half-frame connections to close',
      { timeoutMs: 5000 },
    );
    // A connection waiting for its response is not idle.
    assert.equal(busy.isClosed(), false);
    gate.resolve();
    assert.equal(echoValueOf(await busy.nextFrame()), 701);
  } finally {
    await idleServer.stop();
  }
});

test('a frame left half-sent behind a request in flight is closed after connections.max.idle.ms', async () => {
  const idleServer = await serverWith({ connectionsMaxIdleMs: 150 });
  try {
    const connected = await client(idleServer.listeners[0].port);
    const gate = deferred();
    behaviours.set(711, async (request) => {
      await gate.promise;
      return request;
    });
    // The request in flight keeps the connection from being idle; the half frame is what closes it.
    await connected.send(Buffer.concat([echoFrame(1, 711), echoFrame(2, 712).subarray(0, 6)]));
    await waitFor(() => connected.isClosed(), 'the half-frame connection to close', {
      timeoutMs: 5000,
    });
    gate.resolve();
  } finally {
    await idleServer.stop();
  }
});

test('reading pauses at queued.max.requests in flight and resumes as responses go out', async () => {
  const limited = await serverWith({ inFlightRequestsMax: 2 });
  try {
    const connected = await client(limited.listeners[0].port);
    const gates = [deferred(), deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    for (let index = 0; index < 5; index++) {
      behaviours.set(800 + index, async (request) => {
        started.push(request.value);
        await gates[index].promise;
        return request;
      });
    }
    // Five requests in one write: the server must not start more than two at once anyway.
    await connected.send(
      Buffer.concat([0, 1, 2, 3, 4].map((index) => echoFrame(index, 800 + index))),
    );
    await waitFor(() => started.length === 2, 'two requests to start', { timeoutMs: 5000 });
    await roundTrip(limited);
    assert.deepEqual(started, [800, 801]);
    gates[0].resolve();
    await waitFor(() => started.length === 3, 'a third request to start', { timeoutMs: 5000 });
    for (const gate of gates) gate.resolve();
    const responses = [];
    for (let index = 0; index < 5; index++)
      responses.push(correlationIdOf(await connected.nextFrame()));
    assert.deepEqual(responses, [0, 1, 2, 3, 4]);
  } finally {
    await limited.stop();
  }
});

test('reading pauses when in-flight bytes exceed queued.max.request.bytes', async () => {
  const limited = await serverWith({ inFlightBytesMax: 30 });
  try {
    const connected = await client(limited.listeners[0].port);
    const gate = deferred();
    const started: number[] = [];
    for (let index = 0; index < 4; index++) {
      behaviours.set(900 + index, async (request) => {
        started.push(request.value);
        await gate.promise;
        return request;
      });
    }
    // Each echo frame body is 4 + 2 + 2 + 4 + 2 + 10 ("brook-test") + 4 = 28 bytes: the second goes over 30.
    await connected.send(Buffer.concat([0, 1, 2, 3].map((index) => echoFrame(index, 900 + index))));
    await waitFor(() => started.length === 2, 'requests to start', { timeoutMs: 5000 });
    await roundTrip(limited);
    assert.equal(started.length, 2);
    gate.resolve();
    for (let index = 0; index < 4; index++)
      assert.equal(correlationIdOf(await connected.nextFrame()), index);
  } finally {
    await limited.stop();
  }
});

test('the memory all connections share (queued.max.request.bytes.total) makes each start one request at a time, and a connection with nothing in flight is still served', async () => {
  // The shared limit is three echo requests; each connection's own limit is far above.
  const frameBytes = echoFrame(0, 0).length - 4;
  const limited = await serverWith({ requestMemoryBytesMax: 3 * frameBytes });
  try {
    const connectionCount = 5;
    const framesEach = 6;
    const gate = deferred();
    const started: number[] = [];
    const connected: WireClient[] = [];
    for (let connection = 0; connection < connectionCount; connection++) {
      connected.push(await client(limited.listeners[0].port));
      for (let frame = 0; frame < framesEach; frame++) {
        behaviours.set(1100 + connection * 10 + frame, async (request) => {
          started.push(request.value);
          await gate.promise;
          return request;
        });
      }
    }
    // Every connection pipelines all its requests at once, as a producer at full speed does.
    for (const [connection, wire] of connected.entries())
      await wire.send(
        Buffer.concat(
          Array.from({ length: framesEach }, (_, frame) =>
            echoFrame(frame, 1100 + connection * 10 + frame),
          ),
        ),
      );
    await waitFor(
      () =>
        new Set(started.map((value) => Math.floor((value - 1100) / 10))).size === connectionCount,
      'every connection to start a request',
      { timeoutMs: 5000 },
    );
    // The limit, plus at most one request per connection.
    assert.ok(limited.requestMemory.exhausted);
    assert.ok(
      limited.requestMemory.peak <= (3 + connectionCount) * frameBytes,
      `peak ${limited.requestMemory.peak} bytes above ${(3 + connectionCount) * frameBytes}`,
    );
    // A new connection, nothing in flight: answered at once though the memory is used up.
    await roundTrip(limited);
    assert.ok(started.length < connectionCount * framesEach, `${started.length} started`);
    // Freed, every request is served, each connection's answers in its order.
    gate.resolve();
    for (const wire of connected)
      for (let frame = 0; frame < framesEach; frame++)
        assert.equal(correlationIdOf(await wire.nextFrame()), frame);
    assert.equal(started.length, connectionCount * framesEach);
    await waitFor(() => limited.requestMemory.used === 0, 'the memory to be freed', {
      timeoutMs: 5000,
    });
  } finally {
    await limited.stop();
  }
});

test('stop() answers requests in flight, closes every connection and frees the port', async () => {
  const stoppable = await serverWith({});
  const stoppablePort = stoppable.listeners[0].port;
  const first = await client(stoppablePort);
  const second = await client(stoppablePort);
  let signalled = false;
  let parked = false;
  behaviours.set(1001, async (request, context) => {
    parked = true;
    await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve()));
    signalled = true;
    return request;
  });
  await first.send(echoFrame(1, 1001));
  await waitFor(
    () => stoppable.connectionCount === 2 && parked,
    'both connections to be accepted and the request parked',
    { timeoutMs: 5000 },
  );
  await stoppable.stop();
  assert.equal(signalled, true);
  assert.equal(echoValueOf(await first.nextFrame()), 1001);
  await waitFor(() => first.isClosed() && second.isClosed(), 'clients to see the close', {
    timeoutMs: 5000,
  });
  assert.equal(stoppable.connectionCount, 0);
  await assert.rejects(connectWireClient(stoppablePort));
});

test('a second handler for the same API key is refused', () => {
  const registry = new HandlerRegistry();
  registry.register(echoHandler);
  assert.throws(() => registry.register({ ...echoHandler }), /already registered/);
});

test('a version below refusedBelow is advertised but answered with UNSUPPORTED_VERSION', async () => {
  const connected = await client();
  await connected.send(
    Buffer.concat([
      requestFrame({ apiKey: reportingKey, apiVersion: 0, correlationId: 1 }, (writer) =>
        writer.writeInt32(5),
      ),
      requestFrame({ apiKey: reportingKey, apiVersion: 1, correlationId: 2 }, (writer) =>
        writer.writeInt32(5),
      ),
    ]),
  );
  assert.equal(echoValueOf(await connected.nextFrame()), ErrorCode.UNSUPPORTED_VERSION);
  assert.equal(echoValueOf(await connected.nextFrame()), 5);
  assert.equal(connected.isClosed(), false);
});

test('a handler with errorResponse that throws answers UNKNOWN_SERVER_ERROR and keeps the connection', async () => {
  const connected = await client();
  await connected.send(
    requestFrame({ apiKey: reportingKey, apiVersion: 1, correlationId: 1 }, (writer) =>
      writer.writeInt32(-1),
    ),
  );
  assert.equal(echoValueOf(await connected.nextFrame()), ErrorCode.UNKNOWN_SERVER_ERROR);
  await connected.send(
    requestFrame({ apiKey: reportingKey, apiVersion: 1, correlationId: 2 }, (writer) =>
      writer.writeInt32(6),
    ),
  );
  assert.equal(echoValueOf(await connected.nextFrame()), 6);
});

test('the registry refuses inconsistent declarations', () => {
  const registry = new HandlerRegistry();
  assert.throws(
    () => registry.register({ ...echoHandler, minVersion: 3, maxVersion: 2 }),
    /version range/,
  );
  assert.throws(() => registry.register({ ...echoHandler, refusedBelow: 1 }), /no errorResponse/);
  assert.throws(() => registry.register({ ...reportingHandler, refusedBelow: 0 }), /refusedBelow/);
});

test('startServer refuses a handler whose versions the codecs do not have', async () => {
  const registry = new HandlerRegistry();
  registry.register({ ...echoHandler, maxVersion: 7 });
  await assert.rejects(
    startServer({
      listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0 }],
      registry,
      logger,
      apiMessages: testApis,
    }),
    /codecs have 0-1/,
  );
});

test('twenty parked requests listening on the connection signal raise no listener-leak warning', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  try {
    const connected = await client();
    const gate = deferred();
    for (let index = 0; index < 20; index++) {
      behaviours.set(1100 + index, async (request, context) => {
        const onAbort = (): void => {};
        context.signal.addEventListener('abort', onAbort);
        await gate.promise;
        context.signal.removeEventListener('abort', onAbort);
        return request;
      });
    }
    await connected.send(
      Buffer.concat(Array.from({ length: 20 }, (_, index) => echoFrame(index, 1100 + index))),
    );
    await waitFor(() => handled.length > 0 && contexts.length > 0, 'requests to start', {
      timeoutMs: 5000,
    });
    gate.resolve();
    for (let index = 0; index < 20; index++)
      assert.equal(correlationIdOf(await connected.nextFrame()), index);
    // Warnings are emitted on process.nextTick; a round trip lets any pending one through.
    await roundTrip(server);
    assert.deepEqual(
      warnings.filter((name) => name === 'MaxListenersExceededWarning'),
      [],
    );
  } finally {
    process.off('warning', onWarning);
  }
});

test('connections above max.connections.per.ip are closed on accept; a slot frees when one closes', async () => {
  const limited = await serverWith({ connectionsPerIpMax: 2 });
  try {
    const limitedPort = limited.listeners[0].port;
    const first = await client(limitedPort);
    const second = await client(limitedPort);
    await waitFor(() => limited.connectionCount === 2, 'two connections', { timeoutMs: 5000 });
    const third = await client(limitedPort);
    await waitFor(() => third.isClosed(), 'the third connection to be closed', { timeoutMs: 5000 });
    assert.ok(logged.some((message) => message.includes('max.connections.per.ip')));
    await second.send(echoFrame(1, 1201));
    assert.equal(echoValueOf(await second.nextFrame()), 1201);
    first.close();
    await waitFor(() => limited.connectionCount === 1, 'the first connection to be gone', {
      timeoutMs: 5000,
    });
    const fourth = await client(limitedPort);
    await fourth.send(echoFrame(2, 1202));
    assert.equal(echoValueOf(await fourth.nextFrame()), 1202);
  } finally {
    await limited.stop();
  }
});

test('a hundred clients announcing 100 MiB frames and sending 1 KiB each hold about 100 KiB, and others are served', async () => {
  const roomy = await serverWith({ requestBytesMax: 104857600 });
  try {
    const roomyPort = roomy.listeners[0].port;
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    const slow: WireClient[] = [];
    for (let index = 0; index < 100; index++) {
      const connected = await client(roomyPort);
      const start = Buffer.alloc(4 + 1024, 1);
      start.writeInt32BE(104857600, 0);
      await connected.send(start);
      slow.push(connected);
    }
    const fast = await client(roomyPort);
    await fast.send(echoFrame(1, 1301));
    assert.equal(echoValueOf(await fast.nextFrame()), 1301);
    const grownBytes = process.memoryUsage().arrayBuffers - arrayBuffersBefore;
    // Allocating from the length prefix would have taken 10 GiB; allow for unrelated garbage.
    assert.ok(grownBytes < 32 * 1024 * 1024, `array buffers grew by ${grownBytes} bytes`);
    assert.equal(
      slow.some((connected) => connected.isClosed()),
      false,
    );
  } finally {
    await roomy.stop();
  }
});

test('a handler that returns CLOSE_CONNECTION closes after the earlier responses went out', async () => {
  const connected = await client();
  const gate = deferred();
  behaviours.set(1401, async (request) => {
    await gate.promise;
    return request;
  });
  behaviours.set(1402, () => CLOSE_CONNECTION);
  await connected.send(Buffer.concat([echoFrame(1, 1401), echoFrame(2, 1402), echoFrame(3, 1403)]));
  await waitFor(() => handled.includes(1402), 'the closing request to be handled', {
    timeoutMs: 5000,
  });
  assert.equal(connected.isClosed(), false);
  gate.resolve();
  assert.equal(echoValueOf(await connected.nextFrame()), 1401);
  await waitFor(() => connected.isClosed(), 'the connection to close', { timeoutMs: 5000 });
  assert.deepEqual(connected.frames.map(correlationIdOf), [1]);
});

test('an errorResponse that throws closes the connection without taking the process down', async () => {
  const connected = await client();
  // v0 is refused, so the server calls errorResponse synchronously while reading the frame.
  await connected.send(
    requestFrame({ apiKey: reportingKey, apiVersion: 0, correlationId: 1 }, (writer) =>
      writer.writeInt32(13),
    ),
  );
  await waitFor(() => connected.isClosed(), 'the connection to close', { timeoutMs: 5000 });
  assert.ok(logged.includes('request processing failed'));
  const other = await client();
  await other.send(echoFrame(2, 1501));
  assert.equal(echoValueOf(await other.nextFrame()), 1501);
});

test('connections spread over the network threads, and each thread answers its own', async () => {
  const spread = await serverWith({});
  const count = 24;
  const connected = await Promise.all(
    Array.from({ length: count }, () => client(spread.listeners[0].port)),
  );
  try {
    for (const [index, connection] of connected.entries()) {
      await connection.send(echoFrame(index, 5000 + index));
      assert.equal(echoValueOf(await connection.nextFrame()), 5000 + index);
    }
    // num.io.threads n ≥ 2 gives n - 1 network threads where a port can be shared (Node ≥ 22.12);
    // network-threads-node22.test.ts names the count it expects.
    const threads = process.env.BROOK_TEST_SERVER_NETWORK_THREADS
      ? Number(process.env.BROOK_TEST_SERVER_NETWORK_THREADS)
      : ioThreads === 1
        ? 0
        : reusePortAvailable()
          ? ioThreads - 1
          : 1;
    const counts = spread.networkThreadConnections();
    assert.equal(counts.length, threads);
    if (threads > 0)
      assert.equal(
        counts.reduce((sum, served) => sum + served, 0),
        count,
      );
    // The kernel hashes each connection to a socket: every thread gets some of 24 but for a chance
    // of one in millions.
    for (const [thread, served] of counts.entries())
      assert.ok(served > 0, `network thread ${thread} was given none of ${count} connections`);
  } finally {
    for (const connection of connected) connection.close();
    await spread.stop();
  }
});
