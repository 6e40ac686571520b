// AddOffsetsToTxn (key 25): a transactional producer announces that the transaction will commit
// offsets of a consumer group (sent next with TxnOffsetCommit to the group coordinator).

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponseInput,
} from '../protocol/generated/add-offsets-to-txn.js';
import type { Handler } from './registry.js';

export function createAddOffsetsToTxnHandler(
  coordinator: TransactionCoordinator,
): Handler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponseInput> {
  return {
    apiKey: 25,
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context) {
      const errorCode = await coordinator.addOffsets({
        transactionalId: request.transactionalId,
        producerId: Number(request.producerId),
        producerEpoch: request.producerEpoch,
        groupId: request.groupId,
      });
      return { throttleTimeMs: 0, errorCode: fencedErrorFor(errorCode, context.apiVersion, 2) };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode };
    },
  };
}
