// listener.name.<listener>.[<mechanism>.]<setting>: per-listener security settings from the config
// file, flags and BROOK_* variables, the most specific value winning, and bad keys refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ConfigError,
  ConfigErrorCode,
  alterBrokerConfig,
  listenerSetting,
  loadBrokerConfig,
  resolveBrokerConfig,
} from '../../src/config/index.js';
import { interBrokerSettings } from '../../src/cluster/inter-broker-connection.js';
import { runBrook } from '../helpers/brook-cli.js';

const listeners = 'EXTERNAL://127.0.0.1:0,INTERNAL_SASL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0';
const protocolMap = 'EXTERNAL:SSL,INTERNAL_SASL:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT';

function assertConfigError(action: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

test('a listener.name value wins for its listener only; others keep the broker-wide value', () => {
  const config = resolveBrokerConfig({
    overrides: {
      listeners,
      'listener.security.protocol.map': protocolMap,
      'ssl.keystore.location': '/etc/brook/default.pem',
      'listener.name.external.ssl.keystore.location': '/etc/brook/external.pem',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.internal_sasl.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
      'listener.name.internal_sasl.scram-sha-256.connections.max.reauth.ms': 60000,
    },
  });
  assert.equal(
    listenerSetting(config, 'EXTERNAL', 'ssl.keystore.location'),
    '/etc/brook/external.pem',
  );
  assert.equal(
    listenerSetting(config, 'PLAINTEXT', 'ssl.keystore.location'),
    '/etc/brook/default.pem',
  );
  assert.equal(config.sslKeystoreLocation, '/etc/brook/default.pem');
  assert.deepEqual(listenerSetting(config, 'INTERNAL_SASL', 'sasl.enabled.mechanisms'), [
    'PLAIN',
    'SCRAM-SHA-256',
  ]);
  assert.deepEqual(listenerSetting(config, 'EXTERNAL', 'sasl.enabled.mechanisms'), [
    'SCRAM-SHA-512',
  ]);
  // Listener and mechanism, then listener, then broker-wide.
  const reauth = (mechanism: string) =>
    listenerSetting(config, 'INTERNAL_SASL', 'connections.max.reauth.ms', mechanism);
  assert.equal(reauth('SCRAM-SHA-256'), 60000);
  assert.equal(reauth('PLAIN'), 0);
});

test('listener.name settings come from the config file, flags (dots or dashes) and BROOK_ variables, flags winning', () => {
  const directory = mkdtempSync(join(tmpdir(), 'brook-listener-settings-'));
  const file = join(directory, 'server.properties');
  writeFileSync(
    file,
    [
      `listeners=${listeners}`,
      `listener.security.protocol.map=${protocolMap}`,
      'ssl.keystore.location=/etc/brook/default.pem',
      'listener.name.external.ssl.truststore.location=/from/file.pem',
      'listener.name.external.ssl.client.auth=required',
      'listener.name.internal_sasl.scram-sha-512.sasl.jaas.config=username="file" password="f";',
      '',
    ].join('\n'),
  );
  const fromFile = loadBrokerConfig({ args: ['--config', file], environment: {} }).config;
  assert.equal(listenerSetting(fromFile, 'EXTERNAL', 'ssl.truststore.location'), '/from/file.pem');
  assert.equal(listenerSetting(fromFile, 'EXTERNAL', 'ssl.client.auth'), 'required');
  assert.equal(listenerSetting(fromFile, 'PLAINTEXT', 'ssl.client.auth'), 'none');
  assert.equal(
    listenerSetting(fromFile, 'INTERNAL_SASL', 'sasl.jaas.config', 'SCRAM-SHA-512'),
    'username="file" password="f";',
  );

  const environment = {
    BROOK_LISTENER_NAME_EXTERNAL_SSL_TRUSTSTORE_LOCATION: '/from/environment.pem',
    BROOK_LISTENER_NAME_INTERNAL_SASL_SCRAM_SHA_512_SASL_JAAS_CONFIG:
      'username="environment" password="e";',
    BROOK_LISTENER_NAME_INTERNAL_SASL_SASL_ENABLED_MECHANISMS: 'PLAIN',
  };
  const fromEnvironment = loadBrokerConfig({ args: ['--config', file], environment }).config;
  assert.equal(
    listenerSetting(fromEnvironment, 'EXTERNAL', 'ssl.truststore.location'),
    '/from/environment.pem',
  );
  assert.equal(
    listenerSetting(fromEnvironment, 'INTERNAL_SASL', 'sasl.jaas.config', 'SCRAM-SHA-512'),
    'username="environment" password="e";',
  );
  assert.deepEqual(listenerSetting(fromEnvironment, 'INTERNAL_SASL', 'sasl.enabled.mechanisms'), [
    'PLAIN',
  ]);

  const fromFlags = loadBrokerConfig({
    args: [
      '--config',
      file,
      '--listener-name-external-ssl-truststore-location',
      '/from/dashed-flag.pem',
      '--listener.name.internal_sasl.scram-sha-512.sasl.jaas.config=username="flag" password="x";',
      '--listener-name-internal_sasl-scram-sha-256-connections-max-reauth-ms',
      '5000',
    ],
    environment,
  }).config;
  assert.equal(
    listenerSetting(fromFlags, 'EXTERNAL', 'ssl.truststore.location'),
    '/from/dashed-flag.pem',
  );
  assert.equal(
    listenerSetting(fromFlags, 'INTERNAL_SASL', 'sasl.jaas.config', 'SCRAM-SHA-512'),
    'username="flag" password="x";',
  );
  assert.equal(
    listenerSetting(fromFlags, 'INTERNAL_SASL', 'connections.max.reauth.ms', 'SCRAM-SHA-256'),
    5000,
  );
});

test('a listener.name key for a listener that is not one of listeners is refused at start, naming it', () => {
  assertConfigError(
    () =>
      resolveBrokerConfig({
        overrides: {
          listeners,
          'listener.security.protocol.map': protocolMap,
          'ssl.keystore.location': '/etc/brook/default.pem',
          'listener.name.extrenal.ssl.keystore.location': '/etc/brook/external.pem',
        },
      }),
    ConfigErrorCode.CONFLICT,
    /listener\.name\.extrenal\.ssl\.keystore\.location .*names listener EXTRENAL, which is not one of listeners \(EXTERNAL, INTERNAL_SASL, PLAINTEXT\)/,
  );
  assertConfigError(
    () =>
      loadBrokerConfig({
        args: ['--listeners', 'PLAINTEXT://127.0.0.1:0'],
        environment: { BROOK_LISTENER_NAME_OUTSIDE_SSL_KEY_PASSWORD: 'secret' },
      }),
    ConfigErrorCode.CONFLICT,
    /names listener OUTSIDE, which is not one of listeners \(PLAINTEXT\)/,
  );
});

test('a setting that cannot be set per listener, an upper-case listener or a bad value is refused, naming the key', () => {
  const base = { listeners, 'listener.security.protocol.map': protocolMap };
  const keystore = { 'ssl.keystore.location': '/etc/brook/default.pem' };
  assertConfigError(
    () =>
      resolveBrokerConfig({ overrides: { ...base, 'listener.name.plaintext.num.partitions': 3 } }),
    ConfigErrorCode.UNKNOWN_SETTING,
    /num\.partitions cannot be set per listener/,
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        overrides: { ...base, ...keystore, 'listener.name.EXTERNAL.ssl.client.auth': 'required' },
      }),
    ConfigErrorCode.UNKNOWN_SETTING,
    /lower case .*listener\.name\.external\./,
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        overrides: { ...base, ...keystore, 'listener.name.external.ssl.client.auth': 'always' },
      }),
    ConfigErrorCode.INVALID_VALUE,
    /"always" is not one of none, requested, required .*listener\.name\.external\.ssl\.client\.auth/,
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        overrides: { ...base, ...keystore, 'listener.name.external.plain.ssl.client.auth': 'none' },
      }),
    ConfigErrorCode.UNKNOWN_SETTING,
    /ssl\.client\.auth cannot be set per SASL mechanism/,
  );
  assertConfigError(
    () => loadBrokerConfig({ args: ['--listener-name-external-num-partitions', '3'] }),
    ConfigErrorCode.UNKNOWN_SETTING,
    /cannot be set per listener/,
  );
  assertConfigError(
    () =>
      loadBrokerConfig({
        args: [],
        environment: { BROOK_LISTENER_NAME_EXTERNAL_NUM_PARTITIONS: '3' },
      }),
    ConfigErrorCode.UNKNOWN_SETTING,
    /BROOK_LISTENER_NAME_EXTERNAL_NUM_PARTITIONS/,
  );
});

