import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alterBrokerConfig,
  ConfigError,
  ConfigErrorCode,
  ConfigSource,
  ConfigType,
  brokerConfigDefinitions,
  describeBrokerConfigs,
  describeTopicConfigs,
  effectiveTopicConfigs,
  parseTopicConfigs,
  resolveBrokerConfig,
  topicConfigDefinitions,
  topicLogConfig,
} from '../../src/config/index.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';

test('a topic without overrides gets its defaults from the broker settings that back them', () => {
  const broker = resolveBrokerConfig({
    file: {
      'log.retention.hours': '1',
      'log.segment.bytes': '1000000',
      'message.max.bytes': '2000',
    },
  });
  const effective = effectiveTopicConfigs(broker);
  assert.equal(effective.get('retention.ms'), 3_600_000);
  assert.equal(effective.get('segment.bytes'), 1_000_000);
  assert.equal(effective.get('max.message.bytes'), 2000);
  assert.equal(effective.get('segment.ms'), 168 * 3_600_000);
});

test('log.retention.ms beats log.retention.minutes beats log.retention.hours, and -1 stays -1', () => {
  assert.equal(
    effectiveTopicConfigs(
      resolveBrokerConfig({ file: { 'log.retention.minutes': '2', 'log.retention.hours': '5' } }),
    ).get('retention.ms'),
    120_000,
  );
  assert.equal(
    effectiveTopicConfigs(
      resolveBrokerConfig({ file: { 'log.retention.minutes': '2', 'log.retention.ms': '7' } }),
    ).get('retention.ms'),
    7,
  );
  assert.equal(
    effectiveTopicConfigs(resolveBrokerConfig({ file: { 'log.retention.hours': '-1' } })).get(
      'retention.ms',
    ),
    -1,
  );
});

test('topic overrides are validated and named when refused', () => {
  const parsed = parseTopicConfigs([
    ['retention.ms', '1000'],
    ['cleanup.policy', 'compact,delete'],
    ['max.message.bytes', null],
  ]);
  assert.equal(parsed.get('retention.ms'), 1000);
  assert.deepEqual(parsed.get('cleanup.policy'), ['compact', 'delete']);
  assert.equal(parsed.get('max.message.bytes'), null);
  for (const [name, value, code] of [
    ['retention.mss', '1', ConfigErrorCode.UNKNOWN_SETTING],
    ['retention.ms', 'soon', ConfigErrorCode.INVALID_VALUE],
    ['segment.bytes', '10', ConfigErrorCode.INVALID_VALUE],
    ['message.timestamp.type', 'Now', ConfigErrorCode.INVALID_VALUE],
    ['min.cleanable.dirty.ratio', '1.5', ConfigErrorCode.INVALID_VALUE],
  ] as const) {
    assert.throws(
      () => parseTopicConfigs([[name, value]]),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === code &&
        error.message.includes(name.split('.')[0]),
      `${name}=${value}`,
    );
  }
});

test('describe reports value, source and synonyms for every topic config', () => {
  const broker = resolveBrokerConfig({ file: { 'log.retention.hours': '2' } });
  const described = describeTopicConfigs(broker, parseTopicConfigs([['segment.bytes', '4096']]));
  assert.equal(described.length, topicConfigDefinitions.size);
  const byName = new Map(described.map((config) => [config.name, config]));

  const segmentBytes = byName.get('segment.bytes')!;
  assert.equal(segmentBytes.value, '4096');
  assert.equal(segmentBytes.source, ConfigSource.TOPIC_CONFIG);
  assert.equal(segmentBytes.isDefault, false);
  assert.deepEqual(
    segmentBytes.synonyms.map((synonym) => [synonym.name, synonym.source]),
    [
      ['segment.bytes', ConfigSource.TOPIC_CONFIG],
      ['log.segment.bytes', ConfigSource.DEFAULT_CONFIG],
    ],
  );
  assert.equal(segmentBytes.configType, ConfigType.INT);

  const retention = byName.get('retention.ms')!;
  assert.equal(retention.value, String(2 * 3_600_000));
  assert.equal(retention.source, ConfigSource.STATIC_BROKER_CONFIG);
  assert.deepEqual(
    retention.synonyms.map((synonym) => synonym.name),
    ['log.retention.hours', 'log.retention.hours'],
  );

  const flushMessages = byName.get('flush.messages')!;
  assert.equal(flushMessages.value, '1');
  assert.equal(flushMessages.source, ConfigSource.DEFAULT_CONFIG);
  assert.equal(flushMessages.isDefault, true);
  assert.equal(byName.get('flush.ms')!.value, '9223372036854775807');
  assert.equal(byName.get('cleanup.policy')!.value, 'delete');
});

