// listener.name.<listener>.<setting> changed at run time through AlterConfigs and
// IncrementalAlterConfigs, by real admin clients: certificate rotation on a Kafka SSL listener and
// on the HTTPS address (new connections get the new certificate, open ones keep working), a
// keystore that does not load refused with the old one kept, SASL mechanisms per listener.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { startBroker } from '../../src/broker.js';
import { AdminClient, ConfigResourceType } from '../../src/client/admin-client.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { requireClient, runChecked, systemPython } from '../helpers/clients.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { listenerAddress } from '../helpers/sasl.js';
import { makeTestCertificates } from './certificates.js';

// CommonJS package: its named exports are not visible to ESM imports.
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

/** Two certificate sets from different CAs: a client trusting one does not trust the other. */
function twoCertificateSets(t: { after(fn: () => void): void }) {
  const first = makeTestCertificates(temporaryDirectory(t));
  const secondDirectory = join(temporaryDirectory(t), 'second');
  mkdirSync(secondDirectory);
  return { first, second: makeTestCertificates(secondDirectory) };
}

/** Whether a new TLS connection to a Kafka listener trusting only `caLocation` is served. */
async function kafkaTlsConnects(address: string, caLocation: string): Promise<boolean> {
  try {
    const connection = await KafkaConnection.open(address, {
      clientId: 'rotation',
      requestTimeoutMs: 5_000,
      tls: { ca: readFileSync(caLocation) },
    });
    await connection.request(ApiKey.ApiVersions, 0, {});
    connection.close();
    return true;
  } catch {
    return false;
  }
}

test('kafkajs alterConfigs rotates an SSL listener certificate: new connections get it, an open one keeps working, and it survives a restart', async (t) => {
  const { first, second } = twoCertificateSets(t);
  const logDirs = temporaryDirectory(t);
  const listeners = 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0';
  const settings = { 'ssl.keystore.location': first.serverKeystoreLocation };
  const logged: string[] = [];
  const logger = {
    info: (message: string, fields?: object) => logged.push(message + JSON.stringify(fields)),
    warn: (message: string, fields?: object) => logged.push(message + JSON.stringify(fields)),
    error: (message: string, fields?: object) => logged.push(message + JSON.stringify(fields)),
  };
  let broker = await startBroker({ logDirs, listeners, settings, logger });
  t.after(() => broker.stop());
  let ssl = listenerAddress(broker, 'SSL');
  const kafka = new Kafka({
    clientId: 'rotator',
    brokers: [listenerAddress(broker, 'PLAINTEXT')],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const alter = (configEntries: Array<{ name: string; value: string }>) =>
    admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: String(broker.nodeId), configEntries }],
    });

  const open = await KafkaConnection.open(ssl, {
    clientId: 'open-before',
    requestTimeoutMs: 5_000,
    tls: { ca: readFileSync(first.caLocation) },
  });
  t.after(() => open.close());
  assert.equal(await kafkaTlsConnects(ssl, first.caLocation), true);
  assert.equal(await kafkaTlsConnects(ssl, second.caLocation), false);

  // The second key is encrypted: its password comes with it, and is never shown back.
  await alter([
    {
      name: 'listener.name.ssl.ssl.keystore.location',
      value: second.encryptedServerKeystoreLocation,
    },
    { name: 'listener.name.ssl.ssl.key.password', value: second.serverKeyPassword },
  ]);
  assert.equal(await kafkaTlsConnects(ssl, second.caLocation), true);
  assert.equal(await kafkaTlsConnects(ssl, first.caLocation), false);
  await open.request(ApiKey.ApiVersions, 0, {});

  const described = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(broker.nodeId) }],
  });
  const entries = described.resources[0].configEntries;
  const location = entries.find(
    (entry) => entry.configName === 'listener.name.ssl.ssl.keystore.location',
  );
  assert.equal(location?.configValue, second.encryptedServerKeystoreLocation);
  assert.equal(location?.readOnly, false);
  const password = entries.find(
    (entry) => entry.configName === 'listener.name.ssl.ssl.key.password',
  );
  assert.equal(password?.isSensitive, true);
  assert.equal(password?.configValue, null);
  assert.doesNotMatch(JSON.stringify(described), new RegExp(second.serverKeyPassword));

  // A keystore that does not load is refused with INVALID_CONFIG, saying why; the second stays.
  const broken = join(temporaryDirectory(t), 'broken.pem');
  writeFileSync(broken, 'not a PEM file\n');
  await assert.rejects(
    alter([
      { name: 'listener.name.ssl.ssl.keystore.location', value: broken },
      { name: 'listener.name.ssl.ssl.key.password', value: second.serverKeyPassword },
    ]),
    (error: Error & { type?: string }) => {
      assert.equal(error.type, 'INVALID_CONFIG', `${error.name}: ${error.message}`);
      return true;
    },
  );
  assert.equal(await kafkaTlsConnects(ssl, second.caLocation), true);
  // A wrong password is refused too, pointing at ssl.key.password without showing it.
  await assert.rejects(
    alter([
      {
        name: 'listener.name.ssl.ssl.keystore.location',
        value: second.encryptedServerKeystoreLocation,
      },
      { name: 'listener.name.ssl.ssl.key.password', value: 'not-the-password' },
    ]),
    (error: Error & { type?: string }) => {
      assert.equal(error.type, 'INVALID_CONFIG');
      assert.doesNotMatch(error.message, /not-the-password/);
      return true;
    },
  );
  assert.ok(logged.length > 0);
  for (const line of logged) {
    assert.ok(!line.includes(second.serverKeyPassword), line);
    assert.ok(!line.includes('not-the-password'), line);
  }
  const still = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      {
        type: ConfigResourceTypes.BROKER,
        name: String(broker.nodeId),
        configNames: ['listener.name.ssl.ssl.keystore.location'],
      },
    ],
  });
  assert.equal(
    still.resources[0].configEntries[0]?.configValue,
    second.encryptedServerKeystoreLocation,
  );

  // The rotated certificate is the listener's after a restart too.
  await admin.disconnect();
  open.close();
  await broker.stop();
  broker = await startBroker({ logDirs, listeners, settings });
  ssl = listenerAddress(broker, 'SSL');
  assert.equal(await kafkaTlsConnects(ssl, second.caLocation), true);
  assert.equal(await kafkaTlsConnects(ssl, first.caLocation), false);
  // Before the log directory is removed (cleanups run in the order they were registered).
  await broker.stop();
});

