// The broker's effective configuration: every setting in broker-definitions.ts resolved from its
// layers (flags > environment > config file > Brook's defaults), parsed, validated, and checked
// against the others. The result is immutable; a dynamic change builds a new BrokerConfig.

import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import {
  type BrokerSettingFields,
  brokerConfigDefinitions,
  brokerSettingFields,
} from './broker-definitions.js';
import { type ConfigValue, parseConfigValue } from './definitions.js';
import { ConfigError, ConfigErrorCode } from './errors.js';
import { assert } from '../util/assert.js';
import { type ListenerAddress, parseListeners } from './listeners.js';
import {
  type ListenerOverrides,
  dynamicListenerSettings,
  isListenerSettingName,
  listenerSetting,
  listenerSettingName,
  parseListenerSettingKey,
} from './listener-settings.js';
import {
  type SecurityProtocol,
  isSecurityProtocol,
  usesSasl,
  usesTls,
} from '../security/listener-security.js';
import {
  type RawSettings,
  isInapplicableKafkaSetting,
  parseSettingFlags,
  readConfigFile,
  settingsFromEnvironment,
} from './sources.js';

/** DescribeConfigs' ConfigSource numbers (Kafka's `DescribeConfigsResponse.ConfigSource`). */
export const ConfigSource = {
  UNKNOWN: 0,
  /** Kafka's admin clients call this DYNAMIC_TOPIC_CONFIG. */
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

export interface ResolvedSetting {
  readonly value: ConfigValue;
  readonly source: ConfigSource;
  /** Where the value came from, for messages: a file path, BROOK_X, --x; null for defaults. */
  readonly origin: string | null;
}

export interface BrokerConfigLayerValues {
  /** File, environment, flags and code overrides, merged (the highest wins). */
  readonly static: ReadonlyMap<string, ResolvedSetting>;
  readonly dynamicDefault: ReadonlyMap<string, ResolvedSetting>;
  readonly dynamicBroker: ReadonlyMap<string, ResolvedSetting>;
}

/**
 * The properties from BrokerSettingFields (numPartitions, autoCreateTopicsEnable, ...) are
 * declared by the definitions table: a definition with a `field` becomes a property of that name
 * holding its parsed value. The properties written here are computed from one or more settings.
 */
export interface BrokerConfig extends BrokerSettingFields {
  /** Every broker setting by Kafka name (for DescribeConfigs and topic defaults). */
  readonly settings: ReadonlyMap<string, ResolvedSetting>;
  /**
   * Every value set, per layer, including those a higher layer shadows: removing a dynamic value
   * falls back to the one below it, and DescribeConfigs lists them all as synonyms.
   */
  readonly layers: BrokerConfigLayerValues;

  readonly logDirs: readonly string[];
  readonly listeners: readonly ListenerAddress[];
  /** What Metadata should return; listeners where advertised.listeners is unset. */
  readonly advertisedListeners: readonly ListenerAddress[];
  /** The HTTP endpoint's addresses (http.listeners); empty when it is off. */
  readonly httpListeners: readonly ListenerAddress[];
  /** Each of `listeners` by name with its security protocol (listener.security.protocol.map). */
  readonly listenerSecurityProtocols: ReadonlyMap<string, SecurityProtocol>;
  /**
   * listener.name.<listener>.[<mechanism>.]<setting> values, per upper-cased listener, keyed by
   * `setting` or `mechanism.setting`; read them through listenerSetting or listenerView.
   */
  readonly listenerOverrides: ListenerOverrides;
  /** broker.id when set (it must then agree with an explicitly set node.id), else node.id. */
  readonly nodeId: number;
  /** offsets.retention.minutes in milliseconds. */
  readonly offsetsRetentionMs: number;
}

/** Settings as text or typed values, by Kafka name: `{ 'num.partitions': 4 }`. */
export type SettingsInput = Readonly<
  Record<string, string | number | boolean | readonly string[] | null | undefined>
>;

export interface BrokerConfigLayers {
  /** Lowest precedence above the defaults: a server.properties file's contents. */
  readonly file?: SettingsInput | RawSettings;
  readonly environment?: SettingsInput | RawSettings;
  readonly flags?: SettingsInput | RawSettings;
  /** Set in code (tests, startBroker options): treated like flags, and above them. */
  readonly overrides?: SettingsInput;
  /** AlterConfigs on the cluster default broker resource ("") and on this broker. */
  readonly dynamicDefault?: SettingsInput;
  readonly dynamicBroker?: SettingsInput;
}

interface Layer {
  readonly entries: Iterable<[string, unknown, string | null]>;
  readonly source: ConfigSource;
  readonly originLabel: string;
}

function layerEntries(
  input: SettingsInput | RawSettings | undefined,
  originLabel: string,
): Array<[string, unknown, string | null]> {
  if (input === undefined) return [];
  if (input.values instanceof Map && (input as RawSettings).origins instanceof Map) {
    const raw = input as RawSettings;
    return [...raw.values].map(([name, value]) => [
      name,
      value,
      raw.origins.get(name) ?? originLabel,
    ]);
  }
  return Object.entries(input as SettingsInput)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => [name, value, originLabel]);
}

