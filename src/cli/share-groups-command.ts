// `brook share-groups`: KIP-932 share-group administration of a running broker
// (--bootstrap-server, --command-config), in the vocabulary of Kafka's kafka-share-groups.sh, over
// the share-group admin APIs (src/client/share-group-admin.ts). A share group has no committed
// offsets: each partition has a start offset below which every record is done for the group, and
// resetting moves it. Like `brook groups`, reset-offsets only shows its plan unless --execute is
// given, and changes nothing while the group has members.

import { type AdminClient, OffsetTimestamp } from '../client/admin-client.js';
import {
  type ShareGroupOffsetChange,
  ShareGroupAdmin,
  type ShareGroupDescription,
} from '../client/share-group-admin.js';
import {
  AdminCommandError,
  AdminCommandErrorCode,
  type CommonArguments,
  type ParseOptions,
  parseAdminCommandLine,
  strings,
  usageError,
} from './admin-arguments.js';
import {
  type AdminCommand,
  type AdminCommandOutput,
  adminCommandRunner,
  commonOptionsUsage,
  table,
  toJson,
} from './admin-command.js';
import {
  parseResetTimestamp,
  parseTopicSelection,
  timestampOptions,
  type TopicSelection,
} from './groups-arguments.js';

export const shareGroupsUsage = `usage: brook share-groups <command> [options]
  list                                   share groups and their states
  describe GROUP [--offsets]             members and their assignments; with --offsets each
                                         partition's start offset, log end offset and lag
  reset-offsets GROUP --topic T[:P,P...]... SCENARIO [--execute]
                                         move the start offsets (clamped into the log) of every
                                         partition of T, or of partitions P only; a dry run
                                         unless --execute, and only while the group is Empty.
                                         SCENARIO is one of
                                           --to-earliest, --to-latest, --to-offset N,
                                           --to-datetime YYYY-MM-DDTHH:mm:SS[.sss][Z|+HH:MM]
                                             (local time without a zone),
                                           --by-duration PnDTnHnMnS (that long before now),
                                           --to-timestamp MS (milliseconds since the epoch);
                                         a time moves to the first record at or after it
                                         (ListOffsets by timestamp), or the log end if none
  delete-offsets GROUP --topic T...      forget the group's state for these topics (Empty group)
  delete GROUP                           delete a share group that has no members, with its state
GROUP may also be given as --group GROUP.
${commonOptionsUsage}`;

type ResetScenario =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'offset'; readonly offset: bigint }
  | { readonly kind: 'timestamp'; readonly timestampMs: number };

type ShareGroupsArguments =
  | { readonly command: 'help' }
  | (CommonArguments &
      (
        | { readonly command: 'list' }
        | { readonly command: 'describe'; readonly group: string; readonly offsets: boolean }
        | {
            readonly command: 'reset-offsets';
            readonly group: string;
            readonly topics: readonly TopicSelection[];
            readonly scenario: ResetScenario;
            readonly execute: boolean;
          }
        | {
            readonly command: 'delete-offsets';
            readonly group: string;
            readonly topics: readonly string[];
          }
        | { readonly command: 'delete'; readonly group: string }
      ));

const shareGroupsOptions = {
  group: { type: 'string' },
  offsets: { type: 'boolean' },
  topic: { type: 'string', multiple: true },
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-offset': { type: 'string' },
  'to-datetime': { type: 'string' },
  'by-duration': { type: 'string' },
  'to-timestamp': { type: 'string' },
  'dry-run': { type: 'boolean' },
  execute: { type: 'boolean' },
} as const satisfies ParseOptions;

const scenarioOptions = ['to-earliest', 'to-latest', 'to-offset', ...timestampOptions] as const;

const shareGroupsCommandOptions: Record<string, readonly (keyof typeof shareGroupsOptions)[]> = {
  list: [],
  describe: ['group', 'offsets'],
  'reset-offsets': ['group', 'topic', 'dry-run', 'execute', ...scenarioOptions],
  'delete-offsets': ['group', 'topic'],
  delete: ['group'],
};

