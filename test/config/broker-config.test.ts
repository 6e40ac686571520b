import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ConfigError,
  ConfigErrorCode,
  ConfigSource,
  advertisedAddresses,
  alterBrokerConfig,
  brokerConfigDefinitions,
  brokerSetting,
  loadBrokerConfig,
  parseListener,
  resolveBrokerConfig,
} from '../../src/config/index.js';
import { parseJaasCredentials } from '../../src/config/broker-config.js';

function configFile(text: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'brook-config-'));
  const path = join(directory, 'server.properties');
  writeFileSync(path, text);
  return path;
}

function assertConfigError(action: () => unknown, code: string, mentions: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.ok(
      error.message.includes(mentions),
      `message ${JSON.stringify(error.message)} should name ${mentions}`,
    );
    return true;
  });
}

test('defaults are Brook defaults: ./data, 127.0.0.1:9092, node 1, one partition, fsync per ack, no rebalance delay', () => {
  const { config } = loadBrokerConfig({ args: [], environment: {} });
  assert.deepEqual(config.logDirs, ['./data']);
  assert.deepEqual(config.listeners, [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
  assert.deepEqual(config.advertisedListeners, config.listeners);
  assert.equal(config.nodeId, 1);
  assert.equal(config.numPartitions, 1);
  assert.equal(config.defaultReplicationFactor, 1);
  assert.equal(config.autoCreateTopicsEnable, true);
  assert.equal(config.socketRequestMaxBytes, 104857600);
  assert.equal(config.connectionsMaxIdleMs, 600000);
  assert.equal(config.messageMaxBytes, 1048588);
  assert.equal(config.offsetsTopicNumPartitions, 50);
  assert.equal(config.offsetsRetentionMs, 10080 * 60_000);
  assert.equal(config.groupInitialRebalanceDelayMs, 0);
  assert.equal(brokerSetting(config, 'log.flush.interval.messages'), 1);
  assert.equal(config.settings.get('num.partitions')!.source, ConfigSource.DEFAULT_CONFIG);
});

test('precedence is flags over environment over file over defaults', () => {
  const file = configFile(
    'num.partitions=2\ndefault.replication.factor=1\nlog.dirs=/from/file\nmessage.max.bytes=5000\n',
  );
  const { config } = loadBrokerConfig({
    args: ['--config', file, '--num-partitions', '4'],
    environment: { BROOK_NUM_PARTITIONS: '3', BROOK_LOG_DIRS: '/from/env' },
  });
  assert.equal(config.numPartitions, 4);
  assert.deepEqual(config.logDirs, ['/from/env']);
  assert.equal(config.messageMaxBytes, 5000);
  assert.equal(config.settings.get('num.partitions')!.origin, '--num-partitions');
  assert.equal(config.settings.get('log.dirs')!.origin, 'BROOK_LOG_DIRS');
  assert.equal(config.settings.get('message.max.bytes')!.origin, file);
  assert.equal(config.settings.get('message.max.bytes')!.source, ConfigSource.STATIC_BROKER_CONFIG);
});

test('flags take --name value, --name=value, dotted names, --override, and a bare boolean', () => {
  const { config } = loadBrokerConfig({
    environment: {},
    args: [
      '--num-partitions=4',
      '--log-dirs',
      '/a,/b',
      '--listeners',
      'PLAINTEXT://0.0.0.0:0',
      '--advertised-listeners',
      'PLAINTEXT://broker.example:9093',
      '--override',
      'log.retention.hours=1',
      '--delete.topic.enable',
      'false',
      '--auto-create-topics-enable',
    ],
  });
  assert.equal(config.numPartitions, 4);
  assert.deepEqual(config.logDirs, ['/a', '/b']);
  assert.deepEqual(config.listeners, [{ name: 'PLAINTEXT', host: '0.0.0.0', port: 0 }]);
  assert.deepEqual(config.advertisedListeners, [
    { name: 'PLAINTEXT', host: 'broker.example', port: 9093 },
  ]);
  assert.equal(brokerSetting(config, 'log.retention.hours'), 1);
  assert.equal(config.deleteTopicEnable, false);
  assert.equal(config.autoCreateTopicsEnable, true);
});

test('an unknown setting is refused naming it, from a flag, the file or code', () => {
  assertConfigError(
    () => loadBrokerConfig({ args: ['--num-partition', '4'], environment: {} }),
    ConfigErrorCode.UNKNOWN_SETTING,
    '--num-partition',
  );
  const file = configFile('num.partitions=1\nlog.retention.hourz=3\n');
  assertConfigError(
    () => loadBrokerConfig({ args: ['--config', file], environment: {} }),
    ConfigErrorCode.UNKNOWN_SETTING,
    'log.retention.hourz',
  );
  assertConfigError(
    () => resolveBrokerConfig({ overrides: { 'no.such.thing': 1 } }),
    ConfigErrorCode.UNKNOWN_SETTING,
    'no.such.thing',
  );
});

test('an invalid value is refused naming the setting and where it came from', () => {
  assertConfigError(
    () => loadBrokerConfig({ args: [], environment: { BROOK_NUM_PARTITIONS: 'four' } }),
    ConfigErrorCode.INVALID_VALUE,
    'num.partitions',
  );
  assertConfigError(
    () => loadBrokerConfig({ args: ['--num-partitions', '0'], environment: {} }),
    ConfigErrorCode.INVALID_VALUE,
    'at least 1',
  );
  assertConfigError(
    () => resolveBrokerConfig({ flags: { 'auto.create.topics.enable': 'yes' } }),
    ConfigErrorCode.INVALID_VALUE,
    'auto.create.topics.enable',
  );
  assertConfigError(
    () => resolveBrokerConfig({ flags: { 'socket.request.max.bytes': '2147483648' } }),
    ConfigErrorCode.INVALID_VALUE,
    'socket.request.max.bytes',
  );
  assertConfigError(
    () => resolveBrokerConfig({ flags: { 'log.cleanup.policy': 'delete,shred' } }),
    ConfigErrorCode.INVALID_VALUE,
    'shred',
  );
  assertConfigError(
    () => resolveBrokerConfig({ flags: { listeners: 'localhost:9092' } }),
    ConfigErrorCode.INVALID_VALUE,
    'listeners',
  );
  assertConfigError(
    () => resolveBrokerConfig({ flags: { 'log.message.timestamp.type': 'createtime' } }),
    ConfigErrorCode.INVALID_VALUE,
    'CreateTime',
  );
});

test('settings that contradict each other are refused', () => {
  assertConfigError(
    () => resolveBrokerConfig({ flags: { 'log.dirs': '/data/a,/data/b,/data/a/' } }),
    ConfigErrorCode.CONFLICT,
    'names the directory /data/a/ twice',
  );
  assertConfigError(
    () => resolveBrokerConfig({ flags: { 'node.id': 2, 'broker.id': 3 } }),
    ConfigErrorCode.CONFLICT,
    'broker.id',
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        flags: { listeners: 'PLAINTEXT://127.0.0.1:0', 'advertised.listeners': 'INTERNAL://h:1' },
      }),
    ConfigErrorCode.CONFLICT,
    'INTERNAL',
  );
  assertConfigError(
    () => resolveBrokerConfig({ flags: { listeners: 'SSL://127.0.0.1:9093' } }),
    ConfigErrorCode.CONFLICT,
    'ssl.keystore.location',
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        flags: {
          listeners: 'CLIENTS://127.0.0.1:9093',
          'listener.security.protocol.map': 'CLIENTS:KERBEROS',
        },
      }),
    ConfigErrorCode.CONFLICT,
    'SASL_SSL',
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        flags: { listeners: 'PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:1' },
      }),
    ConfigErrorCode.INVALID_VALUE,
    'twice',
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        flags: { 'group.min.session.timeout.ms': 10, 'group.max.session.timeout.ms': 5 },
      }),
    ConfigErrorCode.CONFLICT,
    'group.min.session.timeout.ms',
  );
});

