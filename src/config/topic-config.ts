// Topic configs: validating overrides (CreateTopics, AlterConfigs), resolving a topic's effective
// configs through the broker's settings, describing them the way DescribeConfigs reports them, and
// handing storage its LogConfig.

import { brokerConfigDefinitions } from './broker-definitions.js';
import { type BrokerConfig, ConfigSource } from './broker-config.js';
import {
  type ConfigValue,
  LONG_MAX_VALUE,
  configTypeCode,
  parseConfigValue,
  renderConfigValue,
} from './definitions.js';
import { deprecatedTopicConfigs, warnDeprecatedTopicConfig } from './deprecated-topic-configs.js';
import { ConfigError, ConfigErrorCode } from './errors.js';
import {
  dynamicListenerSettings,
  isListenerSettingName,
  parseListenerSettingKey,
} from './listener-settings.js';
import { assert } from '../util/assert.js';
import { topicConfigDefinitions } from './topic-definitions.js';
import type {
  CleanupPolicy,
  LogConfig,
  MessageTimestampType,
  RetentionTimestampType,
} from '../storage/log-config.js';

/** A topic's stored overrides, typed, by Kafka name. Only configs the topic sets explicitly. */
export type TopicConfigOverrides = ReadonlyMap<string, ConfigValue>;

/**
 * Parses and validates topic config overrides given as text (CreateTopics' configs, AlterConfigs).
 * A null value means "remove the override" and is kept as null for the caller to act on. Throws a
 * ConfigError naming the config: handlers answer INVALID_CONFIG with its message. A config Kafka
 * 3.x deprecated (deprecated-topic-configs.ts) is accepted with a warning and kept in the result,
 * where only describeTopicConfigs looks at it.
 */
export function parseTopicConfigs(
  configs: Iterable<readonly [string, string | null]>,
): Map<string, ConfigValue> {
  const parsed = new Map<string, ConfigValue>();
  for (const [name, text] of configs) {
    const deprecated = deprecatedTopicConfigs.get(name);
    if (deprecated !== undefined) {
      parsed.set(name, text === null ? null : parseConfigValue(deprecated, text));
      warnDeprecatedTopicConfig(deprecated);
      continue;
    }
    const definition = topicConfigDefinitions.get(name);
    if (definition === undefined) {
      throw new ConfigError(ConfigErrorCode.UNKNOWN_SETTING, `unknown topic config ${name}`, name);
    }
    parsed.set(name, text === null ? null : parseConfigValue(definition, text));
  }
  return parsed;
}

interface DefaultFromBroker {
  readonly value: ConfigValue;
  readonly source: ConfigSource;
  /** The broker settings that are set (static or dynamic), most specific first, for synonyms. */
  readonly synonyms: ConfigSynonym[];
}

/** The values a broker setting has in each layer that sets it, most specific layer first. */
function brokerSynonyms(broker: BrokerConfig, name: string): ConfigSynonym[] {
  const synonyms: ConfigSynonym[] = [];
  for (const layer of [
    broker.layers.dynamicBroker,
    broker.layers.dynamicDefault,
    broker.layers.static,
  ]) {
    const setting = layer.get(name);
    if (setting !== undefined)
      synonyms.push({ name, value: renderConfigValue(setting.value), source: setting.source });
  }
  return synonyms;
}

function defaultFromBroker(broker: BrokerConfig, name: string): DefaultFromBroker {
  const definition = topicConfigDefinitions.get(name);
  if (definition === undefined) {
    throw new ConfigError(ConfigErrorCode.UNKNOWN_SETTING, `unknown topic config ${name}`, name);
  }
  const synonyms: ConfigSynonym[] = [];
  let decided: { value: ConfigValue; source: ConfigSource } | null = null;
  for (const synonym of definition.brokerSynonyms) {
    const setting = broker.settings.get(synonym);
    assert(setting !== undefined, `topic config ${name} names unknown broker setting ${synonym}`);
    synonyms.push(...brokerSynonyms(broker, synonym));
    if (decided === null && setting.value !== null) {
      const converted = definition.fromBroker
        ? definition.fromBroker(synonym, setting.value)
        : setting.value;
      decided = { value: converted, source: setting.source };
    }
  }
  if (decided === null) {
    // No synonym set at all: flush.ms (log.flush.interval.ms unset) and topic-only configs.
    const value =
      definition.fromBroker && definition.brokerSynonyms.length > 0
        ? definition.fromBroker(definition.brokerSynonyms[0], null)
        : definition.defaultValue;
    return { value, source: ConfigSource.DEFAULT_CONFIG, synonyms };
  }
  return { value: decided.value, source: decided.source, synonyms };
}

