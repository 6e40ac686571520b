// CreateTopics (API key 19): creates topics with their partitions and config overrides.
//
// One broker holds every replica, so the replication factor must be 1 (or -1, the broker's
// default.replication.factor, itself 1 here) and a manual replica assignment may name only this
// broker. In cluster mode the topic is written to etcd instead (cluster/cluster-topics.ts),
// placed over the live brokers or as assigned, and every broker opens its replicas' logs. Names, partition counts, replication factors, assignments and configs are all checked
// before anything is created; validate_only stops there. From v5 the response carries what was
// (or would be) created: partition count, replication factor and every config with its source.

import { describeTopicConfigs, parseTopicConfigs } from '../config/topic-config.js';
import type { BrokerConfigs } from '../metadata/broker-configs.js';
import { isValidTopicName } from '../metadata/topic-name.js';
import { ErrorCode } from '../protocol/errors.js';
import type {
  CreateTopicsRequestCreatableTopic,
  CreateTopicsResponseCreatableTopicResultInput,
} from '../protocol/generated/create-topics.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import { validateTopicOverrides } from './shared/config-resources.js';
import { AdminRequestError, adminErrorOf } from './shared/errors.js';
import { INTERNAL_TOPIC_NAMES } from './shared/internal-topics.js';

const ZERO_TOPIC_ID = Buffer.alloc(16);
/** numPartitions / replicationFactor -1: use the broker's default. */
const USE_BROKER_DEFAULT = -1;

export interface CreateTopicsHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly brokerConfigs: BrokerConfigs;
  /** Cluster mode: creates through etcd; resolves with the topic id once this broker has it. */
  readonly cluster?: {
    liveBrokerCount(): number;
    createTopic(spec: {
      name: string;
      partitionCount: number;
      replicationFactor: number;
      assignment?: readonly (readonly number[])[];
      configs: Record<string, string>;
    }): Promise<Buffer>;
  };
}

interface PlannedTopic {
  readonly name: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly configs: Map<string, string>;
  /** Cluster mode: the replicas per partition the request named, checked against the brokers. */
  readonly assignment?: readonly (readonly number[])[];
}