test('per-listener requirements are checked per listener: a TLS listener needs its keystore, a certificate-asking one its truststore', () => {
  const base = { listeners, 'listener.security.protocol.map': protocolMap };
  // The keystore only for EXTERNAL is enough: it is the only TLS listener.
  const config = resolveBrokerConfig({
    overrides: { ...base, 'listener.name.external.ssl.keystore.location': '/e.pem' },
  });
  assert.equal(config.sslKeystoreLocation, null);
  assertConfigError(
    () =>
      resolveBrokerConfig({
        overrides: {
          ...base,
          'listener.name.external.ssl.keystore.location': '/e.pem',
          'listener.name.external.ssl.client.auth': 'required',
        },
      }),
    ConfigErrorCode.CONFLICT,
    /listener\.name\.external\.ssl\.client\.auth asks for client certificates, which needs ssl\.truststore\.location/,
  );
  assertConfigError(
    () =>
      resolveBrokerConfig({
        overrides: {
          ...base,
          'listener.name.external.ssl.keystore.location': '/e.pem',
          'listener.name.internal_sasl.sasl.enabled.mechanisms': 'OAUTHBEARER',
        },
      }),
    ConfigErrorCode.CONFLICT,
    /listener\.name\.internal_sasl\.sasl\.enabled\.mechanisms names OAUTHBEARER, which needs sasl\.oauthbearer\.jwks\.endpoint\.url/,
  );
  assertConfigError(
    () => resolveBrokerConfig({ overrides: base }),
    ConfigErrorCode.CONFLICT,
    /listener EXTERNAL uses SSL, which needs ssl\.keystore\.location/,
  );
});

