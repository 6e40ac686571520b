// `brook groups`: consumer-group administration, as a Kafka client of a running broker
// (--bootstrap-server), like Kafka's kafka-consumer-groups.sh. It speaks the Kafka protocol through
// the generated codecs (src/client), so it works against any Kafka-compatible broker. It never
// creates a topic: Metadata is always asked with allow_auto_topic_creation=false.
// Arguments are parsed in groups-arguments.ts.
//
// Exit codes: 0 success, 1 a Kafka or connection error (an unknown topic), 2 a usage error.

import type { ClientSecurity } from '../client/admin-client.js';
import { AdminCommandError } from './admin-arguments.js';
import { readCommandConfig } from './command-config.js';
import {
  KafkaClientError,
  KafkaClientErrorCode,
  KafkaConnection,
  parseBrokerAddress,
} from '../client/kafka-connection.js';
import { assignedPartitionsOf } from '../protocol/consumer-protocol.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import {
  type GroupsArguments,
  GroupsCommandError,
  GroupsCommandErrorCode,
  type ResetScenario,
  type TopicSelection,
  parseGroupsArguments,
} from './groups-arguments.js';

export { GroupsCommandErrorCode } from './groups-arguments.js';
import type { DescribeGroupsResponse } from '../protocol/generated/describe-groups.js';
import type { DeleteGroupsResponse } from '../protocol/generated/delete-groups.js';
import type { FindCoordinatorResponse } from '../protocol/generated/find-coordinator.js';
import type { ListGroupsResponse } from '../protocol/generated/list-groups.js';
import type { ListOffsetsResponse } from '../protocol/generated/list-offsets.js';
import type { MetadataResponse } from '../protocol/generated/metadata.js';
import type { OffsetCommitResponse } from '../protocol/generated/offset-commit.js';
import type { OffsetFetchResponse } from '../protocol/generated/offset-fetch.js';

export interface GroupsCommandOutput {
  out(line: string): void;
  error(line: string): void;
}

const defaultOutput: GroupsCommandOutput = {
  out: (line) => process.stdout.write(line + '\n'),
  error: (line) => process.stderr.write(line + '\n'),
};

const usageText = `usage: brook groups <command> [--bootstrap-server HOST:PORT] ...
  list                                   list groups and their states
  describe --group G                     committed offset, log end offset and lag per partition
  reset-offsets --group G (--topic T[:P,P,...] ... | --all-topics) SCENARIO [--dry-run | --execute]
      SCENARIO is one of:
        --to-earliest | --to-latest | --to-current   log start, log end, the committed offset
        --to-offset N                                N, clamped into the log
        --shift-by N                                 committed offset + N (N may be negative)
        --to-datetime YYYY-MM-DDTHH:mm:SS[.sss][Z|+HH:MM]   first offset at or after that time
        --by-duration PnDTnHnMnS                     first offset at or after now minus that
        --to-timestamp MS                            first offset at or after that epoch time
      a dry run (the default) only shows the plan; --execute commits it. The group must have
      no members, and every --topic must exist: brook groups never creates a topic.
  delete --group G                       delete a group that has no members, with its offsets
--bootstrap-server defaults to 127.0.0.1:9092. --command-config FILE takes Kafka client properties
for a secured listener (security.protocol, sasl.mechanism, sasl.username, sasl.password,
ssl.ca.location). Unknown options are errors.`;

const apiKey = {
  listOffsets: ApiKey.ListOffsets,
  metadata: ApiKey.Metadata,
  offsetCommit: ApiKey.OffsetCommit,
  offsetFetch: ApiKey.OffsetFetch,
  findCoordinator: ApiKey.FindCoordinator,
  describeGroups: ApiKey.DescribeGroups,
  listGroups: ApiKey.ListGroups,
  deleteGroups: ApiKey.DeleteGroups,
} as const;

/** Request versions: every Kafka since 2.x and Brook serve these. */
const apiVersion = {
  listOffsets: 2,
  // v4 is the first with allow_auto_topic_creation, which a CLI always sends as false.
  metadata: 4,
  offsetCommit: 7,
  offsetFetch: 7,
  findCoordinator: 3,
  describeGroups: 5,
  listGroups: 4,
  deleteGroups: 2,
} as const;

const earliestTimestamp = -2n;
const latestTimestamp = -1n;

