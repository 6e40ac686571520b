// The arguments of `brook topics`, `brook configs`, `brook produce` and `brook consume`, parsed
// strictly with node:util's parseArgs as groups-arguments.ts does: an unknown flag, a flag that
// does not apply to the command, a missing or malformed value, or two contradicting choices is a
// usage error (exit 2), never silently dropped.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type ScramMechanism,
  isScramMechanism,
  scramIterationsDefault,
  scramIterationsMax,
  scramIterationsMin,
} from '../security/scram-credential.js';
import { ConfigResourceType } from '../client/admin-client.js';
import { InvariantError } from '../util/assert.js';
import { BrookError, type BrookErrorCode } from '../util/errors.js';
import { parseDatetime } from './groups-arguments.js';

export const AdminCommandErrorCode = {
  USAGE: 'BROOK_CLI_USAGE',
  KAFKA_ERROR: 'BROOK_CLI_KAFKA_ERROR',
  CONNECTION: 'BROOK_CLI_CONNECTION',
  TIMEOUT: 'BROOK_CLI_TIMEOUT',
  /** A bug in the command: the stack trace is printed. */
  INTERNAL: 'BROOK_CLI_INTERNAL',
} as const satisfies Record<string, BrookErrorCode>;

export type AdminCommandErrorCode =
  (typeof AdminCommandErrorCode)[keyof typeof AdminCommandErrorCode];

export class AdminCommandError extends BrookError {
  declare readonly code: AdminCommandErrorCode;

  constructor(code: AdminCommandErrorCode, message: string) {
    super(code, message);
    this.name = 'AdminCommandError';
  }
}

export function usageError(message: string): AdminCommandError {
  return new AdminCommandError(AdminCommandErrorCode.USAGE, message);
}

/** What every one of these commands takes. */
export interface CommonArguments {
  readonly bootstrapServer: string;
  /** The whole command, connecting included, ends within this. */
  readonly timeoutMs: number;
  readonly output: 'table' | 'json';
  /** --command-config: a Kafka client properties file with TLS and SASL settings; null for none. */
  readonly commandConfig: string | null;
}

export type TopicsArguments =
  | { readonly command: 'help' }
  | (CommonArguments &
      (
        | { readonly command: 'list' }
        | { readonly command: 'describe'; readonly topics: readonly string[] }
        | {
            readonly command: 'create';
            readonly topic: string;
            readonly partitions: number;
            readonly replicationFactor: number;
            readonly configs: ReadonlyMap<string, string>;
            readonly ifNotExists: boolean;
          }
        | {
            readonly command: 'alter';
            readonly topic: string;
            readonly partitions: number | null;
            readonly configs: ReadonlyMap<string, string>;
            readonly deleteConfigs: readonly string[];
          }
        | {
            readonly command: 'delete';
            readonly topics: readonly string[];
            readonly ifExists: boolean;
          }
      ));

export type ConfigsArguments =
  | { readonly command: 'help' }
  | (CommonArguments & {
      readonly entityType: ConfigResourceType;
      readonly entityName: string;
    } & (
        | { readonly command: 'describe'; readonly all: boolean }
        | {
            readonly command: 'alter';
            readonly configs: ReadonlyMap<string, string>;
            readonly deleteConfigs: readonly string[];
          }
      ));

export interface RecordHeaderArgument {
  readonly key: string;
  readonly value: string;
}

export type ProduceArguments =
  | { readonly command: 'help' }
  | (CommonArguments & {
      readonly command: 'produce';
      readonly topic: string;
      /** null: by the key's hash as Kafka's clients do, or partition 0 without a key. */
      readonly partition: number | null;
      readonly key: string | null;
      readonly headers: readonly RecordHeaderArgument[];
      /** null: one record per line of standard input. */
      readonly values: readonly string[] | null;
    });

/** Where consume starts in each partition. */
export type ConsumeStart =
  | { readonly kind: 'beginning' }
  | { readonly kind: 'offset'; readonly offset: bigint }
  | { readonly kind: 'time'; readonly timestampMs: number };

