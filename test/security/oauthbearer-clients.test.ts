// Real clients authenticating with OAUTHBEARER and tokens the test signs: librdkafka
// (python3-confluent-kafka with an oauth_cb) and kafkajs (oauthBearerProvider) produce and read
// back records; an expired, wrong-issuer, wrong-audience or badly signed token is each client's
// own authentication error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { requireClient, runChecked, systemPython } from '../helpers/clients.js';
import {
  type SigningKey,
  makeSigningKey,
  signToken,
  testAudience,
  testIssuer,
  writeJwks,
} from './tokens.js';

const { Kafka, logLevel } = kafkajs;

let broker: Broker;
let directory: string;
let rsa: SigningKey;
let ec: SigningKey;
let stranger: SigningKey;
let bootstrap: string;

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'brook-oauth-clients-'));
  rsa = makeSigningKey('rsa-1', 'RS256');
  ec = makeSigningKey('ec-1', 'ES256');
  stranger = makeSigningKey('rsa-1', 'RS256');
  broker = await startBroker({
    logDirs: join(directory, 'logs'),
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    settings: {
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'sasl.oauthbearer.jwks.endpoint.url': writeJwks(directory, [rsa, ec]),
      'sasl.oauthbearer.expected.issuer': testIssuer,
      'sasl.oauthbearer.expected.audience': testAudience,
      'connection.failed.authentication.delay.ms': 10,
    },
  });
  bootstrap = `127.0.0.1:${broker.listeners[0].port}`;
});

after(async () => {
  await broker?.stop();
  rmSync(directory, { recursive: true, force: true });
});

const values = ['first', 'second', 'third'];

/** The tokens every client must refuse to get through, by what is wrong with them. */
function refusedTokens(): Array<[string, ReturnType<typeof signToken>]> {
  return [
    ['expired', signToken(rsa, { expiresInSeconds: -3600 })],
    ['wrong issuer', signToken(rsa, { issuer: 'https://elsewhere.test' })],
    ['wrong audience', signToken(rsa, { audience: 'someone-else' })],
    ['bad signature', signToken(stranger)],
  ];
}

interface PythonOutcome {
  consumed?: string[];
  error?: string;
  message?: string;
}

async function confluent(
  topic: string,
  token: ReturnType<typeof signToken>,
): Promise<PythonOutcome> {
  const stdout = await runChecked(
    systemPython,
    [join(import.meta.dirname, 'python', 'secure_client.py')],
    {
      input: JSON.stringify({
        library: 'confluent',
        bootstrap,
        topic,
        values,
        config: { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'OAUTHBEARER' },
        // librdkafka itself will not send a token it is told has expired; the broker must catch
        // one whose expiry the client has wrong, so the callback never reports one in the past.
        oauth_token: {
          value: token.token,
          expires_at_seconds: Math.max(token.expiresAtSeconds, Date.now() / 1000 + 300),
        },
      }),
      timeoutMs: 120_000,
    },
  );
  return JSON.parse(stdout) as PythonOutcome;
}

test('librdkafka (confluent-kafka, oauth_cb) produces and consumes with RS256 and ES256 tokens; refused tokens are _AUTHENTICATION errors', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  for (const key of [rsa, ec]) {
    const outcome = await confluent(`oauth-librdkafka-${key.algorithm}`, signToken(key));
    assert.deepEqual(outcome, { consumed: values }, key.algorithm);
  }
  for (const [what, token] of refusedTokens()) {
    const outcome = await confluent('oauth-librdkafka-refused', token);
    assert.equal(outcome.error, '_AUTHENTICATION', `${what}: ${JSON.stringify(outcome)}`);
    assert.match(outcome.message ?? '', /invalid_token/, what);
  }
});

function kafkajsClient(token: () => string) {
  return new Kafka({
    clientId: 'oauth-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token() }) },
  });
}

test('kafkajs (oauthBearerProvider) produces and consumes with a signed token; refused tokens are KafkaJSSASLAuthenticationError', async () => {
  const topic = 'oauth-kafkajs';
  const kafka = kafkajsClient(() => signToken(ec).token);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'oauth-kafkajs-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${consumed.length}`)), 30_000);
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
  assert.deepEqual(consumed, values);

  for (const [what, token] of refusedTokens()) {
    const refused = kafkajsClient(() => token.token).producer();
    await assert.rejects(refused.connect(), (error: Error) => {
      assert.equal(error.name, 'KafkaJSSASLAuthenticationError', `${what}: ${error.message}`);
      assert.match(error.message, /invalid_token/, what);
      return true;
    });
    await refused.disconnect();
  }
});