/**
 * Builds a BrokerConfig from layers, later layers winning: file < environment < flags < overrides
 * < dynamic default < dynamic broker. Throws ConfigError naming the first unknown or invalid
 * setting. Kafka settings that mean nothing to Brook are skipped and listed in `warnings`.
 */
export function resolveBrokerConfig(
  layers: BrokerConfigLayers = {},
  warnings: string[] = [],
): BrokerConfig {
  const ordered: Layer[] = [
    {
      entries: layerEntries(layers.file, 'config file'),
      source: ConfigSource.STATIC_BROKER_CONFIG,
      originLabel: 'config file',
    },
    {
      entries: layerEntries(layers.environment, 'environment'),
      source: ConfigSource.STATIC_BROKER_CONFIG,
      originLabel: 'environment',
    },
    {
      entries: layerEntries(layers.flags, 'flags'),
      source: ConfigSource.STATIC_BROKER_CONFIG,
      originLabel: 'flags',
    },
    {
      entries: layerEntries(layers.overrides, 'options'),
      source: ConfigSource.STATIC_BROKER_CONFIG,
      originLabel: 'options',
    },
    {
      entries: layerEntries(layers.dynamicDefault, 'AlterConfigs'),
      source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      originLabel: 'AlterConfigs',
    },
    {
      entries: layerEntries(layers.dynamicBroker, 'AlterConfigs'),
      source: ConfigSource.DYNAMIC_BROKER_CONFIG,
      originLabel: 'AlterConfigs',
    },
  ];
  const settings = new Map<string, ResolvedSetting>();
  for (const [name, definition] of brokerConfigDefinitions) {
    settings.set(name, {
      value: definition.defaultValue,
      source: ConfigSource.DEFAULT_CONFIG,
      origin: null,
    });
  }
  const layerValuesByName = {
    static: new Map<string, ResolvedSetting>(),
    dynamicDefault: new Map<string, ResolvedSetting>(),
    dynamicBroker: new Map<string, ResolvedSetting>(),
  };
  const layerValuesOf = (source: ConfigSource): Map<string, ResolvedSetting> =>
    source === ConfigSource.DYNAMIC_BROKER_CONFIG
      ? layerValuesByName.dynamicBroker
      : source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
        ? layerValuesByName.dynamicDefault
        : layerValuesByName.static;
  let controllerListenerNames: string[] = [];
  const listenerOverrides: ListenerOverrideEntry[] = [];
  for (const layer of ordered) {
    for (const [givenName, raw, origin] of layer.entries) {
      let name = givenName;
      let definition = brokerConfigDefinitions.get(name);
      if (definition === undefined && isListenerSettingName(name)) {
        // listener.name.<listener>.[<mechanism>.]<setting>: parsed as the setting it overrides.
        let key;
        try {
          key = parseListenerSettingKey(name);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          throw new ConfigError(error.code, `${error.message} (from ${origin})`, name);
        }
        name = listenerSettingName(key);
        definition = brokerConfigDefinitions.get(key.setting)!;
        let value: ConfigValue;
        try {
          value = parseConfigValue(definition, raw);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          throw new ConfigError(error.code, `${error.message} (in ${name}, from ${origin})`, name);
        }
        const resolved = { value, source: layer.source, origin };
        listenerOverrides.push({ key, name, resolved });
        layerValuesOf(layer.source).set(name, resolved);
        continue;
      }
      if (name === CONTROLLER_LISTENER_NAMES) {
        // Not a Brook setting, but it says which of `listeners` are KRaft controller listeners,
        // which Brook (no controller quorum) must not serve to clients.
        controllerListenerNames = (Array.isArray(raw) ? raw.join(',') : String(raw))
          .split(',')
          .map((item) => item.trim().toUpperCase())
          .filter((item) => item !== '');
        continue;
      }
      if (definition === undefined) {
        if (isInapplicableKafkaSetting(name)) {
          warnings.push(
            `Kafka setting ${name} (from ${origin}) has no effect in Brook and is ignored`,
          );
          continue;
        }
        throw new ConfigError(
          ConfigErrorCode.UNKNOWN_SETTING,
          `unknown broker setting ${name} (from ${origin})`,
          name,
        );
      }
      let value: ConfigValue;
      try {
        value = parseConfigValue(definition, raw);
      } catch (error) {
        if (error instanceof ConfigError) {
          throw new ConfigError(error.code, `${error.message} (from ${origin})`, name);
        }
        throw error;
      }
      const resolved = { value, source: layer.source, origin };
      settings.set(name, resolved);
      layerValuesOf(layer.source).set(name, resolved);
    }
  }
  return buildBrokerConfig(
    settings,
    layerValuesByName,
    controllerListenerNames,
    listenerOverrides,
    warnings,
  );
}

