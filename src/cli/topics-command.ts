// `brook topics` and `brook configs`: topic and config administration of a running broker
// (--bootstrap-server), in the vocabulary of Kafka's kafka-topics.sh and kafka-configs.sh, over the
// Kafka protocol (src/client/admin-client.ts), so they work against any Kafka-compatible broker.
// Neither ever creates a topic by asking about it. Arguments are parsed in admin-arguments.ts.

import {
  type AdminClient,
  ConfigResourceType,
  type TopicMetadata,
  configSourceNames,
} from '../client/admin-client.js';
import { ErrorCode } from '../protocol/errors.js';
import { KafkaResponseError } from '../client/admin-client.js';
import {
  type CommonArguments,
  type ConfigsArguments,
  type TopicsArguments,
  parseConfigsArguments,
  parseTopicsArguments,
} from './admin-arguments.js';
import {
  type AdminCommand,
  type AdminCommandOutput,
  defaultAdminOutput,
  runAdminCommand,
  table,
  toJson,
} from './admin-command.js';

const commonUsage = `common options:
  --bootstrap-server HOST:PORT   the broker to ask (default 127.0.0.1:9092)
  --output table|json            a readable table (default) or JSON
  --timeout-ms MS                the whole command ends within this, or fails (default 30000)
  --command-config FILE          Kafka client properties for a secured listener (security.protocol,
                                 sasl.mechanism, sasl.username, sasl.password, ssl.ca.location)
Unknown options are errors (exit 2); a Kafka or connection error exits 1.`;

export const topicsUsage = `usage: brook topics <command> [options]
  list                                           every topic with its partition count
  describe [--topic T ...]                       partitions (leader, replicas, ISR) and the
                                                 configs a topic overrides
  create --topic T [--partitions N] [--replication-factor N] [--config K=V ...] [--if-not-exists]
                                                 without --partitions or --replication-factor
                                                 the broker's defaults apply
  alter --topic T [--partitions N] [--config K=V ...] [--delete-config K ...]
                                                 grow the partitions, set or revert configs
  delete --topic T ... [--if-exists]
${commonUsage}`;

export const configsUsage = `usage: brook configs <command> --entity-type topics|brokers --entity-name NAME [options]
  describe [--all]                               the configs set on the topic or broker
                                                 (--all: every config, defaults included)
  alter [--add-config K=V ...] [--delete-config K ...]
                                                 set configs, or revert them to their defaults
A broker is named by its node id (--entity-name 1).
${commonUsage}`;

type Run<Arguments> = Arguments & CommonArguments;

function describeTopicRows(topic: TopicMetadata): string[][] {
  return topic.partitions.map((partition) => [
    topic.name,
    String(partition.partition),
    String(partition.leaderId),
    partition.replicas.join(','),
    partition.isr.join(','),
  ]);
}

/**
 * The configs each topic sets (not those it inherits), as DescribeConfigs reports them; null for a
 * topic the broker keeps no configs for (gone since it was listed).
 */
async function topicOverrides(
  client: AdminClient,
  topics: readonly string[],
): Promise<(Map<string, string | null> | null)[]> {
  const described = await client.describeTopicConfigs(topics);
  return topics.map((topic) => {
    const configs = described.get(topic);
    if (configs === undefined) return null;
    return new Map(
      configs
        .filter((config) => configSourceNames[config.configSource] === 'DYNAMIC_TOPIC_CONFIG')
        .map((config) => [config.name, config.isSensitive ? null : config.value]),
    );
  });
}

