// CreatePartitions (API key 37): grows topics to a larger partition count. The new partitions
// start empty at offset 0 with the topic's config. A count that does not grow the topic is
// INVALID_PARTITIONS; a manual assignment must give one entry per new partition naming only this
// broker (in cluster mode: live brokers, as many as the topic's replication factor, checked where
// the partitions are placed, cluster/cluster-topics.ts). Every topic of the request gets a result: clients expect one per topic they sent.

import { isValidTopicName } from '../metadata/topic-name.js';
import { ErrorCode } from '../protocol/errors.js';
import type {
  CreatePartitionsRequestCreatePartitionsTopic,
  CreatePartitionsResponseCreatePartitionsTopicResultInput,
} from '../protocol/generated/create-partitions.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import { oneChangeAtATime } from './shared/config-resources.js';
import { AdminRequestError, adminErrorOf } from './shared/errors.js';

export interface CreatePartitionsHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly nodeId: number;
  /** Cluster mode: grows the topic through etcd; resolves once this broker has applied it. */
  readonly clusterAddPartitions?: (
    name: string,
    partitionCount: number,
    assignment: readonly (readonly number[])[] | undefined,
  ) => Promise<void>;
}

export function createCreatePartitionsHandler(dependencies: CreatePartitionsHandlerDependencies) {
  const { replicas, nodeId } = dependencies;
  return defineHandler(ApiKey.CreatePartitions, {
    ...servedVersions[ApiKey.CreatePartitions],

    async handle(request) {
      const counts = new Map<string, number>();
      for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
      const results: CreatePartitionsResponseCreatePartitionsTopicResultInput[] = [];
      for (const topic of request.topics) {
        if (counts.get(topic.name)! > 1) {
          results.push(
            result(topic.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.'),
          );
          continue;
        }
        try {
          await oneChangeAtATime(replicas, async () => {
            check(topic);
            if (request.validateOnly) return;
            if (dependencies.clusterAddPartitions !== undefined) {
              await dependencies.clusterAddPartitions(
                topic.name,
                topic.count,
                topic.assignments?.map((assignment) => assignment.brokerIds),
              );
            } else {
              await replicas.addPartitions(topic.name, topic.count);
            }
          });
          results.push(result(topic.name, ErrorCode.NONE, null));
        } catch (error) {
          const { errorCode, errorMessage } = adminErrorOf(error);
          results.push(result(topic.name, errorCode, errorMessage));
        }
      }
      return { throttleTimeMs: 0, results };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        results: request.topics.map((topic) => result(topic.name, errorCode, null)),
      };
    },
  });

  function check(requested: CreatePartitionsRequestCreatePartitionsTopic): void {
    const topic = replicas.topic(requested.name);
    if (topic === undefined) {
      if (!isValidTopicName(requested.name)) {
        throw new AdminRequestError(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `'${requested.name}' is not a valid topic name`,
        );
      }
      throw new AdminRequestError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Topic '${requested.name}' does not exist.`,
      );
    }
    if (topic.metadata.internal) {
      // The group coordinator maps groups to partitions by the partition count.
      throw new AdminRequestError(
        ErrorCode.INVALID_REQUEST,
        `Topic '${requested.name}' is internal to the broker; its partition count cannot change.`,
      );
    }
    const current = topic.partitions.length;
    if (requested.count === current) {
      throw new AdminRequestError(
        ErrorCode.INVALID_PARTITIONS,
        `Topic already has ${current} partitions.`,
      );
    }
    if (requested.count < current) {
      throw new AdminRequestError(
        ErrorCode.INVALID_PARTITIONS,
        `Topic currently has ${current} partitions, which is higher than the requested ${requested.count}.`,
      );
    }
    if (requested.assignments === null) return;
    const added = requested.count - current;
    if (requested.assignments.length !== added) {
      throw new AdminRequestError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Increasing the number of partitions by ${added} but ${requested.assignments.length} assignments provided.`,
      );
    }
    if (dependencies.clusterAddPartitions !== undefined) return;
    requested.assignments.forEach((assignment, index) => {
      if (assignment.brokerIds.length !== 1 || assignment.brokerIds[0] !== nodeId) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `new partition ${current + index} is assigned to brokers [${assignment.brokerIds.join(', ')}]; this cluster has only broker ${nodeId}`,
        );
      }
    });
  }
}

function result(
  name: string,
  errorCode: number,
  errorMessage: string | null,
): CreatePartitionsResponseCreatePartitionsTopicResultInput {
  return { name, errorCode, errorMessage };
}
