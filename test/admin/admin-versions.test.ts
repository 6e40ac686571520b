// Every advertised version of each admin API answered by a real broker and decoded with the
// project's codecs: the handlers build one response for all versions, and the encoders drop what
// a version lacks, so each version must still carry its own fields correctly.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { AlterConfigsResponse } from '../../src/protocol/generated/alter-configs.js';
import type { CreatePartitionsResponse } from '../../src/protocol/generated/create-partitions.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { DeleteRecordsResponse } from '../../src/protocol/generated/delete-records.js';
import type { DeleteTopicsResponse } from '../../src/protocol/generated/delete-topics.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/describe-configs.js';
import type { DescribeLogDirsResponse } from '../../src/protocol/generated/describe-log-dirs.js';
import { callBroker } from '../helpers/wire-client.js';

test('CreateTopics, DescribeConfigs, AlterConfigs, CreatePartitions, DeleteRecords, DescribeLogDirs and DeleteTopics answer at every version', async () => {
  const broker = await startBroker({ settings: { 'auto.create.topics.enable': false } });
  const call = <Response>(apiKey: number, version: number, request: unknown) =>
    callBroker<Response>(broker.bootstrapServers, apiKey, version, request);
  try {
    for (let version = 0; version <= 7; version += 1) {
      const name = `versioned-${version}`;
      const created = await call<CreateTopicsResponse>(19, version, {
        timeoutMs: 5000,
        validateOnly: false,
        topics: [
          {
            name,
            numPartitions: 2,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'retention.ms', value: '86400000' }],
          },
        ],
      });
      const [result] = created.topics;
      assert.deepEqual(
        [result.name, result.errorCode],
        [name, ErrorCode.NONE],
        `CreateTopics v${version}`,
      );
      if (version >= 5) {
        assert.deepEqual([result.numPartitions, result.replicationFactor], [2, 1]);
        const retention = result.configs!.find((config) => config.name === 'retention.ms')!;
        assert.deepEqual([retention.value, retention.configSource], ['86400000', 1]);
      }
      if (version >= 7)
        assert.ok(result.topicId.equals(broker.replicas.topic(name)!.metadata.topicId));
    }

    for (let version = 0; version <= 4; version += 1) {
      const described = await call<DescribeConfigsResponse>(32, version, {
        resources: [
          { resourceType: 2, resourceName: 'versioned-0', configurationKeys: ['retention.ms'] },
        ],
        includeSynonyms: version >= 1,
        includeDocumentation: version >= 3,
      });
      const [config] = described.results[0].configs;
      assert.equal(config.value, '86400000', `DescribeConfigs v${version}`);
      if (version >= 1) assert.equal(config.configSource, 1);
      if (version >= 1) assert.equal(config.synonyms[0].name, 'retention.ms');
      if (version >= 3) assert.equal(config.configType, 5);
      if (version >= 3) assert.ok((config.documentation ?? '').length > 0);
    }

    for (let version = 0; version <= 2; version += 1) {
      const altered = await call<AlterConfigsResponse>(33, version, {
        validateOnly: false,
        resources: [
          {
            resourceType: 2,
            resourceName: 'versioned-1',
            configs: [{ name: 'segment.ms', value: `${60000 + version}` }],
          },
        ],
      });
      assert.equal(altered.responses[0].errorCode, ErrorCode.NONE, `AlterConfigs v${version}`);
      assert.deepEqual(broker.replicas.topic('versioned-1')!.metadata.configs, {
        'segment.ms': `${60000 + version}`,
      });
    }

    for (let version = 0; version <= 3; version += 1) {
      const grown = await call<CreatePartitionsResponse>(37, version, {
        timeoutMs: 5000,
        validateOnly: false,
        topics: [
          {
            name: 'versioned-2',
            count: 3 + version,
            assignments: [{ brokerIds: [broker.nodeId] }],
          },
        ],
      });
      assert.equal(grown.results[0].errorCode, ErrorCode.NONE, `CreatePartitions v${version}`);
      assert.equal(broker.replicas.topic('versioned-2')!.partitions.length, 3 + version);
    }

    for (let version = 0; version <= 2; version += 1) {
      const deleted = await call<DeleteRecordsResponse>(21, version, {
        timeoutMs: 5000,
        topics: [
          {
            name: 'versioned-3',
            partitions: [
              { partitionIndex: 0, offset: -1n },
              { partitionIndex: 7, offset: 0n },
            ],
          },
        ],
      });
      assert.deepEqual(
        deleted.topics[0].partitions.map((partition) => [
          partition.errorCode,
          partition.lowWatermark,
        ]),
        [
          [ErrorCode.NONE, 0n],
          [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
        ],
        `DeleteRecords v${version}`,
      );
    }

    for (let version = 0; version <= 4; version += 1) {
      const dirs = await call<DescribeLogDirsResponse>(35, version, {
        topics: [{ topic: 'versioned-4', partitions: [0, 1, 5] }],
      });
      assert.equal(dirs.results.length, 1, `DescribeLogDirs v${version}`);
      assert.deepEqual(
        dirs.results[0].topics.map((topic) => [
          topic.name,
          topic.partitions.map((partition) => partition.partitionIndex),
        ]),
        [['versioned-4', [0, 1]]],
      );
      if (version >= 4) assert.ok(dirs.results[0].totalBytes > 0n);
    }

    for (let version = 0; version <= 6; version += 1) {
      const name = `versioned-${version}`;
      const request =
        version >= 6
          ? { timeoutMs: 5000, topics: [{ name, topicId: Buffer.alloc(16) }] }
          : { timeoutMs: 5000, topicNames: [name] };
      const deleted = await call<DeleteTopicsResponse>(20, version, request);
      assert.deepEqual(
        deleted.responses.map((response) => [response.name, response.errorCode]),
        [[name, ErrorCode.NONE]],
        `DeleteTopics v${version}`,
      );
    }
    assert.deepEqual(
      broker.replicas
        .topics()
        .filter((topic) => !topic.metadata.internal)
        .map((topic) => topic.metadata.name),
      ['versioned-7'],
    );
  } finally {
    await broker.stop();
  }
});

