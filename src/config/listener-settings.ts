// Per-listener security settings, as Kafka names them: `listener.name.<listener>.<setting>` gives
// one listener its own value of a security setting, and `listener.name.<listener>.<mechanism>.
// <setting>` one SASL mechanism on one listener. The listener and the mechanism are written in
// lower case, as in Kafka:
//
//   ssl.keystore.location=/etc/brook/default.pem                        every listener
//   listener.name.external.ssl.keystore.location=/etc/brook/public.pem  EXTERNAL only
//   listener.name.internal.scram-sha-512.sasl.jaas.config=...           INTERNAL, SCRAM-SHA-512 only
//
// The most specific value wins: listener and mechanism, then listener, then the broker-wide one.
// Only the settings below may be prefixed; any other, or a listener that is not one of
// `listeners`, is refused when the config is read, so a misspelt key never passes silently.
//
// As flags, dots may be dashes (`--listener-name-external-ssl-keystore-location`); the listener
// name keeps its underscores. As environment variables every dot and dash is an underscore
// (BROOK_LISTENER_NAME_EXTERNAL_SSL_KEYSTORE_LOCATION); the setting is recognised from the end of
// the variable, then a mechanism before it, and what remains is the listener.

import { brokerConfigDefinitions } from './broker-definitions.js';
import { type ConfigValue, environmentVariableName } from './definitions.js';
import { ConfigError, ConfigErrorCode } from './errors.js';
import { assert } from '../util/assert.js';

export const listenerSettingPrefix = 'listener.name.';

/** Settings a `listener.name.<listener>.` prefix may override (Kafka's per-listener security settings). */
export const listenerOverridableSettings: readonly string[] = [
  'ssl.keystore.location',
  'ssl.keystore.type',
  'ssl.key.password',
  'ssl.truststore.location',
  'ssl.truststore.type',
  'ssl.client.auth',
  'ssl.enabled.protocols',
  'ssl.principal.mapping.rules',
  'sasl.enabled.mechanisms',
  'connections.max.reauth.ms',
  'sasl.oauthbearer.jwks.endpoint.url',
  'sasl.oauthbearer.jwks.endpoint.refresh.ms',
  'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms',
  'sasl.oauthbearer.expected.issuer',
  'sasl.oauthbearer.expected.audience',
  'sasl.oauthbearer.clock.skew.seconds',
  'sasl.oauthbearer.sub.claim.name',
  'sasl.oauthbearer.scope.claim.name',
];

/**
 * Per-listener settings AlterConfigs may change while the broker runs, on the broker resource of
 * one node and only with the listener prefix, as in Kafka: the TLS material (certificate rotation;
 * new connections get it, open ones keep theirs), which client certificates are asked for, the TLS
 * versions, and the SASL mechanisms offered (read by each new connection).
 */
export const dynamicListenerSettings: readonly string[] = [
  'ssl.keystore.location',
  'ssl.keystore.type',
  'ssl.key.password',
  'ssl.truststore.location',
  'ssl.truststore.type',
  'ssl.client.auth',
  'ssl.enabled.protocols',
  'sasl.enabled.mechanisms',
];

const oauthBearerSettings = listenerOverridableSettings.filter((name) =>
  name.startsWith('sasl.oauthbearer.'),
);

/**
 * Settings a `listener.name.<listener>.<mechanism>.` prefix may override, per mechanism. Brook
 * reads sasl.jaas.config only for its own identity on the inter-broker listener.
 */
const mechanismOverridableSettings: ReadonlyMap<string, readonly string[]> = new Map([
  ['plain', ['sasl.jaas.config', 'connections.max.reauth.ms']],
  ['scram-sha-256', ['sasl.jaas.config', 'connections.max.reauth.ms']],
  ['scram-sha-512', ['sasl.jaas.config', 'connections.max.reauth.ms']],
  ['oauthbearer', ['sasl.jaas.config', 'connections.max.reauth.ms', ...oauthBearerSettings]],
]);

/** A parsed `listener.name.*` key. */
export interface ListenerSettingKey {
  /** Upper-cased, as BrokerConfig names listeners. */
  readonly listener: string;
  /** Lower-cased (`scram-sha-256`), or null for a listener-wide value. */
  readonly mechanism: string | null;
  /** The broker setting it overrides, e.g. `ssl.keystore.location`. */
  readonly setting: string;
}

/** The key in its canonical form: `listener.name.external.scram-sha-256.sasl.jaas.config`. */
export function listenerSettingName(key: ListenerSettingKey): string {
  const mechanism = key.mechanism === null ? '' : `${key.mechanism}.`;
  return `${listenerSettingPrefix}${key.listener.toLowerCase()}.${mechanism}${key.setting}`;
}

export function isListenerSettingName(name: string): boolean {
  return name.startsWith(listenerSettingPrefix);
}

/**
 * Parses `listener.name.<listener>.[<mechanism>.]<setting>`; throws ConfigError (UNKNOWN_SETTING)
 * naming what is wrong. A mechanism written with dots (`scram.sha.256`, as a flag with dashes
 * turned into dots gives it) is read as the mechanism.
 */
