// Fetch (API key 1): whole record batches from each partition, as the bytes on disk or in the
// tail cache, never decoded or re-encoded.
//
// Long-poll: when fewer than `minBytes` are available the request parks until a partition's
// high watermark moves (woken by the log's append and flush events, never by polling), the
// `maxWaitMs` deadline passes, or the connection closes. Sessionless: the response's session id
// is always 0, which every client accepts as "no session" (KIP-227). Below v10 a topic whose
// compression.type is zstd is refused (zstd-gate.ts).
//
// A follower's fetch (ReplicaId, or ReplicaState from v15, ≥ 0) reads up to the log end offset,
// not the high watermark, only where this broker leads with that follower among the replicas
// (else NOT_LEADER_OR_FOLLOWER), and only in the leader epoch the follower believes in
// (FENCED_LEADER_EPOCH when its epoch is older, UNKNOWN_LEADER_EPOCH when newer). Its fetchOffset
// is recorded as what it holds (and, by Brook's rule, has flushed) before the high watermark it
// is answered with is computed; a parked follower fetch wakes on appends, not on the watermark.

import { leaderNodeEndpoints, type PartitionLeadership } from '../cluster/partition-leadership.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type {
  FetchRequest,
  FetchRequestFetchPartition,
  FetchResponseInput,
  FetchResponsePartitionDataInput,
} from '../protocol/generated/fetch.js';
import type { TopicMetadata } from '../metadata/metadata-store.js';
import type { Partition } from '../replica/partition.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import type { TopicTraffic } from '../observability/metrics.js';
import { kafkaErrorCodeOf } from './shared/errors.js';
import { defineHandler, type RequestContext } from './registry.js';
import { servedVersions } from './served-versions.js';
import { fetchCompressionError } from './zstd-gate.js';

const READ_COMMITTED = 1;
/** A fetch's read bound: what a consumer may see, or the log end offset for a follower. */
type ReadBound = 'highWatermark' | 'lastStableOffset' | 'logEndOffset';
const emptyRecords: readonly Buffer[] = [];

export interface FetchHandlerDependencies {
  readonly replicas: ReplicaManager;
  /**
   * A topic's effective compression.type (its override, else the broker's), asked only for Fetch
   * below v10; without it only the topic's override counts.
   */
  readonly compressionTypeOf?: (topic: TopicMetadata) => string;
  readonly log?: (message: string, error: unknown) => void;
  /** Counts bytes served per topic (the broker's metrics). */
  readonly traffic?: TopicTraffic;
  /** Cluster mode: who leads each partition; a client's fetch is served by the leader only. */
  readonly leadership?: PartitionLeadership;
}

interface PartitionRead {
  response: FetchResponsePartitionDataInput & { errorCode: number };
  partition: Partition | undefined;
}

