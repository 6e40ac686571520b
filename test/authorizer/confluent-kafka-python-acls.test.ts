// python3-confluent-kafka (librdkafka) over SASL/SCRAM against a broker with the authorizer on:
// refused with the client's own TOPIC_AUTHORIZATION_FAILED and GROUP_AUTHORIZATION_FAILED until
// `brook acls add` grants Write on the topic and Read on the group, then served.
//
// The Debian package is confluent-kafka 1.7, whose AdminClient has no create_acls, describe_acls
// or delete_acls (they came in 1.9); CreateAcls/DescribeAcls/DeleteAcls are driven here by the
// `brook acls` CLI and in kafkajs-acls.test.ts by kafkajs.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBrook } from '../helpers/brook-cli.js';
import { requireClient, runChecked, systemPython } from '../helpers/clients.js';
import { listenerAddress, startSaslBroker } from '../helpers/sasl.js';

interface Outcome {
  readonly delivered?: number;
  readonly consumed?: string[];
  readonly error?: string;
  readonly message?: string;
}

const aliceConfig = {
  'security.protocol': 'SASL_PLAINTEXT',
  'sasl.mechanisms': 'SCRAM-SHA-256',
  'sasl.username': 'alice',
  'sasl.password': 'alice-secret',
};

async function asAlice(request: Record<string, unknown>, bootstrap: string): Promise<Outcome> {
  const stdout = await runChecked(
    systemPython,
    [join(import.meta.dirname, 'python', 'acl_client.py')],
    {
      input: JSON.stringify({ ...request, bootstrap, config: aliceConfig }),
      timeoutMs: 120_000,
    },
  );
  return JSON.parse(stdout) as Outcome;
}

test('confluent-kafka is refused without Write and Group Read, and served once brook acls add grants them', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const { broker, admin, sasl } = await startSaslBroker(t, {
    'authorizer.enabled': true,
    'super.users': 'User:ANONYMOUS',
    'group.initial.rebalance.delay.ms': 0,
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.createTopic(
    { name: 'orders', partitions: 1, replicationFactor: 1, configs: new Map() },
    10_000,
    false,
  );
  const aclsAdd = async (...args: string[]) => {
    const run = await runBrook([
      'acls',
      'add',
      '--allow-principal',
      'User:alice',
      ...args,
      '--bootstrap-server',
      listenerAddress(broker, 'PLAINTEXT'),
    ]);
    assert.equal(run.exitCode, 0, run.stderr);
  };
  const produce = { command: 'produce', topic: 'orders', values: ['one', 'two'] };
  const consume = { command: 'consume', topic: 'orders', group: 'orders-group', count: 2 };

  const refused = await asAlice(produce, sasl);
  assert.equal(refused.error, 'TOPIC_AUTHORIZATION_FAILED', JSON.stringify(refused));

  await aclsAdd('--operation', 'Write', '--topic', 'orders');
  assert.deepEqual(await asAlice(produce, sasl), { delivered: 2 });

  await aclsAdd('--operation', 'Read', '--topic', 'orders');
  const groupRefused = await asAlice(consume, sasl);
  assert.equal(groupRefused.error, 'GROUP_AUTHORIZATION_FAILED', JSON.stringify(groupRefused));

  await aclsAdd('--operation', 'Read', '--group', 'orders-group');
  assert.deepEqual(await asAlice(consume, sasl), { consumed: ['one', 'two'] });
});
