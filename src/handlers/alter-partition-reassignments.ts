// AlterPartitionReassignments (API key 45): moves a partition to other replicas, or cancels a
// move in progress (replicas null). In cluster mode any broker records the reassignment with the
// controller's fence; the controller carries it out (cluster/controller.ts, advanceReassignment):
// the target replicas join, catch up into the ISR, then the others leave and leadership follows.
// The answer says the reassignment was accepted, not that it finished: ListPartitionReassignments
// shows it until it has. One broker alone can only be "moved" onto itself.

import { ErrorCode } from '../protocol/errors.js';
import type { AlterPartitionReassignmentsResponseReassignableTopicResponseInput } from '../protocol/generated/alter-partition-reassignments.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import { AdminRequestError, adminErrorOf } from './shared/errors.js';

export interface AlterPartitionReassignmentsHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly nodeId: number;
  /** Cluster mode: records (or with null cancels) the reassignment of one partition. */
  readonly alterReassignment?: (
    topic: string,
    partition: number,
    target: readonly number[] | null,
  ) => Promise<void>;
}

export function createAlterPartitionReassignmentsHandler(
  dependencies: AlterPartitionReassignmentsHandlerDependencies,
) {
  const { replicas, nodeId } = dependencies;
  return defineHandler(ApiKey.AlterPartitionReassignments, {
    ...servedVersions[ApiKey.AlterPartitionReassignments],

    async handle(request) {
      const responses: AlterPartitionReassignmentsResponseReassignableTopicResponseInput[] = [];
      for (const topic of request.topics) {
        const partitions = [];
        for (const { partitionIndex, replicas: target } of topic.partitions) {
          try {
            if (dependencies.alterReassignment !== undefined) {
              await dependencies.alterReassignment(topic.name, partitionIndex, target);
            } else {
              alone(topic.name, partitionIndex, target);
            }
            partitions.push({ partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null });
          } catch (error) {
            partitions.push({ partitionIndex, ...adminErrorOf(error) });
          }
        }
        responses.push({ name: topic.name, partitions });
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        errorCode,
        errorMessage: null,
        responses: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions.map(({ partitionIndex }) => ({
            partitionIndex,
            errorCode,
            errorMessage: null,
          })),
        })),
      };
    },
  });

  /** One broker: the partition exists, and the only possible target is this broker. */
  function alone(topic: string, partition: number, target: readonly number[] | null): void {
    if (replicas.partition(topic, partition) === undefined) {
      throw new AdminRequestError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `partition ${topic}-${partition} does not exist`,
      );
    }
    if (target === null) {
      throw new AdminRequestError(
        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
        `no reassignment of ${topic}-${partition} is in progress`,
      );
    }
    if (target.length !== 1 || target[0] !== nodeId) {
      throw new AdminRequestError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `replicas [${target.join(', ')}]: this cluster has only broker ${nodeId}`,
      );
    }
  }
}
