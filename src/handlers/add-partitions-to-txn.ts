// AddPartitionsToTxn (key 24): a transactional producer announces the partitions it is about to
// write. Only v0-3 (one transaction per request, from clients) are advertised: v4+ batches
// transactions for brokers (KIP-890), which Brook does not implement.

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import type {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInput,
} from '../protocol/generated/add-partitions-to-txn.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createAddPartitionsToTxnHandler(coordinator: TransactionCoordinator) {
  const byTopic = (
    request: AddPartitionsToTxnRequest,
    errorOf: (topic: string, partition: number) => number,
  ): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInput[] =>
    request.v3AndBelowTopics.map((topic) => ({
      name: topic.name,
      resultsByPartition: topic.partitions.map((partitionIndex) => ({
        partitionIndex,
        partitionErrorCode: errorOf(topic.name, partitionIndex),
      })),
    }));
  return defineHandler(ApiKey.AddPartitionsToTxn, {
    ...servedVersions[ApiKey.AddPartitionsToTxn],
    async handle(request, context) {
      const results = await coordinator.addPartitions({
        transactionalId: request.v3AndBelowTransactionalId,
        producerId: Number(request.v3AndBelowProducerId),
        producerEpoch: request.v3AndBelowProducerEpoch,
        topics: request.v3AndBelowTopics,
      });
      return {
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: byTopic(request, (topic, partition) =>
          fencedErrorFor(results.get(topic)?.get(partition) ?? 0, context.apiVersion, 2),
        ),
      };
    },
    errorResponse(request, errorCode) {
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow: byTopic(request, () => errorCode) };
    },
  });
}
