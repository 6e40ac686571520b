// The admin APIs at their flexible versions through @platformatic/kafka's Admin (CreateTopics v7,
// DescribeConfigs v4, IncrementalAlterConfigs v1, CreatePartitions v3, DeleteRecords v2,
// DescribeLogDirs v4), and through the project's own codecs where no client reaches
// (DeleteTopics by topic id, DescribeCluster, OffsetForLeaderEpoch, DescribeConfigs v0).

// Provides Promise.withResolvers on Node.js 20; must load before @platformatic/kafka.
import '../helpers/client-platformatic-node20.js';

import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import {
  Admin,
  ConfigResourceTypes,
  ConfigSources,
  ConfigTypes,
  IncrementalAlterConfigOperationTypes,
  Producer,
} from '@platformatic/kafka';

import { type Broker, startBroker } from '../../src/broker.js';
import { topicConfigDefinitions } from '../../src/config/topic-definitions.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { CreatePartitionsResponse } from '../../src/protocol/generated/create-partitions.js';
import type { DeleteTopicsResponse } from '../../src/protocol/generated/delete-topics.js';
import type { DescribeClusterResponse } from '../../src/protocol/generated/describe-cluster.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/describe-configs.js';
import type { IncrementalAlterConfigsResponse } from '../../src/protocol/generated/incremental-alter-configs.js';
import type { OffsetForLeaderEpochResponse } from '../../src/protocol/generated/offset-for-leader-epoch.js';
import { callBroker } from '../helpers/wire-client.js';

function clientOptions(broker: Broker) {
  return {
    clientId: 'admin-platformatic',
    bootstrapBrokers: [broker.bootstrapServers],
    timeout: 10_000,
    retries: 1,
    retryDelay: 100,
  };
}

async function withAdmin(action: (broker: Broker, admin: Admin) => Promise<void>): Promise<void> {
  const broker = await startBroker({ settings: { 'auto.create.topics.enable': false } });
  const admin = new Admin(clientOptions(broker));
  try {
    await action(broker, admin);
  } finally {
    await admin.close().catch(() => undefined);
    await broker.stop();
  }
}

async function produce(
  broker: Broker,
  topic: string,
  partition: number,
  count: number,
): Promise<void> {
  const producer = new Producer(clientOptions(broker));
  try {
    await producer.send({
      messages: Array.from({ length: count }, (_, index) => ({
        topic,
        partition,
        value: Buffer.from(`record-${index}`),
      })),
      acks: -1,
    });
  } finally {
    await producer.close();
  }
}

async function describeTopic(admin: Admin, topic: string) {
  const [description] = await admin.describeConfigs({
    resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
    includeSynonyms: true,
    includeDocumentation: true,
  });
  return new Map(description.configs.map((config) => [config.name, config]));
}

/** The Kafka error codes a failed @platformatic/kafka call carries, however deeply nested. */
async function errorCodesOf(action: Promise<unknown>): Promise<number[]> {
  try {
    await action;
  } catch (error) {
    const codes: number[] = [];
    const visit = (value: unknown, depth: number): void => {
      if (typeof value !== 'object' || value === null || depth > 6) return;
      const record = value as Record<string, unknown>;
      if (typeof record.errorCode === 'number' && record.errorCode !== 0)
        codes.push(record.errorCode);
      for (const key of ['errors', 'cause', 'response', 'responses', 'results']) {
        const inner = record[key];
        if (Array.isArray(inner)) inner.forEach((item) => visit(item, depth + 1));
        else visit(inner, depth + 1);
      }
    };
    visit(error, 0);
    return [...new Set(codes)];
  }
  return [];
}

test('CreateTopics v7 returns the topic id, partition count, replication factor and every config', async () => {
  await withAdmin(async (broker, admin) => {
    const [created] = await admin.createTopics({
      topics: ['flexible'],
      partitions: 2,
      replicas: 1,
      configs: [{ name: 'retention.ms', value: '120000' }],
    });
    const stored = broker.replicas.topic('flexible')!.metadata;
    assert.equal(created.id.replaceAll('-', ''), stored.topicId.toString('hex'));
    assert.deepEqual([created.partitions, created.replicas], [2, 1]);
    assert.equal(Object.keys(created.configuration).length, topicConfigDefinitions.size);
    assert.equal(created.configuration['retention.ms'], '120000');
    assert.equal(created.configuration['segment.bytes'], '1073741824');
  });
});

