// ListPartitionReassignments (API key 46): the reassignments in progress (all, or those of the
// partitions named), each with the partition's current replicas and which of them are being
// added and removed. One broker alone never has one.

import type { PartitionReassignment } from '../cluster/etcd-metadata-store.js';
import type { PartitionState } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ListPartitionReassignmentsResponseOngoingTopicReassignmentInput } from '../protocol/generated/list-partition-reassignments.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export interface ListPartitionReassignmentsHandlerDependencies {
  /** Cluster mode: the view's reassignments and partition states. Unset: none, ever. */
  readonly cluster?: {
    reassignments(): ReadonlyMap<string, PartitionReassignment>;
    partitionState(topic: string, partition: number): PartitionState | undefined;
  };
}

export function createListPartitionReassignmentsHandler(
  dependencies: ListPartitionReassignmentsHandlerDependencies,
) {
  return defineHandler(ApiKey.ListPartitionReassignments, {
    ...servedVersions[ApiKey.ListPartitionReassignments],

    handle(request) {
      const wanted =
        request.topics === null
          ? null
          : new Set(
              request.topics.flatMap(({ name, partitionIndexes }) =>
                partitionIndexes.map((index) => `${name}-${index}`),
              ),
            );
      const byTopic = new Map<
        string,
        ListPartitionReassignmentsResponseOngoingTopicReassignmentInput['partitions'][number][]
      >();
      for (const { topic, partition, target, original } of dependencies.cluster
        ?.reassignments()
        .values() ?? []) {
        if (wanted !== null && !wanted.has(`${topic}-${partition}`)) continue;
        const state = dependencies.cluster?.partitionState(topic, partition);
        let partitions = byTopic.get(topic);
        if (partitions === undefined) byTopic.set(topic, (partitions = []));
        partitions.push({
          partitionIndex: partition,
          replicas: state?.replicas ?? original,
          addingReplicas: target.filter((id) => !original.includes(id)),
          removingReplicas: original.filter((id) => !target.includes(id)),
        });
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      };
    },

    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, errorMessage: null, topics: [] };
    },
  });
}