/** GET /healthz through `agent`; whether the request went over a socket used before. */
function healthOver(agent: Agent, port: number): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      { host: '127.0.0.1', port, path: '/healthz', agent, timeout: 10_000 },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, reused: request.reusedSocket }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('HTTPS request timed out')));
    request.on('error', reject);
    request.end();
  });
}

const pythonAlterConfigs = `
import sys
from confluent_kafka.admin import AdminClient, ConfigResource
bootstrap, broker_id, name, value = sys.argv[1:5]
admin = AdminClient({'bootstrap.servers': bootstrap})
resource = ConfigResource(ConfigResource.Type.BROKER, broker_id, set_config={name: value})
for future in admin.alter_configs([resource], request_timeout=15).values():
    try:
        future.result()
        print('ok')
    except Exception as error:
        print('refused', error.args[0].name(), error.args[0].str())
`;

test('python confluent-kafka alter_configs rotates the HTTPS certificate; a kept-alive connection still works', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const { first, second } = twoCertificateSets(t);
  const keystore = join(temporaryDirectory(t), 'https.pem');
  copyFileSync(first.serverKeystoreLocation, keystore);
  const broker = await startBroker({
    settings: {
      'http.listeners': 'https://127.0.0.1:0',
      'listener.name.https.ssl.keystore.location': keystore,
    },
  });
  t.after(() => broker.stop());
  const { port } = broker.httpListeners[0];
  const alter = async (value: string) =>
    (
      await runChecked(
        systemPython,
        [
          '-c',
          pythonAlterConfigs,
          broker.bootstrapServers,
          String(broker.nodeId),
          'listener.name.https.ssl.keystore.location',
          value,
        ],
        { timeoutMs: 60_000 },
      )
    ).trim();
  const agent = (caLocation: string) =>
    new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(caLocation) });
  const kept = agent(first.caLocation);
  t.after(() => kept.destroy());
  assert.deepEqual(await healthOver(kept, port), { status: 200, reused: false });

  const broken = join(temporaryDirectory(t), 'broken.pem');
  writeFileSync(broken, readFileSync(first.caLocation));
  const refused = await alter(broken);
  assert.match(refused, /^refused INVALID_CONFIG .*must hold one PEM private key/);

  assert.equal(await alter(second.serverKeystoreLocation), 'ok');
  const fresh = agent(second.caLocation);
  t.after(() => fresh.destroy());
  assert.deepEqual(await healthOver(fresh, port), { status: 200, reused: false });
  const stale = agent(first.caLocation);
  t.after(() => stale.destroy());
  await assert.rejects(healthOver(stale, port));
  // The connection opened before the rotation is still served, with the old certificate.
  assert.deepEqual(await healthOver(kept, port), { status: 200, reused: true });
});

