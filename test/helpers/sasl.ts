// What SASL tests share: a broker with a SASL_PLAINTEXT listener beside a PLAINTEXT one to manage
// users through, a Metadata request as a given user, and the SASL exchanges written out request by
// request, over Brook's client connection or as raw frames on the wire client (for what a real
// client would not send: bare v0 tokens, oversized frames, requests before authentication).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaClientError, KafkaConnection } from '../../src/client/kafka-connection.js';
import type { SaslCredentials } from '../../src/client/sasl-client.js';
import type { SettingsInput } from '../../src/config/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { SaslAuthenticateResponse } from '../../src/protocol/generated/sasl-authenticate.js';
import type { SaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.js';
import { type WireClient, requestFrame } from './wire-client.js';
import { codecsOf } from './codecs.js';

/** host:port of the broker's listener called `name` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL). */
export function listenerAddress(broker: Broker, name: string): string {
  const listener = broker.listeners.find((candidate) => candidate.name === name);
  if (listener === undefined) throw new Error(`the broker has no ${name} listener`);
  return `127.0.0.1:${listener.port}`;
}

/** Brook's admin client at `address`, to create and delete users. */
export function adminAt(address: string): AdminClient {
  return new AdminClient({ bootstrapServer: address, clientId: 'admin', requestTimeoutMs: 10_000 });
}

export interface SaslBroker {
  readonly broker: Broker;
  /** An admin client on the PLAINTEXT listener. */
  readonly admin: AdminClient;
  /** host:port of the SASL_PLAINTEXT listener. */
  readonly sasl: string;
  readonly logDir: string;
}

/**
 * A broker with a PLAINTEXT listener (first, to create users through) and a SASL_PLAINTEXT one,
 * failed authentications answered at once unless `settings` say otherwise; stopped and its log
 * directory removed after the test.
 */
export async function startSaslBroker(
  t: TestContext,
  settings: SettingsInput = {},
): Promise<SaslBroker> {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-sasl-'));
  const broker = await startBroker({
    logDirs: logDir,
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    settings: { 'connection.failed.authentication.delay.ms': 0, ...settings },
  });
  t.after(async () => {
    await broker.stop();
    rmSync(logDir, { recursive: true, force: true });
  });
  return {
    broker,
    admin: adminAt(listenerAddress(broker, 'PLAINTEXT')),
    sasl: listenerAddress(broker, 'SASL_PLAINTEXT'),
    logDir,
  };
}

/** Metadata (all topics) on a connection authenticated with `credentials`. */
export async function metadataAs(
  address: string,
  credentials: SaslCredentials,
): Promise<MetadataResponse> {
  const connection = await KafkaConnection.open(address, {
    clientId: 'sasl',
    sasl: credentials,
    requestTimeoutMs: 10_000,
  });
  try {
    return await connection.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
  } finally {
    connection.close();
  }
}

/** The Kafka error code a failed authentication was refused with, if it was one. */
export function authenticationError(error: unknown): number | undefined {
  return error instanceof KafkaClientError ? error.kafkaErrorCode : undefined;
}

/** A PLAIN token: no authorization id, the user, the password. */
export function plainToken(username: string, password: string): Buffer {
  return Buffer.from(`\0${username}\0${password}`);
}

/** SaslHandshake v1 on a connection that has not authenticated (or is about to re-authenticate). */
export function saslHandshake(
  connection: KafkaConnection,
  mechanism: string,
): Promise<SaslHandshakeResponse> {
  return connection.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, { mechanism });
}

/** SaslAuthenticate at `apiVersion` with one token. */
export function saslAuthenticate(
  connection: KafkaConnection,
  apiVersion: number,
  authBytes: Buffer,
): Promise<SaslAuthenticateResponse> {
  return connection.request<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, apiVersion, {
    authBytes,
  });
}

/** Sends one request frame on the wire client, its body encoded by the generated codec. */
export function sendRequest(
  client: WireClient,
  header: { apiKey: ApiKey; apiVersion: number; correlationId: number },
  body: object,
): Promise<void> {
  const codec = codecsOf(header.apiKey);
  return client.send(
    requestFrame(header, (writer) =>
      codec.request.encode(writer, header.apiVersion, body as never),
    ),
  );
}

/** SaslHandshake (correlation id 1) on the wire client; resolves once it is answered. */
export async function handshakeOnWire(
  client: WireClient,
  apiVersion: number,
  mechanism: string,
): Promise<void> {
  await sendRequest(
    client,
    { apiKey: ApiKey.SaslHandshake, apiVersion, correlationId: 1 },
    {
      mechanism,
    },
  );
  await client.nextFrame();
}