export function createFetchHandler(dependencies: FetchHandlerDependencies) {
  const { replicas } = dependencies;
  const compressionTypeOf =
    dependencies.compressionTypeOf ??
    ((topic: TopicMetadata) => topic.configs['compression.type'] ?? 'producer');

  /** One pass over every requested partition; returns the response and the bytes it holds. */
  async function readAll(
    request: FetchRequest,
    version: number,
    listenerName: string,
  ): Promise<{
    response: FetchResponseInput;
    byteLength: number;
    /** Each partition read, with the bound (high watermark, or LSO for read_committed) the read saw. */
    partitions: Map<Partition, number>;
    hasError: boolean;
    bound: ReadBound;
  }> {
    let remainingBytes = request.maxBytes;
    let byteLength = 0;
    let hasError = false;
    const partitions = new Map<Partition, number>();
    const readCommitted = request.isolationLevel === READ_COMMITTED;
    const replicaId = version >= 15 ? request.replicaState.replicaId : request.replicaId;
    const bound: ReadBound =
      replicaId >= 0 ? 'logEndOffset' : readCommitted ? 'lastStableOffset' : 'highWatermark';
    // A client fetches with replica id -1 (below v15) and no replica state (v15+); a follower's
    // fetch names its broker and is served by the replication path, not checked here.
    const fromClient = replicaId < 0;
    const leaderEndpoints = new Set<number>();

    const topics = [];
    for (const fetchTopic of request.topics) {
      // An internal topic is not among the data topics until a client reads it (internal-topic.ts).
      const topic =
        (version >= 13
          ? replicas.topicById(fetchTopic.topicId)
          : replicas.topic(fetchTopic.topic)) ??
        (await replicas.topicForClientRead(
          version >= 13 ? null : fetchTopic.topic,
          fetchTopic.topicId,
        ));
      const unknownTopicError =
        version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      const compressionError =
        topic === undefined
          ? ErrorCode.NONE
          : fetchCompressionError(version, () => compressionTypeOf(topic.metadata));
      const partitionResponses: FetchResponsePartitionDataInput[] = [];
      for (const fetchPartition of fetchTopic.partitions) {
        const partition = topic?.partitions[fetchPartition.partition];
        const read: PartitionRead = {
          partition,
          response: emptyPartitionResponse(fetchPartition, readCommitted),
        };
        const currentLeader = fromClient
          ? dependencies.leadership?.notLeader(
              topic?.metadata.name ?? fetchTopic.topic,
              fetchPartition.partition,
            )
          : null;
        if (currentLeader != null) {
          read.response.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          read.response.currentLeader = currentLeader;
          if (currentLeader.leaderId >= 0) leaderEndpoints.add(currentLeader.leaderId);
        } else if (partition === undefined) {
          read.response.errorCode =
            topic === undefined ? unknownTopicError : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else if (compressionError !== ErrorCode.NONE) {
          read.response.errorCode = compressionError;
        } else if (replicaId >= 0 && followerFetchError(partition, replicaId, fetchPartition)) {
          read.response.errorCode = followerFetchError(partition, replicaId, fetchPartition);
        } else {
          if (replicaId >= 0) recordFollowerFetch(partition, replicaId, fetchPartition);
          partitions.set(partition, readBoundOf(partition, bound));
          const maxBytes = Math.min(fetchPartition.partitionMaxBytes, remainingBytes);
          const readBytes = await readPartition(
            partition,
            fetchPartition,
            maxBytes,
            byteLength === 0,
            read,
            bound,
          );
          byteLength += readBytes;
          remainingBytes = Math.max(0, remainingBytes - readBytes);
        }
        if (read.response.errorCode !== ErrorCode.NONE) hasError = true;
        partitionResponses.push(read.response);
      }
      topics.push({
        topic: fetchTopic.topic,
        topicId: topic?.metadata.topicId ?? fetchTopic.topicId,
        partitions: partitionResponses,
      });
    }
    return {
      response: {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        sessionId: 0,
        responses: topics,
        nodeEndpoints: leaderNodeEndpoints(dependencies.leadership, leaderEndpoints, listenerName),
      },
      byteLength,
      partitions,
      hasError,
      bound,
    };
  }

  async function readPartition(
    partition: Partition,
    fetchPartition: FetchRequestFetchPartition,
    maxBytes: number,
    isFirstWithData: boolean,
    read: PartitionRead,
    bound: ReadBound,
  ): Promise<number> {
    const readCommitted = bound === 'lastStableOffset';
    const response = read.response;
    // Its directory could not be opened at start (storage/offline-log.ts): no offset is known.
    if (partition.log.offline) {
      response.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      return 0;
    }
    const highWatermark = partition.highWatermark;
    const lastStableOffset = partition.lastStableOffset;
    response.highWatermark = BigInt(highWatermark);
    response.lastStableOffset = BigInt(lastStableOffset);
    response.logStartOffset = BigInt(partition.logStartOffset);
    const fetchOffset = Number(fetchPartition.fetchOffset);
    if (fetchOffset < partition.logStartOffset || fetchOffset > partition.logEndOffset) {
      response.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      return 0;
    }
    const upperBound = readBoundOf(partition, bound);
    if (fetchOffset >= upperBound || (maxBytes <= 0 && !isFirstWithData)) return 0;
    try {
      const result = await partition.read(fetchOffset, maxBytes, upperBound, isFirstWithData);
      response.records = result.chunks;
      if (readCommitted && result.byteLength > 0) {
        // The client drops these transactions' records itself (it reads batch headers only).
        response.abortedTransactions = partition
          .abortedTransactions(fetchOffset, upperBound)
          .map((aborted) => ({
            producerId: BigInt(aborted.producerId),
            firstOffset: BigInt(aborted.firstOffset),
          }));
      }
      if (bound !== 'logEndOffset')
        dependencies.traffic?.recordsOut(partition.topic, result.byteLength);
      return result.byteLength;
    } catch (error) {
      response.errorCode = kafkaErrorCodeOf(error);
      if (response.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
        dependencies.log?.(
          `fetch from ${partition.topic}-${partition.partitionIndex} failed`,
          error,
        );
        response.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      }
      return 0;
    }
  }

  return defineHandler(ApiKey.Fetch, {
    ...servedVersions[ApiKey.Fetch],

    async handle(request, context) {
      const deadline = performance.now() + Math.max(0, request.maxWaitMs);
      while (true) {
        const result = await readAll(request, context.apiVersion, context.listenerName);
        const remainingMs = deadline - performance.now();
        if (
          result.byteLength >= request.minBytes ||
          result.hasError ||
          remainingMs <= 0 ||
          result.partitions.size === 0 ||
          context.signal.aborted
        ) {
          return result.response;
        }
        await waitForReadBound(result.partitions, remainingMs, context, result.bound);
      }
    },
  });
}

function emptyPartitionResponse(
  fetchPartition: FetchRequestFetchPartition,
  readCommitted: boolean,
): FetchResponsePartitionDataInput & { errorCode: number } {
  return {
    partitionIndex: fetchPartition.partition,
    errorCode: ErrorCode.NONE,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    // librdkafka rejects a response whose aborted-transactions framing is off: null for
    // read_uncommitted, a (possibly empty) list for read_committed, as Kafka sends.
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: emptyRecords,
  };
}

/** What a read may see up to: the high watermark, the last stable offset, or the log end offset. */
function readBoundOf(partition: Partition, bound: ReadBound): number {
  if (bound === 'highWatermark') return partition.highWatermark;
  if (bound === 'lastStableOffset') return partition.lastStableOffset;
  return partition.logEndOffset;
}

/** Why a follower's fetch of `partition` is refused, or NONE. */
function followerFetchError(
  partition: Partition,
  replicaId: number,
  fetchPartition: FetchRequestFetchPartition,
): number {
  const replicaState = partition.replicaState;
  if (
    replicaState === null ||
    !replicaState.isReplica(replicaId) ||
    replicaId === replicaState.leaderId
  )
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const currentLeaderEpoch = fetchPartition.currentLeaderEpoch;
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < partition.leaderEpoch)
    return ErrorCode.FENCED_LEADER_EPOCH;
  if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}