interface ListenerOverrideEntry {
  readonly key: ReturnType<typeof parseListenerSettingKey>;
  /** The canonical key, for messages. */
  readonly name: string;
  readonly resolved: ResolvedSetting;
}

/** The listener name of http.listeners' https:// address, in listener.name.* keys. */
export const httpsListenerName = 'HTTPS';

/** Kafka's KRaft setting naming the controller listeners among `listeners`. */
const CONTROLLER_LISTENER_NAMES = 'controller.listener.names';

function buildBrokerConfig(
  settings: Map<string, ResolvedSetting>,
  layers: BrokerConfigLayerValues,
  controllerListenerNames: readonly string[],
  listenerOverrideEntries: readonly ListenerOverrideEntry[],
  warnings: string[],
): BrokerConfig {
  const value = (name: string): ConfigValue => {
    const setting = settings.get(name);
    assert(setting !== undefined, `broker setting ${name} has no definition`);
    return setting.value;
  };
  const number = (name: string): number => value(name) as number;
  const conflict = (message: string, setting: string): never => {
    throw new ConfigError(ConfigErrorCode.CONFLICT, message, setting);
  };

  const logDirs = value('log.dirs') as readonly string[];
  if (logDirs.length === 0) conflict('log.dirs must name at least one directory', 'log.dirs');
  // Each entry is its own disk with its own lock and logs: one named twice could never open.
  const repeated = logDirs.find(
    (directory, index) =>
      logDirs.findIndex((other) => resolvePath(other) === resolvePath(directory)) !== index,
  );
  if (repeated !== undefined)
    conflict(`log.dirs names the directory ${repeated} twice; name each once`, 'log.dirs');

  const isController = (listener: ListenerAddress): boolean =>
    controllerListenerNames.includes(listener.name);
  const allListeners = parseListeners(value('listeners') as readonly string[]);
  for (const listener of allListeners.filter(isController)) {
    warnings.push(
      `listener ${listener.name} is named in ${CONTROLLER_LISTENER_NAMES}: it is a KRaft controller listener, and Brook, which has no controller quorum, does not open it for clients`,
    );
  }
  const listeners = allListeners.filter((listener) => !isController(listener));
  if (listeners.length === 0) {
    conflict(
      allListeners.length === 0
        ? 'listeners must name at least one NAME://HOST:PORT'
        : `listeners names only controller listeners (${CONTROLLER_LISTENER_NAMES}); add a client listener such as PLAINTEXT://:9092`,
      'listeners',
    );
  }
  const httpListeners = parseListeners((value('http.listeners') as readonly string[] | null) ?? []);
  // An https:// address of http.listeners is the listener HTTPS for listener.name.* keys: its TLS
  // settings are the ssl.* ones, or its own listener.name.https.ssl.* values.
  const httpsListener = httpListeners.find((listener) => listener.name === httpsListenerName);
  if (httpsListener !== undefined && allListeners.some((l) => l.name === httpsListenerName)) {
    conflict(
      `listeners names a Kafka listener ${httpsListenerName}, and http.listeners an https:// address, whose TLS settings are listener.name.https.*; rename the Kafka listener`,
      'listeners',
    );
  }
  // Later layers come later in the list, so the last value of a key wins, as for other settings.
  const listenerOverrides = new Map<string, Map<string, ConfigValue>>();
  for (const { key, name, resolved } of listenerOverrideEntries) {
    const onHttps = httpsListener !== undefined && key.listener === httpsListenerName;
    if (!onHttps && !allListeners.some((listener) => listener.name === key.listener)) {
      conflict(
        `${name} (from ${resolved.origin}) names listener ${key.listener}, which is not one of listeners (${allListeners.map((listener) => listener.name).join(', ')})${key.listener === httpsListenerName ? ' and http.listeners has no https:// address' : ''}`,
        name,
      );
    }
    if (onHttps && (key.mechanism !== null || !key.setting.startsWith('ssl.'))) {
      conflict(
        `${name} (from ${resolved.origin}): the HTTPS listener of http.listeners takes only ssl.* settings`,
        name,
      );
    }
    const overrides = listenerOverrides.get(key.listener) ?? new Map<string, ConfigValue>();
    overrides.set(
      key.mechanism === null ? key.setting : `${key.mechanism}.${key.setting}`,
      resolved.value,
    );
    listenerOverrides.set(key.listener, overrides);
  }
  const onListener = (listener: string, name: string, mechanism: string | null = null) =>
    listenerSetting({ settings, listenerOverrides }, listener, name, mechanism);
  /** The key that gave a listener its value of a setting, for messages. */
  const keyOn = (listener: string, name: string): string =>
    listenerOverrides.get(listener)?.has(name) === true
      ? listenerSettingName({ listener, mechanism: null, setting: name })
      : name;

  const securityProtocols = new Map(
    (value('listener.security.protocol.map') as readonly string[]).map((entry) => {
      const [listenerName, protocol] = entry.split(':');
      return [listenerName.toUpperCase(), protocol.toUpperCase()];
    }),
  );
  for (const listener of listeners) {
    const protocol = securityProtocols.get(listener.name);
    if (protocol === undefined) {
      conflict(
        `listener ${listener.name} has no entry in listener.security.protocol.map`,
        'listeners',
      );
    } else if (!isSecurityProtocol(protocol)) {
      conflict(
        `listener ${listener.name} maps to ${protocol}; the security protocols are PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL`,
        'listener.security.protocol.map',
      );
    } else if (usesTls(protocol) && onListener(listener.name, 'ssl.keystore.location') === null) {
      conflict(
        `listener ${listener.name} uses ${protocol}, which needs ssl.keystore.location (a PEM file with the key and certificate chain)`,
        'ssl.keystore.location',
      );
    } else if (
      usesSasl(protocol) &&
      (onListener(listener.name, 'sasl.enabled.mechanisms') as string[]).length === 0
    ) {
      conflict(
        `listener ${listener.name} uses ${protocol}, which needs at least one of sasl.enabled.mechanisms`,
        keyOn(listener.name, 'sasl.enabled.mechanisms'),
      );
    }
  }
  for (const { name: listener } of listeners) {
    const effective = (name: string, mechanism: string | null = null): ConfigValue =>
      onListener(listener, name, mechanism);
    const where = (name: string): string => keyOn(listener, name);
    if (
      (effective('sasl.enabled.mechanisms') as string[]).includes('OAUTHBEARER') &&
      effective('sasl.oauthbearer.jwks.endpoint.url', 'oauthbearer') === null
    ) {
      // Kafka would fall back to accepting unsigned tokens; Brook never does.
      conflict(
        `${where('sasl.enabled.mechanisms')} names OAUTHBEARER, which needs sasl.oauthbearer.jwks.endpoint.url (the keys tokens are signed with)`,
        'sasl.oauthbearer.jwks.endpoint.url',
      );
    }
    if (effective('ssl.client.auth') !== 'none' && effective('ssl.truststore.location') === null) {
      conflict(
        `${where('ssl.client.auth')} asks for client certificates, which needs ${where('ssl.truststore.location')} (the CAs they must chain to)`,
        where('ssl.truststore.location'),
      );
    }
  }
  const ports = new Set<number>();
  for (const listener of listeners) {
    if (listener.port !== 0 && ports.has(listener.port))
      conflict(`two listeners use port ${listener.port}`, 'listeners');
    ports.add(listener.port);
  }

  const advertisedValue = value('advertised.listeners') as readonly string[] | null;
  const advertisedListeners =
    advertisedValue === null
      ? listeners
      : parseListeners(advertisedValue).filter((listener) => !isController(listener));
  for (const advertised of advertisedValue === null ? [] : advertisedListeners) {
    if (!listeners.some((listener) => listener.name === advertised.name)) {
      conflict(
        `advertised listener ${advertised.name} is not one of listeners`,
        'advertised.listeners',
      );
    }
    if (advertised.host === '0.0.0.0' || advertised.host === '::') {
      conflict(
        `advertised listener ${advertised.name} cannot use the wildcard address ${advertised.host}`,
        'advertised.listeners',
      );
    }
  }

  if (httpsListener !== undefined) {
    const where = (name: string): string => keyOn(httpsListenerName, name);
    if (onListener(httpsListenerName, 'ssl.keystore.location') === null) {
      conflict(
        `http.listeners has an https:// address, which needs ssl.keystore.location (a PEM file with the key and certificate chain), or listener.name.https.ssl.keystore.location`,
        'ssl.keystore.location',
      );
    }
    if (
      onListener(httpsListenerName, 'ssl.client.auth') !== 'none' &&
      onListener(httpsListenerName, 'ssl.truststore.location') === null
    ) {
      conflict(
        `${where('ssl.client.auth')} asks HTTPS clients for certificates, which needs ${where('ssl.truststore.location')} (the CAs they must chain to)`,
        where('ssl.truststore.location'),
      );
    }
  }
  for (const http of httpListeners) {
    if (http.port !== 0 && ports.has(http.port)) {
      conflict(
        `http.listeners uses port ${http.port}, which a Kafka listener has`,
        'http.listeners',
      );
    }
  }

  // Brokers reach each other only in cluster mode, through the named listener or the first one.
  const namedInterBrokerListener = value('inter.broker.listener.name') as string | null;
  const clusterMode = ((value('etcd.endpoints') as readonly string[] | null) ?? []).length > 0;
  const interBrokerListener = namedInterBrokerListener ?? advertisedListeners[0]?.name ?? null;
  if (interBrokerListener !== null && (namedInterBrokerListener !== null || clusterMode)) {
    if (!advertisedListeners.some((listener) => listener.name === interBrokerListener)) {
      conflict(
        `inter.broker.listener.name ${interBrokerListener} is not one of the advertised listeners`,
        'inter.broker.listener.name',
      );
    }
    const protocol = securityProtocols.get(interBrokerListener) as SecurityProtocol | undefined;
    const jaas = onListener(
      interBrokerListener,
      'sasl.jaas.config',
      value('sasl.mechanism.inter.broker.protocol') as string,
    ) as string | null;
    if (protocol !== undefined && usesSasl(protocol) && parseJaasCredentials(jaas) === null) {
      conflict(
        `inter-broker listener ${interBrokerListener} uses ${protocol}, which needs sasl.jaas.config with username="..." and password="..."`,
        'sasl.jaas.config',
      );
    }
  }

  const nodeId = number('node.id');
  const brokerId = value('broker.id') as number | null;
  const nodeIdSetting = settings.get('node.id')!;
  let effectiveNodeId = nodeId;
  if (brokerId !== null) {
    if (nodeIdSetting.source !== ConfigSource.DEFAULT_CONFIG && brokerId !== nodeId) {
      conflict(`broker.id ${brokerId} and node.id ${nodeId} differ; set one of them`, 'broker.id');
    }
    effectiveNodeId = brokerId;
  }

  if (number('group.min.session.timeout.ms') > number('group.max.session.timeout.ms')) {
    conflict(
      'group.min.session.timeout.ms is above group.max.session.timeout.ms',
      'group.min.session.timeout.ms',
    );
  }
  if (number('default.replication.factor') < 1)
    conflict('default.replication.factor must be at least 1', 'default.replication.factor');

  // Each value was parsed by parseConfigValue against the definition BrokerSettingFields reads its
  // type from, so the record has the computed type; the cast is where that fact enters the types.
  const fields: Record<string, ConfigValue> = {};
  for (const { name, field } of brokerSettingFields) fields[field] = value(name);

  return Object.freeze({
    ...(fields as unknown as BrokerSettingFields),
    settings,
    layers,
    logDirs,
    listeners,
    advertisedListeners,
    httpListeners,
    listenerSecurityProtocols: new Map(
      listeners.map((listener) => [
        listener.name,
        securityProtocols.get(listener.name) as SecurityProtocol,
      ]),
    ),
    listenerOverrides,
    nodeId: effectiveNodeId,
    offsetsRetentionMs: number('offsets.retention.minutes') * 60_000,
  });
}

