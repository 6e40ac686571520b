// The admin APIs through librdkafka: python3-confluent-kafka's AdminClient (Debian's 1.7.0 on
// librdkafka 2.0.2: CreateTopics v4, DescribeConfigs v1, AlterConfigs v0, CreatePartitions v0,
// DeleteTopics v1) running test/admin/fixtures/confluent_admin.py under /usr/bin/python3. Skipped
// when the package is missing, a failure when CI=true.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { topicConfigDefinitions } from '../../src/config/topic-definitions.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { repositoryRoot, requireClient, runChecked, systemPython } from '../helpers/clients.js';

const script = join(repositoryRoot, 'test', 'admin', 'fixtures', 'confluent_admin.py');
const TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;

interface DescribedEntry {
  value: string | null;
  source: number;
  is_default: boolean;
}

interface Report {
  create: Record<string, number>;
  create_validate_only: number;
  described: Record<string, DescribedEntry>;
  alter: number[];
  described_after_alter: Record<string, DescribedEntry>;
  create_partitions: number;
  shrink_partitions: number;
  partitions_after_growth: number;
  broker_configs: number;
  delete: number;
  delete_again: number;
}

test(
  'librdkafka AdminClient creates, describes, alters, grows and deletes topics with Kafka error codes',
  { timeout: 120_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-python')) return;
    const broker = await startBroker({ settings: { 'auto.create.topics.enable': false } });
    try {
      const stdout = await runChecked(
        systemPython,
        [script, broker.bootstrapServers, String(broker.nodeId)],
        {
          timeoutMs: 90_000,
        },
      );
      const report = JSON.parse(stdout) as Report;

      assert.deepEqual(report.create, {
        'ck-configured': ErrorCode.NONE,
        'ck-replicated': ErrorCode.INVALID_REPLICATION_FACTOR,
        'bad name!': ErrorCode.INVALID_TOPIC_EXCEPTION,
        'ck-unknown-config': ErrorCode.INVALID_CONFIG,
      });
      assert.equal(report.create_validate_only, ErrorCode.NONE);
      assert.equal(
        broker.replicas.topic('ck-imagined'),
        undefined,
        'validate_only created nothing',
      );

      assert.equal(Object.keys(report.described).length, topicConfigDefinitions.size);
      assert.deepEqual(report.described['retention.ms'], {
        value: '3600000',
        source: TOPIC_CONFIG,
        is_default: false,
      });
      assert.deepEqual(report.described['cleanup.policy'], {
        value: 'compact',
        source: TOPIC_CONFIG,
        is_default: false,
      });
      assert.deepEqual(report.described['max.message.bytes'], {
        value: '1048588',
        source: DEFAULT_CONFIG,
        is_default: true,
      });

      assert.deepEqual(report.alter, [ErrorCode.NONE]);
      // AlterConfigs replaces the whole override set.
      assert.deepEqual(report.described_after_alter['max.message.bytes'], {
        value: '3000',
        source: TOPIC_CONFIG,
        is_default: false,
      });
      assert.equal(report.described_after_alter['retention.ms'].source, DEFAULT_CONFIG);

      assert.equal(report.create_partitions, ErrorCode.NONE);
      assert.equal(report.shrink_partitions, ErrorCode.INVALID_PARTITIONS);
      assert.ok(
        report.broker_configs > 50,
        `the broker describes its settings (${report.broker_configs})`,
      );
      assert.equal(report.delete, ErrorCode.NONE);
      assert.equal(report.delete_again, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      assert.equal(report.partitions_after_growth, 4);
      assert.equal(broker.replicas.topic('ck-configured'), undefined, 'the deleted topic is gone');
    } finally {
      await broker.stop();
    }
  },
);
