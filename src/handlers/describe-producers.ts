// DescribeProducers (key 61): the idempotent and transactional producers a partition has state
// for (epoch, last sequence, open transaction's first offset), for kafka-transactions.sh and
// admin clients.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createDescribeProducersHandler(dependencies: {
  readonly replicas: ReplicaManager;
}) {
  return defineHandler(ApiKey.DescribeProducers, {
    ...servedVersions[ApiKey.DescribeProducers],
    handle(request) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitionIndexes.map((partitionIndex) => {
            const partition = dependencies.replicas.partition(topic.name, partitionIndex);
            if (partition === undefined) {
              return {
                partitionIndex,
                errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                errorMessage: null,
                activeProducers: [],
              };
            }
            return {
              partitionIndex,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              activeProducers: partition.activeProducers().map((entry) => ({
                producerId: BigInt(entry.producerId),
                producerEpoch: entry.producerEpoch,
                lastSequence: entry.batches.at(-1)?.lastSequence ?? -1,
                lastTimestamp: BigInt(entry.lastTimestamp),
                coordinatorEpoch: entry.coordinatorEpoch,
                currentTxnStartOffset: BigInt(entry.currentTxnFirstOffset),
              })),
            };
          }),
        })),
      };
    },
    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitionIndexes.map((partitionIndex) => ({
            partitionIndex,
            errorCode,
            activeProducers: [],
          })),
        })),
      };
    },
  });
}
