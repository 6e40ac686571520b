// librdkafka (through @confluentinc/kafka-javascript's AdminClient) over SASL/SCRAM asks for the
// authorized operations of a topic (Metadata includeTopicAuthorizedOperations) and of a group
// (DescribeGroups includeAuthorizedOperations), and reports what the principal's ACLs grant.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AclOperation, ResourceType } from '../../src/security/index.js';
import { loadCkjs } from '../helpers/client-ckjs.js';
import { requireClient, withTimeout } from '../helpers/clients.js';
import { allowed } from '../helpers/acls.js';
import { startSaslBroker } from '../helpers/sasl.js';

type Callback<T> = (error: Error | null, result: T) => void;
interface Described {
  readonly error?: unknown;
  /** Kafka's operation codes. */
  readonly authorizedOperations?: number[];
}
type TopicDescription = Described & { readonly name: string };
type GroupDescription = Described & { readonly groupId: string };

interface CkjsAdminClient {
  describeTopics(
    topics: string[],
    options: { includeAuthorizedOperations: boolean; timeout: number },
    callback: Callback<TopicDescription[]>,
  ): void;
  describeGroups(
    groups: string[],
    options: { includeAuthorizedOperations: boolean; timeout: number },
    callback: Callback<{ groups: GroupDescription[] }>,
  ): void;
  disconnect(): void;
}

function call<T>(action: (callback: Callback<T>) => void): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve, reject) =>
      action((error, result) => (error === null ? resolve(result) : reject(error))),
    ),
    30_000,
    'librdkafka admin call',
  );
}

test('librdkafka reports the topic and group operations the ACLs grant', async (t) => {
  if (!requireClient(t, 'confluent-kafka-javascript')) return;
  const { admin, sasl } = await startSaslBroker(t, {
    'authorizer.enabled': true,
    'super.users': 'User:ANONYMOUS',
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-512', 'alice-secret');
  await admin.createTopic(
    { name: 'orders', partitions: 1, replicationFactor: 1, configs: new Map() },
    10_000,
    false,
  );
  const grant = (resourceType: ResourceType, resourceName: string, operation: AclOperation) =>
    allowed('User:alice', resourceType, resourceName, operation);
  await admin.createAcls([
    grant(ResourceType.TOPIC, 'orders', AclOperation.WRITE),
    grant(ResourceType.TOPIC, 'orders', AclOperation.ALTER_CONFIGS),
    grant(ResourceType.GROUP, 'payments', AclOperation.DESCRIBE),
  ]);

  const ckjs = loadCkjs() as unknown as {
    AdminClient: { create(config: Record<string, unknown>): CkjsAdminClient };
  };
  const client = ckjs.AdminClient.create({
    'bootstrap.servers': sasl,
    'client.id': 'alice',
    'security.protocol': 'sasl_plaintext',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': 'alice',
    'sasl.password': 'alice-secret',
    log_level: 0,
  });
  t.after(() => client.disconnect());

  const topics = await call<TopicDescription[]>((callback) =>
    client.describeTopics(
      ['orders'],
      { includeAuthorizedOperations: true, timeout: 20_000 },
      callback,
    ),
  );
  assert.equal(topics[0]!.error ?? null, null);
  // Write implies Describe, AlterConfigs implies DescribeConfigs.
  assert.deepEqual(
    [...topics[0]!.authorizedOperations!].sort((a, b) => a - b),
    [
      AclOperation.WRITE,
      AclOperation.DESCRIBE,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
    ],
  );

  const { groups } = await call<{ groups: GroupDescription[] }>((callback) =>
    client.describeGroups(
      ['payments'],
      { includeAuthorizedOperations: true, timeout: 20_000 },
      callback,
    ),
  );
  assert.equal(groups[0]!.groupId, 'payments');
  assert.deepEqual(groups[0]!.authorizedOperations, [AclOperation.DESCRIBE]);
});