export function createCreateTopicsHandler(dependencies: CreateTopicsHandlerDependencies) {
  const { replicas, brokerConfigs, cluster } = dependencies;
  return defineHandler(ApiKey.CreateTopics, {
    ...servedVersions[ApiKey.CreateTopics],

    async handle(request) {
      const counts = new Map<string, number>();
      for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
      const results: CreateTopicsResponseCreatableTopicResultInput[] = [];
      for (const topic of request.topics) {
        if (counts.get(topic.name)! > 1) {
          results.push(
            failed(
              topic.name,
              ErrorCode.INVALID_REQUEST,
              `Topic '${topic.name}' is named more than once in the request.`,
            ),
          );
          continue;
        }
        try {
          const planned = plan(topic);
          if (request.validateOnly) {
            results.push(created(planned, ZERO_TOPIC_ID));
            continue;
          }
          if (cluster !== undefined) {
            const topicId = await cluster.createTopic({
              name: planned.name,
              partitionCount: planned.partitionCount,
              replicationFactor: planned.replicationFactor,
              assignment: planned.assignment,
              configs: Object.fromEntries(planned.configs),
            });
            results.push(created(planned, topicId));
            continue;
          }
          const topicPartitions = await replicas.createTopic({
            name: planned.name,
            partitionCount: planned.partitionCount,
            configs: Object.fromEntries(planned.configs),
          });
          results.push(created(planned, topicPartitions.metadata.topicId));
        } catch (error) {
          const { errorCode, errorMessage } = adminErrorOf(error);
          results.push(failed(topic.name, errorCode, errorMessage));
        }
      }
      return { throttleTimeMs: 0, topics: results };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => failed(topic.name, errorCode, null)),
      };
    },
  });

  /** Checks one topic of the request and works out what creating it means; throws on any problem. */
  function plan(topic: CreatableTopic): PlannedTopic {
    const broker = brokerConfigs.current();
    const { name } = topic;
    if (!isValidTopicName(name)) {
      throw new AdminRequestError(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `'${name}' is not a valid topic name: at most 249 of [a-zA-Z0-9._-], and not '.' or '..'`,
      );
    }
    if (replicas.topic(name) !== undefined) {
      throw new AdminRequestError(
        ErrorCode.TOPIC_ALREADY_EXISTS,
        `Topic '${name}' already exists.`,
      );
    }
    // Kafka's metric names turn '.' into '_', so such names would share their metrics.
    const collision = replicas
      .topics()
      .find((existing) => metricName(existing.metadata.name) === metricName(name));
    if (collision !== undefined) {
      throw new AdminRequestError(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic '${name}' collides with existing topic: ${collision.metadata.name}`,
      );
    }
    if (INTERNAL_TOPIC_NAMES.has(name)) {
      // The coordinators create these with the partition count they hash keys over.
      throw new AdminRequestError(
        ErrorCode.INVALID_REQUEST,
        `Topic '${name}' is internal; the broker creates it when it is first needed.`,
      );
    }

    let partitionCount: number;
    let replicationFactor: number;
    let assignment: number[][] | undefined;
    if (topic.assignments.length > 0 && cluster !== undefined) {
      if (
        topic.numPartitions !== USE_BROKER_DEFAULT ||
        topic.replicationFactor !== USE_BROKER_DEFAULT
      ) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REQUEST,
          'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
        );
      }
      // Which brokers may hold them is checked against the live brokers when the topic is placed.
      assignment = orderedAssignment(topic);
      partitionCount = assignment.length;
      replicationFactor = assignment[0]!.length;
    } else if (topic.assignments.length > 0) {
      if (
        topic.numPartitions !== USE_BROKER_DEFAULT ||
        topic.replicationFactor !== USE_BROKER_DEFAULT
      ) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REQUEST,
          'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
        );
      }
      partitionCount = checkAssignments(topic, broker.nodeId);
      replicationFactor = 1;
    } else {
      partitionCount =
        topic.numPartitions === USE_BROKER_DEFAULT ? broker.numPartitions : topic.numPartitions;
      if (partitionCount < 1) {
        throw new AdminRequestError(
          ErrorCode.INVALID_PARTITIONS,
          `Number of partitions was set to an invalid non-positive value (${topic.numPartitions}).`,
        );
      }
      replicationFactor =
        topic.replicationFactor === USE_BROKER_DEFAULT
          ? broker.defaultReplicationFactor
          : topic.replicationFactor;
      if (replicationFactor < 1) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Replication factor was set to an invalid non-positive value (${topic.replicationFactor}).`,
        );
      }
      const brokerCount = cluster?.liveBrokerCount() ?? 1;
      if (replicationFactor > brokerCount) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Unable to replicate the partition ${replicationFactor} time(s): the target replication factor of ${replicationFactor} cannot be reached because only ${brokerCount} broker(s) are registered.`,
        );
      }
    }

    const configs = new Map<string, string>();
    for (const config of topic.configs) {
      if (configs.has(config.name)) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REQUEST,
          `config ${config.name} is named twice`,
        );
      }
      if (config.value === null) {
        throw new AdminRequestError(
          ErrorCode.INVALID_CONFIG,
          `Null value not supported for topic configs: ${config.name}`,
        );
      }
      configs.set(config.name, config.value);
    }
    validateTopicOverrides(broker, configs);
    return { name, partitionCount, replicationFactor, configs, assignment };
  }

  function created(
    planned: PlannedTopic,
    topicId: Buffer,
  ): CreateTopicsResponseCreatableTopicResultInput {
    const described = describeTopicConfigs(
      brokerConfigs.current(),
      parseTopicConfigs(planned.configs),
    );
    return {
      name: planned.name,
      topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: planned.partitionCount,
      replicationFactor: planned.replicationFactor,
      configs: described.map((config) => ({
        name: config.name,
        value: config.isSensitive ? null : config.value,
        readOnly: config.readOnly,
        configSource: config.source,
        isSensitive: config.isSensitive,
      })),
    };
  }
}

type CreatableTopic = CreateTopicsRequestCreatableTopic;

function metricName(topicName: string): string {
  return topicName.replaceAll('.', '_');
}

/**
 * A manual assignment in cluster mode: partitions 0..n-1, each exactly once, as replica lists in
 * partition order (the brokers themselves are checked where the topic is placed).
 */
function orderedAssignment(topic: CreatableTopic): number[][] {
  const byIndex = new Map<number, number[]>();
  for (const assignment of topic.assignments) {
    if (byIndex.has(assignment.partitionIndex)) {
      throw new AdminRequestError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition ${assignment.partitionIndex} is assigned more than once`,
      );
    }
    byIndex.set(assignment.partitionIndex, [...assignment.brokerIds]);
  }
  const ordered: number[][] = [];
  for (let index = 0; index < byIndex.size; index += 1) {
    const replicas = byIndex.get(index);
    if (replicas === undefined) {
      throw new AdminRequestError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partitions must be numbered 0 to ${byIndex.size - 1} without gaps; ${index} is missing`,
      );
    }
    ordered.push(replicas);
  }
  return ordered;
}

/**
 * A manual assignment on one broker: partitions 0..n-1, each exactly once, each on this broker
 * alone. Returns the partition count.
 */
function checkAssignments(topic: CreatableTopic, nodeId: number): number {
  const indexes = new Set<number>();
  for (const assignment of topic.assignments) {
    if (indexes.has(assignment.partitionIndex)) {
      throw new AdminRequestError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition ${assignment.partitionIndex} is assigned more than once`,
      );
    }
    indexes.add(assignment.partitionIndex);
    if (assignment.brokerIds.length !== 1 || assignment.brokerIds[0] !== nodeId) {
      throw new AdminRequestError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition ${assignment.partitionIndex} is assigned to brokers [${assignment.brokerIds.join(', ')}]; this cluster has only broker ${nodeId}`,
      );
    }
  }
  for (let index = 0; index < indexes.size; index += 1) {
    if (!indexes.has(index)) {
      throw new AdminRequestError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partitions must be numbered 0 to ${indexes.size - 1} without gaps; ${index} is missing`,
      );
    }
  }
  return indexes.size;
}

function failed(
  name: string,
  errorCode: number,
  errorMessage: string | null,
): CreateTopicsResponseCreatableTopicResultInput {
  return {
    name,
    topicId: ZERO_TOPIC_ID,
    errorCode,
    errorMessage,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  };
}