/** The follower holds (and has flushed) everything below its fetch offset, if that lies in the log. */
function recordFollowerFetch(
  partition: Partition,
  replicaId: number,
  fetchPartition: FetchRequestFetchPartition,
): void {
  const fetchOffset = Number(fetchPartition.fetchOffset);
  if (fetchOffset < partition.logStartOffset || fetchOffset > partition.logEndOffset) return;
  // A fetch naming this leader's epoch confirms the follower still takes this broker for the
  // leader (what a leader fenced from etcd keeps leading by, cluster/session-fenced-view.ts).
  partition.recordFollowerFetch(
    replicaId,
    fetchOffset,
    fetchPartition.currentLeaderEpoch === partition.leaderEpoch,
  );
}

/**
 * Resolves when any partition's read bound (high watermark, last stable offset for
 * read_committed, log end offset for a follower) moves past the one the last read saw (at once if
 * it already has: the read awaited, so appends may have landed since), after `timeoutMs`, or on
 * abort.
 */
function waitForReadBound(
  partitions: ReadonlyMap<Partition, number>,
  timeoutMs: number,
  context: RequestContext,
  bound: ReadBound,
): Promise<void> {
  for (const [partition, seen] of partitions) {
    if (readBoundOf(partition, bound) !== seen) return Promise.resolve();
  }
  return new Promise((resolve) => {
    const unsubscribes: Array<() => void> = [];
    const finish = (): void => {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', finish);
      for (const unsubscribe of unsubscribes) unsubscribe();
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    context.signal.addEventListener('abort', finish, { once: true });
    for (const partition of partitions.keys()) {
      unsubscribes.push(
        bound === 'logEndOffset'
          ? partition.onLogEndAdvance(finish)
          : partition.onHighWatermarkAdvance(finish),
      );
    }
  });
}
