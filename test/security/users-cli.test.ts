import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { runBrook } from '../helpers/brook-cli.js';
import { makeTestCertificates } from './certificates.js';

test('the first user is created offline; brook users and brook topics then work over SASL_SSL with --command-config', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'brook-users-'));
  const logDir = join(directory, 'data');
  const certificates = makeTestCertificates(directory);
  writeFileSync(join(directory, 'admin-password'), 'admin-secret\n');

  const offline = await runBrook([
    'users',
    'create',
    '--log-dirs',
    logDir,
    '--user',
    'admin',
    '--password-file',
    join(directory, 'admin-password'),
  ]);
  assert.equal(offline.exitCode, 0, offline.stderr);
  assert.match(offline.stdout, /user admin: SCRAM-SHA-256, SCRAM-SHA-512 credentials set/);

  const broker = await startBroker({
    logDirs: logDir,
    listeners: 'SASL_SSL://127.0.0.1:0',
    settings: {
      'ssl.keystore.location': certificates.serverKeystoreLocation,
      'connection.failed.authentication.delay.ms': 0,
    },
  });
  t.after(async () => {
    await broker.stop();
    rmSync(directory, { recursive: true, force: true });
  });
  const bootstrap = `127.0.0.1:${broker.listeners[0].port}`;
  const properties = (password: string, mechanism = 'SCRAM-SHA-512') => {
    const path = join(directory, `client-${password}-${mechanism}.properties`);
    writeFileSync(
      path,
      [
        'security.protocol=SASL_SSL',
        `sasl.mechanism=${mechanism}`,
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${password}";`,
        `ssl.truststore.location=${certificates.caLocation}`,
      ].join('\n'),
    );
    return path;
  };
  const asAdmin = ['--bootstrap-server', bootstrap, '--command-config', properties('admin-secret')];

  // While the broker holds the log directory, the offline mode refuses to touch it.
  const locked = await runBrook(['users', 'list', '--log-dirs', logDir]);
  assert.equal(locked.exitCode, 1);
  assert.match(locked.stderr, /BROOK_LOG_DIRECTORY_LOCKED/);

  const create = await runBrook([
    'users',
    'create',
    '--user',
    'alice',
    '--password',
    'alice-secret',
    '--mechanism',
    'SCRAM-SHA-256',
    ...asAdmin,
  ]);
  assert.equal(create.exitCode, 0, create.stderr);
  const list = await runBrook(['users', 'list', '--output', 'json', ...asAdmin]);
  assert.equal(list.exitCode, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout), [
    {
      user: 'admin',
      credentials: [
        { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
        { mechanism: 'SCRAM-SHA-512', iterations: 4096 },
      ],
    },
    { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] },
  ]);
  const topics = await runBrook([
    'topics',
    'create',
    '--topic',
    'orders',
    '--partitions',
    '2',
    ...asAdmin,
  ]);
  assert.equal(topics.exitCode, 0, topics.stderr);
  const groups = await runBrook(['groups', 'list', ...asAdmin]);
  assert.equal(groups.exitCode, 0, groups.stderr);

  const alice = await KafkaConnection.open(bootstrap, {
    clientId: 'alice',
    tls: { ca: readFileSync(certificates.caLocation) },
    sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' },
  });
  alice.close();

  const wrong = await runBrook([
    'topics',
    'list',
    '--bootstrap-server',
    bootstrap,
    '--command-config',
    properties('wrong'),
  ]);
  assert.equal(wrong.exitCode, 1);
  assert.match(wrong.stderr, /SASL_AUTHENTICATION_FAILED|invalid credentials/);
  assert.match(wrong.stderr, /BROOK_CLI_KAFKA_ERROR/);
  assert.doesNotMatch(wrong.stderr + wrong.stdout, /wrong"|password="/);

  const remove = await runBrook(['users', 'delete', '--user', 'alice', ...asAdmin]);
  assert.equal(remove.exitCode, 0, remove.stderr);
  await assert.rejects(
    KafkaConnection.open(bootstrap, {
      clientId: 'alice',
      tls: { ca: readFileSync(certificates.caLocation) },
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
    }),
    (error: { kafkaErrorCode?: number }) =>
      error.kafkaErrorCode === ErrorCode.SASL_AUTHENTICATION_FAILED,
  );
});

test('brook users refuses bad arguments with a usage error', async () => {
  const noPassword = await runBrook(['users', 'create', '--user', 'alice']);
  assert.equal(noPassword.exitCode, 2);
  assert.match(noPassword.stderr, /--password/);
  const badMechanism = await runBrook([
    'users',
    'create',
    '--user',
    'alice',
    '--password',
    'x',
    '--mechanism',
    'MD5',
  ]);
  assert.equal(badMechanism.exitCode, 2);
  assert.match(badMechanism.stderr, /SCRAM-SHA-256 or SCRAM-SHA-512/);
  const fewIterations = await runBrook([
    'users',
    'create',
    '--user',
    'alice',
    '--password',
    'x',
    '--iterations',
    '10',
  ]);
  assert.equal(fewIterations.exitCode, 2);
  const missingConfig = await runBrook([
    'users',
    'list',
    '--command-config',
    '/nonexistent/client.properties',
  ]);
  assert.equal(missingConfig.exitCode, 2);
  assert.match(missingConfig.stderr, /--command-config \/nonexistent\/client.properties/);
});
