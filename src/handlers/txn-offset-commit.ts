// TxnOffsetCommit (key 28): offsets a transaction commits for a consumer group. They are held by
// the transaction coordinator (durably, with the transaction's state) and become visible to the
// group only when the transaction commits; an abort discards them.

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionCoordinator } from '../coordinator/txn/transaction-coordinator.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { TxnOffsetCommitRequest } from '../protocol/generated/txn-offset-commit.js';
import { defineHandler } from './registry.js';

export interface TxnOffsetCommitDependencies {
  readonly transactions: TransactionCoordinator;
  partitionExists(topic: string, partition: number): boolean;
  /** The group coordinator's check of the committing member and generation (v3+ send them). */
  checkGroup(params: {
    groupId: string;
    memberId: string;
    generationId: number;
    groupInstanceId: string | null;
  }): number;
}

export function createTxnOffsetCommitHandler(dependencies: TxnOffsetCommitDependencies) {
  const respond = (
    request: TxnOffsetCommitRequest,
    errorOf: (topic: string, partition: number) => number,
  ) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((entry) => ({
        partitionIndex: entry.partitionIndex,
        errorCode: errorOf(topic.name, entry.partitionIndex),
      })),
    })),
  });
  return defineHandler(ApiKey.TxnOffsetCommit, {
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context) {
      const unknown = (topic: string, partition: number): boolean =>
        !dependencies.partitionExists(topic, partition);
      const offsets = request.topics.flatMap((topic) =>
        topic.partitions
          .filter((entry) => !unknown(topic.name, entry.partitionIndex))
          .map((entry) => ({
            topic: topic.name,
            partition: entry.partitionIndex,
            offset: entry.committedOffset,
            leaderEpoch: entry.committedLeaderEpoch,
            metadata: entry.committedMetadata ?? '',
          })),
      );
      const groupError = dependencies.checkGroup({
        groupId: request.groupId,
        memberId: request.memberId,
        generationId: request.generationId,
        groupInstanceId: request.groupInstanceId,
      });
      const errorCode =
        groupError !== ErrorCode.NONE
          ? groupError
          : offsets.length === 0
            ? ErrorCode.NONE
            : await dependencies.transactions.addPendingOffsets({
                transactionalId: request.transactionalId,
                producerId: Number(request.producerId),
                producerEpoch: request.producerEpoch,
                groupId: request.groupId,
                offsets,
              });
      const reported = fencedErrorFor(errorCode, context.apiVersion, 3);
      return respond(request, (topic, partition) =>
        unknown(topic, partition) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : reported,
      );
    },
    errorResponse(request, errorCode) {
      return respond(request, () => errorCode);
    },
  });
}
