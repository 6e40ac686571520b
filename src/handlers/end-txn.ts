// EndTxn (key 26): commit or abort. Answered once the outcome is durable in
// __transaction_state and the markers are in every partition of the transaction, so a
// read_committed consumer sees the outcome as soon as the producer does. v5 (KIP-890) is not
// advertised.

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createEndTxnHandler(coordinator: TransactionCoordinator) {
  return defineHandler(ApiKey.EndTxn, {
    ...servedVersions[ApiKey.EndTxn],
    async handle(request, context) {
      const result = await coordinator.endTxn({
        transactionalId: request.transactionalId,
        producerId: Number(request.producerId),
        producerEpoch: request.producerEpoch,
        committed: request.committed,
      });
      return {
        throttleTimeMs: 0,
        errorCode: fencedErrorFor(result.errorCode, context.apiVersion, 2),
      };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode };
    },
  });
}