test('CreateTopics: -1 takes the broker defaults, a duplicated topic or a null config value is refused', async () => {
  const broker = await startBroker({
    settings: { 'auto.create.topics.enable': false, 'num.partitions': 3 },
  });
  try {
    const topic = (name: string, configs: Array<{ name: string; value: string | null }> = []) => ({
      name,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [],
      configs,
    });
    const response = await callBroker<CreateTopicsResponse>(broker.bootstrapServers, 19, 7, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: [
        topic('defaults'),
        topic('twice'),
        topic('twice'),
        topic('null-config', [{ name: 'retention.ms', value: null }]),
        topic('named-twice', [
          { name: 'retention.ms', value: '1000' },
          { name: 'retention.ms', value: '2000' },
        ]),
      ],
    });
    assert.deepEqual(
      response.topics.map((result) => [
        result.name,
        result.errorCode,
        result.numPartitions,
        result.replicationFactor,
      ]),
      [
        ['defaults', ErrorCode.NONE, 3, 1],
        ['twice', ErrorCode.INVALID_REQUEST, -1, -1],
        ['twice', ErrorCode.INVALID_REQUEST, -1, -1],
        ['null-config', ErrorCode.INVALID_CONFIG, -1, -1],
        ['named-twice', ErrorCode.INVALID_REQUEST, -1, -1],
      ],
    );
    assert.equal(
      response.topics[3].errorMessage,
      'Null value not supported for topic configs: retention.ms',
    );
    assert.deepEqual(
      broker.replicas
        .topics()
        .filter((created) => !created.metadata.internal)
        .map((created) => [created.metadata.name, created.partitions.length]),
      [['defaults', 3]],
    );
  } finally {
    await broker.stop();
  }
});
