// Real Kafka clients against SSL, SASL_PLAINTEXT and SASL_SSL listeners: kcat and
// python3-confluent-kafka (librdkafka), kafka-python and kafkajs. Each produces and reads back
// records authenticated, and each reports its own authentication error for a wrong password.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { requireClient, runChecked, runProcess, systemPython } from '../helpers/clients.js';
import { makeTestCertificates, type TestCertificates } from './certificates.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const { Kafka, logLevel } = kafkajs;

let broker: Broker;
let certificates: TestCertificates;
let directory: string;
let mtlsBroker: Broker;
const address = (name: string, on: Broker = broker) =>
  `127.0.0.1:${on.listeners.find((listener) => listener.name === name)!.port}`;

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'brook-secure-clients-'));
  certificates = makeTestCertificates(directory);
  const settings = {
    'ssl.keystore.location': certificates.serverKeystoreLocation,
    'ssl.truststore.location': certificates.caLocation,
    'connection.failed.authentication.delay.ms': 10,
  };
  broker = await startBroker({
    listeners:
      'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    settings,
  });
  mtlsBroker = await startBroker({
    listeners: 'SSL://127.0.0.1:0',
    settings: { ...settings, 'ssl.client.auth': 'required' },
  });
  const admin = new AdminClient({
    bootstrapServer: address('PLAINTEXT'),
    clientId: 'admin',
    requestTimeoutMs: 10_000,
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-512', 'alice-secret');
});

after(async () => {
  await broker?.stop();
  await mtlsBroker?.stop();
  rmSync(directory, { recursive: true, force: true });
});

const values = ['first', 'second', 'third'];

interface PythonOutcome {
  consumed?: string[];
  error?: string;
  message?: string;
}

async function python(
  library: 'confluent' | 'kafka-python',
  bootstrap: string,
  topic: string,
  config: Record<string, unknown>,
): Promise<PythonOutcome> {
  const stdout = await runChecked(
    systemPython,
    [join(import.meta.dirname, 'python', 'secure_client.py')],
    {
      input: JSON.stringify({ library, bootstrap, topic, config, values }),
      timeoutMs: 120_000,
    },
  );
  return JSON.parse(stdout) as PythonOutcome;
}

test('kcat produces and consumes over SSL, SASL_SSL with PLAIN and SCRAM-SHA-512; a wrong password is an authentication error', async (t) => {
  if (!requireClient(t, 'kcat')) return;
  const ca = `ssl.ca.location=${certificates.caLocation}`;
  const cases: Array<[string, string, string[]]> = [
    ['kcat-ssl', address('SSL'), ['security.protocol=ssl', ca]],
    [
      'kcat-plain',
      address('SASL_SSL'),
      [
        'security.protocol=sasl_ssl',
        ca,
        'sasl.mechanisms=PLAIN',
        'sasl.username=alice',
        'sasl.password=alice-secret',
      ],
    ],
    [
      'kcat-scram',
      address('SASL_SSL'),
      [
        'security.protocol=sasl_ssl',
        ca,
        'sasl.mechanisms=SCRAM-SHA-512',
        'sasl.username=alice',
        'sasl.password=alice-secret',
      ],
    ],
  ];
  for (const [topic, bootstrap, options] of cases) {
    const settings = options.flatMap((option) => ['-X', option]);
    await runChecked('kcat', ['-b', bootstrap, ...settings, '-P', '-t', topic], {
      input: values.join('\n') + '\n',
      timeoutMs: 60_000,
    });
    const read = await runChecked(
      'kcat',
      ['-b', bootstrap, ...settings, '-C', '-t', topic, '-o', 'beginning', '-e', '-q'],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(read.trim().split('\n'), values, topic);
  }
  const wrong = await runProcess(
    'kcat',
    [
      '-b',
      address('SASL_SSL'),
      '-X',
      'security.protocol=sasl_ssl',
      '-X',
      ca,
      '-X',
      'sasl.mechanisms=SCRAM-SHA-256',
      '-X',
      'sasl.username=alice',
      '-X',
      'sasl.password=wrong',
      '-m',
      '10',
      '-L',
    ],
    { timeoutMs: 60_000 },
  );
  assert.notEqual(wrong.exitCode, 0);
  assert.match(wrong.stderr, /Authentication failed|SASL authentication error/);
});

test('python3-confluent-kafka: SSL, mutual TLS, SASL_SSL PLAIN and SCRAM; a wrong password is _AUTHENTICATION', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const client = certificates.client('alice');
  const ssl = { 'security.protocol': 'SSL', 'ssl.ca.location': certificates.caLocation };
  const sasl = (mechanism: string, password: string) => ({
    'security.protocol': 'SASL_SSL',
    'ssl.ca.location': certificates.caLocation,
    'sasl.mechanisms': mechanism,
    'sasl.username': 'alice',
    'sasl.password': password,
  });
  assert.deepEqual(await python('confluent', address('SSL'), 'ck-ssl', ssl), { consumed: values });
  assert.deepEqual(
    await python('confluent', address('SSL', mtlsBroker), 'ck-mtls', {
      ...ssl,
      'ssl.certificate.location': client.certificate,
      'ssl.key.location': client.key,
    }),
    { consumed: values },
  );
  assert.deepEqual(
    await python('confluent', address('SASL_SSL'), 'ck-plain', sasl('PLAIN', 'alice-secret')),
    { consumed: values },
  );
  assert.deepEqual(
    await python(
      'confluent',
      address('SASL_SSL'),
      'ck-scram',
      sasl('SCRAM-SHA-256', 'alice-secret'),
    ),
    { consumed: values },
  );
  const wrong = await python(
    'confluent',
    address('SASL_SSL'),
    'ck-wrong',
    sasl('SCRAM-SHA-512', 'wrong'),
  );
  assert.equal(wrong.error, '_AUTHENTICATION', JSON.stringify(wrong));
  // Without a client certificate, the mutual-TLS listener lets nothing through.
  const anonymous = await python('confluent', address('SSL', mtlsBroker), 'ck-no-cert', ssl);
  assert.ok(anonymous.error !== undefined, JSON.stringify(anonymous));
});

