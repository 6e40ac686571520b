// listener.name.<listener>.* on running brokers, checked with real clients: two SASL listeners
// offering different mechanisms (kafkajs), two TLS listeners with certificates from different CAs,
// one of them asking for client certificates (kcat, librdkafka).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { requireClient, runChecked, runProcess } from '../helpers/clients.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  adminAt,
  listenerAddress,
  plainToken,
  saslAuthenticate,
  saslHandshake,
} from '../helpers/sasl.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { makeTestCertificates } from './certificates.js';
import { makeSigningKey, signToken, testIssuer, writeJwks } from './tokens.js';

const { Kafka, logLevel } = kafkajs;

function kafkajsClient(bootstrap: string, extra: object): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: 'listener-settings',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { retries: 1, initialRetryTime: 100 },
    ...extra,
  });
}

async function listTopicsAs(
  broker: Broker,
  listener: string,
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512',
): Promise<string[]> {
  const admin = kafkajsClient(listenerAddress(broker, listener), {
    sasl: { mechanism, username: 'alice', password: 'alice-secret' },
  }).admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((topic) => !topic.startsWith('__'));
  } finally {
    await admin.disconnect();
  }
}

test('two SASL listeners offer the mechanisms their listener.name.*.sasl.enabled.mechanisms name, to kafkajs', async (t) => {
  const broker = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,CLIENTS://127.0.0.1:0,PARTNERS://127.0.0.1:0',
    settings: {
      'listener.security.protocol.map':
        'PLAINTEXT:PLAINTEXT,CLIENTS:SASL_PLAINTEXT,PARTNERS:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.clients.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
      'connection.failed.authentication.delay.ms': 0,
      'auto.create.topics.enable': true,
    },
  });
  t.after(() => broker.stop());
  const admin = adminAt(listenerAddress(broker, 'PLAINTEXT'));
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-512', 'alice-secret');
  await admin.createTopic(
    { name: 'orders', partitions: 1, replicationFactor: 1, configs: new Map() },
    10_000,
    false,
  );

  assert.deepEqual(await listTopicsAs(broker, 'CLIENTS', 'plain'), ['orders']);
  assert.deepEqual(await listTopicsAs(broker, 'CLIENTS', 'scram-sha-256'), ['orders']);
  assert.deepEqual(await listTopicsAs(broker, 'PARTNERS', 'scram-sha-512'), ['orders']);
  const refused = async (listener: string, mechanism: 'plain' | 'scram-sha-512') =>
    assert.rejects(listTopicsAs(broker, listener, mechanism), (error: Error) => {
      assert.match(
        `${error.name}: ${error.message}`,
        /does not support the requested SASL mechanism/,
        `${mechanism} on ${listener}`,
      );
      return true;
    });
  await refused('CLIENTS', 'scram-sha-512');
  await refused('PARTNERS', 'plain');

  // A produce and a read-back through the listener with its own mechanisms.
  const kafka = kafkajsClient(listenerAddress(broker, 'CLIENTS'), {
    sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
  });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', messages: [{ value: 'over PLAIN' }] });
  await producer.disconnect();
  assert.equal(await admin.listOffset({ topic: 'orders', partition: 0, timestamp: -1n }), 1n);
});

function kcat(bootstrap: string, options: string[], args: string[], input?: string) {
  const settings = options.flatMap((option) => ['-X', option]);
  return runChecked('kcat', ['-b', bootstrap, '-m', '15', ...settings, ...args], {
    input,
    timeoutMs: 60_000,
  });
}