test('describe of the broker lists every setting, read-only unless dynamic', () => {
  const broker = resolveBrokerConfig({ flags: { 'num.partitions': '4' } });
  const described = describeBrokerConfigs(broker);
  assert.equal(described.length, brokerConfigDefinitions.size);
  const numPartitions = described.find((config) => config.name === 'num.partitions')!;
  assert.equal(numPartitions.value, '4');
  assert.equal(numPartitions.source, ConfigSource.STATIC_BROKER_CONFIG);
  assert.equal(numPartitions.readOnly, true);
  const retention = described.find((config) => config.name === 'log.retention.ms')!;
  assert.equal(retention.value, null);
  assert.equal(retention.readOnly, false);
});

test('the LogConfig for storage is camelCase numbers, with Long.MAX_VALUE as MAX_SAFE_INTEGER', () => {
  const broker = resolveBrokerConfig({
    file: { 'log.segment.bytes': '1048576', 'log.message.timestamp.type': 'LogAppendTime' },
  });
  const logConfig = topicLogConfig(
    broker,
    parseTopicConfigs([
      ['retention.bytes', '5000'],
      ['cleanup.policy', 'compact'],
      ['min.cleanable.dirty.ratio', '0.25'],
    ]),
  );
  assert.equal(logConfig.segmentBytes, 1048576);
  assert.equal(logConfig.segmentMs, 604_800_000);
  assert.equal(logConfig.retentionMs, 604_800_000);
  assert.equal(logConfig.retentionBytes, 5000);
  assert.equal(logConfig.cleanupPolicy, 'compact');
  assert.equal(logConfig.deleteRetentionMs, 86_400_000);
  assert.equal(logConfig.minCompactionLagMs, 0);
  assert.equal(logConfig.maxCompactionLagMs, Number.MAX_SAFE_INTEGER);
  assert.equal(logConfig.minCleanableDirtyRatio, 0.25);
  assert.equal(logConfig.flushMessages, 1);
  assert.equal(logConfig.flushMs, Number.MAX_SAFE_INTEGER);
  assert.equal(logConfig.messageTimestampType, 'LogAppendTime');
  assert.equal(logConfig.maxMessageBytes, 1048588);
  assert.equal(logConfig.indexIntervalBytes, 4096);
  assert.equal(
    topicLogConfig(broker, parseTopicConfigs([['cleanup.policy', 'delete,compact']])).cleanupPolicy,
    'compact,delete',
  );
  assert.throws(() => parseTopicConfigs([['cleanup.policy', '']]), /cleanup\.policy/);
});

test('an untouched broker gives storage exactly its default LogConfig', () => {
  assert.deepEqual(topicLogConfig(resolveBrokerConfig()), defaultLogConfig);
});

test('every topic config names broker synonyms that exist and has a default that passes its own validation', () => {
  for (const [name, definition] of topicConfigDefinitions) {
    for (const synonym of definition.brokerSynonyms)
      assert.ok(brokerConfigDefinitions.has(synonym), `${name} -> ${synonym}`);
    assert.doesNotThrow(
      () =>
        parseTopicConfigs([
          [
            name,
            Array.isArray(definition.defaultValue)
              ? definition.defaultValue.join(',')
              : definition.defaultValue === 2 ** 63
                ? '9223372036854775807'
                : String(definition.defaultValue),
          ],
        ]),
      name,
    );
  }
  // And the topic default equals what an untouched broker derives for it.
  const effective = effectiveTopicConfigs(resolveBrokerConfig());
  for (const [name, definition] of topicConfigDefinitions)
    assert.deepEqual(effective.get(name), definition.defaultValue, name);
});

test('synonyms list every layer that sets a broker setting, most specific first', () => {
  const broker = alterBrokerConfig(
    resolveBrokerConfig({ file: { 'log.segment.bytes': '2000000' } }),
    'default',
    [{ name: 'log.segment.bytes', value: '3000000' }],
  );
  const segmentBytes = describeTopicConfigs(broker).find(
    (config) => config.name === 'segment.bytes',
  )!;
  assert.equal(segmentBytes.value, '3000000');
  assert.equal(segmentBytes.source, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  assert.deepEqual(
    segmentBytes.synonyms.map((synonym) => [synonym.name, synonym.value, synonym.source]),
    [
      ['log.segment.bytes', '3000000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
      ['log.segment.bytes', '2000000', ConfigSource.STATIC_BROKER_CONFIG],
      ['log.segment.bytes', '1073741824', ConfigSource.DEFAULT_CONFIG],
    ],
  );
});

test('Long.MAX_VALUE survives being set, altered around and described', () => {
  const broker = resolveBrokerConfig({
    file: { 'log.cleaner.max.compaction.lag.ms': '9223372036854775807' },
  });
  const altered = alterBrokerConfig(broker, 'broker', [
    { name: 'log.retention.bytes', value: '10' },
  ]);
  const described = describeBrokerConfigs(altered).find(
    (config) => config.name === 'log.cleaner.max.compaction.lag.ms',
  )!;
  assert.equal(described.value, '9223372036854775807');
  assert.equal(described.source, ConfigSource.STATIC_BROKER_CONFIG);
});
