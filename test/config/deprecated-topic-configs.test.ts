// Topic configs Kafka 3.x deprecated but still accepts (message.format.version, ...) are accepted
// by CreateTopics, AlterConfigs and IncrementalAlterConfigs with a warning, shown by
// DescribeConfigs when set, and survive a restart; an unknown config is still refused.

// Provides Promise.withResolvers on Node.js 20; must load before @platformatic/kafka.
import '../helpers/client-platformatic-node20.js';

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  Admin,
  ConfigResourceTypes,
  IncrementalAlterConfigOperationTypes,
} from '@platformatic/kafka';
import kafkajs, { type Admin as KafkaAdmin } from 'kafkajs';
import {
  ConfigError,
  ConfigErrorCode,
  loadBrokerConfig,
  parseTopicConfigs,
} from '../../src/config/index.js';
import { startBrokerProcess } from '../helpers/broker-process.js';

const { ConfigResourceTypes: KafkaResourceTypes, Kafka, logLevel } = kafkajs;

function kafkajsAdmin(bootstrapServers: string): KafkaAdmin {
  return new Kafka({
    brokers: [bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  }).admin();
}

/** kafkajs wraps the per-topic errors of CreateTopics (and shows only their Kafka error type). */
function refusedAsInvalidConfig(error: unknown): boolean {
  const errors = (error as { errors?: Array<{ type?: string }> }).errors ?? [];
  assert.deepEqual(
    errors.map((inner) => inner.type),
    ['INVALID_CONFIG'],
  );
  return true;
}

async function topicConfigs(admin: KafkaAdmin, topic: string): Promise<Map<string, string | null>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: KafkaResourceTypes.TOPIC, name: topic }],
  });
  return new Map(
    described.resources[0].configEntries.map((entry) => [entry.configName, entry.configValue]),
  );
}

test('deprecated Kafka 3.x topic configs are accepted with a warning through all three admin APIs', async () => {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-deprecated-'));
  let broker = await startBrokerProcess({ logDir });
  let admin = kafkajsAdmin(broker.bootstrapServers);
  try {
    await admin.connect();
    // CreateTopics.
    await admin.createTopics({
      topics: [
        {
          topic: 'legacy',
          configEntries: [
            { name: 'message.format.version', value: '2.8' },
            { name: 'retention.ms', value: '86400000' },
          ],
        },
      ],
    });
    let configs = await topicConfigs(admin, 'legacy');
    assert.equal(configs.get('message.format.version'), '2.8');
    assert.equal(configs.get('retention.ms'), '86400000');

    // AlterConfigs replaces the whole override set.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: KafkaResourceTypes.TOPIC,
          name: 'legacy',
          configEntries: [
            { name: 'message.timestamp.difference.max.ms', value: '60000' },
            { name: 'retention.ms', value: '3600000' },
          ],
        },
      ],
    });
    configs = await topicConfigs(admin, 'legacy');
    assert.equal(configs.get('message.timestamp.difference.max.ms'), '60000');
    assert.equal(configs.has('message.format.version'), false, 'AlterConfigs replaced it');

    // IncrementalAlterConfigs, through another client.
    const platformatic = new Admin({
      clientId: 'deprecated-configs',
      bootstrapBrokers: [broker.bootstrapServers],
      retries: 1,
    });
    try {
      await platformatic.incrementalAlterConfigs({
        resources: [
          {
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName: 'legacy',
            configs: [
              {
                name: 'message.downconversion.enable',
                configOperation: IncrementalAlterConfigOperationTypes.SET,
                value: 'false',
              },
            ],
          },
        ],
      });
    } finally {
      await platformatic.close();
    }
    configs = await topicConfigs(admin, 'legacy');
    assert.equal(configs.get('message.downconversion.enable'), 'false');
    assert.equal(configs.get('message.timestamp.difference.max.ms'), '60000');

    // A badly typed value of a deprecated config and an unknown config are still refused.
    await assert.rejects(
      admin.createTopics({
        topics: [
          { topic: 'bad', configEntries: [{ name: 'message.format.version', value: 'banana' }] },
        ],
      }),
      refusedAsInvalidConfig,
    );
    await assert.rejects(
      admin.createTopics({
        topics: [
          { topic: 'bad', configEntries: [{ name: 'message.format.versio', value: '2.8' }] },
        ],
      }),
      refusedAsInvalidConfig,
    );

    for (const name of [
      'message.format.version',
      'message.timestamp.difference.max.ms',
      'message.downconversion.enable',
    ]) {
      const warnings = broker.output().split(`topic config ${name} is deprecated`).length - 1;
      assert.equal(warnings, 1, `one warning for ${name}:\n${broker.output()}`);
    }

    // The stored overrides load again after a restart.
    await admin.disconnect();
    assert.equal(await broker.stop(), 0, broker.output());
    broker = await startBrokerProcess({ logDir });
    admin = kafkajsAdmin(broker.bootstrapServers);
    await admin.connect();
    configs = await topicConfigs(admin, 'legacy');
    assert.equal(configs.get('message.downconversion.enable'), 'false');
    assert.equal(configs.get('retention.ms'), '3600000');
  } finally {
    await admin.disconnect();
    await broker.stop();
  }
});

test('a deprecated topic config is parsed by its type, and a misspelt one is still unknown', () => {
  assert.deepEqual(
    [...parseTopicConfigs([['message.downconversion.enable', 'true']])],
    [['message.downconversion.enable', true]],
  );
  assert.throws(
    () => parseTopicConfigs([['message.timestamp.difference.max.ms', '-5']]),
    (error: unknown) =>
      error instanceof ConfigError && /message\.timestamp\.difference\.max\.ms/.test(error.message),
  );
  assert.throws(
    () => parseTopicConfigs([['message.format.versio', '2.8']]),
    (error: unknown) =>
      error instanceof ConfigError && error.code === ConfigErrorCode.UNKNOWN_SETTING,
  );
});

test('the broker-wide forms of the deprecated topic configs in a server.properties are skipped with a warning', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'brook-deprecated-')), 'server.properties');
  writeFileSync(file, 'log.message.format.version=2.8\nlog.message.downconversion.enable=true\n');
  const { warnings } = loadBrokerConfig({ args: ['--config', file], environment: {} });
  for (const name of ['log.message.format.version', 'log.message.downconversion.enable']) {
    assert.ok(
      warnings.some((warning) => warning.includes(name)),
      `${name} in ${warnings}`,
    );
  }
});