test('two SSL listeners serve the certificates of their listener.name.*.ssl.* settings, one asking for client certificates, to kcat', async (t) => {
  if (!requireClient(t, 'kcat')) return;
  const directory = temporaryDirectory(t);
  mkdirSync(join(directory, 'public'));
  mkdirSync(join(directory, 'internal'));
  const publicCertificates = makeTestCertificates(join(directory, 'public'));
  const internalCertificates = makeTestCertificates(join(directory, 'internal'));
  const service = internalCertificates.client('service', 'eng');
  const broker = await startBroker({
    listeners: 'PUBLIC://127.0.0.1:0,INTERNAL://127.0.0.1:0',
    settings: {
      'listener.security.protocol.map': 'PUBLIC:SSL,INTERNAL:SSL',
      'ssl.keystore.location': publicCertificates.serverKeystoreLocation,
      'listener.name.internal.ssl.keystore.location':
        internalCertificates.encryptedServerKeystoreLocation,
      'listener.name.internal.ssl.key.password': internalCertificates.serverKeyPassword,
      'listener.name.internal.ssl.truststore.location': internalCertificates.caLocation,
      'listener.name.internal.ssl.client.auth': 'required',
      'auto.create.topics.enable': true,
    },
  });
  t.after(() => broker.stop());
  const publicAddress = listenerAddress(broker, 'PUBLIC');
  const internalAddress = listenerAddress(broker, 'INTERNAL');
  const trusting = (ca: string) => ['security.protocol=ssl', `ssl.ca.location=${ca}`];
  const withCertificate = [
    ...trusting(internalCertificates.caLocation),
    `ssl.certificate.location=${service.certificate}`,
    `ssl.key.location=${service.key}`,
  ];

  await kcat(publicAddress, trusting(publicCertificates.caLocation), ['-P', '-t', 'orders'], 'a\n');
  await kcat(internalAddress, withCertificate, ['-P', '-t', 'orders'], 'b\n');
  const consumed = await kcat(internalAddress, withCertificate, [
    '-C',
    '-t',
    'orders',
    '-o',
    'beginning',
    '-e',
    '-q',
  ]);
  assert.deepEqual(consumed.trim().split('\n'), ['a', 'b']);

  // Each listener presents its own certificate: a client trusting only the other CA fails.
  const fails = async (bootstrap: string, options: string[], what: string) => {
    const run = await runProcess(
      'kcat',
      ['-b', bootstrap, '-m', '5', ...options.flatMap((option) => ['-X', option]), '-L'],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(run.exitCode, 0, what);
  };
  await fails(publicAddress, trusting(internalCertificates.caLocation), 'public with internal CA');
  await fails(
    internalAddress,
    [
      ...trusting(publicCertificates.caLocation),
      `ssl.certificate.location=${service.certificate}`,
      `ssl.key.location=${service.key}`,
    ],
    'internal with public CA',
  );
  // INTERNAL requires a client certificate; PUBLIC, under the broker-wide ssl.client.auth, does not.
  await fails(internalAddress, trusting(internalCertificates.caLocation), 'internal without one');
});

test('listener.name.<listener>.<mechanism>.connections.max.reauth.ms sets the session lifetime on that listener only', async (t) => {
  const broker = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,PARTNERS://127.0.0.1:0',
    settings: {
      'listener.security.protocol.map':
        'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,PARTNERS:SASL_PLAINTEXT',
      'connections.max.reauth.ms': 60_000,
      'listener.name.partners.plain.connections.max.reauth.ms': 5_000,
    },
  });
  t.after(() => broker.stop());
  await adminAt(listenerAddress(broker, 'PLAINTEXT')).upsertUserScramCredential(
    'alice',
    'SCRAM-SHA-256',
    'alice-secret',
  );
  const plainLifetimeOn = async (listener: string) => {
    const connection = await KafkaConnection.open(listenerAddress(broker, listener), {
      clientId: 'reauth',
      requestTimeoutMs: 10_000,
    });
    try {
      assert.equal((await saslHandshake(connection, 'PLAIN')).errorCode, ErrorCode.NONE);
      const answer = await saslAuthenticate(connection, 2, plainToken('alice', 'alice-secret'));
      assert.equal(answer.errorCode, ErrorCode.NONE);
      return answer.sessionLifetimeMs;
    } finally {
      connection.close();
    }
  };
  // The lifetime left is counted from the session's start, so a loaded machine may answer a
  // millisecond or so less than the setting; each listener's own setting is what is checked.
  const partners = await plainLifetimeOn('PARTNERS');
  assert.ok(partners > 4000n && partners <= 5000n, `PARTNERS lifetime ${partners}`);
  const plain = await plainLifetimeOn('SASL_PLAINTEXT');
  assert.ok(plain > 59000n && plain <= 60000n, `SASL_PLAINTEXT lifetime ${plain}`);
});

test('two OAUTHBEARER listeners check the audience their listener.name settings name, with kafkajs', async (t) => {
  const directory = temporaryDirectory(t);
  const key = makeSigningKey('listener-key', 'RS256');
  const mechanisms = 'OAUTHBEARER';
  const broker = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,EMPLOYEES://127.0.0.1:0,PARTNERS://127.0.0.1:0',
    settings: {
      'listener.security.protocol.map':
        'PLAINTEXT:PLAINTEXT,EMPLOYEES:SASL_PLAINTEXT,PARTNERS:SASL_PLAINTEXT',
      'listener.name.employees.sasl.enabled.mechanisms': mechanisms,
      'listener.name.partners.sasl.enabled.mechanisms': mechanisms,
      'sasl.oauthbearer.jwks.endpoint.url': writeJwks(directory, [key]),
      'sasl.oauthbearer.expected.issuer': testIssuer,
      // The mechanism-prefixed form on one listener, the listener-wide form on the other.
      'listener.name.employees.oauthbearer.sasl.oauthbearer.expected.audience': 'employees',
      'listener.name.partners.sasl.oauthbearer.expected.audience': 'partners',
      'connection.failed.authentication.delay.ms': 0,
    },
  });
  t.after(() => broker.stop());
  const listTopicsWith = async (listener: string, audience: string) => {
    const { token } = signToken(key, { audience });
    const admin = kafkajsClient(listenerAddress(broker, listener), {
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) },
    }).admin();
    await admin.connect();
    try {
      return await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  };
  await listTopicsWith('EMPLOYEES', 'employees');
  await listTopicsWith('PARTNERS', 'partners');
  await assert.rejects(listTopicsWith('EMPLOYEES', 'partners'), /invalid_token|SASL/i);
  await assert.rejects(listTopicsWith('PARTNERS', 'employees'), /invalid_token|SASL/i);
});
