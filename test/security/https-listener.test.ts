// The HTTP endpoint over TLS: an https:// address of http.listeners, served with the ssl.*
// settings (or listener.name.https.*), client certificates mapped to principals as on an SSL
// Kafka listener and checked against the same ACLs. Real HTTPS requests against real brokers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { ConfigError } from '../../src/config/errors.js';
import { AclOperation, ResourceType } from '../../src/security/acl.js';
import type { ServerLogger } from '../../src/server/index.js';
import { allowed } from '../helpers/acls.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { makeTestCertificates } from './certificates.js';

interface HttpsAnswer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  /** The server certificate's subject CN and the TLS version, as the client saw them. */
  readonly serverName: string;
  readonly protocol: string | null;
}

interface ClientCertificate {
  readonly certificate: string;
  readonly key: string;
}

/** One HTTPS request on a fresh connection, trusting `caLocation`, with a client certificate if given. */
function httpsCall(
  port: number,
  path: string,
  options: {
    caLocation: string;
    client?: ClientCertificate;
    method?: string;
    body?: unknown;
    /** user:password for HTTP Basic. */
    basic?: string;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        ca: readFileSync(options.caLocation),
        cert: options.client === undefined ? undefined : readFileSync(options.client.certificate),
        key: options.client === undefined ? undefined : readFileSync(options.client.key),
        agent: false,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.basic === undefined
            ? {}
            : { authorization: `Basic ${Buffer.from(options.basic).toString('base64')}` }),
        },
        timeout: 10_000,
      },
      (response) => {
        const socket = response.socket as TLSSocket;
        const serverName = String(socket.getPeerCertificate().subject?.CN ?? '');
        const protocol = socket.getProtocol();
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            // Not JSON (the console's pages): kept as text.
          }
          resolve({ status: response.statusCode ?? 0, body: parsed, serverName, protocol });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('HTTPS request timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

/** A plain HTTP request to a TLS port: dropped at the handshake, no HTTP answer at all. */
async function plainRequestFails(port: number): Promise<void> {
  await assert.rejects(
    new Promise((resolve, reject) => {
      const request = httpRequest(
        { host: '127.0.0.1', port, path: '/healthz', agent: false },
        resolve,
      );
      request.on('error', reject);
      request.end();
    }),
  );
}

function capturingLogger(): ServerLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    info: () => undefined,
    warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
    error: () => undefined,
  };
}

test('an https:// address of http.listeners serves the endpoint over TLS with its listener.name.https keystore; plain HTTP to it gets no answer', async (t) => {
  const certificates = makeTestCertificates(temporaryDirectory(t));
  const broker = await startBroker({
    settings: {
      'http.listeners': 'https://127.0.0.1:0',
      'listener.name.https.ssl.keystore.location': certificates.serverKeystoreLocation,
    },
  });
  t.after(() => broker.stop());
  const [listener] = broker.httpListeners;
  assert.equal(listener.name, 'HTTPS');

  const health = await httpsCall(listener.port, '/healthz', {
    caLocation: certificates.caLocation,
  });
  assert.equal(health.status, 200);
  assert.equal(health.serverName, 'localhost');
  assert.match(health.protocol ?? '', /^TLSv1\.[23]$/);
  const metrics = await httpsCall(listener.port, '/metrics', {
    caLocation: certificates.caLocation,
  });
  assert.equal(metrics.status, 200);

  // A client that does not speak TLS is dropped at the handshake: no HTTP answer at all.
  await plainRequestFails(listener.port);
  // And a client that does not trust the CA refuses the server.
  const strangers = makeTestCertificates(temporaryDirectory(t));
  await assert.rejects(
    httpsCall(listener.port, '/healthz', { caLocation: strangers.caLocation }),
    /self[- ]signed|unable to verify|certificate/i,
  );
});