/** Every topic config's effective value, by Kafka name: the override if set, else the broker's. */
export function effectiveTopicConfigs(
  broker: BrokerConfig,
  overrides: TopicConfigOverrides = new Map(),
): Map<string, ConfigValue> {
  const effective = new Map<string, ConfigValue>();
  for (const name of topicConfigDefinitions.keys()) {
    const override = overrides.get(name);
    effective.set(
      name,
      override !== undefined && override !== null
        ? override
        : defaultFromBroker(broker, name).value,
    );
  }
  return effective;
}

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: ConfigSource;
}

/** One config as DescribeConfigs reports it (any version; v0's isDefault is source === DEFAULT_CONFIG). */
export interface DescribedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly isDefault: boolean;
  readonly source: ConfigSource;
  readonly isSensitive: boolean;
  /** Overrides first, then broker settings that are set, then the default, as Kafka lists them. */
  readonly synonyms: readonly ConfigSynonym[];
  /** DescribeConfigs v3+ ConfigType. */
  readonly configType: number;
  readonly documentation: string;
}

/** Every topic config of a topic with its value, source and synonyms. */
export function describeTopicConfigs(
  broker: BrokerConfig,
  overrides: TopicConfigOverrides = new Map(),
): DescribedConfig[] {
  const described: DescribedConfig[] = [];
  for (const [name, definition] of topicConfigDefinitions) {
    const fromBroker = defaultFromBroker(broker, name);
    const override = overrides.get(name);
    const hasOverride = override !== undefined && override !== null;
    const value = hasOverride ? override : fromBroker.value;
    const source = hasOverride ? ConfigSource.TOPIC_CONFIG : fromBroker.source;
    const synonyms: ConfigSynonym[] = [];
    if (hasOverride)
      synonyms.push({
        name,
        value: renderConfigValue(override),
        source: ConfigSource.TOPIC_CONFIG,
      });
    synonyms.push(...fromBroker.synonyms);
    const defaultSynonym = definition.brokerSynonyms[definition.brokerSynonyms.length - 1];
    if (defaultSynonym !== undefined) {
      const brokerDefinition = brokerConfigDefinitions.get(defaultSynonym)!;
      if (brokerDefinition.defaultValue !== null) {
        synonyms.push({
          name: defaultSynonym,
          value: renderConfigValue(brokerDefinition.defaultValue),
          source: ConfigSource.DEFAULT_CONFIG,
        });
      }
    }
    described.push({
      name,
      value: renderConfigValue(value),
      readOnly: false,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      source,
      isSensitive: definition.sensitive === true,
      synonyms,
      configType: configTypeCode(definition.type),
      documentation: definition.documentation,
    });
  }
  // Deprecated configs the topic sets are shown as set, so a tool that wrote one reads it back.
  for (const [name, definition] of deprecatedTopicConfigs) {
    const override = overrides.get(name);
    if (override === undefined || override === null) continue;
    const value = renderConfigValue(override);
    described.push({
      name,
      value,
      readOnly: false,
      isDefault: false,
      source: ConfigSource.TOPIC_CONFIG,
      isSensitive: false,
      synonyms: [{ name, value, source: ConfigSource.TOPIC_CONFIG }],
      configType: configTypeCode(definition.type),
      documentation: definition.documentation,
    });
  }
  return described;
}

/** Every broker setting with its value and source (DescribeConfigs on a BROKER resource). */
export function describeBrokerConfigs(broker: BrokerConfig): DescribedConfig[] {
  const described: DescribedConfig[] = [];
  for (const [name, definition] of brokerConfigDefinitions) {
    const setting = broker.settings.get(name)!;
    const synonyms = brokerSynonyms(broker, name);
    if (definition.defaultValue !== null) {
      synonyms.push({
        name,
        value: renderConfigValue(definition.defaultValue),
        source: ConfigSource.DEFAULT_CONFIG,
      });
    }
    described.push({
      name,
      value: definition.sensitive === true ? null : renderConfigValue(setting.value),
      readOnly: !definition.dynamic,
      isDefault: setting.source === ConfigSource.DEFAULT_CONFIG,
      source: setting.source,
      isSensitive: definition.sensitive === true,
      synonyms,
      configType: configTypeCode(definition.type),
      documentation: definition.documentation,
    });
  }
  described.push(...describeListenerSettings(broker));
  return described;
}

