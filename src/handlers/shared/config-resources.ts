// What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: the config resource
// types, finding the topic or broker a resource names, and validating and applying a topic's new
// override set so that its logs use it at once.

import type { BrokerConfig } from '../../config/broker-config.js';
import { ConfigError, ConfigErrorCode } from '../../config/errors.js';
import { parseTopicConfigs, topicLogConfig } from '../../config/topic-config.js';
import type { BrokerConfigScope } from '../../metadata/broker-configs.js';
import { isValidTopicName } from '../../metadata/topic-name.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ReplicaManager, TopicPartitions } from '../../replica/replica-manager.js';
import { validateLogConfig } from '../../storage/log-config.js';
import { AdminRequestError, adminErrorOf } from './errors.js';

/** Kafka's ConfigResource.Type codes; Brook has configs for these two. */
export const ConfigResourceType = {
  TOPIC: 2,
  BROKER: 4,
} as const;

/** The topic a TOPIC resource names, or an AdminRequestError saying why there is none. */
export function topicResource(replicas: ReplicaManager, name: string): TopicPartitions {
  const topic = replicas.topic(name);
  if (topic !== undefined) return topic;
  if (!isValidTopicName(name)) {
    throw new AdminRequestError(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `'${name}' is not a valid topic name`,
    );
  }
  throw new AdminRequestError(
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    `Topic '${name}' does not exist.`,
  );
}

/** A BROKER resource names this broker by node id, or the cluster-wide default by "". */
export function brokerResourceScope(resourceName: string, nodeId: number): BrokerConfigScope {
  if (resourceName === '') return 'default';
  if (resourceName === String(nodeId)) return 'broker';
  throw new AdminRequestError(
    ErrorCode.INVALID_REQUEST,
    `Unexpected broker id, expected ${nodeId} or empty string, but received ${resourceName}`,
  );
}

/** A resource type Brook keeps no configs for (broker loggers, groups, client metrics). */
export function unsupportedResourceType(resourceType: number): AdminRequestError {
  return new AdminRequestError(
    ErrorCode.INVALID_REQUEST,
    `config resource type ${resourceType} is not supported; Brook has TOPIC (2) and BROKER (4) configs`,
  );
}

/**
 * Checks a topic's complete override set: every name known, every value valid, and the resulting
 * log config coherent. Throws ConfigError (INVALID_CONFIG) naming the problem.
 */
export function validateTopicOverrides(
  broker: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): void {
  const parsed = parseTopicConfigs(overrides);
  try {
    validateLogConfig(topicLogConfig(broker, parsed));
  } catch (error) {
    throw new ConfigError(ConfigErrorCode.INVALID_VALUE, (error as Error).message);
  }
}

/**
 * Validates a topic's complete new override set, then unless `validateOnly` stores it and
 * re-applies the effective config to the topic's logs, so it acts at once (in cluster mode
 * through `clusterSetTopicConfigs`). Throws ConfigError or MetadataError (the topic was deleted
 * meanwhile).
 */
export async function replaceTopicOverrides(
  replicas: ReplicaManager,
  broker: BrokerConfig,
  topicName: string,
  overrides: ReadonlyMap<string, string>,
  validateOnly: boolean,
  clusterSetTopicConfigs?: TopicConfigsWriter,
): Promise<void> {
  validateTopicOverrides(broker, overrides);
  if (validateOnly) return;
  if (clusterSetTopicConfigs !== undefined)
    await clusterSetTopicConfigs(topicName, Object.fromEntries(overrides));
  else await replicas.setTopicConfigs(topicName, Object.fromEntries(overrides));
}

/**
 * Cluster mode: stores a topic's overrides in etcd (every broker's mirror applies them) and
 * resolves once this broker has; a local change would be overwritten by the mirror.
 */
export type TopicConfigsWriter = (
  topicName: string,
  overrides: Record<string, string>,
) => Promise<void>;

const changeQueues = new WeakMap<ReplicaManager, Promise<unknown>>();

/**
 * Runs one admin read-modify-write (read a topic's overrides or partition count or the broker's
 * dynamic values, compute the new state, store it) with no other such change of the same broker
 * interleaving across its awaits: two IncrementalAlterConfigs on one topic must not both start
 * from the old overrides, so that the later one silently drops the earlier one's change.
 */
export function oneChangeAtATime<T>(
  replicas: ReplicaManager,
  change: () => Promise<T>,
): Promise<T> {
  const run = (changeQueues.get(replicas) ?? Promise.resolve()).then(change);
  changeQueues.set(
    replicas,
    run.catch(() => undefined),
  );
  return run;
}

/** A resource of AlterConfigs or IncrementalAlterConfigs, and the outcome both answer per resource. */
interface ConfigResourceName {
  resourceType: number;
  resourceName: string;
}
export interface ConfigResourceOutcome extends ConfigResourceName {
  errorCode: number;
  errorMessage: string | null;
}

export function resourceOutcome(
  resource: ConfigResourceName,
  errorCode: number,
  errorMessage: string | null,
): ConfigResourceOutcome {
  return {
    errorCode,
    errorMessage,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
  };
}

/**
 * Alters the resources in request order, one topic change at a time, each answered with its
 * own outcome: one resource's failure leaves the others to succeed.
 */
export async function alterEachResource<R extends ConfigResourceName>(
  replicas: ReplicaManager,
  resources: readonly R[],
  alter: (resource: R) => Promise<void>,
): Promise<ConfigResourceOutcome[]> {
  const outcomes: ConfigResourceOutcome[] = [];
  for (const resource of resources) {
    try {
      await oneChangeAtATime(replicas, () => alter(resource));
      outcomes.push(resourceOutcome(resource, ErrorCode.NONE, null));
    } catch (error) {
      const { errorCode, errorMessage } = adminErrorOf(error);
      outcomes.push(resourceOutcome(resource, errorCode, errorMessage));
    }
  }
  return outcomes;
}