test('IncrementalAlterConfigs changes one listener SASL mechanisms; settings fixed at start, and the cluster default, are refused', async (t) => {
  const broker = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
  });
  t.after(() => broker.stop());
  const admin = new AdminClient({
    bootstrapServer: listenerAddress(broker, 'PLAINTEXT'),
    clientId: 'reconfigure',
    requestTimeoutMs: 10_000,
  });
  t.after(() => admin.close());
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  const logsIn = async (mechanism: 'PLAIN' | 'SCRAM-SHA-256'): Promise<boolean> => {
    try {
      const connection = await KafkaConnection.open(listenerAddress(broker, 'SASL_PLAINTEXT'), {
        clientId: 'login',
        requestTimeoutMs: 5_000,
        sasl: { mechanism, username: 'alice', password: 'alice-secret' },
      });
      connection.close();
      return true;
    } catch {
      return false;
    }
  };
  assert.equal(await logsIn('PLAIN'), true);
  const open = await KafkaConnection.open(listenerAddress(broker, 'SASL_PLAINTEXT'), {
    clientId: 'open-before',
    requestTimeoutMs: 5_000,
    sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' },
  });
  t.after(() => open.close());

  const name = 'listener.name.sasl_plaintext.sasl.enabled.mechanisms';
  await admin.alterConfigs(ConfigResourceType.BROKER, String(broker.nodeId), {
    set: new Map([[name, 'SCRAM-SHA-256']]),
    delete: [],
  });
  assert.equal(await logsIn('PLAIN'), false);
  assert.equal(await logsIn('SCRAM-SHA-256'), true);
  await open.request(ApiKey.ApiVersions, 0, {});

  const refusal = async (resourceName: string, setting: string, value: string) => {
    const error = await admin
      .alterConfigs(ConfigResourceType.BROKER, resourceName, {
        set: new Map([[setting, value]]),
        delete: [],
      })
      .then(
        () => null,
        (thrown: unknown) => thrown as { kafkaErrorCode?: number; message: string },
      );
    assert.ok(error !== null, `${setting} on "${resourceName}" was accepted`);
    return error;
  };
  const fixed = await refusal(
    String(broker.nodeId),
    'listener.name.sasl_plaintext.connections.max.reauth.ms',
    '60000',
  );
  assert.match(fixed.message, /cannot be changed while the broker runs/);
  const clusterWide = await refusal('', name, 'PLAIN');
  assert.match(clusterWide.message, /set per broker/);
  const unprefixed = await refusal(String(broker.nodeId), 'ssl.keystore.location', '/x.pem');
  assert.match(unprefixed.message, /listener\.name\.<listener>\.ssl\.keystore\.location/);
  const oauth = await refusal(String(broker.nodeId), name, 'OAUTHBEARER');
  assert.equal(oauth.kafkaErrorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(await logsIn('SCRAM-SHA-256'), true);
});

test('ssl.client.auth changed to required on a running listener asks new connections for a certificate', async (t) => {
  const certificates = makeTestCertificates(temporaryDirectory(t));
  const alice = certificates.client('alice');
  const broker = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
    settings: {
      'ssl.keystore.location': certificates.serverKeystoreLocation,
      'ssl.truststore.location': certificates.caLocation,
    },
  });
  t.after(() => broker.stop());
  const admin = new AdminClient({
    bootstrapServer: listenerAddress(broker, 'PLAINTEXT'),
    clientId: 'reconfigure',
    requestTimeoutMs: 10_000,
  });
  t.after(() => admin.close());
  const ssl = listenerAddress(broker, 'SSL');
  const ca = readFileSync(certificates.caLocation);
  const served = async (client?: { certificate: string; key: string }): Promise<boolean> => {
    try {
      const connection = await KafkaConnection.open(ssl, {
        clientId: 'client-auth',
        requestTimeoutMs: 5_000,
        tls:
          client === undefined
            ? { ca }
            : { ca, cert: readFileSync(client.certificate), key: readFileSync(client.key) },
      });
      // TLS 1.3 reports a refused client certificate only after the handshake: ask something.
      await connection.request(ApiKey.ApiVersions, 0, {});
      connection.close();
      return true;
    } catch {
      return false;
    }
  };
  assert.equal(await served(), true);
  await admin.alterConfigs(ConfigResourceType.BROKER, String(broker.nodeId), {
    set: new Map([['listener.name.ssl.ssl.client.auth', 'required']]),
    delete: [],
  });
  assert.equal(await served(), false);
  assert.equal(await served(alice), true);
  await admin.alterConfigs(ConfigResourceType.BROKER, String(broker.nodeId), {
    set: new Map(),
    delete: ['listener.name.ssl.ssl.client.auth'],
  });
  assert.equal(await served(), true);
});
