import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBroker } from '../../src/broker.js';
import { runBrook } from '../helpers/brook-cli.js';

test('brook acls add, list and remove round-trip over SASL with --command-config, as a super user', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'brook-acls-cli-'));
  // The first user is created offline: with the authorizer on, only a super user may add users.
  writeFileSync(join(directory, 'admin-password'), 'admin-secret\n');
  const offline = await runBrook([
    'users',
    'create',
    '--log-dirs',
    join(directory, 'data'),
    '--user',
    'admin',
    '--password-file',
    join(directory, 'admin-password'),
  ]);
  assert.equal(offline.exitCode, 0, offline.stderr);
  const broker = await startBroker({
    logDirs: join(directory, 'data'),
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    settings: { 'authorizer.enabled': true, 'super.users': 'User:admin' },
  });
  t.after(async () => {
    await broker.stop();
    rmSync(directory, { recursive: true, force: true });
  });
  const plaintext = broker.listeners.find((listener) => listener.name === 'PLAINTEXT')!;
  const sasl = broker.listeners.find((listener) => listener.name === 'SASL_PLAINTEXT')!;
  const properties = join(directory, 'admin.properties');
  writeFileSync(
    properties,
    [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.username=admin',
      'sasl.password=admin-secret',
    ].join('\n'),
  );
  const asAdmin = ['--bootstrap-server', `127.0.0.1:${sasl.port}`, '--command-config', properties];

  const add = await runBrook([
    'acls',
    'add',
    '--allow-principal',
    'User:alice',
    '--operation',
    'Write',
    '--operation',
    'Describe',
    '--topic',
    'orders',
    ...asAdmin,
  ]);
  assert.equal(add.exitCode, 0, add.stderr);
  const prefixed = await runBrook([
    'acls',
    'add',
    '--deny-principal',
    'User:bob',
    '--deny-host',
    '10.0.0.1',
    '--operation',
    'All',
    '--topic',
    'ord',
    '--resource-pattern-type',
    'prefixed',
    ...asAdmin,
  ]);
  assert.equal(prefixed.exitCode, 0, prefixed.stderr);

  const list = await runBrook([
    'acls',
    'list',
    '--topic',
    'orders',
    '--resource-pattern-type',
    'match',
    '--output',
    'json',
    ...asAdmin,
  ]);
  assert.equal(list.exitCode, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as Record<string, string>[])
      .map(
        (acl) =>
          `${acl.patternType} ${acl.resourceName} ${acl.principal} ${acl.host} ${acl.operation} ${acl.permissionType}`,
      )
      .sort(),
    [
      'LITERAL orders User:alice * Describe Allow',
      'LITERAL orders User:alice * Write Allow',
      'PREFIXED ord User:bob 10.0.0.1 All Deny',
    ],
  );

  const remove = await runBrook([
    'acls',
    'remove',
    '--allow-principal',
    'User:alice',
    '--operation',
    'Write',
    '--topic',
    'orders',
    '--output',
    'json',
    ...asAdmin,
  ]);
  assert.equal(remove.exitCode, 0, remove.stderr);
  assert.equal((JSON.parse(remove.stdout) as unknown[]).length, 1);
  const after = await runBrook(['acls', 'list', '--output', 'json', ...asAdmin]);
  assert.equal((JSON.parse(after.stdout) as unknown[]).length, 2);

  // Without credentials (ANONYMOUS is no super user here) the CLI is refused with Kafka's error.
  const anonymous = await runBrook([
    'acls',
    'list',
    '--bootstrap-server',
    `127.0.0.1:${plaintext.port}`,
  ]);
  assert.notEqual(anonymous.exitCode, 0);
  assert.match(anonymous.stderr, /CLUSTER_AUTHORIZATION_FAILED/);

  const usage = await runBrook([
    'acls',
    'add',
    '--topic',
    'orders',
    '--operation',
    'Fly',
    '--allow-principal',
    'User:a',
  ]);
  assert.notEqual(usage.exitCode, 0);
  assert.match(usage.stderr, /--operation Fly/);
});
