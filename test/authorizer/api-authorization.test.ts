// Kafka's documented mapping of API to resource and operation, checked on a real broker: for
// each row a SASL client is first refused with the row's error, then, once the row's ACL exists,
// served (any answer but that error), and the ACL is removed again.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { buildBatch } from '../../src/record/records.js';
import {
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
} from '../../src/security/index.js';

interface Grant {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly operation: number;
  readonly patternType?: number;
}

interface Row {
  readonly name: string;
  readonly apiKey: number;
  readonly version: number;
  readonly body: () => unknown | Promise<unknown>;
  readonly grants: readonly Grant[];
  readonly refusedWith: number;
}

const topic = (operation: number, resourceName = 'orders'): Grant => ({
  resourceType: ResourceType.TOPIC,
  resourceName,
  operation,
});
const group = (operation: number): Grant => ({
  resourceType: ResourceType.GROUP,
  resourceName: 'payments-group',
  operation,
});
const cluster = (operation: number): Grant => ({
  resourceType: ResourceType.CLUSTER,
  resourceName: 'kafka-cluster',
  operation,
});
const transactionalId = (operation: number): Grant => ({
  resourceType: ResourceType.TRANSACTIONAL_ID,
  resourceName: 'txn-1',
  operation,
});

/** Every `errorCode`-like number anywhere in a response. */
function allErrors(value: unknown): number[] {
  if (Array.isArray(value)) return value.flatMap(allErrors);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    /errorcode$/i.test(key) && typeof inner === 'number' ? [inner] : allErrors(inner),
  );
}

