// AddOffsetsToTxn (key 25): a transactional producer announces that the transaction will commit
// offsets of a consumer group (sent next with TxnOffsetCommit to the group coordinator).

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createAddOffsetsToTxnHandler(coordinator: TransactionCoordinator) {
  return defineHandler(ApiKey.AddOffsetsToTxn, {
    ...servedVersions[ApiKey.AddOffsetsToTxn],
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
  });
}
