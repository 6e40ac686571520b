// InitProducerId (key 22): a producer id and epoch for an idempotent producer (a fresh id each
// time), or for a transactional id (bumping the epoch fences the previous producer and aborts
// its open transaction). v3+ may name the current id and epoch (KIP-360 epoch bump).

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createInitProducerIdHandler(coordinator: TransactionCoordinator) {
  return defineHandler(ApiKey.InitProducerId, {
    ...servedVersions[ApiKey.InitProducerId],
    async handle(request, context) {
      const result = await coordinator.initProducerId({
        transactionalId: request.transactionalId,
        transactionTimeoutMs: request.transactionTimeoutMs,
        producerId: Number(request.producerId),
        producerEpoch: request.producerEpoch,
      });
      return {
        throttleTimeMs: 0,
        errorCode: fencedErrorFor(result.errorCode, context.apiVersion, 4),
        producerId: BigInt(result.producerId),
        producerEpoch: result.producerEpoch,
      };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 };
    },
  });
}