/**
 * `describe GROUP` is `describe --group GROUP`: the first word after the command that is neither a
 * flag nor a flag's value names the group (the strict parser takes no other positional argument).
 */
function groupAsOption(argv: readonly string[]): string[] {
  const [command, ...rest] = argv;
  if (command === undefined || shareGroupsCommandOptions[command]?.includes('group') !== true) {
    return [...argv];
  }
  const takesValue = (flag: string) => {
    const name = flag.replace(/^--?/, '');
    const option = (shareGroupsOptions as ParseOptions)[name];
    return option?.type === 'string' || commonValueOptions.includes(name);
  };
  for (let index = 0; index < rest.length; index++) {
    const word = rest[index];
    if (word.startsWith('-')) {
      if (!word.includes('=') && takesValue(word)) index++;
      continue;
    }
    return [command, ...rest.slice(0, index), '--group', word, ...rest.slice(index + 1)];
  }
  return [...argv];
}

/** The common options that take a value (admin-arguments.ts). */
const commonValueOptions = ['bootstrap-server', 'timeout-ms', 'command-config', 'output'];

export function parseShareGroupsArguments(argv: readonly string[]): ShareGroupsArguments {
  const parsed = parseAdminCommandLine(
    groupAsOption(argv),
    shareGroupsOptions,
    shareGroupsCommandOptions,
  );
  if (parsed === null) return { command: 'help' };
  const { command, values, common } = parsed;
  if (command === 'list') return { ...common, command };
  const group = values.group as string | undefined;
  if (group === undefined || group === '') throw usageError(`${command} needs a GROUP`);
  if (command === 'describe') {
    return { ...common, command, group, offsets: values.offsets === true };
  }
  if (command === 'delete') return { ...common, command, group };
  const topicValues = strings(values, 'topic');
  if (topicValues.length === 0) throw usageError(`${command} needs --topic T`);
  const selections = topicValues.map((text) => parseTopicSelection(text, usageError));
  if (command === 'delete-offsets') {
    const partial = selections.find((selection) => selection.partitions !== null);
    if (partial !== undefined)
      throw usageError(
        `delete-offsets forgets whole topics: give --topic ${partial.topic}, without partitions`,
      );
    return {
      ...common,
      command,
      group,
      topics: [...new Set(selections.map((selection) => selection.topic))],
    };
  }

  if (values['dry-run'] === true && values.execute === true) {
    throw usageError('--dry-run and --execute contradict each other; give one');
  }
  const given = scenarioOptions.filter((name) => values[name] !== undefined);
  if (given.length !== 1) {
    throw usageError(
      given.length === 0
        ? `reset-offsets needs one of ${scenarioOptions.map((name) => '--' + name).join(', ')}`
        : `${given.map((name) => '--' + name).join(' and ')} contradict each other; give one`,
    );
  }
  const option = given[0];
  let scenario: ResetScenario;
  if (option === 'to-offset') {
    const text = values['to-offset'] as string;
    if (!/^\d+$/.test(text)) throw usageError(`--to-offset ${text} is not an offset`);
    scenario = { kind: 'offset', offset: BigInt(text) };
  } else if (option === 'to-earliest' || option === 'to-latest') {
    scenario = { kind: option === 'to-earliest' ? 'earliest' : 'latest' };
  } else {
    const timestampMs = parseResetTimestamp(option, values[option] as string, usageError);
    scenario = { kind: 'timestamp', timestampMs };
  }
  return {
    ...common,
    command: 'reset-offsets',
    group,
    topics: mergeSelections(selections),
    scenario,
    execute: values.execute === true,
  };
}