export type ConsumeArguments =
  | { readonly command: 'help' }
  | (CommonArguments & {
      readonly command: 'consume';
      readonly topic: string;
      /** null: every partition. */
      readonly partition: number | null;
      readonly start: ConsumeStart;
      /** null: until the end of the log as it was when consume began (or, following, forever). */
      readonly maxMessages: number | null;
      /** Keep reading new records as they arrive instead of stopping at the end of the log. */
      readonly follow: boolean;
      /** Start where this group committed, and commit what was printed (without joining it). */
      readonly group: string | null;
    });

const defaultBootstrapServer = '127.0.0.1:9092';
const defaultTimeoutMs = 30_000;

const commonOptions = {
  'bootstrap-server': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'command-config': { type: 'string' },
  output: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type ParseOptions = Record<
  string,
  { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
>;

interface Parsed {
  readonly command: string | undefined;
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
}

/**
 * parseArgs with every option of the tool; then each command's own options are checked against
 * `commandOptions` (a flag of another command is an error naming both).
 */
export function parseStrict(
  argv: readonly string[],
  options: ParseOptions,
  commandOptions: Record<string, readonly string[]>,
  positionalCommand: boolean,
): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...commonOptions, ...options },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    // parseArgs' messages name the flag ("Unknown option '--bogus'"); drop its advice about '--'.
    throw usageError(
      (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''),
    );
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  const command = positionalCommand ? first : Object.keys(commandOptions)[0];
  const extra = positionalCommand ? rest : positionals;
  if (values.help === true || command === undefined || command === 'help') {
    if (command === undefined && values.help !== true) throw usageError('a command is needed');
    return { command: undefined, values };
  }
  const allowed = commandOptions[command];
  if (allowed === undefined) throw usageError(`unknown command ${command}`);
  if (extra.length > 0) throw usageError(`unexpected argument ${extra[0]}`);
  for (const name of Object.keys(values)) {
    if (!(name in commonOptions) && !allowed.includes(name)) {
      throw usageError(`--${name} does not apply to ${command}`);
    }
  }
  return { command, values };
}

/**
 * What `brook acls` and `brook quotas` begin with: the command line of a positional command
 * (`add`, `describe`, ...) parsed strictly, with the options every admin command shares read;
 * null when help was asked for.
 */
export function parseAdminCommandLine(
  argv: readonly string[],
  options: ParseOptions,
  commandOptions: Record<string, readonly string[]>,
): { command: string; values: Parsed['values']; common: CommonArguments } | null {
  const { command, values } = parseStrict(argv, options, commandOptions, true);
  if (command === undefined) return null;
  return { command, values, common: commonArguments(values) };
}

export function commonArguments(values: Parsed['values']): CommonArguments {
  const output = (values.output as string | undefined) ?? 'table';
  if (output !== 'table' && output !== 'json') {
    throw usageError(`--output ${output}: expected table or json`);
  }
  const timeoutText = values['timeout-ms'] as string | undefined;
  const timeoutMs = timeoutText === undefined ? defaultTimeoutMs : Number(timeoutText);
  if (timeoutText !== undefined && (!/^\d+$/.test(timeoutText) || timeoutMs < 1)) {
    throw usageError(`--timeout-ms ${timeoutText} is not a positive number of milliseconds`);
  }
  return {
    bootstrapServer: (values['bootstrap-server'] as string | undefined) ?? defaultBootstrapServer,
    timeoutMs,
    output,
    commandConfig: (values['command-config'] as string | undefined) ?? null,
  };
}

function count(values: Parsed['values'], name: string, minimum: number): number | null {
  const text = values[name] as string | undefined;
  if (text === undefined) return null;
  if (!/^\d+$/.test(text) || Number(text) < minimum || Number(text) > 2 ** 31 - 1) {
    throw usageError(`--${name} ${text} is not a whole number of at least ${minimum}`);
  }
  return Number(text);
}

