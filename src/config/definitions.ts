// The shape of a setting definition and the one place where a setting's text becomes a typed
// value. Broker settings (broker-definitions.ts) and topic configs (topic-definitions.ts) share
// this, so a value is parsed and validated the same way whether it comes from server.properties,
// an environment variable, a flag, CreateTopics or AlterConfigs.

import { ConfigError, ConfigErrorCode } from './errors.js';

/** Kafka's config types; the numbers are DescribeConfigs' `ConfigType` (v3+). */
export const ConfigType = {
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigTypeName = 'boolean' | 'string' | 'int' | 'short' | 'long' | 'double' | 'list';

export function configTypeCode(type: ConfigTypeName): number {
  switch (type) {
    case 'boolean':
      return ConfigType.BOOLEAN;
    case 'string':
      return ConfigType.STRING;
    case 'int':
      return ConfigType.INT;
    case 'short':
      return ConfigType.SHORT;
    case 'long':
      return ConfigType.LONG;
    case 'double':
      return ConfigType.DOUBLE;
    case 'list':
      return ConfigType.LIST;
  }
}

/**
 * A parsed setting. `long` values are JavaScript numbers: every long Brook acts on (bytes,
 * milliseconds) stays far below 2^53, and Kafka's "no limit" default Long.MAX_VALUE becomes
 * LONG_MAX_VALUE (2^63 as a double), which is rendered back as 9223372036854775807.
 */
export type ConfigValue = string | number | boolean | readonly string[] | null;

/** Java's Long.MAX_VALUE as the nearest double; see renderConfigValue. */
export const LONG_MAX_VALUE = 2 ** 63;
const INT_MAX_VALUE = 2 ** 31 - 1;
const INT_MIN_VALUE = -(2 ** 31);

export interface ConfigDefinition {
  /** Kafka's name for the setting, e.g. `log.retention.ms`. */
  readonly name: string;
  readonly type: ConfigTypeName;
  /** null means "not set"; for some settings another setting then decides (log.retention.*). */
  readonly defaultValue: ConfigValue;
  /** Inclusive bounds for numbers; null values are always accepted where the default is null. */
  readonly minimum?: number;
  readonly maximum?: number;
  /** The accepted values of a string, or of each item of a list (compared case-sensitively). */
  readonly validValues?: readonly string[];
  /** Further checks (listener syntax, ...): throws a message fragment on a bad value. */
  readonly validate?: (value: ConfigValue) => void;
  /** One line, shown by `brook --help` and DescribeConfigs' documentation field. */
  readonly documentation: string;
  /** Whether Kafka lets AlterConfigs change the setting on a running broker. */
  readonly dynamic: boolean;
  /** Values never shown: DescribeConfigs reports them as sensitive with no value, errors hide them. */
  readonly sensitive?: boolean;
}

/** Parses a setting's text (or a value given in code) into its typed form, or throws. */
export function parseConfigValue(definition: ConfigDefinition, raw: unknown): ConfigValue {
  const value = coerce(definition, raw);
  if (value === null) return null;
  checkBounds(definition, value);
  if (definition.validate !== undefined) {
    try {
      definition.validate(value);
    } catch (error) {
      throw invalid(definition, raw, (error as Error).message);
    }
  }
  return value;
}

function coerce(definition: ConfigDefinition, raw: unknown): ConfigValue {
  if (raw === null || raw === undefined) {
    if (definition.defaultValue === null) return null;
    throw invalid(definition, raw, 'a value is required');
  }
  const { type } = definition;
  if (type === 'list') {
    if (Array.isArray(raw))
      return raw.map((item) => String(item).trim()).filter((item) => item !== '');
    if (typeof raw !== 'string') throw invalid(definition, raw, 'expected a comma-separated list');
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  if (type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    const text = String(raw).trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw invalid(definition, raw, 'expected true or false');
  }
  if (type === 'string') {
    if (typeof raw !== 'string' && typeof raw !== 'number')
      throw invalid(definition, raw, 'expected a string');
    return String(raw).trim();
  }
  // Long.MAX_VALUE round-trips as a double (2^63), one above the largest long; read it back as itself.
  const text =
    typeof raw === 'number' && raw >= LONG_MAX_VALUE ? '9223372036854775807' : String(raw).trim();
  if (type === 'double') {
    const parsed = Number(text);
    if (text === '' || !Number.isFinite(parsed))
      throw invalid(definition, raw, 'expected a number');
    return parsed;
  }
  // int, short and long: whole numbers only, in the Java type's range.
  if (!/^[-+]?\d+$/.test(text)) throw invalid(definition, raw, `expected a whole number (${type})`);
  const big = BigInt(text);
  const [lowest, highest] =
    type === 'short'
      ? [-32768n, 32767n]
      : type === 'int'
        ? [BigInt(INT_MIN_VALUE), BigInt(INT_MAX_VALUE)]
        : [-(2n ** 63n), 2n ** 63n - 1n];
  if (big < lowest || big > highest) throw invalid(definition, raw, `out of range for a ${type}`);
  return Number(big);
}

function checkBounds(definition: ConfigDefinition, value: ConfigValue): void {
  if (typeof value === 'number') {
    if (definition.minimum !== undefined && value < definition.minimum) {
      throw invalid(definition, value, `must be at least ${definition.minimum}`);
    }
    if (definition.maximum !== undefined && value > definition.maximum) {
      throw invalid(definition, value, `must be at most ${definition.maximum}`);
    }
  }
  const allowed = definition.validValues;
  if (allowed === undefined) return;
  const items =
    typeof value === 'string' ? [value] : Array.isArray(value) ? (value as readonly string[]) : [];
  for (const item of items) {
    if (!allowed.includes(item)) {
      throw invalid(
        definition,
        value,
        `${JSON.stringify(item)} is not one of ${allowed.join(', ')}`,
      );
    }
  }
}

function invalid(definition: ConfigDefinition, raw: unknown, why: string): ConfigError {
  // A password is never repeated back, not even a wrong one.
  const shown =
    definition.sensitive === true
      ? '[hidden]'
      : JSON.stringify(Array.isArray(raw) ? raw.join(',') : String(raw));
  return new ConfigError(
    ConfigErrorCode.INVALID_VALUE,
    `invalid value ${shown} for setting ${definition.name}: ${why}`,
    definition.name,
  );
}

/** The text Kafka would show for a value (DescribeConfigs, `brook --help`). */
export function renderConfigValue(value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'number') {
    if (value >= LONG_MAX_VALUE) return '9223372036854775807';
    return String(value);
  }
  return String(value);
}

/** Upper-case, dots and dashes to underscores: num.partitions -> BROOK_NUM_PARTITIONS. */
export function environmentVariableName(settingName: string): string {
  return 'BROOK_' + settingName.toUpperCase().replace(/[.-]/g, '_');
}

/** Dots to dashes: num.partitions -> --num-partitions. */
export function flagName(settingName: string): string {
  return '--' + settingName.replace(/\./g, '-');
}