/**
 * The listener.name.* values set (in the config or by AlterConfigs), each with its own synonyms
 * first, then the broker-wide setting's: the order in which a listener reads them.
 */
function describeListenerSettings(broker: BrokerConfig): DescribedConfig[] {
  const names = new Set(
    [...broker.layers.static.keys(), ...broker.layers.dynamicBroker.keys()].filter(
      isListenerSettingName,
    ),
  );
  return [...names].sort().map((name) => {
    const key = parseListenerSettingKey(name);
    const definition = brokerConfigDefinitions.get(key.setting)!;
    const setting = broker.layers.dynamicBroker.get(name) ?? broker.layers.static.get(name)!;
    const sensitive = definition.sensitive === true;
    const synonyms = [...brokerSynonyms(broker, name), ...brokerSynonyms(broker, key.setting)];
    if (definition.defaultValue !== null) {
      synonyms.push({
        name: key.setting,
        value: renderConfigValue(definition.defaultValue),
        source: ConfigSource.DEFAULT_CONFIG,
      });
    }
    return {
      name,
      value: sensitive ? null : renderConfigValue(setting.value),
      readOnly: key.mechanism !== null || !dynamicListenerSettings.includes(key.setting),
      isDefault: false,
      source: setting.source,
      isSensitive: sensitive,
      synonyms,
      configType: configTypeCode(definition.type),
      documentation: definition.documentation,
    };
  });
}

function finite(value: ConfigValue): number {
  const number = value as number;
  // Kafka's Long.MAX_VALUE "never" becomes MAX_SAFE_INTEGER so arithmetic on it stays exact.
  return number >= LONG_MAX_VALUE ? Number.MAX_SAFE_INTEGER : number;
}

/** cleanup.policy as storage spells it: the list in a fixed order, whatever order it was given in. */
function cleanupPolicyOf(value: ConfigValue): CleanupPolicy {
  const policies = value as readonly string[];
  const compact = policies.includes('compact');
  const remove = policies.includes('delete');
  if (compact && remove) return 'compact,delete';
  return compact ? 'compact' : 'delete';
}

/**
 * A topic's effective configs (effectiveTopicConfigs) as storage's LogConfig. -1 keeps Kafka's
 * meaning of "no limit" for retentionMs and retentionBytes.
 */
export function toLogConfig(effective: ReadonlyMap<string, ConfigValue>): LogConfig {
  const get = (name: string): ConfigValue => {
    assert(effective.has(name), `effective topic configs lack ${name}`);
    return effective.get(name)!;
  };
  return {
    segmentBytes: finite(get('segment.bytes')),
    segmentMs: finite(get('segment.ms')),
    indexIntervalBytes: finite(get('index.interval.bytes')),
    retentionMs: finite(get('retention.ms')),
    retentionBytes: finite(get('retention.bytes')),
    cleanupPolicy: cleanupPolicyOf(get('cleanup.policy')),
    deleteRetentionMs: finite(get('delete.retention.ms')),
    minCompactionLagMs: finite(get('min.compaction.lag.ms')),
    maxCompactionLagMs: finite(get('max.compaction.lag.ms')),
    minCleanableDirtyRatio: get('min.cleanable.dirty.ratio') as number,
    flushMessages: finite(get('flush.messages')),
    flushMs: finite(get('flush.ms')),
    messageTimestampType: get('message.timestamp.type') as MessageTimestampType,
    messageTimestampBeforeMaxMs: finite(get('message.timestamp.before.max.ms')),
    messageTimestampAfterMaxMs: finite(get('message.timestamp.after.max.ms')),
    retentionTimestampType: get('retention.timestamp.type') as RetentionTimestampType,
    maxMessageBytes: finite(get('max.message.bytes')),
    maxDecompressionRatio: get('max.decompression.ratio') as number,
  };
}

/** Shorthand: the LogConfig of a topic with these overrides on this broker. */
export function topicLogConfig(
  broker: BrokerConfig,
  overrides: TopicConfigOverrides = new Map(),
): LogConfig {
  return toLogConfig(effectiveTopicConfigs(broker, overrides));
}