function checkError(errorCode: number, what: string): void {
  if (errorCode !== ErrorCode.NONE) {
    throw new GroupsCommandError(
      GroupsCommandErrorCode.KAFKA_ERROR,
      `${what}: ${errorName(errorCode)}`,
    );
  }
}

/** Connections by broker address, opened on first use. */
class Cluster {
  private readonly connections = new Map<string, Promise<KafkaConnection>>();

  constructor(
    readonly bootstrapServer: string,
    private readonly security: ClientSecurity | undefined,
  ) {}

  connection(address = this.bootstrapServer): Promise<KafkaConnection> {
    let connection = this.connections.get(address);
    if (connection === undefined) {
      connection = KafkaConnection.open(address, { clientId: 'brook-groups', ...this.security });
      this.connections.set(address, connection);
    }
    return connection;
  }

  async coordinator(groupId: string): Promise<KafkaConnection> {
    const bootstrap = await this.connection();
    const response = await bootstrap.request<FindCoordinatorResponse>(
      apiKey.findCoordinator,
      apiVersion.findCoordinator,
      { key: groupId, keyType: 0 },
    );
    checkError(response.errorCode, `FindCoordinator for group ${groupId}`);
    return this.connection(`${response.host}:${response.port}`);
  }

  /**
   * Partitions and their leaders' addresses, for the given topics (all topics when null). A topic
   * that does not exist is absent from the result: callers decide whether that is an error.
   */
  async partitions(topics: string[] | null): Promise<Map<string, Map<number, string>>> {
    const bootstrap = await this.connection();
    const response = await bootstrap.request<MetadataResponse>(
      apiKey.metadata,
      apiVersion.metadata,
      {
        topics: topics === null ? null : topics.map((name) => ({ name })),
        allowAutoTopicCreation: false,
      },
    );
    const brokers = new Map(
      response.brokers.map((broker) => [broker.nodeId, `${broker.host}:${broker.port}`]),
    );
    const result = new Map<string, Map<number, string>>();
    for (const topic of response.topics) {
      if (topic.name === null || topic.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
      checkError(topic.errorCode, `Metadata for topic ${topic.name}`);
      const leaders = new Map<number, string>();
      for (const partition of topic.partitions) {
        const leader = brokers.get(partition.leaderId);
        if (leader !== undefined) leaders.set(partition.partitionIndex, leader);
      }
      result.set(topic.name, leaders);
    }
    return result;
  }

  /** ListOffsets for each partition at `timestamp` (−2 earliest, −1 latest), from its leader. */
  async offsetsAt(
    partitions: readonly { topic: string; partition: number }[],
    timestamp: bigint,
  ): Promise<Map<string, bigint>> {
    const leaders = await this.partitions([...new Set(partitions.map((entry) => entry.topic))]);
    const byLeader = new Map<string, Map<string, number[]>>();
    for (const { topic, partition } of partitions) {
      const leader = leaders.get(topic)?.get(partition);
      if (leader === undefined) continue;
      let topics = byLeader.get(leader);
      if (topics === undefined) byLeader.set(leader, (topics = new Map()));
      let list = topics.get(topic);
      if (list === undefined) topics.set(topic, (list = []));
      list.push(partition);
    }
    const offsets = new Map<string, bigint>();
    for (const [leader, topics] of byLeader) {
      const connection = await this.connection(leader);
      const response = await connection.request<ListOffsetsResponse>(
        apiKey.listOffsets,
        apiVersion.listOffsets,
        {
          replicaId: -1,
          isolationLevel: 0,
          topics: [...topics].map(([name, indexes]) => ({
            name,
            partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp })),
          })),
        },
      );
      for (const topic of response.topics) {
        for (const partition of topic.partitions) {
          checkError(
            partition.errorCode,
            `ListOffsets for ${topic.name}-${partition.partitionIndex}`,
          );
          offsets.set(partitionKey(topic.name, partition.partitionIndex), partition.offset);
        }
      }
    }
    return offsets;
  }

  close(): void {
    for (const connection of this.connections.values()) {
      connection.then(
        (open) => open.close(),
        () => undefined,
      );
    }
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd(),
  );
}

// ---------------------------------------------------------------------------------------------
// Commands.

