// TxnOffsetCommit (key 28): offsets a transaction commits for a consumer group, sent to the
// group's coordinator. It writes them into the group's `__consumer_offsets` partition as the
// producer's transactional batch; they become the group's committed offsets when the
// transaction's COMMIT marker reaches that partition (AddOffsetsToTxn put it in the transaction),
// and an ABORT drops them (src/coordinator/group/transactional-offsets.ts).

import { fencedErrorFor } from '../coordinator/txn/fenced-error.js';
import type { TransactionalOffsetCommitParams } from '../coordinator/group/transactional-offsets.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { TxnOffsetCommitRequest } from '../protocol/generated/txn-offset-commit.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export interface TxnOffsetCommitDependencies {
  partitionExists(topic: string, partition: number): boolean;
  /** The group coordinator's TxnOffsetCommit; resolves with one error code for every partition. */
  commitTransactionalOffsets(params: TransactionalOffsetCommitParams): Promise<number>;
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
    ...servedVersions[ApiKey.TxnOffsetCommit],
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
      const errorCode = await dependencies.commitTransactionalOffsets({
        groupId: request.groupId,
        producerId: Number(request.producerId),
        producerEpoch: request.producerEpoch,
        memberId: request.memberId,
        generationId: request.generationId,
        groupInstanceId: request.groupInstanceId,
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