/** A change to one broker setting through AlterConfigs; null value = remove the dynamic value. */
export interface BrokerConfigChange {
  readonly name: string;
  readonly value: string | null;
}

/**
 * AlterConfigs / IncrementalAlterConfigs on a BROKER resource: returns a new BrokerConfig with the
 * dynamic values changed, for this broker ('broker', resource name = node id) or as the cluster
 * default ('default', resource name ""). Static layers (file, environment, flags) are kept; a
 * setting Kafka cannot change at run time is refused with NOT_DYNAMIC, an unknown one with
 * UNKNOWN_SETTING, a bad value with INVALID_VALUE; handlers answer INVALID_CONFIG with the message.
 */
export function alterBrokerConfig(
  config: BrokerConfig,
  scope: 'broker' | 'default',
  changes: readonly BrokerConfigChange[],
): BrokerConfig {
  const values = (layer: ReadonlyMap<string, ResolvedSetting>): Record<string, ConfigValue> =>
    Object.fromEntries([...layer].map(([name, setting]) => [name, setting.value]));
  const dynamicDefault = values(config.layers.dynamicDefault);
  const dynamicBroker = values(config.layers.dynamicBroker);
  const target = scope === 'broker' ? dynamicBroker : dynamicDefault;
  for (const change of changes) {
    if (isListenerSettingName(change.name)) {
      const name = dynamicListenerSettingName(change.name, scope);
      if (change.value === null) delete target[name];
      else target[name] = change.value;
      continue;
    }
    const definition = brokerConfigDefinitions.get(change.name);
    if (definition === undefined) {
      throw new ConfigError(
        ConfigErrorCode.UNKNOWN_SETTING,
        `unknown broker setting ${change.name}`,
        change.name,
      );
    }
    if (!definition.dynamic) {
      const perListener = dynamicListenerSettings.includes(change.name)
        ? `; change it per listener instead, as listener.name.<listener>.${change.name}`
        : '; set it in the config file, environment or flags';
      throw new ConfigError(
        ConfigErrorCode.NOT_DYNAMIC,
        `broker setting ${change.name} cannot be changed while the broker runs${perListener}`,
        change.name,
      );
    }
    if (change.value === null) delete target[change.name];
    else target[change.name] = change.value;
  }
  // The static values were parsed once already; parsing a typed value again returns it unchanged.
  const file: RawSettings = { values: new Map(), origins: new Map() };
  for (const [name, setting] of config.layers.static) {
    file.values.set(name, setting.value as never);
    file.origins.set(name, setting.origin ?? 'options');
  }
  return resolveBrokerConfig({
    file,
    dynamicDefault: dynamicDefault as SettingsInput,
    dynamicBroker: dynamicBroker as SettingsInput,
  });
}

