// Where broker settings come from, before any of them is parsed: a server.properties file, BROOK_*
// environment variables and command-line flags. Each source yields Kafka-named settings as text;
// broker-config.ts parses and layers them (flags > environment > file > defaults).

import { readFileSync } from 'node:fs';
import { brokerConfigDefinitions } from './broker-definitions.js';
import { environmentVariableName } from './definitions.js';
import { ConfigError, ConfigErrorCode } from './errors.js';
import { parseProperties } from './properties.js';
import { isListenerSettingName, listenerSettingOfVariable } from './listener-settings.js';

/** Settings as text, by Kafka name, and where each came from for messages ("--num-partitions"). */
export interface RawSettings {
  readonly values: Map<string, string>;
  readonly origins: Map<string, string>;
}

/**
 * Kafka settings that an existing server.properties commonly carries but that mean nothing to
 * Brook (thread pools, socket buffers, KRaft controller wiring, ZooKeeper). They are skipped with a
 * warning instead of refused, so a Kafka config file works unchanged.
 */
const INAPPLICABLE_KAFKA_SETTINGS = new Set([
  'num.network.threads',
  'num.replica.fetchers',
  'num.recovery.threads.per.data.dir',
  'background.threads',
  'socket.send.buffer.bytes',
  'socket.receive.buffer.bytes',
  'process.roles',
  'controller.quorum.voters',
  'controller.quorum.bootstrap.servers',
  'log.dir',
  'log.flush.scheduler.interval.ms',
  'log.flush.offset.checkpoint.interval.ms',
  'log.flush.start.offset.checkpoint.interval.ms',
  'log.cleaner.threads',
  'log.cleaner.dedupe.buffer.size',
  'log.cleaner.io.buffer.size',
  'share.coordinator.state.topic.replication.factor',
  'share.coordinator.state.topic.min.isr',
  'zookeeper.connect',
  'zookeeper.connection.timeout.ms',
  'group.coordinator.rebalance.protocols',
  // Broker-wide defaults of the topic configs Kafka 3.x deprecated (deprecated-topic-configs.ts).
  'log.message.format.version',
  'log.message.downconversion.enable',
  'log.message.timestamp.difference.max.ms',
]);

export function isInapplicableKafkaSetting(name: string): boolean {
  return INAPPLICABLE_KAFKA_SETTINGS.has(name);
}

function emptySettings(): RawSettings {
  return { values: new Map(), origins: new Map() };
}