test('DescribeConfigs v4 gives synonyms, config types and documentation', async () => {
  await withAdmin(async (_broker, admin) => {
    await admin.createTopics({
      topics: ['documented'],
      configs: [{ name: 'retention.ms', value: '120000' }],
    });
    const configs = await describeTopic(admin, 'documented');
    const retention = configs.get('retention.ms')!;
    assert.equal(retention.configSource, ConfigSources.DYNAMIC_TOPIC_CONFIG);
    assert.equal(retention.configType, ConfigTypes.LONG);
    assert.ok((retention.documentation ?? '').length > 0);
    assert.deepEqual(
      retention.synonyms.map((synonym) => [synonym.name, synonym.value, synonym.source]),
      [
        ['retention.ms', '120000', ConfigSources.DYNAMIC_TOPIC_CONFIG],
        ['log.retention.hours', '168', ConfigSources.DEFAULT_CONFIG],
      ],
    );
    assert.equal(configs.get('cleanup.policy')!.configType, ConfigTypes.LIST);
    assert.equal(configs.get('cleanup.policy')!.configSource, ConfigSources.DEFAULT_CONFIG);
  });
});

test('IncrementalAlterConfigs appends to and subtracts from cleanup.policy, and the log follows', async () => {
  await withAdmin(async (broker, admin) => {
    await admin.createTopics({ topics: ['policies'] });
    const log = () => broker.replicas.partition('policies', 0)!.log;
    const alter = (
      configs: Parameters<Admin['incrementalAlterConfigs']>[0]['resources'][0]['configs'],
      validateOnly = false,
    ) =>
      admin.incrementalAlterConfigs({
        validateOnly,
        resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: 'policies', configs }],
      });
    const policy = async () => (await describeTopic(admin, 'policies')).get('cleanup.policy')!;

    await alter([
      {
        name: 'cleanup.policy',
        configOperation: IncrementalAlterConfigOperationTypes.APPEND,
        value: 'compact',
      },
    ]);
    assert.deepEqual(
      [(await policy()).value, (await policy()).configSource],
      ['delete,compact', ConfigSources.DYNAMIC_TOPIC_CONFIG],
    );
    assert.equal(log().config.cleanupPolicy, 'compact,delete');

    await alter([
      {
        name: 'cleanup.policy',
        configOperation: IncrementalAlterConfigOperationTypes.SUBTRACT,
        value: 'delete',
      },
    ]);
    assert.equal((await policy()).value, 'compact');
    assert.equal(log().config.cleanupPolicy, 'compact');

    await alter(
      [
        {
          name: 'cleanup.policy',
          configOperation: IncrementalAlterConfigOperationTypes.APPEND,
          value: 'delete',
        },
      ],
      true,
    );
    assert.equal((await policy()).value, 'compact', 'validate_only changed nothing');

    // Emptying the list is not a policy.
    assert.deepEqual(
      await errorCodesOf(
        alter([
          {
            name: 'cleanup.policy',
            configOperation: IncrementalAlterConfigOperationTypes.SUBTRACT,
            value: 'compact',
          },
        ]),
      ),
      [ErrorCode.INVALID_CONFIG],
    );
    assert.deepEqual(
      await errorCodesOf(
        alter([
          {
            name: 'retention.ms',
            configOperation: IncrementalAlterConfigOperationTypes.APPEND,
            value: '5',
          },
        ]),
      ),
      [ErrorCode.INVALID_REQUEST],
    );

    await alter([
      {
        name: 'retention.ms',
        configOperation: IncrementalAlterConfigOperationTypes.SET,
        value: '90000',
      },
      { name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.DELETE },
    ]);
    const configs = await describeTopic(admin, 'policies');
    assert.equal(configs.get('retention.ms')!.value, '90000');
    assert.deepEqual(
      [configs.get('cleanup.policy')!.value, configs.get('cleanup.policy')!.configSource],
      ['delete', ConfigSources.DEFAULT_CONFIG],
    );
    assert.equal(log().config.retentionMs, 90_000);
    assert.equal(log().config.cleanupPolicy, 'delete');
  });
});