test('the inter-broker listener must be a listener, and a SASL one needs the JAAS identity', () => {
  assertConfigError(
    () => resolveBrokerConfig({ flags: { 'inter.broker.listener.name': 'REPLICATION' } }),
    ConfigErrorCode.CONFLICT,
    'inter.broker.listener.name',
  );
  const secured = {
    listeners: 'CLIENT://127.0.0.1:0,REPLICATION://127.0.0.1:0',
    'listener.security.protocol.map': 'CLIENT:PLAINTEXT,REPLICATION:SASL_PLAINTEXT',
    'inter.broker.listener.name': 'REPLICATION',
  };
  assertConfigError(
    () => resolveBrokerConfig({ flags: secured }),
    ConfigErrorCode.CONFLICT,
    'sasl.jaas.config',
  );
  const config = resolveBrokerConfig({
    flags: {
      ...secured,
      'sasl.jaas.config':
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="se\\"cret";',
    },
  });
  assert.equal(config.interBrokerListenerName, 'REPLICATION');
  assert.equal(parseJaasCredentials(config.saslJaasConfig)?.password, 'se"cret');
  // In cluster mode the first listener is the inter-broker one when none is named.
  assertConfigError(
    () =>
      resolveBrokerConfig({
        flags: {
          listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
          'etcd.endpoints': 'http://127.0.0.1:2379',
        },
      }),
    ConfigErrorCode.CONFLICT,
    'sasl.jaas.config',
  );
});

test('broker.id alone sets the node id', () => {
  assert.equal(resolveBrokerConfig({ file: { 'broker.id': '7' } }).nodeId, 7);
});

