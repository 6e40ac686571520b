// SASL OAUTHBEARER against a real broker: tokens the test signs with its own RS256 and ES256 keys,
// published as a JWKS file. The exchange is driven on the wire here, so each refusal and the
// session lifetime can be read exactly; real-clients.test.ts drives librdkafka and kafkajs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { type Broker, startBroker } from '../../src/broker.js';
import { ConfigError } from '../../src/config/errors.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { SaslAuthenticateResponse } from '../../src/protocol/generated/sasl-authenticate.js';
import type { SaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.js';
import { Reader } from '../../src/protocol/reader.js';
import type { SettingsInput } from '../../src/config/index.js';
import { type WireClient, connectWireClient, requestFrame } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';
import {
  type SigningKey,
  clientInitialResponse,
  makeSigningKey,
  signToken,
  testAudience,
  testIssuer,
  writeJwks,
} from './tokens.js';
import { codecsOf } from '../helpers/codecs.js';

interface OAuthBroker {
  broker: Broker;
  port: number;
  directory: string;
  logLines: string[];
}

async function oauthBroker(
  t: TestContext,
  keys: readonly SigningKey[],
  settings: SettingsInput = {},
): Promise<OAuthBroker> {
  const directory = mkdtempSync(join(tmpdir(), 'brook-oauth-'));
  const logLines: string[] = [];
  const record = (message: string, fields?: object): void => {
    logLines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  };
  const broker = await startBroker({
    logDirs: join(directory, 'logs'),
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    logger: { info: record, warn: record, error: record, debug: record },
    settings: {
      'sasl.enabled.mechanisms': 'OAUTHBEARER,PLAIN',
      'sasl.oauthbearer.jwks.endpoint.url': writeJwks(directory, keys),
      'sasl.oauthbearer.expected.issuer': testIssuer,
      'sasl.oauthbearer.expected.audience': testAudience,
      'connection.failed.authentication.delay.ms': 0,
      ...settings,
    },
  });
  t.after(async () => {
    await broker.stop();
    rmSync(directory, { recursive: true, force: true });
  });
  return { broker, port: broker.listeners[0].port, directory, logLines };
}

function decode<T>(apiKey: number, version: number, frame: Buffer): T {
  const reader = new Reader(frame);
  reader.readInt32();
  if (apiKey === ApiKey.SaslAuthenticate && version >= 2) reader.readTaggedFields();
  return codecsOf(apiKey).response.decode(reader, version) as T;
}

/** Handshake for OAUTHBEARER, then one SaslAuthenticate v2 with `message`. */
async function authenticate(
  port: number,
  message: Buffer,
): Promise<{ client: WireClient; response: SaslAuthenticateResponse }> {
  const client = await connectWireClient(port);
  await client.send(
    requestFrame({ apiKey: ApiKey.SaslHandshake, apiVersion: 1, correlationId: 1 }, (writer) =>
      codecsOf(ApiKey.SaslHandshake).request.encode(writer, 1, {
        mechanism: 'OAUTHBEARER',
      } as never),
    ),
  );
  const handshake = decode<SaslHandshakeResponse>(
    ApiKey.SaslHandshake,
    1,
    await client.nextFrame(),
  );
  assert.equal(handshake.errorCode, ErrorCode.NONE);
  assert.ok(handshake.mechanisms.includes('OAUTHBEARER'));
  await client.send(
    requestFrame({ apiKey: ApiKey.SaslAuthenticate, apiVersion: 2, correlationId: 2 }, (writer) =>
      codecsOf(ApiKey.SaslAuthenticate).request.encode(writer, 2, { authBytes: message } as never),
    ),
  );
  const response = decode<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    await client.nextFrame(10_000),
  );
  return { client, response };
}

test('a token signed with a JWKS key (RS256 or ES256) authenticates as User:<sub>, and the session ends with the token', async (t) => {
  const rsa = makeSigningKey('rsa-1', 'RS256');
  const ec = makeSigningKey('ec-1', 'ES256');
  const { port } = await oauthBroker(t, [rsa, ec]);
  for (const key of [rsa, ec]) {
    const { token, expiresAtSeconds } = signToken(key, { expiresInSeconds: 120 });
    const sentMs = Date.now();
    const { client, response } = await authenticate(port, clientInitialResponse(token));
    t.after(() => client.close());
    assert.equal(response.errorCode, ErrorCode.NONE, `${key.algorithm}: ${response.errorMessage}`);
    const lifetimeMs = Number(response.sessionLifetimeMs);
    assert.ok(lifetimeMs > 0, 'a session lifetime is announced (KIP-368)');
    assert.ok(
      sentMs + lifetimeMs <= expiresAtSeconds * 1000,
      'the session ends no later than the token',
    );
    // Authenticated: a Metadata request is answered.
    await client.send(
      requestFrame({ apiKey: ApiKey.Metadata, apiVersion: 1, correlationId: 3 }, (writer) =>
        codecsOf(ApiKey.Metadata).request.encode(writer, 1, { topics: [] } as never),
      ),
    );
    await client.nextFrame();
    client.close();
  }
});