export function parseListenerSettingKey(name: string): ListenerSettingKey {
  const refuse = (why: string): never => {
    throw new ConfigError(ConfigErrorCode.UNKNOWN_SETTING, `${name}: ${why}`, name);
  };
  const rest = name.slice(listenerSettingPrefix.length);
  const dot = rest.indexOf('.');
  const listener = dot === -1 ? rest : rest.slice(0, dot);
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(listener) || dot === -1) {
    refuse('expected listener.name.<listener>.<setting>, the listener as named in listeners');
  }
  if (listener !== listener.toLowerCase()) {
    refuse(
      `the listener is written in lower case in listener.name.* keys, as in Kafka (listener.name.${listener.toLowerCase()}.…)`,
    );
  }
  const remainder = rest.slice(dot + 1);
  for (const [mechanism, settings] of mechanismOverridableSettings) {
    for (const form of new Set([mechanism, mechanism.replace(/-/g, '.')])) {
      if (!remainder.startsWith(`${form}.`)) continue;
      const setting = remainder.slice(form.length + 1);
      if (!settings.includes(setting)) {
        refuse(
          `${setting} cannot be set per SASL mechanism; listener.name.<listener>.${mechanism}. takes ${settings.join(', ')}`,
        );
      }
      return { listener: listener.toUpperCase(), mechanism, setting };
    }
  }
  if (!listenerOverridableSettings.includes(remainder)) {
    refuse(
      `${remainder} cannot be set per listener; listener.name.<listener>. takes ${listenerOverridableSettings.join(', ')}, and <mechanism>.sasl.jaas.config`,
    );
  }
  return { listener: listener.toUpperCase(), mechanism: null, setting: remainder };
}

function variableForm(text: string): string {
  return text.toUpperCase().replace(/[.-]/g, '_');
}

/** BROOK_LISTENER_NAME_ */
const variableNamePrefix = environmentVariableName(listenerSettingPrefix);

/**
 * The `listener.name.*` key a BROOK_LISTENER_NAME_* variable sets, or null when the variable is
 * not of that form or names no overridable setting.
 */
export function listenerSettingOfVariable(variable: string): string | null {
  if (!variable.startsWith(variableNamePrefix)) return null;
  const body = variable.slice(variableNamePrefix.length);
  const candidates = [
    ...new Set([
      ...listenerOverridableSettings,
      ...[...mechanismOverridableSettings.values()].flat(),
    ]),
  ].sort((a, b) => b.length - a.length);
  for (const setting of candidates) {
    const suffix = `_${variableForm(setting)}`;
    if (!body.endsWith(suffix)) continue;
    const head = body.slice(0, -suffix.length);
    if (head === '') return null;
    for (const [mechanism, settings] of mechanismOverridableSettings) {
      const mechanismSuffix = `_${variableForm(mechanism)}`;
      if (settings.includes(setting) && head.endsWith(mechanismSuffix)) {
        const listener = head.slice(0, -mechanismSuffix.length);
        if (listener !== '') {
          return listenerSettingName({ listener, mechanism, setting });
        }
      }
    }
    if (!listenerOverridableSettings.includes(setting)) return null;
    return listenerSettingName({ listener: head, mechanism: null, setting });
  }
  return null;
}

/** Per listener (upper-cased), its overrides by `setting` or `mechanism.setting`. */
export type ListenerOverrides = ReadonlyMap<string, ReadonlyMap<string, ConfigValue>>;

/** What listenerSetting reads from a BrokerConfig. */
export interface ListenerOverridesSource {
  readonly settings: ReadonlyMap<string, { readonly value: ConfigValue }>;
  readonly listenerOverrides: ListenerOverrides;
}

/**
 * One setting's value on one listener (and, for mechanism settings, one SASL mechanism): the most
 * specific of listener.name.<l>.<mechanism>.<setting>, listener.name.<l>.<setting> and <setting>.
 */
export function listenerSetting(
  config: ListenerOverridesSource,
  listener: string,
  setting: string,
  mechanism: string | null = null,
): ConfigValue {
  const overrides = config.listenerOverrides.get(listener.toUpperCase());
  if (mechanism !== null) {
    const specific = overrides?.get(`${mechanism.toLowerCase()}.${setting}`);
    if (specific !== undefined) return specific;
  }
  const perListener = overrides?.get(setting);
  if (perListener !== undefined) return perListener;
  const broadest = config.settings.get(setting);
  if (broadest === undefined) {
    throw new ConfigError(
      ConfigErrorCode.UNKNOWN_SETTING,
      `unknown broker setting ${setting}`,
      setting,
    );
  }
  return broadest.value;
}

for (const name of dynamicListenerSettings) {
  assert(listenerOverridableSettings.includes(name), `dynamic ${name} cannot be set per listener`);
}
for (const name of [
  ...listenerOverridableSettings,
  ...[...mechanismOverridableSettings.values()].flat(),
]) {
  assert(brokerConfigDefinitions.has(name), `listener-overridable ${name} is no broker setting`);
}