async function listTopics(
  client: AdminClient,
  request: CommonArguments,
  output: AdminCommandOutput,
): Promise<void> {
  const metadata = await client.metadata(null);
  const topics = [...metadata.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  if (request.output === 'json') {
    output.out(
      toJson(
        topics.map((topic) => ({
          name: topic.name,
          topicId: topic.topicId,
          internal: topic.isInternal,
          partitions: topic.partitions.length,
          replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
        })),
      ),
    );
    return;
  }
  output.out(
    table([
      ['TOPIC', 'PARTITIONS', 'REPLICATION-FACTOR', 'INTERNAL'],
      ...topics.map((topic) => [
        topic.name,
        String(topic.partitions.length),
        String(topic.partitions[0]?.replicas.length ?? 0),
        topic.isInternal ? 'yes' : 'no',
      ]),
    ]),
  );
}

async function describeTopics(
  client: AdminClient,
  request: Run<Extract<TopicsArguments, { command: 'describe' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  const metadata = await client.metadata(request.topics.length === 0 ? null : request.topics);
  for (const name of request.topics) {
    if (!metadata.topics.has(name)) {
      throw new KafkaResponseError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name}`, null);
    }
  }
  const topics = [...metadata.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const overrides = await topicOverrides(
    client,
    topics.map((topic) => topic.name),
  );
  const overridesOf = (index: number): Record<string, string | null> | null => {
    const found = overrides[index];
    return found === null ? null : Object.fromEntries(found);
  };
  if (request.output === 'json') {
    output.out(
      toJson(
        topics.map((topic, index) => ({
          name: topic.name,
          topicId: topic.topicId,
          internal: topic.isInternal,
          partitions: topic.partitions.map((partition) => ({
            partition: partition.partition,
            leader: partition.leaderId,
            leaderEpoch: partition.leaderEpoch,
            replicas: partition.replicas,
            isr: partition.isr,
            offlineReplicas: partition.offlineReplicas,
          })),
          configs: overridesOf(index),
        })),
      ),
    );
    return;
  }
  topics.forEach((topic, index) => {
    const found = overrides[index];
    const configs =
      found === null
        ? '(unknown)'
        : found.size === 0
          ? '-'
          : [...found].map(([name, value]) => `${name}=${value ?? '(sensitive)'}`).join(',');
    output.out(
      `Topic ${topic.name}  id ${topic.topicId}  partitions ${topic.partitions.length}  ` +
        `replication-factor ${topic.partitions[0]?.replicas.length ?? 0}  configs ${configs}`,
    );
    output.out(
      table([['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR'], ...describeTopicRows(topic)]),
    );
  });
}

async function createTopic(
  client: AdminClient,
  request: Run<Extract<TopicsArguments, { command: 'create' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  const result = await client.createTopic(
    {
      name: request.topic,
      partitions: request.partitions,
      replicationFactor: request.replicationFactor,
      configs: request.configs,
    },
    request.timeoutMs,
    request.ifNotExists,
  );
  if (request.output === 'json') {
    output.out(
      toJson({
        name: request.topic,
        created: result !== null,
        partitions: result?.numPartitions,
        replicationFactor: result?.replicationFactor,
      }),
    );
    return;
  }
  output.out(
    result === null
      ? `Topic ${request.topic} exists already; nothing was changed.`
      : `Created topic ${request.topic} with ${result.numPartitions} partitions and replication factor ${result.replicationFactor}.`,
  );
}

async function alterTopic(
  client: AdminClient,
  request: Run<Extract<TopicsArguments, { command: 'alter' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  const metadata = await client.metadata([request.topic]);
  const topic = metadata.topics.get(request.topic);
  if (topic === undefined) {
    throw new KafkaResponseError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `topic ${request.topic}`,
      null,
    );
  }
  const changes: string[] = [];
  // Configs first: an invalid config then leaves the partition count untouched.
  if (request.configs.size > 0 || request.deleteConfigs.length > 0) {
    await client.alterConfigs(ConfigResourceType.TOPIC, request.topic, {
      set: request.configs,
      delete: request.deleteConfigs,
    });
    changes.push(
      ...[...request.configs].map(([name, value]) => `${name}=${value}`),
      ...request.deleteConfigs.map((name) => `${name} reverted to its default`),
    );
  }
  if (request.partitions !== null && request.partitions !== topic.partitions.length) {
    await client.createPartitions(request.topic, request.partitions, request.timeoutMs);
    changes.push(`partitions ${topic.partitions.length} -> ${request.partitions}`);
  }
  if (request.output === 'json') {
    output.out(toJson({ name: request.topic, changes }));
    return;
  }
  output.out(
    changes.length === 0
      ? `Topic ${request.topic}: nothing to change.`
      : `Altered topic ${request.topic}: ${changes.join(', ')}.`,
  );
}

async function deleteTopics(
  client: AdminClient,
  request: Run<Extract<TopicsArguments, { command: 'delete' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  const deleted = await client.deleteTopics(request.topics, request.timeoutMs, request.ifExists);
  if (request.output === 'json') {
    output.out(toJson({ deleted }));
    return;
  }
  for (const name of request.topics) {
    output.out(
      deleted.includes(name) ? `Deleted topic ${name}.` : `Topic ${name} does not exist; skipped.`,
    );
  }
}

export const topicsCommand: AdminCommand<Exclude<TopicsArguments, { command: 'help' }>> = {
  name: 'topics',
  usage: topicsUsage,
  parse: parseTopicsArguments,
  run: async (client, request, output) => {
    switch (request.command) {
      case 'list':
        return listTopics(client, request, output);
      case 'describe':
        return describeTopics(client, request, output);
      case 'create':
        return createTopic(client, request, output);
      case 'alter':
        return alterTopic(client, request, output);
      case 'delete':
        return deleteTopics(client, request, output);
    }
  },
};

async function describeConfigs(
  client: AdminClient,
  request: Run<Extract<ConfigsArguments, { command: 'describe' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  const configs = (await client.describeConfigs(request.entityType, request.entityName)).filter(
    (config) => request.all || configSourceNames[config.configSource] !== 'DEFAULT_CONFIG',
  );
  const rows = configs.map((config) => ({
    name: config.name,
    value: config.isSensitive ? null : config.value,
    source: configSourceNames[config.configSource] ?? String(config.configSource),
    readOnly: config.readOnly,
    sensitive: config.isSensitive,
  }));
  if (request.output === 'json') {
    output.out(toJson(rows));
    return;
  }
  output.out(
    table([
      ['NAME', 'VALUE', 'SOURCE', 'READ-ONLY'],
      ...rows.map((row) => [
        row.name,
        row.sensitive ? '(sensitive)' : (row.value ?? '(null)'),
        row.source,
        row.readOnly ? 'yes' : 'no',
      ]),
    ]),
  );
}

async function alterConfigs(
  client: AdminClient,
  request: Run<Extract<ConfigsArguments, { command: 'alter' }>>,
  output: AdminCommandOutput,
): Promise<void> {
  await client.alterConfigs(request.entityType, request.entityName, {
    set: request.configs,
    delete: request.deleteConfigs,
  });
  const kind = request.entityType === ConfigResourceType.TOPIC ? 'topic' : 'broker';
  if (request.output === 'json') {
    output.out(
      toJson({
        entityType: kind,
        entityName: request.entityName,
        set: Object.fromEntries(request.configs),
        deleted: request.deleteConfigs,
      }),
    );
    return;
  }
  output.out(`Altered the configs of ${kind} ${request.entityName}.`);
}

export const configsCommand: AdminCommand<Exclude<ConfigsArguments, { command: 'help' }>> = {
  name: 'configs',
  usage: configsUsage,
  parse: parseConfigsArguments,
  run: async (client, request, output) => {
    if (request.command === 'describe') return describeConfigs(client, request, output);
    return alterConfigs(client, request, output);
  },
};

/** Runs `brook topics ...` (argv without "topics"); resolves with the exit code. */
export function runTopicsCommand(
  argv: readonly string[],
  output: AdminCommandOutput = defaultAdminOutput,
): Promise<number> {
  return runAdminCommand(topicsCommand, argv, output);
}

/** Runs `brook configs ...` (argv without "configs"); resolves with the exit code. */
export function runConfigsCommand(
  argv: readonly string[],
  output: AdminCommandOutput = defaultAdminOutput,
): Promise<number> {
  return runAdminCommand(configsCommand, argv, output);
}