test('listener.name values survive an AlterConfigs of another setting', () => {
  const config = resolveBrokerConfig({
    overrides: {
      listeners,
      'listener.security.protocol.map': protocolMap,
      'listener.name.external.ssl.keystore.location': '/e.pem',
    },
  });
  const altered = alterBrokerConfig(config, 'broker', [
    { name: 'log.retention.ms', value: '1000' },
  ]);
  assert.equal(listenerSetting(altered, 'EXTERNAL', 'ssl.keystore.location'), '/e.pem');
});

test('the inter-broker identity may come from listener.name.<listener>.<mechanism>.sasl.jaas.config, as Kafka places it', () => {
  const settings = {
    listeners: 'CLIENTS://127.0.0.1:9092,REPLICATION://127.0.0.1:9093',
    'listener.security.protocol.map': 'CLIENTS:PLAINTEXT,REPLICATION:SASL_PLAINTEXT',
    'inter.broker.listener.name': 'REPLICATION',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
  };
  assertConfigError(
    () => resolveBrokerConfig({ overrides: settings }),
    ConfigErrorCode.CONFLICT,
    /needs sasl\.jaas\.config/,
  );
  // For another mechanism it does not count.
  assertConfigError(
    () =>
      resolveBrokerConfig({
        overrides: {
          ...settings,
          'listener.name.replication.plain.sasl.jaas.config': 'username="r" password="p";',
        },
      }),
    ConfigErrorCode.CONFLICT,
    /needs sasl\.jaas\.config/,
  );
  const config = resolveBrokerConfig({
    overrides: {
      ...settings,
      'sasl.jaas.config': 'username="wide" password="w";',
      'listener.name.replication.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="replicator" password="r-secret";',
    },
  });
  assert.deepEqual(interBrokerSettings(config).sasl, {
    mechanism: 'SCRAM-SHA-512',
    username: 'replicator',
    password: 'r-secret',
  });
});

test('brook start with a listener.name key for an unknown listener exits with code 2, naming the key, before listening', async (t) => {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-listener-settings-'));
  t.after(() => rmSync(logDir, { recursive: true, force: true }));
  const run = await runBrook(
    [
      'start',
      '--log-dirs',
      logDir,
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
      '--listener-name-external-ssl-client-auth',
      'required',
    ],
    { environment: { PATH: process.env.PATH } },
  );
  assert.equal(run.exitCode, 2, run.stderr);
  assert.match(
    run.stderr,
    /listener\.name\.external\.ssl\.client\.auth \(from --listener-name-external-ssl-client-auth\) names listener EXTERNAL, which is not one of listeners \(PLAINTEXT\)/,
  );
  assert.doesNotMatch(run.stdout, /listening/);
});