/**
 * The canonical name of a `listener.name.*` key AlterConfigs may change in `scope`; throws
 * ConfigError (UNKNOWN_SETTING for a malformed key, NOT_DYNAMIC for one fixed at start).
 */
function dynamicListenerSettingName(name: string, scope: 'broker' | 'default'): string {
  const key = parseListenerSettingKey(name);
  const canonical = listenerSettingName(key);
  if (key.mechanism !== null || !dynamicListenerSettings.includes(key.setting)) {
    throw new ConfigError(
      ConfigErrorCode.NOT_DYNAMIC,
      `${canonical} cannot be changed while the broker runs; per listener, AlterConfigs changes ${dynamicListenerSettings.join(', ')}`,
      name,
    );
  }
  if (scope === 'default') {
    // As in Kafka: listeners are a broker's own, so their settings are set per broker.
    throw new ConfigError(
      ConfigErrorCode.NOT_DYNAMIC,
      `${canonical} is set per broker: alter the broker resource named by its node id, not the cluster default`,
      name,
    );
  }
  return canonical;
}

/** The value of any broker setting by Kafka name; throws on a name with no definition. */
export function brokerSetting(config: BrokerConfig, name: string): ConfigValue {
  const setting = config.settings.get(name);
  if (setting === undefined)
    throw new ConfigError(ConfigErrorCode.UNKNOWN_SETTING, `unknown broker setting ${name}`, name);
  return setting.value;
}