test('kafka-python: SSL, SASL PLAIN and SCRAM (bare tokens after SaslHandshake v0); a wrong password is refused', async (t) => {
  if (!requireClient(t, 'kafka-python')) return;
  const sasl = (mechanism: string, password: string) => ({
    security_protocol: 'SASL_SSL',
    ssl_cafile: certificates.caLocation,
    sasl_mechanism: mechanism,
    sasl_plain_username: 'alice',
    sasl_plain_password: password,
  });
  assert.deepEqual(
    await python('kafka-python', address('SSL'), 'kp-ssl', {
      security_protocol: 'SSL',
      ssl_cafile: certificates.caLocation,
    }),
    { consumed: values },
  );
  assert.deepEqual(
    await python('kafka-python', address('SASL_SSL'), 'kp-plain', sasl('PLAIN', 'alice-secret')),
    { consumed: values },
  );
  assert.deepEqual(
    await python(
      'kafka-python',
      address('SASL_SSL'),
      'kp-scram',
      sasl('SCRAM-SHA-512', 'alice-secret'),
    ),
    { consumed: values },
  );
  assert.deepEqual(
    await python('kafka-python', address('SASL_PLAINTEXT'), 'kp-scram-plaintext', {
      ...sasl('SCRAM-SHA-256', 'alice-secret'),
      security_protocol: 'SASL_PLAINTEXT',
    }),
    { consumed: values },
  );
  // kafka-python 2.0.2 sends bare tokens, so a refusal is the broker closing the connection
  // (as Kafka does); the producer then finds no broker it can use.
  const wrong = await python(
    'kafka-python',
    address('SASL_SSL'),
    'kp-wrong',
    sasl('PLAIN', 'wrong'),
  );
  assert.ok(
    ['NoBrokersAvailable', 'KafkaConnectionError', 'AuthenticationFailedError'].includes(
      wrong.error ?? '',
    ),
    JSON.stringify(wrong),
  );
});

test('kafkajs: ssl, plain, scram-sha-256 and scram-sha-512; a wrong password is KafkaJSSASLAuthenticationError', async () => {
  const ssl = { ca: [readFileSync(certificates.caLocation, 'utf8')] };
  const client = (bootstrap: string, extra: object) =>
    new Kafka({
      clientId: 'kafkajs-secure',
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 5_000,
      retry: { retries: 2, initialRetryTime: 100 },
      ...extra,
    });
  const roundTrip = async (topic: string, kafka: InstanceType<typeof Kafka>) => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const consumed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${topic}: read ${consumed.length} records`)),
        60_000,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          consumed.push(message.value!.toString());
          if (consumed.length === values.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    assert.deepEqual(consumed, values, topic);
  };
  await roundTrip('kj-ssl', client(address('SSL'), { ssl }));
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    await roundTrip(
      `kj-${mechanism}`,
      client(address('SASL_SSL'), {
        ssl,
        sasl: { mechanism, username: 'alice', password: 'alice-secret' },
      }),
    );
  }
  await roundTrip(
    'kj-sasl-plaintext',
    client(address('SASL_PLAINTEXT'), {
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
    }),
  );
  const wrong = client(address('SASL_SSL'), {
    ssl,
    sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'wrong' },
  }).admin();
  await assert.rejects(wrong.connect(), (error: Error) => {
    assert.equal(error.name, 'KafkaJSSASLAuthenticationError', error.message);
    return true;
  });
});