test('over HTTPS a client certificate is the principal (ssl.principal.mapping.rules) and the ACLs decide; an untrusted one is 401', async (t) => {
  const certificates = makeTestCertificates(temporaryDirectory(t));
  const admin = certificates.client('admin', 'eng');
  const alice = certificates.client('alice', 'eng');
  const bob = certificates.client('bob', 'sales');
  const stranger = makeTestCertificates(temporaryDirectory(t)).client('alice', 'eng');
  const logger = capturingLogger();
  const auditFile = join(temporaryDirectory(t), 'audit.log');
  const broker = await startBroker({
    listeners: 'SSL://127.0.0.1:0',
    logger,
    settings: {
      'http.listeners': 'https://127.0.0.1:0,http://127.0.0.1:0',
      'ssl.keystore.location': certificates.serverKeystoreLocation,
      'ssl.truststore.location': certificates.caLocation,
      'ssl.client.auth': 'requested',
      'ssl.principal.mapping.rules': 'RULE:^CN=([a-z]+),OU=eng,O=Brook$/$1/, DEFAULT',
      'authorizer.enabled': true,
      'super.users': 'User:admin',
      'console.writes.enabled': true,
      'audit.log.file': auditFile,
    },
  });
  t.after(() => broker.stop());
  const https = broker.httpListeners.find((listener) => listener.name === 'HTTPS')!;
  const http = broker.httpListeners.find((listener) => listener.name === 'HTTP')!;

  // The plain address carries Basic passwords in clear: said once at start, for it alone.
  const clearWarnings = logger.warnings.filter((line) => line.includes('in clear'));
  assert.equal(clearWarnings.length, 1, clearWarnings.join('\n'));
  assert.match(clearWarnings[0], new RegExp(`http://127\\.0\\.0\\.1:${http.port}`));

  // The admin's certificate opens the SSL Kafka listener as User:admin, a super user.
  const kafkaAdmin = new AdminClient({
    bootstrapServer: `127.0.0.1:${broker.listeners[0].port}`,
    clientId: 'admin',
    requestTimeoutMs: 10_000,
    security: {
      tls: {
        ca: readFileSync(certificates.caLocation),
        cert: readFileSync(admin.certificate),
        key: readFileSync(admin.key),
      },
    },
  });
  for (const name of ['orders', 'secret']) {
    await kafkaAdmin.createTopic(
      { name, partitions: 1, replicationFactor: 1, configs: new Map() },
      10_000,
      false,
    );
  }
  await kafkaAdmin.createAcls([
    allowed('User:alice', ResourceType.TOPIC, 'orders', AclOperation.WRITE),
    allowed('User:alice', ResourceType.TOPIC, 'orders', AclOperation.DESCRIBE),
  ]);

  const produce = (topic: string, client?: ClientCertificate, basic?: string) =>
    httpsCall(https.port, '/ui/api/produce', {
      caLocation: certificates.caLocation,
      client,
      method: 'POST',
      body: { topic, value: 'over https' },
      basic,
    });
  const topics = async (client?: ClientCertificate) =>
    (
      (
        await httpsCall(https.port, '/ui/api/topics', {
          caLocation: certificates.caLocation,
          client,
        })
      ).body as { name: string }[]
    ).map((topic) => topic.name);

  assert.equal((await produce('orders', alice)).status, 200);
  const refused = await produce('secret', alice);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.title, 'TOPIC_AUTHORIZATION_FAILED');
  assert.deepEqual(await topics(alice), ['orders']);
  // bob's OU matches no rule but DEFAULT: his principal is his whole DN, which no ACL names.
  assert.equal((await produce('orders', bob)).status, 403);
  // Without a certificate the caller is User:ANONYMOUS.
  assert.equal((await produce('orders')).status, 403);
  assert.deepEqual(await topics(), []);
  // A certificate from another CA is refused outright, even with alice's name in it.
  const untrusted = await produce('orders', stranger);
  assert.equal(untrusted.status, 401);
  assert.match(untrusted.body.error, /not trusted/);

  // An Authorization header wins over the certificate, both ways.
  await kafkaAdmin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  assert.equal((await produce('orders', bob, 'alice:alice-secret')).status, 200);
  assert.equal((await produce('orders', alice, 'alice:wrong')).status, 401);
  // A certificate that is not trusted is refused even with a good password beside it.
  assert.equal((await produce('orders', stranger, 'alice:alice-secret')).status, 401);

  // Refused certificates and failed handshakes are audit lines, as on a Kafka listener.
  await plainRequestFails(https.port);
  await waitFor(() => {
    const lines = existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '';
    return lines.includes('"api":"TlsHandshake"') && lines.includes('HttpClientCertificate');
  }, 'audit lines for the refused certificate and the failed handshake');

  assert.equal(await kafkaAdmin.listOffset({ topic: 'orders', partition: 0, timestamp: -1n }), 2n);
  assert.equal(await kafkaAdmin.listOffset({ topic: 'secret', partition: 0, timestamp: -1n }), 0n);
});

test('an https:// address whose key cannot be read stops the start with an error naming the setting and the file', async (t) => {
  const directory = temporaryDirectory(t);
  const certificates = makeTestCertificates(directory);
  const broken = join(directory, 'broken-keystore.pem');
  const certificate = readFileSync(join(directory, 'server.pem'), 'utf8');
  writeFileSync(
    broken,
    `-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n${certificate}`,
  );
  const error = await startBroker({
    settings: {
      'http.listeners': 'https://127.0.0.1:0',
      'ssl.keystore.location': certificates.serverKeystoreLocation,
      'listener.name.https.ssl.keystore.location': broken,
    },
  }).then(
    async (broker) => {
      await broker.stop();
      return null;
    },
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof ConfigError, String(error));
  assert.equal(error.setting, 'listener.name.https.ssl.keystore.location');
  assert.match(error.message, /https:\/\/ in http\.listeners/);
  assert.ok(error.message.includes(broken), error.message);

  // Without any keystore the config itself says what is missing.
  await assert.rejects(
    startBroker({ settings: { 'http.listeners': 'https://127.0.0.1:0' } }),
    /https:\/\/ address, which needs ssl\.keystore\.location/,
  );
});
