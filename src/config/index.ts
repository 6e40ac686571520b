// The config layer's public surface; see broker-config.ts and topic-config.ts.
export { ConfigError, ConfigErrorCode } from './errors.js';
export {
  type ConfigDefinition,
  type ConfigTypeName,
  type ConfigValue,
  ConfigType,
  LONG_MAX_VALUE,
  environmentVariableName,
  flagName,
  parseConfigValue,
  renderConfigValue,
} from './definitions.js';
export { brokerConfigDefinitions } from './broker-definitions.js';
export { type TopicConfigDefinition, topicConfigDefinitions } from './topic-definitions.js';
export {
  type ListenerAddress,
  formatHostPort,
  formatListener,
  parseListener,
  parseListeners,
} from './listeners.js';
export {
  type ListenerSettingKey,
  listenerOverridableSettings,
  listenerSetting,
  parseListenerSettingKey,
} from './listener-settings.js';
export { parseProperties } from './properties.js';
export {
  type ParsedFlags,
  type RawSettings,
  parseSettingFlags,
  readConfigFile,
  settingsFromEnvironment,
} from './sources.js';
export {
  type BrokerConfig,
  type BrokerConfigChange,
  type BrokerConfigLayers,
  type LoadBrokerConfigOptions,
  type LoadedBrokerConfig,
  type ResolvedSetting,
  type SettingsInput,
  ConfigSource,
  advertisedAddresses,
  alterBrokerConfig,
  brokerSetting,
  loadBrokerConfig,
  resolveBrokerConfig,
} from './broker-config.js';
export {
  type ConfigSynonym,
  type DescribedConfig,
  type TopicConfigOverrides,
  describeBrokerConfigs,
  describeTopicConfigs,
  effectiveTopicConfigs,
  parseTopicConfigs,
  toLogConfig,
  topicLogConfig,
} from './topic-config.js';