/** One selection per topic: every partition if any --topic named it whole, else the union. */
function mergeSelections(selections: readonly TopicSelection[]): TopicSelection[] {
  const merged = new Map<string, Set<number> | null>();
  for (const { topic, partitions } of selections) {
    const previous = merged.get(topic);
    if (partitions === null || previous === null) merged.set(topic, null);
    else merged.set(topic, new Set([...(previous ?? []), ...partitions]));
  }
  return [...merged].map(([topic, partitions]) => ({
    topic,
    partitions: partitions === null ? null : [...partitions].sort((a, b) => a - b),
  }));
}

function kafkaError(message: string): AdminCommandError {
  return new AdminCommandError(AdminCommandErrorCode.KAFKA_ERROR, message);
}

/**
 * The selected partitions of each topic (every one when the selection names none), which must
 * exist: the command never creates a topic.
 */
async function partitionsOf(
  client: AdminClient,
  selections: readonly TopicSelection[],
): Promise<Array<{ topic: string; partition: number }>> {
  const metadata = await client.metadata(selections.map((selection) => selection.topic));
  return selections.flatMap(({ topic, partitions }) => {
    const found = metadata.topics.get(topic);
    if (found === undefined) {
      throw kafkaError(`topic ${topic} does not exist (brook share-groups never creates topics)`);
    }
    const existing = found.partitions.map((entry) => entry.partition).sort((a, b) => a - b);
    const missing = partitions?.filter((partition) => !existing.includes(partition)) ?? [];
    if (missing.length > 0) {
      throw kafkaError(
        `topic ${topic} has no partition ${missing.join(', ')} (it has ${existing.length})`,
      );
    }
    return (partitions ?? existing).map((partition) => ({ topic, partition }));
  });
}

function assignmentText(member: ShareGroupDescription['members'][number]): string {
  return member.assignment.topicPartitions
    .map((entry) => `${entry.topicName}:${[...entry.partitions].sort((a, b) => a - b).join(',')}`)
    .sort()
    .join(';');
}

async function describe(
  client: AdminClient,
  admin: ShareGroupAdmin,
  request: Extract<ShareGroupsArguments, { command: 'describe' }>,
  output: AdminCommandOutput,
): Promise<void> {
  const group = await admin.describe(request.group);
  if (!request.offsets) {
    const members = group.members.map((member) => ({
      memberId: member.memberId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      memberEpoch: member.memberEpoch,
      assignment: member.assignment.topicPartitions.map((entry) => ({
        topic: entry.topicName,
        partitions: [...entry.partitions].sort((a, b) => a - b),
      })),
    }));
    if (request.output === 'json') {
      output.out(toJson({ group: group.groupId, state: group.groupState, members }));
      return;
    }
    output.out(`Share group ${group.groupId} is ${group.groupState}.`);
    output.out(
      table([
        ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', 'MEMBER-EPOCH', 'ASSIGNMENT'],
        ...group.members.map((member) => [
          group.groupId,
          member.memberId,
          member.clientHost,
          member.clientId,
          String(member.memberEpoch),
          assignmentText(member) || '-',
        ]),
      ]),
    );
    return;
  }
  const offsets = (await admin.startOffsets(request.group, null)).sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
  const rows = await Promise.all(
    offsets.map(async (entry) => {
      const logEndOffset = await client.listOffset({
        topic: entry.topic,
        partition: entry.partition,
        timestamp: OffsetTimestamp.LATEST,
      });
      const started = entry.startOffset >= 0n;
      return {
        topic: entry.topic,
        partition: entry.partition,
        startOffset: started ? entry.startOffset : null,
        logEndOffset,
        lag: started
          ? logEndOffset > entry.startOffset
            ? logEndOffset - entry.startOffset
            : 0n
          : null,
      };
    }),
  );
  if (request.output === 'json') {
    output.out(toJson({ group: group.groupId, state: group.groupState, partitions: rows }));
    return;
  }
  output.out(`Share group ${group.groupId} is ${group.groupState}.`);
  output.out(
    table([
      ['GROUP', 'TOPIC', 'PARTITION', 'START-OFFSET', 'LOG-END-OFFSET', 'LAG'],
      ...rows.map((row) => [
        group.groupId,
        row.topic,
        String(row.partition),
        row.startOffset === null ? '-' : String(row.startOffset),
        String(row.logEndOffset),
        row.lag === null ? '-' : String(row.lag),
      ]),
    ]),
  );
}

