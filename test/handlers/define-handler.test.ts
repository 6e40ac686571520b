// defineHandler ties a handler's request and response types to its API key. The first half of this
// file is checked by the compiler: each `@ts-expect-error` must meet a type error, or the compile
// fails with "unused directive". `npm run typecheck` covers it, and the last test compiles this
// file itself, so the suite fails too if a mismatched handler ever compiles.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createJoinGroupHandler } from '../../src/handlers/join-group.js';
import {
  type ApiHandler,
  defineHandler,
  HandlerRegistry,
  HandlerRegistryError,
  type RequestContext,
} from '../../src/handlers/registry.js';
import {
  ApiKey,
  type HeartbeatRequest,
  type HeartbeatResponseInput,
  type JoinGroupRequest,
  type JoinGroupResponseInput,
} from '../../src/protocol/generated/index.js';
import { compilerDiagnostics } from '../helpers/compile.js';

function answerJoinGroup(request: JoinGroupRequest): JoinGroupResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId: request.memberId,
    members: [],
  };
}

function answerHeartbeat(_request: HeartbeatRequest): HeartbeatResponseInput {
  return { throttleTimeMs: 0, errorCode: 0 };
}

// The Heartbeat key (12) with JoinGroup's request type does not compile.
export const joinGroupRequestOnHeartbeat = defineHandler(ApiKey.Heartbeat, {
  minVersion: 0,
  maxVersion: 4,
  // @ts-expect-error: a JoinGroupRequest is not what API key 12 decodes
  handle: answerJoinGroup,
});

// The same with the key written as a number: the key alone decides the types.
export const joinGroupRequestOnTwelve = defineHandler(12, {
  minVersion: 0,
  maxVersion: 4,
  // @ts-expect-error: a JoinGroupRequest is not what API key 12 decodes
  handle: (request: JoinGroupRequest) => answerJoinGroup(request),
});

// The JoinGroup key with Heartbeat's response does not compile either: the response lacks fields.
export const heartbeatResponseOnJoinGroup = defineHandler(ApiKey.JoinGroup, {
  minVersion: 0,
  maxVersion: 9,
  // @ts-expect-error: a HeartbeatResponseInput is not what API key 11 encodes
  handle: (): HeartbeatResponseInput => ({ throttleTimeMs: 0, errorCode: 0 }),
  // @ts-expect-error: nor may errorResponse answer with it
  errorResponse: (): HeartbeatResponseInput => ({ throttleTimeMs: 0, errorCode: 0 }),
});

// A key the codecs do not know is refused.
// @ts-expect-error: 1000 is no Kafka API key
export const unknownKey = defineHandler(1000, {
  minVersion: 0,
  maxVersion: 0,
  handle: () => null,
});

// A handler built for JoinGroup cannot be passed off as Heartbeat's.
export function joinGroupHandlerAsHeartbeat(
  handler: ReturnType<typeof createJoinGroupHandler>,
): ApiHandler<typeof ApiKey.Heartbeat> {
  // @ts-expect-error: a handler of API key 11 is not a handler of API key 12
  return handler;
}

// Without annotations the request's type is inferred from the key, so a field of another API's
// request is an error.
export const inferred = defineHandler(ApiKey.Heartbeat, {
  minVersion: 0,
  maxVersion: 4,
  handle(request) {
    // @ts-expect-error: HeartbeatRequest has no `protocols` (JoinGroupRequest has)
    void request.protocols;
    return { throttleTimeMs: 0, errorCode: request.generationId === -1 ? 22 : 0 };
  },
});

const context: RequestContext = {
  connectionId: 1,
  listenerName: 'PLAINTEXT',
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  clientId: 'test',
  apiKey: ApiKey.Heartbeat,
  apiVersion: 4,
  correlationId: 7,
  principal: 'User:ANONYMOUS',
  signal: new AbortController().signal,
};

test('defineHandler keeps the key and the definition', async () => {
  const handler = defineHandler(ApiKey.Heartbeat, {
    minVersion: 0,
    maxVersion: 4,
    handle: answerHeartbeat,
    errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode }),
  });
  assert.equal(handler.apiKey, 12);
  assert.equal(handler.minVersion, 0);
  assert.equal(handler.maxVersion, 4);
  assert.equal(handler.refusedBelow, undefined);
  const request = { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null };
  assert.deepEqual(await handler.handle(request, context), {
    throttleTimeMs: 0,
    errorCode: 0,
  });
  assert.deepEqual(handler.errorResponse?.(request, 27, context), {
    throttleTimeMs: 0,
    errorCode: 27,
  });
});

test('the registry refuses a second handler for the same key', () => {
  const registry = new HandlerRegistry().register(inferred);
  assert.throws(
    () => registry.register(defineHandler(ApiKey.Heartbeat, inferred)),
    (error: unknown) =>
      error instanceof HandlerRegistryError &&
      /API key 12 is already registered/.test(error.message),
  );
  assert.deepEqual(registry.advertisedApis(), [{ apiKey: 12, minVersion: 0, maxVersion: 4 }]);
});

test('the compiler rejects every mismatched handler above and accepts the rest', () => {
  // An unused @ts-expect-error (a mismatch that compiled) is reported as TS2578.
  assert.deepEqual(compilerDiagnostics(import.meta.url), []);
});
