// The arguments of `brook groups`, parsed strictly with node:util's parseArgs: an unknown flag, a
// flag that does not apply to the command, a missing value or two contradicting choices is a usage
// error, never silently dropped (a dropped --shift-by once reset a group to the earliest offset).
// The reset scenarios are those of Kafka's kafka-consumer-groups.sh, plus --to-timestamp.

import { parseArgs } from 'node:util';
import { BrookError, type BrookErrorCode } from '../util/errors.js';
import { InvariantError } from '../util/assert.js';

export const GroupsCommandErrorCode = {
  USAGE: 'BROOK_GROUPS_USAGE',
  KAFKA_ERROR: 'BROOK_GROUPS_KAFKA_ERROR',
  CONNECTION: 'BROOK_GROUPS_CONNECTION',
} as const satisfies Record<string, BrookErrorCode>;

export type GroupsCommandErrorCode =
  (typeof GroupsCommandErrorCode)[keyof typeof GroupsCommandErrorCode];

export class GroupsCommandError extends BrookError {
  declare readonly code: GroupsCommandErrorCode;

  constructor(code: GroupsCommandErrorCode, message: string) {
    super(code, message);
    this.name = 'GroupsCommandError';
  }
}

function usageError(message: string): GroupsCommandError {
  return new GroupsCommandError(GroupsCommandErrorCode.USAGE, message);
}

/**
 * How a parser shared with another command (`brook share-groups` takes the same --topic T:0,2
 * and time options) reports a usage error: each command raises its own error code.
 */
export type UsageError = (message: string) => Error;

/** Where reset-offsets moves each partition's committed offset. */
export type ResetScenario =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'current' }
  | { readonly kind: 'offset'; readonly offset: bigint }
  | { readonly kind: 'shift'; readonly shift: bigint }
  /** ListOffsets at this time; --to-datetime, --by-duration and --to-timestamp all end here. */
  | { readonly kind: 'timestamp'; readonly timestampMs: number };

/** --topic T (every partition) or --topic T:0,2 (those partitions). */
export interface TopicSelection {
  readonly topic: string;
  readonly partitions: readonly number[] | null;
}

export type GroupsArguments =
  | { readonly command: 'help' }
  | {
      readonly command: 'list';
      readonly bootstrapServer: string;
      readonly commandConfig: string | null;
    }
  | {
      readonly command: 'describe' | 'delete';
      readonly bootstrapServer: string;
      /** --command-config: a Kafka client properties file (TLS, SASL); null for none. */
      readonly commandConfig: string | null;
      readonly group: string;
    }
  | {
      readonly command: 'reset-offsets';
      readonly bootstrapServer: string;
      /** --command-config: a Kafka client properties file (TLS, SASL); null for none. */
      readonly commandConfig: string | null;
      readonly group: string;
      /** null: --all-topics (the topics the group has committed offsets for). */
      readonly topics: readonly TopicSelection[] | null;
      readonly scenario: ResetScenario;
      readonly execute: boolean;
    };

const defaultBootstrapServer = '127.0.0.1:9092';

const options = {
  'bootstrap-server': { type: 'string' },
  'command-config': { type: 'string' },
  group: { type: 'string' },
  topic: { type: 'string', multiple: true },
  'all-topics': { type: 'boolean' },
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-current': { type: 'boolean' },
  'to-offset': { type: 'string' },
  'shift-by': { type: 'string' },
  'to-datetime': { type: 'string' },
  'by-duration': { type: 'string' },
  'to-timestamp': { type: 'string' },
  'dry-run': { type: 'boolean' },
  execute: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof options;

const scenarioOptions: readonly OptionName[] = [
  'to-earliest',
  'to-latest',
  'to-current',
  'to-offset',
  'shift-by',
  'to-datetime',
  'by-duration',
  'to-timestamp',
];

/** Which options each command takes besides --bootstrap-server and --help. */
const commandOptions: Record<string, readonly OptionName[]> = {
  list: [],
  describe: ['group'],
  delete: ['group'],
  'reset-offsets': ['group', 'topic', 'all-topics', 'dry-run', 'execute', ...scenarioOptions],
};

/**
 * parseArgs takes `--shift-by -5` for a missing value followed by a flag; Kafka's tool accepts it,
 * so a negative number after --shift-by or --to-offset is joined to its flag first.
 */
function joinNegativeNumbers(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    const next = argv[index + 1];
    if (
      (argument === '--shift-by' || argument === '--to-offset') &&
      next !== undefined &&
      /^-\d+$/.test(next)
    ) {
      joined.push(`${argument}=${next}`);
      index++;
    } else {
      joined.push(argument);
    }
  }
  return joined;
}