/** Refuses, before anything is planned, a group that has members (Kafka's tool does too). */
async function requireEmpty(admin: ShareGroupAdmin, groupId: string, what: string): Promise<void> {
  const group = await admin.describe(groupId);
  if (group.groupState !== 'Empty') {
    throw kafkaError(
      `share group ${groupId} is ${group.groupState} with ${group.members.length} member(s): ${what} only while it has none (stop its consumers)`,
    );
  }
}

async function resetOffsets(
  client: AdminClient,
  admin: ShareGroupAdmin,
  request: Extract<ShareGroupsArguments, { command: 'reset-offsets' }>,
  output: AdminCommandOutput,
): Promise<void> {
  await requireEmpty(admin, request.group, 'offsets can be reset');
  const partitions = await partitionsOf(client, request.topics);
  const plan: ShareGroupOffsetChange[] = await Promise.all(
    partitions.map(async ({ topic, partition }) => {
      const at = (timestamp: bigint) => client.listOffset({ topic, partition, timestamp });
      const [earliest, latest] = await Promise.all([
        at(OffsetTimestamp.EARLIEST),
        at(OffsetTimestamp.LATEST),
      ]);
      const scenario = request.scenario;
      let wanted: bigint;
      if (scenario.kind === 'earliest') wanted = earliest;
      else if (scenario.kind === 'latest') wanted = latest;
      else if (scenario.kind === 'offset') wanted = scenario.offset;
      else {
        // The first record at or after the time; none (-1) means the log end.
        const found = await at(BigInt(Math.trunc(scenario.timestampMs)));
        wanted = found < 0n ? latest : found;
      }
      const startOffset = wanted < earliest ? earliest : wanted > latest ? latest : wanted;
      return { topic, partition, startOffset };
    }),
  );
  if (request.execute) await admin.alterStartOffsets(request.group, plan);
  if (request.output === 'json') {
    output.out(toJson({ group: request.group, executed: request.execute, partitions: plan }));
    return;
  }
  output.out(
    table([
      ['GROUP', 'TOPIC', 'PARTITION', 'NEW-START-OFFSET'],
      ...plan.map((entry) => [
        request.group,
        entry.topic,
        String(entry.partition),
        String(entry.startOffset),
      ]),
    ]),
  );
  output.out(
    request.execute
      ? `Start offsets of share group ${request.group} reset.`
      : 'Dry run: nothing was changed (add --execute to apply).',
  );
}

const shareGroupsCommand: AdminCommand<Exclude<ShareGroupsArguments, { command: 'help' }>> = {
  name: 'share-groups',
  usage: shareGroupsUsage,
  parse: parseShareGroupsArguments,
  async run(client, request, output) {
    const admin = new ShareGroupAdmin(client);
    switch (request.command) {
      case 'list': {
        const groups = await admin.list();
        output.out(
          request.output === 'json'
            ? toJson(groups)
            : table([['GROUP', 'STATE'], ...groups.map((group) => [group.groupId, group.state])]),
        );
        return;
      }
      case 'describe':
        await describe(client, admin, request, output);
        return;
      case 'reset-offsets':
        await resetOffsets(client, admin, request, output);
        return;
      case 'delete-offsets':
        await requireEmpty(admin, request.group, 'its offsets can be deleted');
        await partitionsOf(
          client,
          request.topics.map((topic) => ({ topic, partitions: null })),
        );
        await admin.deleteStartOffsets(request.group, request.topics);
        output.out(
          `Share group ${request.group} forgot its offsets of ${request.topics.join(', ')}.`,
        );
        return;
      case 'delete':
        await admin.deleteGroup(request.group);
        output.out(`Share group ${request.group} deleted.`);
        return;
    }
  },
};

export const runShareGroupsCommand = adminCommandRunner(shareGroupsCommand);