test('CreatePartitions v3 and DeleteRecords v2 through platformatic; every topic of a request gets a result', async () => {
  await withAdmin(async (broker, admin) => {
    await admin.createTopics({ topics: ['widening'], partitions: 1 });
    await admin.createPartitions({ topics: [{ name: 'widening', count: 2 }] });
    assert.equal(broker.replicas.topic('widening')!.partitions.length, 2);
    await produce(broker, 'widening', 1, 6);

    const [deleted] = await admin.deleteRecords({
      topics: [{ name: 'widening', partitions: [{ partition: 1, offset: 4n }] }],
    });
    assert.deepEqual(deleted.partitions, [{ partition: 1, lowWatermark: 4n }]);
    assert.equal(broker.replicas.partition('widening', 1)!.logStartOffset, 4);

    const mixed = await callBroker<CreatePartitionsResponse>(broker.bootstrapServers, 37, 3, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: [
        { name: 'widening', count: 3, assignments: null },
        { name: 'absent', count: 3, assignments: null },
        { name: 'widening-elsewhere', count: 3, assignments: null },
      ],
    });
    assert.deepEqual(
      mixed.results.map((result) => [result.name, result.errorCode]),
      [
        ['widening', ErrorCode.NONE],
        ['absent', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['widening-elsewhere', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.equal(broker.replicas.topic('widening')!.partitions.length, 3);
  });
});

test('DescribeLogDirs v4 lists the log dir, partition sizes, lag 0 and the disk space', async () => {
  await withAdmin(async (broker, admin) => {
    await admin.createTopics({ topics: ['sized'], partitions: 2 });
    await produce(broker, 'sized', 0, 5);
    const [description] = await admin.describeLogDirs({
      topics: [{ name: 'sized', partitions: [0, 1] }],
    });
    assert.equal(description.broker, broker.nodeId);
    assert.equal(description.results.length, 1);
    const [dir] = description.results;
    assert.equal(dir.logDir, resolve(broker.config.logDirs[0]));
    assert.ok(dir.totalBytes > 0n && dir.usableBytes > 0n && dir.usableBytes <= dir.totalBytes);
    const partitions = dir.topics.find((topic) => topic.name === 'sized')!.partitions;
    const sizes = new Map(
      partitions.map((partition) => [partition.partitionIndex, partition.partitionSize]),
    );
    assert.equal(sizes.get(0), BigInt(broker.replicas.partition('sized', 0)!.log.sizeInBytes));
    assert.ok(sizes.get(0)! > 0n);
    assert.equal(sizes.get(1), 0n);
    assert.ok(
      partitions.every((partition) => partition.offsetLag === 0n && !partition.isFutureKey),
    );
  });
});

test('DeleteTopics v6 deletes by topic id; an unknown id is UNKNOWN_TOPIC_ID', async () => {
  await withAdmin(async (broker, admin) => {
    await admin.createTopics({ topics: ['by-id', 'by-name'] });
    const topicId = broker.replicas.topic('by-id')!.metadata.topicId;
    const response = await callBroker<DeleteTopicsResponse>(broker.bootstrapServers, 20, 6, {
      timeoutMs: 5000,
      topics: [
        { name: null, topicId },
        { name: null, topicId: Buffer.alloc(16, 9) },
        { name: '__consumer_offsets-not', topicId: Buffer.alloc(16) },
      ],
    });
    assert.deepEqual(
      response.responses.map((result) => [result.name, result.errorCode]),
      [
        ['by-id', ErrorCode.NONE],
        [null, ErrorCode.UNKNOWN_TOPIC_ID],
        ['__consumer_offsets-not', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.ok(response.responses[0].topicId.equals(topicId));
    assert.deepEqual((await admin.listTopics()).filter((name) => !name.startsWith('__')).sort(), [
      'by-name',
    ]);
  });
});

test('DescribeCluster names this broker, the controller and the cluster id; controller endpoints are unsupported', async () => {
  const broker = await startBroker();
  try {
    for (const version of [0, 1]) {
      const response = await callBroker<DescribeClusterResponse>(
        broker.bootstrapServers,
        60,
        version,
        {
          includeClusterAuthorizedOperations: false,
          endpointType: 1,
        },
      );
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.equal(response.clusterId, broker.clusterId);
      assert.equal(response.controllerId, broker.nodeId);
      assert.deepEqual(
        response.brokers.map((node) => `${node.host}:${node.port}`),
        [broker.bootstrapServers],
      );
      assert.equal(response.clusterAuthorizedOperations, -2147483648);
    }
    const controllers = await callBroker<DescribeClusterResponse>(broker.bootstrapServers, 60, 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: 2,
    });
    assert.equal(controllers.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  } finally {
    await broker.stop();
  }
});

test('OffsetForLeaderEpoch: epoch 0 ends at the log end offset, a later epoch is unknown, a newer current epoch is refused', async () => {
  await withAdmin(async (broker, admin) => {
    await admin.createTopics({ topics: ['epochs'] });
    await produce(broker, 'epochs', 0, 3);
    for (const version of [0, 2, 4]) {
      const response = await callBroker<OffsetForLeaderEpochResponse>(
        broker.bootstrapServers,
        23,
        version,
        {
          replicaId: -1,
          topics: [
            {
              topic: 'epochs',
              partitions: [
                { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 },
                { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 5 },
                { partition: 9, currentLeaderEpoch: -1, leaderEpoch: 0 },
              ],
            },
          ],
        },
      );
      assert.deepEqual(
        response.topics[0].partitions.map((partition) => [
          partition.errorCode,
          partition.endOffset,
        ]),
        [
          [ErrorCode.NONE, 3n],
          [ErrorCode.NONE, -1n],
          [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
        ],
        `version ${version}`,
      );
    }
    const fenced = await callBroker<OffsetForLeaderEpochResponse>(broker.bootstrapServers, 23, 4, {
      replicaId: -1,
      topics: [
        { topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 }] },
      ],
    });
    assert.equal(fenced.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  });
});

test('DescribeConfigs v0 marks defaults with is_default, and configuration keys narrow the answer', async () => {
  await withAdmin(async (broker, admin) => {
    await admin.createTopics({
      topics: ['narrow'],
      configs: [{ name: 'segment.ms', value: '60000' }],
    });
    const response = await callBroker<DescribeConfigsResponse>(broker.bootstrapServers, 32, 0, {
      resources: [
        {
          resourceType: 2,
          resourceName: 'narrow',
          configurationKeys: ['segment.ms', 'retention.bytes'],
        },
        { resourceType: 2, resourceName: 'absent', configurationKeys: null },
        { resourceType: 2, resourceName: 'bad/name', configurationKeys: null },
      ],
    });
    assert.deepEqual(
      response.results[0].configs.map((config) => [config.name, config.value, config.isDefault]),
      [
        ['retention.bytes', '-1', true],
        ['segment.ms', '60000', false],
      ],
    );
    assert.deepEqual(
      response.results.slice(1).map((result) => result.errorCode),
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_TOPIC_EXCEPTION],
    );
  });
});

test('concurrent IncrementalAlterConfigs on one topic all take effect', async () => {
  await withAdmin(async (broker, admin) => {
    await admin.createTopics({ topics: ['contended'] });
    const changes: Array<[string, string]> = [
      ['retention.ms', '600000'],
      ['segment.ms', '700000'],
      ['delete.retention.ms', '800000'],
      ['min.compaction.lag.ms', '900'],
      ['flush.ms', '1000'],
      ['index.interval.bytes', '2048'],
      ['max.message.bytes', '50000'],
      ['segment.bytes', '5000000'],
    ];
    // One connection per request, all in flight at once.
    const responses = await Promise.all(
      changes.map(([name, value]) =>
        callBroker<IncrementalAlterConfigsResponse>(broker.bootstrapServers, 44, 1, {
          validateOnly: false,
          resources: [
            {
              resourceType: ConfigResourceTypes.TOPIC,
              resourceName: 'contended',
              configs: [{ name, configOperation: IncrementalAlterConfigOperationTypes.SET, value }],
            },
          ],
        }),
      ),
    );
    assert.ok(responses.every((response) => response.responses[0].errorCode === ErrorCode.NONE));
    assert.deepEqual(
      broker.replicas.topic('contended')!.metadata.configs,
      Object.fromEntries(changes),
    );
    const configs = await describeTopic(admin, 'contended');
    for (const [name, value] of changes) assert.equal(configs.get(name)!.value, value, name);
  });
});

test('IncrementalAlterConfigs on the cluster default ("") and on this broker, described with their sources', async () => {
  await withAdmin(async (broker) => {
    const alterBroker = (resourceName: string, configs: unknown[]) =>
      callBroker<IncrementalAlterConfigsResponse>(broker.bootstrapServers, 44, 1, {
        validateOnly: false,
        resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName, configs }],
      });
    const describeBroker = async (resourceName: string, keys: string[] | null) =>
      (
        await callBroker<DescribeConfigsResponse>(broker.bootstrapServers, 32, 4, {
          resources: [
            { resourceType: ConfigResourceTypes.BROKER, resourceName, configurationKeys: keys },
          ],
          includeSynonyms: false,
          includeDocumentation: false,
        })
      ).results[0];
    const { SET, DELETE, APPEND } = IncrementalAlterConfigOperationTypes;
    const nodeName = String(broker.nodeId);

    let response = await alterBroker('', [
      { name: 'log.retention.ms', configOperation: SET, value: '5400000' },
    ]);
    assert.equal(response.responses[0].errorCode, ErrorCode.NONE);
    const defaults = await describeBroker('', null);
    assert.deepEqual(
      defaults.configs.map((config) => [config.name, config.value, config.configSource]),
      [['log.retention.ms', '5400000', ConfigSources.DYNAMIC_DEFAULT_BROKER_CONFIG]],
    );
    const own = await describeBroker(nodeName, ['log.retention.ms', 'log.cleanup.policy']);
    assert.deepEqual(
      new Map(own.configs.map((config) => [config.name, [config.value, config.configSource]])),
      new Map([
        ['log.retention.ms', ['5400000', ConfigSources.DYNAMIC_DEFAULT_BROKER_CONFIG]],
        ['log.cleanup.policy', ['delete', ConfigSources.DEFAULT_CONFIG]],
      ]),
    );

    response = await alterBroker(nodeName, [
      { name: 'log.cleanup.policy', configOperation: APPEND, value: 'compact' },
    ]);
    assert.equal(response.responses[0].errorCode, ErrorCode.NONE);
    const policy = (await describeBroker(nodeName, ['log.cleanup.policy'])).configs[0];
    assert.deepEqual(
      [policy.value, policy.configSource],
      ['delete,compact', ConfigSources.DYNAMIC_BROKER_CONFIG],
    );

    response = await alterBroker('', [
      { name: 'log.retention.ms', configOperation: DELETE, value: null },
    ]);
    assert.equal(response.responses[0].errorCode, ErrorCode.NONE);
    assert.deepEqual((await describeBroker('', null)).configs, []);
    const restored = (await describeBroker(nodeName, ['log.retention.ms'])).configs[0];
    assert.equal(restored.configSource, ConfigSources.DEFAULT_CONFIG);

    response = await alterBroker(nodeName, [
      { name: 'num.network.threads.typo', configOperation: SET, value: '1' },
    ]);
    assert.equal(response.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
    response = await alterBroker('99', [
      { name: 'log.retention.ms', configOperation: SET, value: '1' },
    ]);
    assert.equal(response.responses[0].errorCode, ErrorCode.INVALID_REQUEST);
  });
});