/** Parses `brook groups ARGS` (without "groups"); throws GroupsCommandError (USAGE). */
export function parseGroupsArguments(argv: readonly string[]): GroupsArguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeNumbers(argv),
      options,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    // parseArgs' messages name the flag ("Unknown option '--bogus'"); drop its advice about '--'.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw usageError(message);
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    if (command === undefined && values.help !== true) throw usageError('a command is needed');
    return { command: 'help' };
  }
  const allowed = commandOptions[command];
  if (allowed === undefined) throw usageError(`unknown command ${command}`);
  if (extra.length > 0) throw usageError(`unexpected argument ${extra[0]}`);
  for (const name of Object.keys(values) as OptionName[]) {
    if (
      name !== 'bootstrap-server' &&
      name !== 'command-config' &&
      name !== 'help' &&
      !allowed.includes(name)
    ) {
      throw usageError(`--${name} does not apply to ${command}`);
    }
  }
  const bootstrapServer = values['bootstrap-server'] ?? defaultBootstrapServer;
  const commandConfig = values['command-config'] ?? null;
  if (command === 'list') return { command, bootstrapServer, commandConfig };

  const group = values.group;
  if (group === undefined || group === '') throw usageError('--group is required');
  if (command === 'describe' || command === 'delete') {
    return { command, bootstrapServer, commandConfig, group };
  }

  if (values['dry-run'] === true && values.execute === true) {
    throw usageError('--dry-run and --execute contradict each other; give one');
  }
  const topicValues = values.topic ?? [];
  if (values['all-topics'] === true && topicValues.length > 0) {
    throw usageError('--all-topics and --topic contradict each other; give one');
  }
  if (values['all-topics'] !== true && topicValues.length === 0) {
    throw usageError('reset-offsets needs --topic or --all-topics');
  }
  return {
    command: 'reset-offsets',
    bootstrapServer,
    commandConfig,
    group,
    topics:
      values['all-topics'] === true ? null : topicValues.map((text) => parseTopicSelection(text)),
    scenario: parseScenario(values),
    execute: values.execute === true,
  };
}

/** --topic T or --topic T:0,1,2. */
export function parseTopicSelection(text: string, usage: UsageError = usageError): TopicSelection {
  const colon = text.indexOf(':');
  const topic = colon === -1 ? text : text.slice(0, colon);
  if (topic === '') throw usage(`--topic ${text} names no topic`);
  if (colon === -1) return { topic, partitions: null };
  const items = text.slice(colon + 1).split(',');
  if (items.some((item) => !/^\d+$/.test(item))) {
    throw usage(`bad partition list in --topic ${text}: expected TOPIC:0,1,2`);
  }
  return { topic, partitions: [...new Set(items.map(Number))].sort((a, b) => a - b) };
}

function parseScenario(values: Partial<Record<OptionName, unknown>>): ResetScenario {
  const given = scenarioOptions.filter((name) => values[name] !== undefined);
  if (given.length !== 1) {
    throw usageError(
      given.length === 0
        ? `reset-offsets needs one of ${scenarioOptions.map((name) => '--' + name).join(', ')}`
        : `${given.map((name) => '--' + name).join(' and ')} contradict each other; give one`,
    );
  }
  const name = given[0];
  const value = values[name] as string;
  switch (name) {
    case 'to-earliest':
      return { kind: 'earliest' };
    case 'to-latest':
      return { kind: 'latest' };
    case 'to-current':
      return { kind: 'current' };
    case 'to-offset':
      if (!/^\d+$/.test(value)) throw usageError(`--to-offset ${value} is not an offset`);
      return { kind: 'offset', offset: BigInt(value) };
    case 'shift-by':
      if (!/^[-+]?\d+$/.test(value)) {
        throw usageError(`--shift-by ${value} is not a whole number (e.g. --shift-by -10)`);
      }
      return { kind: 'shift', shift: BigInt(value) };
    case 'to-datetime':
    case 'by-duration':
    case 'to-timestamp':
      return { kind: 'timestamp', timestampMs: parseResetTimestamp(name, value) };
    default:
      throw new InvariantError(`scenario option ${name} has no parser`);
  }
}

/** The reset options that name a time; ListOffsets by that time finds each partition's offset. */
export const timestampOptions = ['to-datetime', 'by-duration', 'to-timestamp'] as const;

/** The time, in milliseconds since the epoch, that one of `timestampOptions` names. */
export function parseResetTimestamp(
  option: (typeof timestampOptions)[number],
  value: string,
  usage: UsageError = usageError,
): number {
  switch (option) {
    case 'to-datetime':
      return parseDatetime(value, usage);
    case 'by-duration':
      return Date.now() - parseDurationMs(value, usage);
    case 'to-timestamp':
      if (!/^\d+$/.test(value)) {
        throw usage(`--to-timestamp ${value} is not milliseconds since the epoch`);
      }
      return Number(value);
  }
}

const datetimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})?$/;

/** Kafka's YYYY-MM-DDTHH:mm:SS.sss, local time unless a zone (Z, +01:00) is given. */
export function parseDatetime(text: string, usage: UsageError = usageError): number {
  const timestampMs = datetimePattern.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(timestampMs)) {
    throw usage(
      `--to-datetime ${text} is not a date and time: use YYYY-MM-DDTHH:mm:SS[.sss][Z|+HH:MM]`,
    );
  }
  return timestampMs;
}

const durationPattern = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

/** An ISO-8601 duration as Kafka's --by-duration takes it: PnDTnHnMnS (P1D, PT30M, P1DT2H). */
export function parseDurationMs(text: string, usage: UsageError = usageError): number {
  const match = durationPattern.exec(text);
  if (match === null || text === 'P' || text.endsWith('T')) {
    throw usage(`--by-duration ${text} is not a duration: use PnDTnHnMnS (PT1H, P2D, PT90S)`);
  }
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return (
    Number(days) * 86_400_000 +
    Number(hours) * 3_600_000 +
    Number(minutes) * 60_000 +
    Math.round(Number(seconds) * 1000)
  );
}