function requiredString(values: Parsed['values'], name: string): string {
  const value = values[name] as string | undefined;
  if (value === undefined || value === '') throw usageError(`--${name} is required`);
  return value;
}

export function strings(values: Parsed['values'], name: string): string[] {
  return (values[name] as string[] | undefined) ?? [];
}

/** `--config k=v` pairs; a name given twice is an error rather than a silent last-one-wins. */
export function configPairs(items: readonly string[], flag: string): Map<string, string> {
  const configs = new Map<string, string>();
  for (const item of items) {
    const equals = item.indexOf('=');
    if (equals <= 0) throw usageError(`--${flag} ${item}: expected NAME=VALUE`);
    const name = item.slice(0, equals);
    if (configs.has(name)) throw usageError(`--${flag} ${name} is given twice`);
    configs.set(name, item.slice(equals + 1));
  }
  return configs;
}

const topicsOptions = {
  topic: { type: 'string', multiple: true },
  partitions: { type: 'string' },
  'replication-factor': { type: 'string' },
  config: { type: 'string', multiple: true },
  'delete-config': { type: 'string', multiple: true },
  'if-not-exists': { type: 'boolean' },
  'if-exists': { type: 'boolean' },
} as const;

const topicsCommandOptions: Record<string, readonly (keyof typeof topicsOptions)[]> = {
  list: [],
  describe: ['topic'],
  create: ['topic', 'partitions', 'replication-factor', 'config', 'if-not-exists'],
  alter: ['topic', 'partitions', 'config', 'delete-config'],
  delete: ['topic', 'if-exists'],
};

/** Parses `brook topics ARGS` (without "topics"); throws AdminCommandError (USAGE). */
export function parseTopicsArguments(argv: readonly string[]): TopicsArguments {
  const { command, values } = parseStrict(argv, topicsOptions, topicsCommandOptions, true);
  if (command === undefined) return { command: 'help' };
  const common = commonArguments(values);
  const topics = strings(values, 'topic');
  if (topics.some((topic) => topic === '')) throw usageError('--topic needs a name');
  const single = (): string => {
    if (topics.length !== 1) throw usageError(`${command} needs one --topic`);
    return topics[0];
  };
  switch (command) {
    case 'list':
      return { ...common, command };
    case 'describe':
      return { ...common, command, topics };
    case 'create':
      return {
        ...common,
        command,
        topic: single(),
        partitions: count(values, 'partitions', 1) ?? -1,
        replicationFactor: count(values, 'replication-factor', 1) ?? -1,
        configs: configPairs(strings(values, 'config'), 'config'),
        ifNotExists: values['if-not-exists'] === true,
      };
    case 'alter': {
      const alter = {
        ...common,
        command,
        topic: single(),
        partitions: count(values, 'partitions', 1),
        configs: configPairs(strings(values, 'config'), 'config'),
        deleteConfigs: strings(values, 'delete-config'),
      } as const;
      if (
        alter.partitions === null &&
        alter.configs.size === 0 &&
        alter.deleteConfigs.length === 0
      ) {
        throw usageError('alter needs --partitions, --config or --delete-config');
      }
      return alter;
    }
    case 'delete':
      if (topics.length === 0) throw usageError('delete needs --topic');
      return { ...common, command, topics, ifExists: values['if-exists'] === true };
    default:
      throw new InvariantError(`topics command ${command} has no parser`);
  }
}

const configsOptions = {
  'entity-type': { type: 'string' },
  'entity-name': { type: 'string' },
  all: { type: 'boolean' },
  'add-config': { type: 'string', multiple: true },
  'delete-config': { type: 'string', multiple: true },
} as const;

const configsCommandOptions: Record<string, readonly (keyof typeof configsOptions)[]> = {
  describe: ['entity-type', 'entity-name', 'all'],
  alter: ['entity-type', 'entity-name', 'add-config', 'delete-config'],
};

