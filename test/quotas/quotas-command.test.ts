// `brook quotas`: kafka-configs' vocabulary against a real broker, in-process and once through
// the real `brook` process.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { runAclsCommand } from '../../src/cli/acls-command.js';
import type { AdminCommandOutput } from '../../src/cli/admin-command.js';
import { runQuotasCommand } from '../../src/cli/quotas-command.js';
import { runBrook } from '../helpers/brook-cli.js';

async function quotas(args: string[]): Promise<{ code: number; out: string; error: string }> {
  const out: string[] = [];
  const error: string[] = [];
  const output: AdminCommandOutput = {
    out: (line) => out.push(line),
    error: (line) => error.push(line),
  };
  const code = await runQuotasCommand(args, output);
  return { code, out: out.join('\n'), error: error.join('\n') };
}

test('brook quotas alter and describe users, clients and their defaults', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const server = ['--bootstrap-server', broker.bootstrapServers];
  const altered = await quotas([
    'alter',
    ...server,
    '--entity-type',
    'users',
    '--entity-name',
    'alice',
    '--entity-type',
    'clients',
    '--entity-default',
    '--add-config',
    'producer_byte_rate=1024,consumer_byte_rate=2048',
  ]);
  assert.equal(altered.code, 0, altered.error);
  const clientAltered = await quotas([
    'alter',
    ...server,
    '--entity-type',
    'clients',
    '--entity-name',
    'app',
    '--add-config',
    'request_percentage=50',
  ]);
  assert.equal(clientAltered.code, 0, clientAltered.error);

  const described = await quotas(['describe', ...server, '--output', 'json']);
  assert.equal(described.code, 0, described.error);
  assert.deepEqual(
    (JSON.parse(described.out) as Array<{ entity: Record<string, string | null> }>)
      .map((entry) => entry)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [
      { entity: { 'client-id': 'app' }, quotas: { request_percentage: 50 } },
      {
        entity: { user: 'alice', 'client-id': null },
        quotas: { producer_byte_rate: 1024, consumer_byte_rate: 2048 },
      },
    ],
  );
  const users = await quotas(['describe', ...server, '--entity-type', 'users']);
  assert.match(users.out, /user=alice,client-id=<default>\s+producer_byte_rate\s+1024/);
  assert.doesNotMatch(users.out, /request_percentage/);

  const removed = await quotas([
    'alter',
    ...server,
    '--entity-type',
    'clients',
    '--entity-name',
    'app',
    '--delete-config',
    'request_percentage',
  ]);
  assert.equal(removed.code, 0, removed.error);
  const clients = await quotas([
    'describe',
    ...server,
    '--entity-type',
    'clients',
    '--entity-name',
    'app',
  ]);
  assert.doesNotMatch(clients.out, /request_percentage/);

  // The broker's refusal is reported with Kafka's error and message, exit 1.
  const refused = await quotas([
    'alter',
    ...server,
    '--entity-type',
    'users',
    '--entity-name',
    'bob',
    '--add-config',
    'producer_byte_rate=1.5',
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.error, /INVALID_REQUEST.*producer_byte_rate cannot be a fractional value/);
  // Bad arguments: exit 2 with the usage.
  const usage = await quotas([
    'alter',
    ...server,
    '--entity-type',
    'groups',
    '--entity-name',
    'g',
    '--add-config',
    'a=1',
  ]);
  assert.equal(usage.code, 2);
  assert.match(usage.error, /expected users, clients or ips/);
});

test('brook quotas runs as the brook command', async (t) => {
  const broker = await startBroker();
  t.after(() => broker.stop());
  const run = await runBrook(
    [
      'quotas',
      'alter',
      '--bootstrap-server',
      broker.bootstrapServers,
      '--entity-type',
      'users',
      '--entity-default',
      '--add-config',
      'producer_byte_rate=4096',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(run.exitCode, 0, run.stderr);
  assert.match(run.stdout, /altered the quotas of user=<default>/);
});

test('brook quotas and brook acls list the same common options, --command-config among them', async () => {
  const helpOf = async (run: typeof runQuotasCommand): Promise<string> => {
    const out: string[] = [];
    assert.equal(await run(['--help'], { out: (line) => out.push(line), error: () => {} }), 0);
    return out.join('\n');
  };
  const commonOf = (usage: string): string => usage.slice(usage.indexOf('common options:'));
  const quotasHelp = await helpOf(runQuotasCommand);
  assert.match(quotasHelp, /--command-config FILE/);
  assert.equal(commonOf(quotasHelp), commonOf(await helpOf(runAclsCommand)));
});