test('expired, not yet valid, wrong-issuer, wrong-audience, badly signed, unsigned and malformed tokens are refused with the RFC 7628 error, and no token reaches the log', async (t) => {
  const key = makeSigningKey('rsa-1', 'RS256');
  const stranger = makeSigningKey('rsa-1', 'RS256');
  const { port, logLines } = await oauthBroker(t, [key], {
    'sasl.oauthbearer.clock.skew.seconds': 5,
  });
  const [header, claims] = signToken(key).token.split('.');
  const cases: Array<[string, Buffer]> = [
    ['expired', clientInitialResponse(signToken(key, { expiresInSeconds: -60 }).token)],
    ['not yet valid', clientInitialResponse(signToken(key, { notBeforeInSeconds: 60 }).token)],
    ['wrong issuer', clientInitialResponse(signToken(key, { issuer: 'https://evil.test' }).token)],
    ['wrong audience', clientInitialResponse(signToken(key, { audience: ['other'] }).token)],
    ['bad signature', clientInitialResponse(signToken(stranger).token)],
    ['alg none', clientInitialResponse(`${header}.${claims}.`)],
    ['HS256 header', clientInitialResponse(signToken(key, { headerAlgorithm: 'HS256' }).token)],
    ['no subject', clientInitialResponse(signToken(key, { subject: '' }).token)],
    [
      'authzid differs',
      clientInitialResponse(signToken(key).token, { authorizationId: 'mallory' }),
    ],
    ['not a JWT', clientInitialResponse('abc.def')],
    ['no auth pair', Buffer.from('n,,\u0001host=x\u0001\u0001')],
  ];
  const tokens = cases.map(([, message]) => message.toString());
  for (const [what, message] of cases) {
    const { client, response } = await authenticate(port, message);
    t.after(() => client.close());
    assert.equal(response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, what);
    if (what !== 'not a JWT' && what !== 'no auth pair') {
      assert.deepEqual(JSON.parse(response.errorMessage ?? ''), { status: 'invalid_token' }, what);
    }
    await client.closed;
  }
  const refusals = logLines.filter((line) => line.startsWith('authentication failed'));
  assert.equal(refusals.length, cases.length, 'one log line per refusal');
  assert.match(refusals[0], /expired/);
  assert.match(refusals[2], /issuer/);
  assert.match(refusals[3], /audience/);
  assert.match(refusals[4], /signature/);
  for (const line of logLines) {
    for (const token of tokens) {
      const signature = token.split('.')[2]?.split('\u0001')[0];
      if (signature !== undefined && signature.length > 8) assert.ok(!line.includes(signature));
    }
    assert.ok(!line.includes(claims), 'a token is never logged');
  }
});

test('a token signed with a key added to the JWKS after start is accepted (an unknown kid reads the set again)', async (t) => {
  const first = makeSigningKey('first', 'RS256');
  const { port, directory } = await oauthBroker(t, [first]);
  const rotated = makeSigningKey('second', 'ES256');
  writeJwks(directory, [first, rotated]);
  const { client, response } = await authenticate(
    port,
    clientInitialResponse(signToken(rotated).token),
  );
  t.after(() => client.close());
  assert.equal(response.errorCode, ErrorCode.NONE, response.errorMessage ?? '');
});