test('a flag without its value and a stray argument are malformed', () => {
  assertConfigError(
    () => loadBrokerConfig({ args: ['--num-partitions'], environment: {} }),
    ConfigErrorCode.MALFORMED_FLAG,
    '--num-partitions',
  );
  assertConfigError(
    () => loadBrokerConfig({ args: ['start'], environment: {} }),
    ConfigErrorCode.MALFORMED_FLAG,
    'start',
  );
  assertConfigError(
    () => loadBrokerConfig({ args: ['--config', '/no/such/file.properties'], environment: {} }),
    ConfigErrorCode.FILE_UNREADABLE,
    '/no/such/file.properties',
  );
});

test('Kafka-only settings in a server.properties are skipped with a warning', () => {
  const file = configFile(
    'num.network.threads=3\nprocess.roles=broker,controller\nnum.partitions=2\n',
  );
  const { config, warnings } = loadBrokerConfig({
    args: ['--config', file],
    environment: { BROOK_TEST_CONCURRENCY: '2' },
  });
  assert.equal(config.numPartitions, 2);
  assert.ok(warnings.some((warning) => warning.includes('num.network.threads')));
});

test('every broker setting can be set through its environment variable and its flag', () => {
  for (const [name, definition] of brokerConfigDefinitions) {
    if (definition.defaultValue === null || name === 'listener.security.protocol.map') continue;
    const text = Array.isArray(definition.defaultValue)
      ? definition.defaultValue.join(',')
      : String(
          definition.defaultValue === 2 ** 63 ? '9223372036854775807' : definition.defaultValue,
        );
    const variable = 'BROOK_' + name.toUpperCase().replace(/\./g, '_');
    const fromEnvironment = loadBrokerConfig({
      args: [],
      environment: { [variable]: text },
    }).config;
    assert.equal(
      fromEnvironment.settings.get(name)!.source,
      ConfigSource.STATIC_BROKER_CONFIG,
      name,
    );
    const fromFlag = loadBrokerConfig({
      args: [`--${name.replace(/\./g, '-')}=${text}`],
      environment: {},
    }).config;
    assert.deepEqual(fromFlag.settings.get(name)!.value, definition.defaultValue, name);
  }
});

test('listeners: several, IPv6, empty host, port 0; ports above 65535 refused', () => {
  const config = resolveBrokerConfig({
    flags: {
      listeners: 'PLAINTEXT://[::1]:0, INTERNAL://:9094',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
    },
  });
  assert.deepEqual(config.listeners, [
    { name: 'PLAINTEXT', host: '::1', port: 0 },
    { name: 'INTERNAL', host: '', port: 9094 },
  ]);
  assert.throws(() => parseListener('PLAINTEXT://h:70000'), /65535/);
  const advertised = advertisedAddresses(config, [
    { name: 'PLAINTEXT', host: '::1', port: 40001 },
    { name: 'INTERNAL', host: '', port: 9094 },
  ]);
  assert.equal(advertised[0].port, 40001);
  assert.notEqual(advertised[1].host, '');
});

test('AlterConfigs on the broker layers dynamic values over static ones and can remove them', () => {
  const base = resolveBrokerConfig({
    file: { 'log.retention.hours': '5', 'message.max.bytes': '2000', 'num.partitions': '3' },
  });
  const altered = alterBrokerConfig(base, 'default', [
    { name: 'message.max.bytes', value: '3000' },
  ]);
  assert.equal(altered.messageMaxBytes, 3000);
  assert.equal(
    altered.settings.get('message.max.bytes')!.source,
    ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
  );
  assert.equal(altered.numPartitions, 3);
  assert.equal(altered.settings.get('num.partitions')!.source, ConfigSource.STATIC_BROKER_CONFIG);
  const perBroker = alterBrokerConfig(altered, 'broker', [
    { name: 'message.max.bytes', value: '4000' },
  ]);
  assert.equal(perBroker.messageMaxBytes, 4000);
  assert.equal(
    perBroker.settings.get('message.max.bytes')!.source,
    ConfigSource.DYNAMIC_BROKER_CONFIG,
  );
  const removed = alterBrokerConfig(perBroker, 'broker', [
    { name: 'message.max.bytes', value: null },
  ]);
  assert.equal(removed.messageMaxBytes, 3000);
  const reset = alterBrokerConfig(removed, 'default', [{ name: 'message.max.bytes', value: null }]);
  assert.equal(reset.messageMaxBytes, 2000);
  assert.equal(reset.settings.get('message.max.bytes')!.source, ConfigSource.STATIC_BROKER_CONFIG);
  assertConfigError(
    () => alterBrokerConfig(base, 'broker', [{ name: 'num.partitions', value: '4' }]),
    ConfigErrorCode.NOT_DYNAMIC,
    'num.partitions',
  );
  assertConfigError(
    () => alterBrokerConfig(base, 'broker', [{ name: 'message.max.bytes', value: 'big' }]),
    ConfigErrorCode.INVALID_VALUE,
    'message.max.bytes',
  );
  assertConfigError(
    () => alterBrokerConfig(base, 'broker', [{ name: 'nope', value: '1' }]),
    ConfigErrorCode.UNKNOWN_SETTING,
    'nope',
  );
});
