// What the admin APIs changed survives a restart on the same log.dirs: topics, their ids and
// partition counts, topic config overrides (described and in force on the logs), the log start
// offset DeleteRecords set, dynamic broker configs, and the absence of deleted topics.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';

import { type Broker, startBroker } from '../../src/broker.js';
import { LocalMetadataStore } from '../../src/metadata/metadata-store.js';

const TOPIC = 2;
const BROKER = 4;
const TOPIC_CONFIG = 1;
const DYNAMIC_BROKER_CONFIG = 2;

function adminOf(broker: Broker) {
  return new Kafka({
    clientId: 'admin-restart',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 50 },
  }).admin();
}

test('a restart keeps topics, topic ids, partition counts, configs, log start offsets and dynamic broker configs', async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'brook-admin-restart-'));
  const settings = { 'auto.create.topics.enable': false };
  try {
    const first = await startBroker({ logDirs: logDir, settings });
    let topicId: Buffer;
    try {
      const admin = adminOf(first);
      await admin.connect();
      const producer = new Kafka({
        clientId: 'admin-restart-producer',
        brokers: [first.bootstrapServers],
        logLevel: logLevel.NOTHING,
      }).producer();
      await producer.connect();
      await admin.createTopics({
        topics: [
          {
            topic: 'durable',
            numPartitions: 1,
            configEntries: [{ name: 'retention.ms', value: '3600000' }],
          },
          { topic: 'temporary' },
        ],
      });
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: TOPIC,
            name: 'durable',
            configEntries: [
              { name: 'retention.ms', value: '3600000' },
              { name: 'max.message.bytes', value: '5000' },
            ],
          },
          {
            type: BROKER,
            name: String(first.nodeId),
            configEntries: [{ name: 'log.retention.bytes', value: '123456789' }],
          },
        ],
      });
      await admin.createPartitions({ topicPartitions: [{ topic: 'durable', count: 3 }] });
      await producer.send({
        topic: 'durable',
        messages: Array.from({ length: 8 }, (_, index) => ({
          partition: 2,
          value: `record-${index}`,
        })),
        acks: -1,
      });
      await admin.fetchTopicMetadata({ topics: ['durable'] });
      await admin.deleteTopicRecords({
        topic: 'durable',
        partitions: [{ partition: 2, offset: '5' }],
      });
      await admin.deleteTopics({ topics: ['temporary'] });
      topicId = first.replicas.topic('durable')!.metadata.topicId;
      await producer.disconnect();
      await admin.disconnect();
    } finally {
      await first.stop();
    }

    const second = await startBroker({ logDirs: logDir, settings });
    try {
      const admin = adminOf(second);
      await admin.connect();
      try {
        assert.deepEqual(
          (await admin.listTopics()).filter((name) => !name.startsWith('__')),
          ['durable'],
        );
        const durable = second.replicas.topic('durable')!;
        assert.ok(durable.metadata.topicId.equals(topicId), 'the topic id is kept');
        assert.equal(durable.partitions.length, 3);

        const described = await admin.describeConfigs({
          resources: [
            { type: TOPIC, name: 'durable' },
            { type: BROKER, name: String(second.nodeId), configNames: ['log.retention.bytes'] },
          ],
          includeSynonyms: false,
        });
        const topicConfigs = new Map(
          described.resources
            .find((resource) => resource.resourceType === TOPIC)!
            .configEntries.map((entry) => [entry.configName, entry]),
        );
        for (const [name, value] of [
          ['retention.ms', '3600000'],
          ['max.message.bytes', '5000'],
        ]) {
          assert.deepEqual(
            [topicConfigs.get(name)!.configValue, topicConfigs.get(name)!.configSource],
            [value, TOPIC_CONFIG],
            name,
          );
        }
        const brokerConfigs = described.resources.find(
          (resource) => resource.resourceType === BROKER,
        )!;
        assert.deepEqual(
          brokerConfigs.configEntries.map((entry) => [
            entry.configName,
            entry.configValue,
            entry.configSource,
          ]),
          [['log.retention.bytes', '123456789', DYNAMIC_BROKER_CONFIG]],
        );
        assert.equal(topicConfigs.get('retention.bytes')!.configValue, '123456789');

        const log = durable.partitions[2].log;
        assert.equal(
          log.config.retentionMs,
          3_600_000,
          'the overrides are in force after the restart',
        );
        assert.equal(log.config.maxMessageBytes, 5000);
        assert.deepEqual(
          (await admin.fetchTopicOffsets('durable')).find((offset) => offset.partition === 2),
          { partition: 2, offset: '8', high: '8', low: '5' },
        );
      } finally {
        await admin.disconnect();
      }
    } finally {
      await second.stop();
    }
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
});

test('a stored dynamic broker config that no longer applies is skipped at start-up, not fatal', async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'brook-admin-stale-'));
  try {
    const store = await LocalMetadataStore.open(logDir);
    // log.dirs cannot change at run time; an older Brook (or a hand edit) may still have stored it.
    await store.setBrokerConfigs({ 'log.dirs': '/elsewhere', 'log.retention.ms': '5000' });
    const warnings: string[] = [];
    const broker = await startBroker({
      logDirs: logDir,
      logger: {
        info: () => undefined,
        warn: (message) => warnings.push(message),
        error: () => undefined,
      },
    });
    try {
      const admin = adminOf(broker);
      await admin.connect();
      try {
        const described = await admin.describeConfigs({
          resources: [
            {
              type: BROKER,
              name: String(broker.nodeId),
              configNames: ['log.retention.ms', 'log.dirs'],
            },
          ],
          includeSynonyms: false,
        });
        const entries = new Map(
          described.resources[0].configEntries.map((entry) => [entry.configName, entry]),
        );
        assert.deepEqual(
          [
            entries.get('log.retention.ms')!.configValue,
            entries.get('log.retention.ms')!.configSource,
          ],
          ['5000', DYNAMIC_BROKER_CONFIG],
        );
        assert.equal(entries.get('log.dirs')!.configValue, logDir);
      } finally {
        await admin.disconnect();
      }
      assert.equal(
        warnings.filter((message) => /stored dynamic broker config log\.dirs/.test(message)).length,
        1,
      );
    } finally {
      await broker.stop();
    }
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
});