const rows: Row[] = [
  {
    name: 'Metadata of a named topic needs Topic Describe',
    apiKey: ApiKey.Metadata,
    version: 12,
    body: () => ({
      topics: [{ topicId: Buffer.alloc(16), name: 'orders' }],
      allowAutoTopicCreation: false,
    }),
    grants: [topic(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'Metadata auto-creation needs Create on the topic or cluster',
    apiKey: ApiKey.Metadata,
    version: 12,
    body: () => ({
      topics: [{ topicId: Buffer.alloc(16), name: 'autocreated' }],
      allowAutoTopicCreation: true,
    }),
    grants: [cluster(AclOperation.CREATE), topic(AclOperation.DESCRIBE, 'autocreated')],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'Produce needs Topic Write',
    apiKey: ApiKey.Produce,
    version: 9,
    body: async () => ({
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'orders',
          partitionData: [
            {
              index: 0,
              records: await buildBatch({ records: [{ key: null, value: Buffer.from('x') }] }),
            },
          ],
        },
      ],
    }),
    grants: [topic(AclOperation.WRITE)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'transactional Produce needs TransactionalId Write',
    apiKey: ApiKey.Produce,
    version: 9,
    body: async () => ({
      transactionalId: 'txn-1',
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'orders',
          partitionData: [
            {
              index: 0,
              records: await buildBatch({ records: [{ key: null, value: Buffer.from('x') }] }),
            },
          ],
        },
      ],
    }),
    grants: [transactionalId(AclOperation.WRITE), topic(AclOperation.WRITE)],
    refusedWith: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    name: 'Fetch needs Topic Read',
    apiKey: ApiKey.Fetch,
    version: 12,
    body: () => ({
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'orders',
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    }),
    grants: [topic(AclOperation.READ)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'ListOffsets needs Topic Describe',
    apiKey: ApiKey.ListOffsets,
    version: 7,
    body: () => ({
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    }),
    grants: [topic(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'CreateTopics needs Create on the topic (or the cluster)',
    apiKey: ApiKey.CreateTopics,
    version: 5,
    body: () => ({
      topics: [
        { name: 'created', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: true,
    }),
    // DescribeConfigs too: without it the answer carries TOPIC_AUTHORIZATION_FAILED as its
    // config error (refusal-details.test.ts).
    grants: [
      topic(AclOperation.CREATE, 'created'),
      topic(AclOperation.DESCRIBE_CONFIGS, 'created'),
    ],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'DeleteTopics needs Topic Delete',
    apiKey: ApiKey.DeleteTopics,
    version: 4,
    body: () => ({ topicNames: ['doomed'], timeoutMs: 5000 }),
    grants: [topic(AclOperation.DELETE, 'doomed')],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'DescribeConfigs of a topic needs Topic DescribeConfigs',
    apiKey: ApiKey.DescribeConfigs,
    version: 4,
    body: () => ({
      resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }],
    }),
    grants: [topic(AclOperation.DESCRIBE_CONFIGS)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'DescribeConfigs of a broker needs Cluster DescribeConfigs',
    apiKey: ApiKey.DescribeConfigs,
    version: 4,
    body: () => ({ resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }] }),
    grants: [cluster(AclOperation.DESCRIBE_CONFIGS)],
    refusedWith: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    name: 'IncrementalAlterConfigs of a topic needs Topic AlterConfigs',
    apiKey: ApiKey.IncrementalAlterConfigs,
    version: 1,
    body: () => ({
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [{ name: 'retention.ms', configOperation: 0, value: '60000' }],
        },
      ],
      validateOnly: true,
    }),
    grants: [topic(AclOperation.ALTER_CONFIGS)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'CreatePartitions needs Topic Alter',
    apiKey: ApiKey.CreatePartitions,
    version: 2,
    body: () => ({
      topics: [{ name: 'orders', count: 2, assignments: null }],
      timeoutMs: 5000,
      validateOnly: true,
    }),
    grants: [topic(AclOperation.ALTER)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'DeleteRecords needs Topic Delete',
    apiKey: ApiKey.DeleteRecords,
    version: 2,
    body: () => ({
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 0n }] }],
      timeoutMs: 5000,
    }),
    grants: [topic(AclOperation.DELETE)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'FindCoordinator of a group needs Group Describe',
    apiKey: ApiKey.FindCoordinator,
    version: 3,
    body: () => ({ key: 'payments-group', keyType: 0 }),
    grants: [group(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    name: 'FindCoordinator of a transactional id needs TransactionalId Describe',
    apiKey: ApiKey.FindCoordinator,
    version: 4,
    body: () => ({ keyType: 1, coordinatorKeys: ['txn-1'] }),
    grants: [transactionalId(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    name: 'JoinGroup needs Group Read',
    apiKey: ApiKey.JoinGroup,
    version: 5,
    body: () => ({
      groupId: 'payments-group',
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    }),
    grants: [group(AclOperation.READ)],
    refusedWith: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    name: 'Heartbeat needs Group Read',
    apiKey: ApiKey.Heartbeat,
    version: 3,
    body: () => ({
      groupId: 'payments-group',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
    }),
    grants: [group(AclOperation.READ)],
    refusedWith: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    name: 'OffsetCommit needs Group Read',
    apiKey: ApiKey.OffsetCommit,
    version: 7,
    body: () => ({
      groupId: 'payments-group',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: null }],
        },
      ],
    }),
    grants: [group(AclOperation.READ), topic(AclOperation.READ)],
    refusedWith: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    name: 'OffsetCommit needs Topic Read as well',
    apiKey: ApiKey.OffsetCommit,
    version: 7,
    body: () => ({
      groupId: 'payments-group',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: null }],
        },
      ],
    }),
    grants: [topic(AclOperation.READ), group(AclOperation.READ)],
    refusedWith: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    name: 'OffsetFetch needs Group Describe',
    apiKey: ApiKey.OffsetFetch,
    version: 7,
    body: () => ({
      groupId: 'payments-group',
      topics: [{ name: 'orders', partitionIndexes: [0] }],
    }),
    grants: [group(AclOperation.DESCRIBE), topic(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    name: 'DescribeGroups needs Group Describe',
    apiKey: ApiKey.DescribeGroups,
    version: 5,
    body: () => ({ groups: ['payments-group'], includeAuthorizedOperations: false }),
    grants: [group(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    name: 'DeleteGroups needs Group Delete',
    apiKey: ApiKey.DeleteGroups,
    version: 2,
    body: () => ({ groupsNames: ['payments-group'] }),
    grants: [group(AclOperation.DELETE)],
    refusedWith: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    name: 'InitProducerId for an idempotent producer needs Cluster IdempotentWrite (or Write on a topic)',
    apiKey: ApiKey.InitProducerId,
    version: 4,
    body: () => ({
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: -1n,
      producerEpoch: -1,
    }),
    grants: [cluster(AclOperation.IDEMPOTENT_WRITE)],
    refusedWith: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    name: 'InitProducerId for a transactional producer needs TransactionalId Write',
    apiKey: ApiKey.InitProducerId,
    version: 4,
    body: () => ({
      transactionalId: 'txn-1',
      transactionTimeoutMs: 60000,
      producerId: -1n,
      producerEpoch: -1,
    }),
    grants: [transactionalId(AclOperation.WRITE)],
    refusedWith: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    name: 'DescribeLogDirs needs Cluster Describe',
    apiKey: ApiKey.DescribeLogDirs,
    version: 4,
    body: () => ({ topics: null }),
    grants: [cluster(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    name: 'DescribeAcls needs Cluster Describe',
    apiKey: ApiKey.DescribeAcls,
    version: 3,
    body: () => ({
      resourceTypeFilter: ResourceType.ANY,
      resourceNameFilter: null,
      patternTypeFilter: PatternType.ANY,
      principalFilter: null,
      hostFilter: null,
      operation: AclOperation.ANY,
      permissionType: AclPermissionType.ANY,
    }),
    grants: [cluster(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    name: 'DescribeClientQuotas needs Cluster DescribeConfigs',
    apiKey: ApiKey.DescribeClientQuotas,
    version: 1,
    body: () => ({ components: [], strict: false }),
    grants: [cluster(AclOperation.DESCRIBE_CONFIGS)],
    refusedWith: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    name: 'DescribeUserScramCredentials needs Cluster Describe',
    apiKey: ApiKey.DescribeUserScramCredentials,
    version: 0,
    body: () => ({ users: null }),
    grants: [cluster(AclOperation.DESCRIBE)],
    refusedWith: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    name: 'ElectLeaders needs Cluster Alter',
    apiKey: ApiKey.ElectLeaders,
    version: 2,
    body: () => ({
      electionType: 0,
      topicPartitions: [{ topic: 'orders', partitions: [0] }],
      timeoutMs: 5000,
    }),
    grants: [cluster(AclOperation.ALTER)],
    refusedWith: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
];

test('each API is refused without its ACL and served with it, as Kafka maps them', async (t) => {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-acl-'));
  const broker = await startBroker({
    logDirs: logDir,
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    settings: {
      'authorizer.enabled': true,
      'super.users': 'User:ANONYMOUS',
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  t.after(async () => {
    await broker.stop();
    rmSync(logDir, { recursive: true, force: true });
  });
  const plaintext = broker.listeners.find((listener) => listener.name === 'PLAINTEXT')!;
  const sasl = broker.listeners.find((listener) => listener.name === 'SASL_PLAINTEXT')!;
  const adminConnection = await KafkaConnection.open(`127.0.0.1:${plaintext.port}`, {
    clientId: 'admin',
    requestTimeoutMs: 10_000,
  });
  t.after(() => adminConnection.close());
  const admin = new AdminClient({
    bootstrapServer: `127.0.0.1:${plaintext.port}`,
    clientId: 'admin',
    requestTimeoutMs: 10_000,
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  for (const name of ['orders', 'doomed']) {
    await admin.createTopic(
      { name, partitions: 1, replicationFactor: 1, configs: new Map() },
      10_000,
      false,
    );
  }
  const alice = await KafkaConnection.open(`127.0.0.1:${sasl.port}`, {
    clientId: 'alice',
    sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
    requestTimeoutMs: 10_000,
  });
  t.after(() => alice.close());

  const bindingsOf = (grants: readonly Grant[]) =>
    grants.map((grant) => ({
      resourceType: grant.resourceType,
      resourceName: grant.resourceName,
      resourcePatternType: grant.patternType ?? PatternType.LITERAL,
      principal: 'User:alice',
      host: '*',
      operation: grant.operation,
      permissionType: AclPermissionType.ALLOW,
    }));
  const createAcls = async (grants: readonly Grant[]) => {
    const response = await adminConnection.request<unknown>(ApiKey.CreateAcls, 3, {
      creations: bindingsOf(grants),
    });
    assert.deepEqual(
      allErrors(response),
      grants.map(() => ErrorCode.NONE),
    );
  };
  const deleteAllAcls = async () => {
    await adminConnection.request(ApiKey.DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: ResourceType.ANY,
          resourceNameFilter: null,
          patternTypeFilter: PatternType.ANY,
          principalFilter: null,
          hostFilter: null,
          operation: AclOperation.ANY,
          permissionType: AclPermissionType.ANY,
        },
      ],
    });
  };

  for (const row of rows) {
    await t.test(row.name, async () => {
      // Every grant but the first is given before, so the refusal is the one the row is about.
      await deleteAllAcls();
      await createAcls(row.grants.slice(1));
      const refused = await alice.request(row.apiKey, row.version, await row.body());
      assert.ok(
        allErrors(refused).includes(row.refusedWith),
        `without the ACL: ${JSON.stringify(allErrors(refused))} lacks ${row.refusedWith}`,
      );
      await createAcls(row.grants.slice(0, 1));
      const served = await alice.request(row.apiKey, row.version, await row.body());
      const errors = allErrors(served);
      for (const code of [
        ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        ErrorCode.GROUP_AUTHORIZATION_FAILED,
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      ]) {
        assert.ok(!errors.includes(code), `with the ACL: ${JSON.stringify(errors)}`);
      }
    });
  }
});