test('the principal comes from sasl.oauthbearer.sub.claim.name', async (t) => {
  const key = makeSigningKey('k', 'RS256');
  const { port } = await oauthBroker(t, [key], { 'sasl.oauthbearer.sub.claim.name': 'client_id' });
  const withoutClaim = await authenticate(port, clientInitialResponse(signToken(key).token));
  t.after(() => withoutClaim.client.close());
  assert.equal(withoutClaim.response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  const token = signToken(key, { extraClaims: { client_id: 'service-a' } }).token;
  const withClaim = await authenticate(
    port,
    clientInitialResponse(token, { authorizationId: 'service-a', extensions: { traceId: 'x1' } }),
  );
  t.after(() => withClaim.client.close());
  assert.equal(withClaim.response.errorCode, ErrorCode.NONE, withClaim.response.errorMessage ?? '');
});

test('OAUTHBEARER without a JWKS URL, or with a JWKS that cannot be read, does not start', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'brook-oauth-'));
  try {
    await assert.rejects(
      startBroker({
        logDirs: join(directory, 'logs'),
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        settings: { 'sasl.enabled.mechanisms': 'OAUTHBEARER' },
      }),
      (error: unknown) =>
        error instanceof ConfigError && error.setting === 'sasl.oauthbearer.jwks.endpoint.url',
    );
    await assert.rejects(
      startBroker({
        logDirs: join(directory, 'logs'),
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        settings: {
          'sasl.enabled.mechanisms': 'OAUTHBEARER',
          'sasl.oauthbearer.jwks.endpoint.url': `file://${join(directory, 'missing.json')}`,
        },
      }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === 'sasl.oauthbearer.jwks.endpoint.url' &&
        /cannot read the JWKS/.test(error.message),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('a client re-authenticates with a fresh token before the first expires; one that does not is disconnected at its next request', async (t) => {
  const key = makeSigningKey('k', 'ES256');
  const { port } = await oauthBroker(t, [key], { 'sasl.oauthbearer.clock.skew.seconds': 0 });
  const metadataFrame = (correlationId: number): Buffer =>
    requestFrame({ apiKey: ApiKey.Metadata, apiVersion: 1, correlationId }, (writer) =>
      codecsOf(ApiKey.Metadata).request.encode(writer, 1, { topics: [] } as never),
    );
  const shortLived = signToken(key, { expiresInSeconds: 2 });

  // Re-authenticated (KIP-368: SaslHandshake v1 and SaslAuthenticate again on the connection).
  const renewed = await authenticate(port, clientInitialResponse(shortLived.token));
  t.after(() => renewed.client.close());
  assert.equal(renewed.response.errorCode, ErrorCode.NONE);
  assert.ok(Number(renewed.response.sessionLifetimeMs) <= 2000);
  await renewed.client.send(
    requestFrame({ apiKey: ApiKey.SaslHandshake, apiVersion: 1, correlationId: 3 }, (writer) =>
      codecsOf(ApiKey.SaslHandshake).request.encode(writer, 1, {
        mechanism: 'OAUTHBEARER',
      } as never),
    ),
  );
  await renewed.client.nextFrame();
  await renewed.client.send(
    requestFrame({ apiKey: ApiKey.SaslAuthenticate, apiVersion: 2, correlationId: 4 }, (writer) =>
      codecsOf(ApiKey.SaslAuthenticate).request.encode(writer, 2, {
        authBytes: clientInitialResponse(signToken(key, { expiresInSeconds: 300 }).token),
      } as never),
    ),
  );
  const again = decode<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    await renewed.client.nextFrame(),
  );
  assert.equal(again.errorCode, ErrorCode.NONE, again.errorMessage ?? '');
  assert.ok(Number(again.sessionLifetimeMs) > 200_000);

  // Not re-authenticated.
  const lapsed = await authenticate(port, clientInitialResponse(shortLived.token));
  t.after(() => lapsed.client.close());
  assert.equal(lapsed.response.errorCode, ErrorCode.NONE);

  await waitFor(
    () => Date.now() > shortLived.expiresAtSeconds * 1000 + 100,
    'the token to expire',
    {
      timeoutMs: 5000,
    },
  );
  await renewed.client.send(metadataFrame(5));
  await renewed.client.nextFrame();
  assert.ok(!renewed.client.isClosed(), 'the renewed session serves requests');
  await lapsed.client.send(metadataFrame(3));
  await lapsed.client.closed;
  assert.equal(lapsed.client.frames.length, 2, 'the request after expiry got no answer');
});

test('the JWKS is read from an http:// URL, and read again when a token names a key it lacks', async (t) => {
  const first = makeSigningKey('first', 'RS256');
  const second = makeSigningKey('second', 'RS256');
  const served = mkdtempSync(join(tmpdir(), 'brook-jwks-'));
  t.after(() => rmSync(served, { recursive: true, force: true }));
  let published = [first];
  let reads = 0;
  const server = createServer((_request, response) => {
    reads += 1;
    writeJwks(served, published);
    response.setHeader('content-type', 'application/json');
    response.end(readFileSync(join(served, 'jwks.json')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port: jwksPort } = server.address() as AddressInfo;
  const { port } = await oauthBroker(t, [], {
    'sasl.oauthbearer.jwks.endpoint.url': `http://127.0.0.1:${jwksPort}/jwks.json`,
    'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms': 0,
  });
  assert.equal(reads, 1, 'read once at start');
  const accepted = await authenticate(port, clientInitialResponse(signToken(first).token));
  t.after(() => accepted.client.close());
  assert.equal(accepted.response.errorCode, ErrorCode.NONE);
  assert.equal(reads, 1, 'a known key needs no read');

  published = [first, second];
  const rotated = await authenticate(port, clientInitialResponse(signToken(second).token));
  t.after(() => rotated.client.close());
  assert.equal(rotated.response.errorCode, ErrorCode.NONE, rotated.response.errorMessage ?? '');
  assert.equal(reads, 2, 'the unknown kid read the set again');
});
