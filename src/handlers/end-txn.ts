// EndTxn (key 26): commit or abort. Answered once the outcome is durable in
// __transaction_state and the markers are in every partition of the transaction, so a
// read_committed consumer sees the outcome as soon as the producer does. v5 (KIP-890) is not
// advertised.

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import type { EndTxnRequest, EndTxnResponseInput } from '../protocol/generated/end-txn.js';
import type { Handler } from './registry.js';

export function createEndTxnHandler(
  coordinator: TransactionCoordinator,
): Handler<EndTxnRequest, EndTxnResponseInput> {
  return {
    apiKey: 26,
    minVersion: 0,
    maxVersion: 4,
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
  };
}