/** Parses `brook configs ARGS` (without "configs"); throws AdminCommandError (USAGE). */
export function parseConfigsArguments(argv: readonly string[]): ConfigsArguments {
  const { command, values } = parseStrict(argv, configsOptions, configsCommandOptions, true);
  if (command === undefined) return { command: 'help' };
  const common = commonArguments(values);
  const typeText = requiredString(values, 'entity-type');
  const entityType =
    typeText === 'topics'
      ? ConfigResourceType.TOPIC
      : typeText === 'brokers'
        ? ConfigResourceType.BROKER
        : null;
  if (entityType === null)
    throw usageError(`--entity-type ${typeText}: expected topics or brokers`);
  const entityName = requiredString(values, 'entity-name');
  if (entityType === ConfigResourceType.BROKER && !/^\d+$/.test(entityName)) {
    throw usageError(`--entity-name ${entityName}: a broker is named by its node id`);
  }
  if (command === 'describe') {
    return { ...common, command, entityType, entityName, all: values.all === true };
  }
  const configs = configPairs(strings(values, 'add-config'), 'add-config');
  const deleteConfigs = strings(values, 'delete-config');
  if (configs.size === 0 && deleteConfigs.length === 0) {
    throw usageError('alter needs --add-config or --delete-config');
  }
  return { ...common, command: 'alter', entityType, entityName, configs, deleteConfigs };
}

const produceOptions = {
  topic: { type: 'string' },
  partition: { type: 'string' },
  key: { type: 'string' },
  header: { type: 'string', multiple: true },
  value: { type: 'string', multiple: true },
} as const;

/** Parses `brook produce ARGS` (without "produce"); throws AdminCommandError (USAGE). */
export function parseProduceArguments(argv: readonly string[]): ProduceArguments {
  const { command, values } = parseStrict(
    argv,
    produceOptions,
    { produce: Object.keys(produceOptions) },
    false,
  );
  if (command === undefined) return { command: 'help' };
  const headers = strings(values, 'header').map((item) => {
    const equals = item.indexOf('=');
    if (equals <= 0) throw usageError(`--header ${item}: expected KEY=VALUE`);
    return { key: item.slice(0, equals), value: item.slice(equals + 1) };
  });
  return {
    ...commonArguments(values),
    command: 'produce',
    topic: requiredString(values, 'topic'),
    partition: count(values, 'partition', 0),
    key: (values.key as string | undefined) ?? null,
    headers,
    values: values.value === undefined ? null : strings(values, 'value'),
  };
}

const consumeOptions = {
  topic: { type: 'string' },
  partition: { type: 'string' },
  'from-beginning': { type: 'boolean' },
  offset: { type: 'string' },
  'from-time': { type: 'string' },
  'max-messages': { type: 'string' },
  follow: { type: 'boolean' },
  group: { type: 'string' },
} as const;

/** Parses `brook consume ARGS` (without "consume"); throws AdminCommandError (USAGE). */
export function parseConsumeArguments(argv: readonly string[]): ConsumeArguments {
  const { command, values } = parseStrict(
    argv,
    consumeOptions,
    { consume: Object.keys(consumeOptions) },
    false,
  );
  if (command === undefined) return { command: 'help' };
  const starts = (['from-beginning', 'offset', 'from-time'] as const).filter(
    (name) => values[name] !== undefined,
  );
  if (starts.length > 1) {
    throw usageError(
      `${starts.map((name) => '--' + name).join(' and ')} contradict each other; give one`,
    );
  }
  const partition = count(values, 'partition', 0);
  let start: ConsumeStart = { kind: 'beginning' };
  if (values.offset !== undefined) {
    const text = values.offset as string;
    if (!/^\d+$/.test(text)) throw usageError(`--offset ${text} is not an offset`);
    if (partition === null) throw usageError('--offset needs --partition');
    start = { kind: 'offset', offset: BigInt(text) };
  }
  if (values['from-time'] !== undefined) {
    const text = values['from-time'] as string;
    let timestampMs: number;
    try {
      timestampMs = /^\d+$/.test(text) ? Number(text) : parseDatetime(text);
    } catch {
      throw usageError(
        `--from-time ${text} is not a time: use epoch milliseconds or YYYY-MM-DDTHH:mm:SS[.sss][Z|+HH:MM]`,
      );
    }
    start = { kind: 'time', timestampMs };
  }
  return {
    ...commonArguments(values),
    command: 'consume',
    topic: requiredString(values, 'topic'),
    partition,
    start,
    maxMessages: count(values, 'max-messages', 1),
    follow: values.follow === true,
    group: values.group === undefined ? null : requiredString(values, 'group'),
  };
}