export interface LoadBrokerConfigOptions {
  /** Arguments after the command (`brook start ...`): --config FILE and setting flags. */
  readonly args?: readonly string[];
  /** Defaults to process.env. */
  readonly environment?: NodeJS.ProcessEnv;
  /** Applied above everything else (in-process callers). */
  readonly overrides?: SettingsInput;
}

export interface LoadedBrokerConfig {
  readonly config: BrokerConfig;
  /** Things worth telling the operator that are not errors (ignored Kafka settings, controller listeners). */
  readonly warnings: string[];
}

/** What `brook start` does: file (from --config), environment, flags, in that precedence. */
export function loadBrokerConfig(options: LoadBrokerConfigOptions = {}): LoadedBrokerConfig {
  const flags = parseSettingFlags(options.args ?? []);
  const file = flags.configFile === null ? undefined : readConfigFile(flags.configFile);
  const environment = settingsFromEnvironment(options.environment ?? process.env);
  const warnings: string[] = [];
  const config = resolveBrokerConfig(
    { file, environment, flags, overrides: options.overrides },
    warnings,
  );
  return { config, warnings };
}

/**
 * The addresses clients should be told about, once the listeners are bound: an advertised
 * listener with port 0, or a listener advertised as itself with port 0, takes the bound port; a
 * listener on every interface is advertised under this machine's host name, as Kafka does.
 */
export function advertisedAddresses(
  config: BrokerConfig,
  bound: readonly ListenerAddress[],
): ListenerAddress[] {
  return config.advertisedListeners.map((advertised) => {
    const actual = bound.find((listener) => listener.name === advertised.name);
    const port = advertised.port === 0 && actual !== undefined ? actual.port : advertised.port;
    const wildcard =
      advertised.host === '' || advertised.host === '0.0.0.0' || advertised.host === '::';
    return { name: advertised.name, host: wildcard ? hostname() : advertised.host, port };
  });
}

/**
 * The username and password of a JAAS line (`... required username="broker" password="...";`),
 * the form Kafka's sasl.jaas.config takes; null when either is missing.
 */
export function parseJaasCredentials(
  jaas: string | null,
): { username: string; password: string } | null {
  if (jaas === null) return null;
  const username = /\busername\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(jaas)?.[1];
  const password = /\bpassword\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(jaas)?.[1];
  if (username === undefined || password === undefined) return null;
  const unescape = (text: string): string => text.replace(/\\(.)/g, '$1');
  return { username: unescape(username), password: unescape(password) };
}