async function listGroups(cluster: Cluster, output: GroupsCommandOutput): Promise<void> {
  const connection = await cluster.connection();
  const response = await connection.request<ListGroupsResponse>(
    apiKey.listGroups,
    apiVersion.listGroups,
    {
      statesFilter: [],
    },
  );
  checkError(response.errorCode, 'ListGroups');
  const groups = [...response.groups].sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  output.out(
    table([
      ['GROUP', 'STATE', 'PROTOCOL-TYPE'],
      ...groups.map((group) => [group.groupId, group.groupState, group.protocolType]),
    ]).join('\n'),
  );
}

interface GroupSnapshot {
  groupId: string;
  state: string;
  committed: Map<string, { topic: string; partition: number; offset: bigint }>;
  owners: Map<string, { memberId: string; clientHost: string; clientId: string }>;
}

async function snapshotGroup(cluster: Cluster, groupId: string): Promise<GroupSnapshot> {
  const coordinator = await cluster.coordinator(groupId);
  const described = await coordinator.request<DescribeGroupsResponse>(
    apiKey.describeGroups,
    apiVersion.describeGroups,
    { groups: [groupId], includeAuthorizedOperations: false },
  );
  const group = described.groups[0];
  checkError(group.errorCode, `DescribeGroups for ${groupId}`);
  const owners = new Map<string, { memberId: string; clientHost: string; clientId: string }>();
  for (const member of group.members) {
    for (const { topic, partitions } of assignedPartitionsOf(member.memberAssignment)) {
      for (const partition of partitions) {
        owners.set(partitionKey(topic, partition), member);
      }
    }
  }
  const fetched = await coordinator.request<OffsetFetchResponse>(
    apiKey.offsetFetch,
    apiVersion.offsetFetch,
    {
      groupId,
      topics: null,
      requireStable: false,
    },
  );
  checkError(fetched.errorCode, `OffsetFetch for ${groupId}`);
  const committed = new Map<string, { topic: string; partition: number; offset: bigint }>();
  for (const topic of fetched.topics) {
    for (const partition of topic.partitions) {
      checkError(partition.errorCode, `OffsetFetch for ${topic.name}-${partition.partitionIndex}`);
      if (partition.committedOffset < 0n) continue;
      committed.set(partitionKey(topic.name, partition.partitionIndex), {
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
      });
    }
  }
  return { groupId, state: group.groupState, committed, owners };
}

async function describeGroup(
  cluster: Cluster,
  groupId: string,
  output: GroupsCommandOutput,
): Promise<void> {
  const snapshot = await snapshotGroup(cluster, groupId);
  if (snapshot.state === 'Dead' && snapshot.committed.size === 0) {
    throw new GroupsCommandError(
      GroupsCommandErrorCode.KAFKA_ERROR,
      `group ${groupId} does not exist`,
    );
  }
  const keys = new Set([...snapshot.committed.keys(), ...snapshot.owners.keys()]);
  const partitions = [...keys]
    .map((key) => {
      const [topic, partition] = key.split('\u0000');
      return { topic, partition: Number(partition) };
    })
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const logEndOffsets = await cluster.offsetsAt(partitions, latestTimestamp);
  const rows = partitions.map(({ topic, partition }) => {
    const key = partitionKey(topic, partition);
    const committed = snapshot.committed.get(key)?.offset;
    const logEndOffset = logEndOffsets.get(key);
    const owner = snapshot.owners.get(key);
    const lag =
      committed === undefined || logEndOffset === undefined
        ? '-'
        : String(logEndOffset > committed ? logEndOffset - committed : 0n);
    return [
      groupId,
      topic,
      String(partition),
      committed === undefined ? '-' : String(committed),
      logEndOffset === undefined ? '-' : String(logEndOffset),
      lag,
      owner?.memberId ?? '-',
      owner?.clientHost ?? '-',
      owner?.clientId ?? '-',
    ];
  });
  output.out(`Group ${groupId} is ${snapshot.state}.`);
  output.out(
    table([
      [
        'GROUP',
        'TOPIC',
        'PARTITION',
        'CURRENT-OFFSET',
        'LOG-END-OFFSET',
        'LAG',
        'CONSUMER-ID',
        'HOST',
        'CLIENT-ID',
      ],
      ...rows,
    ]).join('\n'),
  );
}

