import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Broker, startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import type { SaslCredentials } from '../../src/client/sasl-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey, apiMessages } from '../../src/protocol/generated/index.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { SaslAuthenticateResponse } from '../../src/protocol/generated/sasl-authenticate.js';
import { waitFor } from '../helpers/poll.js';
import {
  adminAt,
  authenticationError,
  handshakeOnWire,
  listenerAddress,
  metadataAs,
  plainToken,
  saslAuthenticate,
  saslHandshake,
  sendRequest,
  startSaslBroker,
} from '../helpers/sasl.js';
import { connectWireClient } from '../helpers/wire-client.js';

test('PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 authenticate against the salted credentials; a wrong password does not', async (t) => {
  const { admin, sasl, logDir } = await startSaslBroker(t);
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.upsertUserScramCredential('bob', 'SCRAM-SHA-512', 'bob-secret');

  for (const credentials of [
    { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
    { mechanism: 'SCRAM-SHA-512', username: 'bob', password: 'bob-secret' },
    { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' },
    { mechanism: 'PLAIN', username: 'bob', password: 'bob-secret' },
  ] as const) {
    const metadata = await metadataAs(sasl, credentials);
    assert.equal(metadata.brokers.length, 1, `${credentials.mechanism} as ${credentials.username}`);
  }

  const failures: Array<[SaslCredentials, string]> = [
    [{ mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'wrong' }, 'wrong password'],
    [
      { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' },
      'no SHA-512 credential',
    ],
    [{ mechanism: 'PLAIN', username: 'alice', password: 'wrong' }, 'wrong PLAIN password'],
    [{ mechanism: 'SCRAM-SHA-256', username: 'mallory', password: 'x' }, 'unknown user'],
    [{ mechanism: 'PLAIN', username: 'mallory', password: 'x' }, 'unknown PLAIN user'],
  ];
  const messages = new Set<string>();
  for (const [credentials, what] of failures) {
    await assert.rejects(metadataAs(sasl, credentials), (error: Error) => {
      assert.equal(authenticationError(error), ErrorCode.SASL_AUTHENTICATION_FAILED, what);
      // What the broker said (after the client's own "authentication as USER failed: ").
      const answer = error.message.slice(error.message.indexOf('failed: ') + 8);
      assert.doesNotMatch(answer, /mallory|alice|secret|wrong/);
      messages.add(answer.replace(/SCRAM-SHA-\d+|PLAIN/, 'MECHANISM'));
      return true;
    });
  }
  assert.equal(messages.size, 1, 'an unknown user and a wrong password read the same');

  // The metadata document holds salted keys, never a password.
  const document = readFileSync(join(logDir, 'meta', 'metadata.json'), 'utf8');
  assert.doesNotMatch(document, /alice-secret|bob-secret/);
  assert.deepEqual(
    Object.keys((JSON.parse(document) as { scramCredentials: object }).scramCredentials).sort(),
    ['alice', 'bob'],
  );
});

test('credentials survive a restart, and DescribeUserScramCredentials lists mechanisms and iterations only', async (t) => {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-sasl-'));
  const listeners = 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0';
  const first = await startBroker({ logDirs: logDir, listeners });
  const adminOf = (broker: Broker) => adminAt(listenerAddress(broker, 'PLAINTEXT'));
  await adminOf(first).upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret', 8192);
  await adminOf(first).upsertUserScramCredential('alice', 'SCRAM-SHA-512', 'alice-secret');
  await adminOf(first).upsertUserScramCredential('carol', 'SCRAM-SHA-512', 'carol-secret');
  await first.stop();

  const second = await startBroker({ logDirs: logDir, listeners });
  t.after(async () => {
    await second.stop();
    rmSync(logDir, { recursive: true, force: true });
  });
  const admin = adminOf(second);
  assert.deepEqual(await admin.describeUserScramCredentials(null), [
    {
      user: 'alice',
      credentials: [
        { mechanism: 'SCRAM-SHA-256', iterations: 8192 },
        { mechanism: 'SCRAM-SHA-512', iterations: 4096 },
      ],
    },
    { user: 'carol', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
  ]);
  const sasl = listenerAddress(second, 'SASL_PLAINTEXT');
  await metadataAs(sasl, {
    mechanism: 'SCRAM-SHA-512',
    username: 'carol',
    password: 'carol-secret',
  });

  await admin.deleteUserScramCredential('carol', 'SCRAM-SHA-512');
  await assert.rejects(admin.describeUserScramCredentials(['carol']), /RESOURCE_NOT_FOUND/);
  await assert.rejects(
    admin.deleteUserScramCredential('carol', 'SCRAM-SHA-512'),
    /RESOURCE_NOT_FOUND/,
  );
  await assert.rejects(
    admin.upsertUserScramCredential('dave', 'SCRAM-SHA-256', 'pw', 100),
    /UNACCEPTABLE_CREDENTIAL/,
  );
  await assert.rejects(
    metadataAs(sasl, { mechanism: 'SCRAM-SHA-512', username: 'carol', password: 'carol-secret' }),
    (error) => authenticationError(error) === ErrorCode.SASL_AUTHENTICATION_FAILED,
  );
});

test('before authentication only ApiVersions and the SASL requests are served; anything else closes the connection', async (t) => {
  const { sasl } = await startSaslBroker(t);
  const client = await connectWireClient(Number(sasl.split(':')[1]));
  t.after(() => client.close());
  await sendRequest(
    client,
    { apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 1 },
    { clientSoftwareName: 'test', clientSoftwareVersion: '1' },
  );
  await client.nextFrame();
  await sendRequest(
    client,
    { apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 2 },
    { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
  );
  await client.closed;
  assert.equal(client.frames.length, 1, 'the Metadata request got no answer');
});

test('a frame above sasl.server.max.receive.size before authentication closes the connection', async (t) => {
  const { sasl } = await startSaslBroker(t, { 'sasl.server.max.receive.size': 1024 });
  const client = await connectWireClient(Number(sasl.split(':')[1]));
  t.after(() => client.close());
  await handshakeOnWire(client, 1, 'PLAIN');
  await sendRequest(
    client,
    { apiKey: ApiKey.SaslAuthenticate, apiVersion: 1, correlationId: 2 },
    { authBytes: Buffer.alloc(4096, 0x61) },
  );
  await client.closed;
  assert.equal(client.frames.length, 1);
});

test('a failed authentication is answered after connection.failed.authentication.delay.ms, then the connection closes', async (t) => {
  const delayMs = 400;
  const { admin, sasl } = await startSaslBroker(t, {
    'connection.failed.authentication.delay.ms': delayMs,
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  const client = await connectWireClient(Number(sasl.split(':')[1]));
  t.after(() => client.close());
  await handshakeOnWire(client, 1, 'PLAIN');
  const authenticate = await apiMessages.get(ApiKey.SaslAuthenticate)!.loadCodecs();
  const sentMs = performance.now();
  await sendRequest(
    client,
    { apiKey: ApiKey.SaslAuthenticate, apiVersion: 2, correlationId: 2 },
    { authBytes: plainToken('alice', 'wrong') },
  );
  const frame = await client.nextFrame(10_000);
  assert.ok(
    performance.now() - sentMs >= delayMs - 50,
    'the failure is not answered before the delay',
  );
  const reader = new (await import('../../src/protocol/reader.js')).Reader(frame);
  reader.readInt32();
  reader.readTaggedFields();
  const response = authenticate.response.decode(reader, 2) as SaslAuthenticateResponse;
  assert.equal(response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assert.match(response.errorMessage ?? '', /invalid credentials/);
  await client.closed;
});

test('SaslHandshake v0 is followed by bare tokens, as old clients send them', async (t) => {
  const { admin, sasl } = await startSaslBroker(t);
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  const client = await connectWireClient(Number(sasl.split(':')[1]));
  t.after(() => client.close());
  await handshakeOnWire(client, 0, 'PLAIN');
  const token = plainToken('alice', 'alice-secret');
  const length = Buffer.alloc(4);
  length.writeInt32BE(token.length);
  await client.send(Buffer.concat([length, token]));
  assert.equal((await client.nextFrame()).length, 0, 'PLAIN succeeds with an empty bare token');
  await sendRequest(
    client,
    { apiKey: ApiKey.Metadata, apiVersion: 1, correlationId: 3 },
    { topics: null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false },
  );
  const answer = await client.nextFrame();
  assert.equal(answer.readInt32BE(0), 3);
});

test('connections.max.reauth.ms: the session lifetime is announced, re-authentication extends it, an expired session is closed', async (t) => {
  const { admin, sasl } = await startSaslBroker(t, { 'connections.max.reauth.ms': 3000 });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-512', 'alice-secret');
  const connection = await KafkaConnection.open(sasl, {
    clientId: 'reauth',
    requestTimeoutMs: 10_000,
  });
  t.after(() => connection.close());
  const authenticate = async (username: string, password: string) => {
    const handshake = await saslHandshake(connection, 'PLAIN');
    assert.equal(handshake.errorCode, ErrorCode.NONE);
    return saslAuthenticate(connection, 2, plainToken(username, password));
  };
  const metadata = () =>
    connection.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
  const first = await authenticate('alice', 'alice-secret');
  const firstAt = Date.now();
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.equal(first.sessionLifetimeMs, 3000n);
  await metadata();
  await waitFor(() => Date.now() - firstAt > 1800, 'half the session to pass', { intervalMs: 100 });
  const again = await authenticate('alice', 'alice-secret');
  const secondAt = Date.now();
  assert.equal(again.errorCode, ErrorCode.NONE);
  // Past the first session's end, the renewed one still serves.
  await waitFor(() => Date.now() - firstAt > 3300, 'the first session to end', { intervalMs: 100 });
  await metadata();
  await waitFor(() => Date.now() - secondAt > 3300, 'the second session to end', {
    intervalMs: 100,
  });
  await assert.rejects(metadata(), /connection closed/);
});

test('re-authentication as another user, an unsupported mechanism and a malformed SCRAM message each close the connection', async (t) => {
  const { admin, sasl } = await startSaslBroker(t, {
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.upsertUserScramCredential('bob', 'SCRAM-SHA-256', 'bob-secret');
  const open = async () => {
    const connection = await KafkaConnection.open(sasl, {
      clientId: 'edge',
      requestTimeoutMs: 10_000,
    });
    t.after(() => connection.close());
    return connection;
  };
  const handshake = saslHandshake;
  const authenticate = (connection: KafkaConnection, token: string) =>
    saslAuthenticate(connection, 1, Buffer.from(token));

  const switching = await open();
  await handshake(switching, 'PLAIN');
  assert.equal((await authenticate(switching, '\0alice\0alice-secret')).errorCode, ErrorCode.NONE);
  await handshake(switching, 'PLAIN');
  assert.equal(
    (await authenticate(switching, '\0bob\0bob-secret')).errorCode,
    ErrorCode.SASL_AUTHENTICATION_FAILED,
  );
  await assert.rejects(handshake(switching, 'PLAIN'), /connection closed/);

  const unsupported = await open();
  const refused = await handshake(unsupported, 'SCRAM-SHA-512');
  assert.equal(refused.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
  assert.deepEqual(refused.mechanisms, ['PLAIN', 'SCRAM-SHA-256']);
  await assert.rejects(handshake(unsupported, 'PLAIN'), /connection closed/);

  for (const malformed of [
    'n,,r=no-user',
    'p=tls-unique,,n=alice,r=abc',
    'n,,n=al=ice,r=abc',
    '',
  ]) {
    const connection = await open();
    await handshake(connection, 'SCRAM-SHA-256');
    const answer = await authenticate(connection, malformed);
    assert.equal(answer.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, malformed);
    await assert.rejects(handshake(connection, 'PLAIN'), /connection closed/);
  }
});
