// ElectLeaders (API key 43): moves a partition's leadership to its preferred replica (election
// type 0), or gives a leaderless partition a leader even if out of sync (type 1, unclean). In
// cluster mode any broker takes the request and writes the election with the controller's fence
// (cluster/controller.ts, electLeaders), so a deposed controller's election is refused by etcd.
// One broker alone leads every partition already: each named partition is ELECTION_NOT_NEEDED.
//
// With topicPartitions null every partition is considered and only those that changed or failed
// are listed, as Kafka does; a named partition always gets a result.

import type { ElectionResult, ElectionType } from '../cluster/controller.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ElectLeadersResponseReplicaElectionResultInput } from '../protocol/generated/elect-leaders.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import { adminErrorOf } from './shared/errors.js';

const ELECTION_TYPES: ReadonlyMap<number, ElectionType> = new Map([
  [0, 'preferred'],
  [1, 'unclean'],
]);

export interface ElectLeadersHandlerDependencies {
  readonly replicas: ReplicaManager;
  /** Cluster mode: the election through etcd. Unset: one broker, nothing to elect. */
  readonly electLeaders?: (
    type: ElectionType,
    partitions: readonly { topic: string; partition: number }[] | null,
  ) => Promise<ElectionResult[]>;
}

export function createElectLeadersHandler(dependencies: ElectLeadersHandlerDependencies) {
  const { replicas } = dependencies;
  return defineHandler(ApiKey.ElectLeaders, {
    ...servedVersions[ApiKey.ElectLeaders],

    async handle(request) {
      const requested =
        request.topicPartitions?.flatMap(({ topic, partitions }) =>
          partitions.map((partition) => ({ topic, partition })),
        ) ?? null;
      const type = ELECTION_TYPES.get(request.electionType);
      if (type === undefined) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.INVALID_REQUEST,
          replicaElectionResults: group(
            (requested ?? []).map((partition) => ({
              ...partition,
              errorCode: ErrorCode.INVALID_REQUEST,
              errorMessage: `election type ${request.electionType} is neither 0 (preferred) nor 1 (unclean)`,
            })),
          ),
        };
      }
      let results: ElectionResult[];
      if (dependencies.electLeaders === undefined) {
        results = (requested ?? []).map(({ topic, partition }) => ({
          topic,
          partition,
          ...(replicas.partition(topic, partition) === undefined
            ? {
                errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                errorMessage: `partition ${topic}-${partition} does not exist`,
              }
            : { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null }),
        }));
      } else {
        try {
          results = await dependencies.electLeaders(type, requested);
        } catch (error) {
          // No controller, or it changed mid-way: the client retries on NOT_CONTROLLER.
          const { errorCode, errorMessage } = adminErrorOf(error);
          return {
            throttleTimeMs: 0,
            errorCode,
            replicaElectionResults: group(
              (requested ?? []).map((partition) => ({ ...partition, errorCode, errorMessage })),
            ),
          };
        }
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        replicaElectionResults: group(results),
      };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        errorCode,
        replicaElectionResults: (request.topicPartitions ?? []).map(({ topic, partitions }) => ({
          topic,
          partitionResult: partitions.map((partitionId) => ({
            partitionId,
            errorCode,
            errorMessage: null,
          })),
        })),
      };
    },
  });
}

/** Per-partition results grouped by topic, in the order the topics first appear. */
function group(
  results: readonly ElectionResult[],
): ElectLeadersResponseReplicaElectionResultInput[] {
  const byTopic = new Map<
    string,
    ElectLeadersResponseReplicaElectionResultInput['partitionResult'][number][]
  >();
  for (const { topic, partition, errorCode, errorMessage } of results) {
    let partitions = byTopic.get(topic);
    if (partitions === undefined) byTopic.set(topic, (partitions = []));
    partitions.push({ partitionId: partition, errorCode, errorMessage });
  }
  return [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult }));
}
