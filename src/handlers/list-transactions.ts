// ListTransactions (key 66): the transactional ids the coordinator knows, filtered by state,
// producer id and (v1+) how long they have been running.

import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

const knownStates = new Set([
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
]);

export function createListTransactionsHandler(coordinator: TransactionCoordinator) {
  return defineHandler(ApiKey.ListTransactions, {
    ...servedVersions[ApiKey.ListTransactions],
    handle(request) {
      const transactions = coordinator.list({
        states: request.stateFilters,
        producerIds: request.producerIdFilters.map(Number),
        durationMs: Number(request.durationFilter),
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        unknownStateFilters: request.stateFilters.filter((state) => !knownStates.has(state)),
        transactionStates: transactions.map((entry) => ({
          transactionalId: entry.transactionalId,
          producerId: BigInt(entry.producerId),
          transactionState: entry.state,
        })),
      };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] };
    },
  });
}
