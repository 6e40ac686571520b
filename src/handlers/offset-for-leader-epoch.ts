// OffsetForLeaderEpoch (API key 23): the end offset of a leader epoch, which consumers use after
// a leader change to detect log truncation. One broker never changes leader, so every partition
// has a single epoch (its leaderEpoch, 0) that ends at the log end offset; an epoch above it is
// unknown (-1, -1), and a current_leader_epoch that differs from the partition's is fenced or
// unknown, as Kafka answers.

import type { PartitionLeadership } from '../cluster/partition-leadership.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { OffsetForLeaderEpochResponseEpochEndOffsetInput } from '../protocol/generated/offset-for-leader-epoch.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
const UNDEFINED_EPOCH = -1;
const UNDEFINED_EPOCH_OFFSET = -1n;
/** current_leader_epoch -1: the client does not ask for a fencing check. */
const NO_EPOCH_CHECK = -1;

export function createOffsetForLeaderEpochHandler(dependencies: {
  readonly replicas: ReplicaManager;
  /** Cluster mode: only a partition's leader answers (followers ask it before truncating). */
  readonly leadership?: PartitionLeadership;
}) {
  const { replicas } = dependencies;
  return defineHandler(ApiKey.OffsetForLeaderEpoch, {
    ...servedVersions[ApiKey.OffsetForLeaderEpoch],

    handle(request) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          topic: topic.topic,
          partitions: topic.partitions.map(
            (requested): OffsetForLeaderEpochResponseEpochEndOffsetInput => {
              const answer = (
                errorCode: number,
                leaderEpoch = UNDEFINED_EPOCH,
                endOffset = UNDEFINED_EPOCH_OFFSET,
              ) => ({
                errorCode,
                partition: requested.partition,
                leaderEpoch,
                endOffset,
              });
              if (dependencies.leadership?.notLeader(topic.topic, requested.partition) != null) {
                return answer(ErrorCode.NOT_LEADER_OR_FOLLOWER);
              }
              const partition = replicas.partition(topic.topic, requested.partition);
              if (partition === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
              // Its log directory could not be opened (storage/offline-log.ts): its epochs are
              // unknown, and an empty answer would make a follower truncate.
              if (partition.log.offline) return answer(ErrorCode.KAFKA_STORAGE_ERROR);
              if (requested.currentLeaderEpoch !== NO_EPOCH_CHECK) {
                if (requested.currentLeaderEpoch < partition.leaderEpoch)
                  return answer(ErrorCode.FENCED_LEADER_EPOCH);
                if (requested.currentLeaderEpoch > partition.leaderEpoch)
                  return answer(ErrorCode.UNKNOWN_LEADER_EPOCH);
              }
              if (requested.leaderEpoch === partition.leaderEpoch) {
                return answer(
                  ErrorCode.NONE,
                  partition.leaderEpoch,
                  BigInt(partition.logEndOffset),
                );
              }
              // An older epoch (a follower finding where its log diverges, KIP-279): where the
              // leader-epoch cache says it ended.
              const ended = partition.log.endOffsetForLeaderEpoch(requested.leaderEpoch);
              return answer(ErrorCode.NONE, ended.leaderEpoch, BigInt(ended.endOffset));
            },
          ),
        })),
      };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((topic) => ({
          topic: topic.topic,
          partitions: topic.partitions.map((requested) => ({
            errorCode,
            partition: requested.partition,
            leaderEpoch: UNDEFINED_EPOCH,
            endOffset: UNDEFINED_EPOCH_OFFSET,
          })),
        })),
      };
    },
  });
}
