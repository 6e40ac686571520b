// The "authorized operations" bit fields of Metadata (topics v8+, cluster v8-10), DescribeCluster
// and DescribeGroups (v3+): the operations the principal may perform on the resource when the
// client asks, Kafka's int32 minimum when it does not, and every supported operation when no
// authorizer runs, as Kafka answers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { DescribeClusterResponse } from '../../src/protocol/generated/describe-cluster.js';
import type { DescribeGroupsResponse } from '../../src/protocol/generated/describe-groups.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  AclOperation,
  CLUSTER_RESOURCE_NAME,
  ResourceType,
  authorizedOperationsBits,
} from '../../src/security/index.js';
import '../helpers/client-platformatic-node20.js';
import { Admin } from '@platformatic/kafka';
import { requireClient } from '../helpers/clients.js';
import { allowed } from '../helpers/acls.js';
import { startSaslBroker } from '../helpers/sasl.js';

const { READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS } =
  AclOperation;
const ALL_TOPIC = authorizedOperationsBits([
  READ,
  WRITE,
  CREATE,
  DELETE,
  ALTER,
  DESCRIBE,
  DESCRIBE_CONFIGS,
  ALTER_CONFIGS,
]);
const ALL_CLUSTER = authorizedOperationsBits([
  CREATE,
  ALTER,
  DESCRIBE,
  AclOperation.CLUSTER_ACTION,
  DESCRIBE_CONFIGS,
  ALTER_CONFIGS,
  AclOperation.IDEMPOTENT_WRITE,
]);
const ALL_GROUP = authorizedOperationsBits([READ, DELETE, DESCRIBE]);

const alice = { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' } as const;

async function metadata(
  connection: KafkaConnection,
  version: number,
  include: boolean,
): Promise<MetadataResponse> {
  return connection.request<MetadataResponse>(ApiKey.Metadata, version, {
    topics: [{ topicId: Buffer.alloc(16), name: 'orders' }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: include && version <= 10,
    includeTopicAuthorizedOperations: include,
  });
}

function describeCluster(
  connection: KafkaConnection,
  include: boolean,
): Promise<DescribeClusterResponse> {
  return connection.request<DescribeClusterResponse>(ApiKey.DescribeCluster, 0, {
    includeClusterAuthorizedOperations: include,
  });
}

function describeGroups(
  connection: KafkaConnection,
  include: boolean,
): Promise<DescribeGroupsResponse> {
  return connection.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 5, {
    groups: ['payments'],
    includeAuthorizedOperations: include,
  });
}

test('with the authorizer on, each response carries the operations the principal holds, when asked', async (t) => {
  const { admin, sasl } = await startSaslBroker(t, {
    'authorizer.enabled': true,
    'super.users': 'User:ANONYMOUS',
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.createTopic(
    { name: 'orders', partitions: 1, replicationFactor: 1, configs: new Map() },
    10_000,
    false,
  );
  const grant = (resourceType: ResourceType, resourceName: string, operation: AclOperation) =>
    allowed('User:alice', resourceType, resourceName, operation);
  // Read implies Describe; DescribeConfigs is granted alone.
  await admin.createAcls([
    grant(ResourceType.TOPIC, 'orders', READ),
    grant(ResourceType.TOPIC, 'orders', DESCRIBE_CONFIGS),
    grant(ResourceType.GROUP, 'payments', READ),
  ]);
  const connection = await KafkaConnection.open(sasl, {
    clientId: 'alice',
    sasl: alice,
    requestTimeoutMs: 10_000,
  });
  t.after(() => connection.close());

  const asked = await metadata(connection, 10, true);
  assert.equal(asked.topics[0]!.errorCode, ErrorCode.NONE);
  assert.equal(
    asked.topics[0]!.topicAuthorizedOperations,
    authorizedOperationsBits([READ, DESCRIBE, DESCRIBE_CONFIGS]),
  );
  // Kafka answers 0 for the cluster to a principal that may not Describe it.
  assert.equal(asked.clusterAuthorizedOperations, 0);
  assert.equal((await describeCluster(connection, true)).clusterAuthorizedOperations, 0);
  const notAsked = await metadata(connection, 12, false);
  assert.equal(notAsked.topics[0]!.topicAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
  assert.equal(
    (await describeCluster(connection, false)).clusterAuthorizedOperations,
    AUTHORIZED_OPERATIONS_OMITTED,
  );

  await admin.createAcls([
    grant(ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, DESCRIBE),
    grant(ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, AclOperation.IDEMPOTENT_WRITE),
  ]);
  const clusterBits = authorizedOperationsBits([DESCRIBE, AclOperation.IDEMPOTENT_WRITE]);
  assert.equal((await metadata(connection, 10, true)).clusterAuthorizedOperations, clusterBits);
  assert.equal((await describeCluster(connection, true)).clusterAuthorizedOperations, clusterBits);
  assert.equal(
    (await metadata(connection, 12, true)).topics[0]!.topicAuthorizedOperations,
    authorizedOperationsBits([READ, DESCRIBE, DESCRIBE_CONFIGS]),
  );

  const group = (await describeGroups(connection, true)).groups[0]!;
  assert.equal(group.errorCode, ErrorCode.NONE);
  assert.equal(group.authorizedOperations, authorizedOperationsBits([READ, DESCRIBE]));
  assert.equal(
    (await describeGroups(connection, false)).groups[0]!.authorizedOperations,
    AUTHORIZED_OPERATIONS_OMITTED,
  );
});

test('with the authorizer off, each response carries every operation the resource supports, when asked', async (t) => {
  const { admin, sasl } = await startSaslBroker(t);
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.createTopic(
    { name: 'orders', partitions: 1, replicationFactor: 1, configs: new Map() },
    10_000,
    false,
  );
  const connection = await KafkaConnection.open(sasl, {
    clientId: 'alice',
    sasl: alice,
    requestTimeoutMs: 10_000,
  });
  t.after(() => connection.close());

  const asked = await metadata(connection, 10, true);
  assert.equal(asked.topics[0]!.topicAuthorizedOperations, ALL_TOPIC);
  assert.equal(asked.clusterAuthorizedOperations, ALL_CLUSTER);
  const notAsked = await metadata(connection, 10, false);
  assert.equal(notAsked.topics[0]!.topicAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
  assert.equal(notAsked.clusterAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
  assert.equal((await describeCluster(connection, true)).clusterAuthorizedOperations, ALL_CLUSTER);
  assert.equal((await describeGroups(connection, true)).groups[0]!.authorizedOperations, ALL_GROUP);
});

test('@platformatic/kafka describeGroups reports the group operations the ACLs grant', async (t) => {
  if (!requireClient(t, 'platformatic-kafka')) return;
  const { admin, sasl } = await startSaslBroker(t, {
    'authorizer.enabled': true,
    'super.users': 'User:ANONYMOUS',
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.createAcls(
    [READ, DELETE].map((operation) =>
      allowed('User:alice', ResourceType.GROUP, 'payments', operation),
    ),
  );
  const client = new Admin({
    clientId: 'alice',
    bootstrapBrokers: [sasl],
    sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
    retries: 1,
  });
  t.after(() => client.close());
  const groups = await client.describeGroups({
    groups: ['payments'],
    includeAuthorizedOperations: true,
  });
  assert.equal(
    groups.get('payments')!.authorizedOperations,
    authorizedOperationsBits([READ, DELETE, DESCRIBE]),
  );
});