/** Reads a server.properties file; unknown keys are left for broker-config.ts to refuse. */
export function readConfigFile(path: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      ConfigErrorCode.FILE_UNREADABLE,
      `cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  const settings = emptySettings();
  for (const [name, value] of parseProperties(text)) {
    settings.values.set(name, value);
    settings.origins.set(name, path);
  }
  return settings;
}

/**
 * BROOK_* variables that are not broker settings but are read by the `brook` launcher (bin/brook:
 * BROOK_NODE_OPTIONS, node's options) or by Brook's own tooling (the test runner, fuzz tests,
 * compatibility drivers, benchmarks). `brook start` inherits them, so they are let through;
 * test/config/environment-variables.test.ts checks that every BROOK_ variable the tree reads is a
 * setting or listed here.
 */
const TOOLING_VARIABLES = new Set([
  'BROOK_NODE_OPTIONS',
  'BROOK_TEST_CONCURRENCY',
  'BROOK_FUZZ_SEED',
  'BROOK_FUZZ_FRAMES',
  'BROOK_MEMBER_HOLD_FILE',
  'BROOK_MEMBER_COMMIT',
  'BROOK_COMPAT_DRIVER_TIMEOUT_S',
  'BROOK_COMPAT_RDKAFKA_CONFIG',
  'BROOK_BENCH_DIR',
  'BROOK_BENCH_ROUND_MS',
  'BROOK_BENCH_ROUND_S',
  'BROOK_BENCH_ROUNDS',
  'BROOK_BENCH_PRODUCERS',
  'BROOK_KAFKA_MESSAGE_DEFINITIONS',
  'BROOK_KAFKA_ERRORS',
]);

/** Prefixes reserved for tooling, so a new test or benchmark knob is not taken for a typo. */
const TOOLING_PREFIXES = [
  'BROOK_TEST_',
  'BROOK_BENCH_',
  'BROOK_FUZZ_',
  'BROOK_COMPAT_',
  'BROOK_FAULT_',
];

export function isToolingVariable(variable: string): boolean {
  return (
    TOOLING_VARIABLES.has(variable) ||
    TOOLING_PREFIXES.some((prefix) => variable.startsWith(prefix))
  );
}

/** The edit distance of two short strings, to suggest the variable a typo meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * BROOK_NUM_PARTITIONS=4 sets num.partitions. Any other BROOK_* variable is refused, as an unknown
 * flag or file setting is: a misspelt variable silently ignored is a misconfigured broker. Only
 * the tooling variables above are let through. An empty variable counts as unset, as shells make
 * it easy to export one by accident.
 */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): RawSettings {
  const byVariable = new Map<string, string>();
  for (const name of brokerConfigDefinitions.keys())
    byVariable.set(environmentVariableName(name), name);
  const settings = emptySettings();
  for (const [variable, value] of Object.entries(environment)) {
    if (!variable.startsWith('BROOK_') || value === undefined || value === '') continue;
    const name = byVariable.get(variable) ?? listenerSettingOfVariable(variable) ?? undefined;
    if (name === undefined) {
      if (isToolingVariable(variable)) continue;
      const nearest = [...byVariable.keys()]
        .map((known) => ({ known, distance: editDistance(variable, known) }))
        .sort((a, b) => a.distance - b.distance)[0];
      const hint =
        nearest !== undefined && nearest.distance <= 2 ? ` (did you mean ${nearest.known}?)` : '';
      throw new ConfigError(
        ConfigErrorCode.UNKNOWN_SETTING,
        `unknown environment variable ${variable}: it names no broker setting${hint}; unset it or fix its name (brook --help lists every BROOK_ variable)`,
        variable,
      );
    }
    settings.values.set(name, value);
    settings.origins.set(name, variable);
  }
  return settings;
}

export interface ParsedFlags extends RawSettings {
  /** The file named by --config, if any. */
  readonly configFile: string | null;
}

/**
 * `--num-partitions 4`, `--num-partitions=4`, `--num.partitions 4` and Kafka's
 * `--override num.partitions=4` all set num.partitions. A boolean setting given without a value
 * (`--auto-create-topics-enable`) means true. Every argument must be a flag: a stray word is an
 * error rather than silently ignored.
 */
export function parseSettingFlags(args: readonly string[]): ParsedFlags {
  const values = new Map<string, string>();
  const origins = new Map<string, string>();
  let configFile: string | null = null;
  for (let index = 0; index < args.length; index += 1) {
    const argument = args[index];
    if (!argument.startsWith('--') || argument === '--') {
      throw new ConfigError(
        ConfigErrorCode.MALFORMED_FLAG,
        `unexpected argument ${JSON.stringify(argument)}: settings are given as --name value`,
      );
    }
    const equals = argument.indexOf('=');
    const flag = equals === -1 ? argument : argument.slice(0, equals);
    let value: string | undefined = equals === -1 ? undefined : argument.slice(equals + 1);
    const takeValue = (allowMissingAsTrue: boolean): string => {
      if (value !== undefined) return value;
      const next = args[index + 1];
      if (next === undefined || next.startsWith('--')) {
        if (allowMissingAsTrue) return 'true';
        throw new ConfigError(ConfigErrorCode.MALFORMED_FLAG, `flag ${flag} needs a value`);
      }
      index += 1;
      return next;
    };
    if (flag === '--config') {
      configFile = takeValue(false);
      continue;
    }
    if (flag === '--override') {
      const assignment = takeValue(false);
      const separator = assignment.indexOf('=');
      if (separator <= 0) {
        throw new ConfigError(
          ConfigErrorCode.MALFORMED_FLAG,
          `--override expects name=value, got ${JSON.stringify(assignment)}`,
        );
      }
      const name = assignment.slice(0, separator).trim();
      values.set(name, assignment.slice(separator + 1));
      origins.set(name, `--override ${name}`);
      continue;
    }
    const name = flag.slice(2).replace(/-/g, '.');
    const definition = brokerConfigDefinitions.get(name);
    if (isListenerSettingName(name)) {
      // listener.name.<listener>.<setting>: the key is checked with the other settings.
      values.set(name, takeValue(false));
      origins.set(name, flag);
      continue;
    }
    if (definition === undefined) {
      throw new ConfigError(
        ConfigErrorCode.UNKNOWN_SETTING,
        `unknown flag ${flag}: no broker setting named ${name}`,
        name,
      );
    }
    value = takeValue(definition.type === 'boolean');
    values.set(name, value);
    origins.set(name, flag);
  }
  return { values, origins, configFile };
}