async function resetOffsets(
  cluster: Cluster,
  request: Extract<GroupsArguments, { command: 'reset-offsets' }>,
  output: GroupsCommandOutput,
): Promise<void> {
  const groupId = request.group;
  const snapshot = await snapshotGroup(cluster, groupId);
  if (snapshot.state !== 'Empty' && snapshot.state !== 'Dead') {
    throw new GroupsCommandError(
      GroupsCommandErrorCode.KAFKA_ERROR,
      `group ${groupId} is ${snapshot.state}: offsets can be reset only while it has no members (stop its consumers)`,
    );
  }
  const partitions = await selectPartitions(cluster, snapshot, request.topics, output);
  const targets = await resetTargets(cluster, snapshot, partitions, request.scenario);

  const plan = partitions
    .filter(({ topic, partition }) => targets.has(partitionKey(topic, partition)))
    .map(({ topic, partition }) => ({
      topic,
      partition,
      offset: targets.get(partitionKey(topic, partition))!,
    }));
  output.out(
    table([
      ['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'],
      ...plan.map((entry) => [groupId, entry.topic, String(entry.partition), String(entry.offset)]),
    ]).join('\n'),
  );
  if (!request.execute) {
    output.out('Dry run: nothing was changed (add --execute to apply).');
    return;
  }
  const byTopic = new Map<
    string,
    { partitionIndex: number; committedOffset: bigint; committedMetadata: string }[]
  >();
  for (const entry of plan) {
    let list = byTopic.get(entry.topic);
    if (list === undefined) byTopic.set(entry.topic, (list = []));
    list.push({
      partitionIndex: entry.partition,
      committedOffset: entry.offset,
      committedMetadata: '',
    });
  }
  const coordinator = await cluster.coordinator(groupId);
  const response = await coordinator.request<OffsetCommitResponse>(
    apiKey.offsetCommit,
    apiVersion.offsetCommit,
    {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [...byTopic].map(([name, partitionsOfTopic]) => ({
        name,
        partitions: partitionsOfTopic,
      })),
    },
  );
  for (const topic of response.topics) {
    for (const partition of topic.partitions) {
      checkError(partition.errorCode, `OffsetCommit for ${topic.name}-${partition.partitionIndex}`);
    }
  }
  output.out(`Offsets of group ${groupId} reset.`);
}

type PartitionRef = { topic: string; partition: number };

/**
 * The partitions to reset: those named by --topic, which must exist (a CLI never creates a topic:
 * Metadata is asked without auto-creation), or with --all-topics those the group has committed
 * offsets for, minus partitions of topics deleted since.
 */
async function selectPartitions(
  cluster: Cluster,
  snapshot: GroupSnapshot,
  topics: readonly TopicSelection[] | null,
  output: GroupsCommandOutput,
): Promise<PartitionRef[]> {
  if (topics === null) {
    const committed = [...snapshot.committed.values()];
    const known = await cluster.partitions([...new Set(committed.map((entry) => entry.topic))]);
    const partitions: PartitionRef[] = [];
    for (const { topic, partition } of committed) {
      if (known.get(topic)?.has(partition) === true) partitions.push({ topic, partition });
      else output.error(`brook groups: skipping ${topic}-${partition}: it no longer exists`);
    }
    return partitions.sort(comparePartitions);
  }
  const known = await cluster.partitions(topics.map((selection) => selection.topic));
  const partitions: PartitionRef[] = [];
  for (const selection of topics) {
    const leaders = known.get(selection.topic);
    if (leaders === undefined) {
      throw new GroupsCommandError(
        GroupsCommandErrorCode.KAFKA_ERROR,
        `topic ${selection.topic} does not exist (brook groups never creates topics)`,
      );
    }
    const wanted = selection.partitions ?? [...leaders.keys()];
    for (const partition of wanted) {
      if (!leaders.has(partition)) {
        throw new GroupsCommandError(
          GroupsCommandErrorCode.KAFKA_ERROR,
          `topic ${selection.topic} has no partition ${partition} (it has ${leaders.size})`,
        );
      }
      partitions.push({ topic: selection.topic, partition });
    }
  }
  return partitions.sort(comparePartitions);
}

function comparePartitions(a: PartitionRef, b: PartitionRef): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
}

