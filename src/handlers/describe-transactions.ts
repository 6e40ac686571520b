// DescribeTransactions (key 65): a transactional id's state, producer id and epoch, timeout and
// partitions, as the transaction coordinator holds them.

import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createDescribeTransactionsHandler(coordinator: TransactionCoordinator) {
  return defineHandler(ApiKey.DescribeTransactions, {
    ...servedVersions[ApiKey.DescribeTransactions],
    handle(request) {
      return {
        throttleTimeMs: 0,
        transactionStates: request.transactionalIds.map((transactionalId) => {
          const description = coordinator.describe(transactionalId);
          return {
            errorCode: description.errorCode,
            transactionalId,
            transactionState: description.state,
            transactionTimeoutMs: description.transactionTimeoutMs,
            transactionStartTimeMs: BigInt(description.transactionStartTimeMs),
            producerId: BigInt(description.producerId),
            producerEpoch: description.producerEpoch,
            topics: description.topics,
          };
        }),
      };
    },
    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        transactionStates: request.transactionalIds.map((transactionalId) => ({
          errorCode,
          transactionalId,
          transactionState: '',
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1n,
          producerId: -1n,
          producerEpoch: -1,
          topics: [],
        })),
      };
    },
  });
}