export type UsersArguments =
  | { readonly command: 'help' }
  | (CommonArguments & {
      /** --log-dirs: work on a stopped broker's metadata instead of asking a broker. */
      readonly logDirs: string | null;
    } & (
        | {
            readonly command: 'create';
            readonly user: string;
            readonly password: string;
            readonly mechanisms: readonly ScramMechanism[];
            readonly iterations: number;
          }
        | {
            readonly command: 'delete';
            readonly user: string;
            /** Empty: every mechanism the user has. */
            readonly mechanisms: readonly ScramMechanism[];
          }
        | { readonly command: 'list'; readonly users: readonly string[] }
      ));

const usersOptions = {
  user: { type: 'string', multiple: true },
  password: { type: 'string' },
  'password-file': { type: 'string' },
  mechanism: { type: 'string', multiple: true },
  iterations: { type: 'string' },
  'log-dirs': { type: 'string' },
} as const;

const usersCommandOptions: Record<string, readonly (keyof typeof usersOptions)[]> = {
  create: ['user', 'password', 'password-file', 'mechanism', 'iterations', 'log-dirs'],
  delete: ['user', 'mechanism', 'log-dirs'],
  list: ['user', 'log-dirs'],
};

/** Parses `brook users ARGS` (without "users"); throws AdminCommandError (USAGE). */
export function parseUsersArguments(argv: readonly string[]): UsersArguments {
  const { command, values } = parseStrict(argv, usersOptions, usersCommandOptions, true);
  if (command === undefined) return { command: 'help' };
  const common = {
    ...commonArguments(values),
    logDirs: (values['log-dirs'] as string | undefined) ?? null,
  };
  if (common.logDirs !== null && values['bootstrap-server'] !== undefined) {
    throw usageError('--log-dirs and --bootstrap-server exclude each other');
  }
  const users = strings(values, 'user');
  const single = (): string => {
    if (users.length !== 1 || users[0] === '') throw usageError(`${command} needs one --user`);
    return users[0];
  };
  const mechanisms = strings(values, 'mechanism').map((name) => {
    const upper = name.toUpperCase();
    if (!isScramMechanism(upper)) {
      throw usageError(`--mechanism ${name}: expected SCRAM-SHA-256 or SCRAM-SHA-512`);
    }
    return upper;
  });
  switch (command) {
    case 'create': {
      const passwordFile = values['password-file'] as string | undefined;
      let password = values.password as string | undefined;
      if ((password === undefined) === (passwordFile === undefined)) {
        throw usageError('create needs one of --password and --password-file');
      }
      if (passwordFile !== undefined) {
        try {
          password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
        } catch (error) {
          throw usageError(`--password-file ${passwordFile}: ${(error as Error).message}`);
        }
      }
      if (password === '') throw usageError('the password must not be empty');
      const iterations = count(values, 'iterations', scramIterationsMin) ?? scramIterationsDefault;
      if (iterations > scramIterationsMax) {
        throw usageError(`--iterations ${iterations} is above ${scramIterationsMax}`);
      }
      return {
        ...common,
        command,
        user: single(),
        password: password!,
        // PLAIN can check a password against either; both let every SCRAM client in.
        mechanisms: mechanisms.length > 0 ? mechanisms : ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
        iterations,
      };
    }
    case 'delete':
      return { ...common, command, user: single(), mechanisms };
    case 'list':
      return { ...common, command, users };
    default:
      throw new InvariantError(`users command ${command} has no parser`);
  }
}