/** Each partition's new offset under the scenario, clamped into the log as Kafka's tool does. */
async function resetTargets(
  cluster: Cluster,
  snapshot: GroupSnapshot,
  partitions: readonly PartitionRef[],
  scenario: ResetScenario,
): Promise<Map<string, bigint>> {
  const earliest = await cluster.offsetsAt(partitions, earliestTimestamp);
  const latest = await cluster.offsetsAt(partitions, latestTimestamp);
  if (scenario.kind === 'earliest') return earliest;
  if (scenario.kind === 'latest') return latest;
  const found =
    scenario.kind === 'timestamp'
      ? await cluster.offsetsAt(partitions, BigInt(Math.trunc(scenario.timestampMs)))
      : null;
  const targets = new Map<string, bigint>();
  for (const { topic, partition } of partitions) {
    const key = partitionKey(topic, partition);
    const low = earliest.get(key);
    const high = latest.get(key);
    if (low === undefined || high === undefined) continue;
    const committed = snapshot.committed.get(key)?.offset;
    let wanted: bigint;
    switch (scenario.kind) {
      case 'current':
        // Kafka's tool: a partition without a committed offset goes to the log end.
        wanted = committed ?? high;
        break;
      case 'offset':
        wanted = scenario.offset;
        break;
      case 'shift':
        if (committed === undefined) {
          throw new GroupsCommandError(
            GroupsCommandErrorCode.KAFKA_ERROR,
            `cannot shift ${topic}-${partition}: group ${snapshot.groupId} has no committed offset there`,
          );
        }
        wanted = committed + scenario.shift;
        break;
      case 'timestamp': {
        // No record at or after the time: the log end.
        const offset = found!.get(key);
        wanted = offset === undefined || offset < 0n ? high : offset;
        break;
      }
    }
    targets.set(key, wanted < low ? low : wanted > high ? high : wanted);
  }
  return targets;
}

async function deleteGroup(
  cluster: Cluster,
  groupId: string,
  output: GroupsCommandOutput,
): Promise<void> {
  const coordinator = await cluster.coordinator(groupId);
  const response = await coordinator.request<DeleteGroupsResponse>(
    apiKey.deleteGroups,
    apiVersion.deleteGroups,
    {
      groupsNames: [groupId],
    },
  );
  const result = response.results.find((entry) => entry.groupId === groupId);
  if (result === undefined) {
    throw new GroupsCommandError(
      GroupsCommandErrorCode.KAFKA_ERROR,
      `DeleteGroups gave no result for ${groupId}`,
    );
  }
  checkError(result.errorCode, `DeleteGroups for ${groupId}`);
  output.out(`Group ${groupId} deleted.`);
}

/** Runs `brook groups ...` (argv without "groups"); resolves with the exit code. */
export async function runGroupsCommand(
  argv: string[],
  output: GroupsCommandOutput = defaultOutput,
): Promise<number> {
  let request: GroupsArguments;
  let security: ClientSecurity | undefined;
  try {
    request = parseGroupsArguments(argv);
    if (request.command !== 'help') {
      parseBrokerAddress(request.bootstrapServer);
      if (request.commandConfig !== null) security = readCommandConfig(request.commandConfig);
    }
  } catch (error) {
    if (!(
      error instanceof GroupsCommandError ||
      error instanceof KafkaClientError ||
      error instanceof AdminCommandError
    )) {
      throw error;
    }
    output.error(`brook groups: ${error.message} [${GroupsCommandErrorCode.USAGE}]\n${usageText}`);
    return 2;
  }
  if (request.command === 'help') {
    output.out(usageText);
    return 0;
  }
  const cluster = new Cluster(request.bootstrapServer, security);
  try {
    switch (request.command) {
      case 'list':
        await listGroups(cluster, output);
        break;
      case 'describe':
        await describeGroup(cluster, request.group, output);
        break;
      case 'reset-offsets':
        await resetOffsets(cluster, request, output);
        break;
      case 'delete':
        await deleteGroup(cluster, request.group, output);
        break;
    }
    return 0;
  } catch (error) {
    if (error instanceof GroupsCommandError) {
      output.error(`brook groups: ${error.message} [${error.code}]`);
      return error.code === GroupsCommandErrorCode.USAGE ? 2 : 1;
    }
    if (error instanceof KafkaClientError) {
      // The broker is unreachable or misbehaved: an operating condition, not a bug.
      const code =
        error.code === KafkaClientErrorCode.BAD_ADDRESS
          ? GroupsCommandErrorCode.USAGE
          : GroupsCommandErrorCode.CONNECTION;
      output.error(`brook groups: ${error.message} [${code}]`);
      return code === GroupsCommandErrorCode.USAGE ? 2 : 1;
    }
    output.error(
      `brook groups: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return 1;
  } finally {
    cluster.close();
  }
}
