// Produce (API key 0): append each partition's record set and answer once every append may be
// acknowledged (after the fsync that covers it, by default).
//
// The record set is never decoded here: storage validates batch headers and CRCs and stamps
// offsets in place. Versions 0-2 (message formats v0/v1) are advertised, because librdkafka
// before 2.11.1 enables compression only when Produce's range includes 0, but refused. Below v7 a
// zstd batch is refused (zstd-gate.ts).
//
// A partition this broker leads with followers (Partition.replicaState) adds Kafka's acks=all
// rules: with fewer in-sync replicas than min.insync.replicas the record set is refused before the
// append (NOT_ENOUGH_REPLICAS), and the answer waits until the high watermark covers the last
// offset (every ISR member has flushed it), at most the request's timeoutMs (REQUEST_TIMED_OUT).
// While this broker's etcd session is fenced (PartitionLeadership.fenced) an acks=1 answer waits
// for the high watermark too (min.insync.replicas aside): a successor may be taking over, and
// only what every ISR member holds is certain to be in its log.
// On a single broker neither applies and nothing is consulted.
//
// A topic whose tenant (storage.quota.topic.prefixes) is at its storage quota is refused with
// POLICY_VIOLATION and a message saying so, before anything is appended.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ProduceResponsePartitionProduceResponseInput } from '../protocol/generated/produce.js';
import { leaderNodeEndpoints, type PartitionLeadership } from '../cluster/partition-leadership.js';
import type { TopicTraffic } from '../observability/metrics.js';
import type { Partition } from '../replica/partition.js';
import type { ReplicaState } from '../replica/replica-state.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import type { AppendResult } from '../storage/partition-log.js';
import { errorMessageOf, kafkaErrorCodeOf } from './shared/errors.js';
import { CLOSE_CONNECTION, defineHandler, NO_RESPONSE } from './registry.js';
import { servedVersions } from './served-versions.js';
import { produceCompressionError } from './zstd-gate.js';
import { INTERNAL_TOPIC_NAMES } from './shared/internal-topics.js';
import { deadline } from '../util/deadline.js';

export interface ProduceHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly onStorageFailure?: (error: unknown) => void;
  /** Counts acknowledged records and bytes per topic (the broker's metrics). */
  readonly traffic?: TopicTraffic;
  /** A topic's effective min.insync.replicas; asked only for acks=all to a replicated partition. */
  readonly minInsyncReplicasOf?: (topic: string) => number;
  /** Cluster mode: who leads each partition; only the leader appends. */
  readonly leadership?: PartitionLeadership;
  /** Why a topic's tenant may not store `bytes` more (storage quotas), or null. */
  readonly storageQuotaRefusal?: (topic: string, bytes: number) => string | null;
}

const ACKS_ALL = -1;

type ProducePartitionResponse = ProduceResponsePartitionProduceResponseInput & {
  errorCode: number;
  baseOffset: bigint;
  errorMessage?: string | null;
};

function noop(): void {}

/**
 * The longest a produce waits for this broker to take up a leadership the view gives it (it
 * takes milliseconds: one durable leader-epoch record); past it the answer is
 * NOT_LEADER_OR_FOLLOWER and the client retries.
 */
const TAKE_UP_WAIT_MS = 5_000;
/** Under the session fence, how often a produce waiting for the high watermark checks it still leads. */
const LEADERSHIP_CHECK_MS = 100;

export function createProduceHandler(dependencies: ProduceHandlerDependencies) {
  const { replicas, traffic, leadership } = dependencies;
  const countAcknowledged = (topic: string, bytes: number, appended: AppendResult): void => {
    if (traffic === undefined) return;
    const records = appended.lastOffset - appended.baseOffset + 1;
    appended.acknowledged.then(
      () => traffic.recordsIn(topic, records, bytes),
      () => undefined, // answered as an error below
    );
  };
  return defineHandler(ApiKey.Produce, {
    ...servedVersions[ApiKey.Produce],

    async handle(request, context) {
      // Partitions whose leadership this broker is taking up are waited for, not refused (see
      // PartitionLeadership.takingUp): requests held here go on in the order they arrived.
      // Outside cluster mode there is nothing to wait for, and nothing is allocated to find that
      // out (this runs for every produce request).
      if (leadership?.takingUp !== undefined) {
        const takeUps: Promise<void>[] = [];
        for (const topicData of request.topicData) {
          for (const partitionData of topicData.partitionData) {
            const takeUp = leadership.takingUp(
              topicData.name,
              partitionData.index,
              TAKE_UP_WAIT_MS,
            );
            if (takeUp !== undefined) takeUps.push(takeUp);
          }
        }
        if (takeUps.length > 0) await Promise.all(takeUps);
      }
      // Each appended partition's response and what settles it, awaited in turn below: one
      // try/catch there instead of a handler, a derived promise and a closure per partition.
      const pendingResponses: ProducePartitionResponse[] = [];
      const pendingSettled: Promise<unknown>[] = [];
      /** Leaders named in NOT_LEADER_OR_FOLLOWER answers (KIP-951); made on the first one. */
      let leaderEndpoints: Set<number> | undefined;
      const responses = request.topicData.map((topicData) => ({
        name: topicData.name,
        partitionResponses: topicData.partitionData.map((partitionData) => {
          const response: ProducePartitionResponse = {
            index: partitionData.index,
            errorCode: ErrorCode.NONE,
            baseOffset: -1n,
            logAppendTimeMs: -1n,
            logStartOffset: -1n,
          };
          // Cluster mode mirrors the coordinators' topics as data topics; only they write there.
          if (INTERNAL_TOPIC_NAMES.has(topicData.name)) {
            response.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION;
            response.errorMessage = `${topicData.name} is internal; only its coordinator appends to it`;
            return response;
          }
          const currentLeader = leadership?.notLeader(topicData.name, partitionData.index);
          if (currentLeader != null) {
            response.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
            response.currentLeader = currentLeader;
            if (currentLeader.leaderId >= 0)
              (leaderEndpoints ??= new Set()).add(currentLeader.leaderId);
            return response;
          }
          const partition = replicas.partition(topicData.name, partitionData.index);
          if (partition === undefined) {
            response.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            return response;
          }
          if (partitionData.records === null || partitionData.records.length === 0) {
            response.errorCode = ErrorCode.CORRUPT_MESSAGE;
            response.errorMessage = 'the partition has no record batches';
            return response;
          }
          const compressionError = produceCompressionError(
            context.apiVersion,
            partitionData.records,
          );
          if (compressionError !== ErrorCode.NONE) {
            response.errorCode = compressionError;
            response.errorMessage = `Produce v${context.apiVersion} may not carry zstd batches (v7 or later may)`;
            return response;
          }
          const storageRefusal = dependencies.storageQuotaRefusal?.(
            topicData.name,
            partitionData.records.length,
          );
          if (storageRefusal != null) {
            response.errorCode = ErrorCode.POLICY_VIOLATION;
            response.errorMessage = storageRefusal;
            return response;
          }
          // The leadership term the append happens in: only its followers may acknowledge it.
          const term = partition.replicaState;
          const waitsForReplicas =
            term !== null &&
            (request.acks === ACKS_ALL || (request.acks === 1 && leadership?.fenced?.() === true));
          const minInsyncReplicas =
            waitsForReplicas && request.acks === ACKS_ALL
              ? (dependencies.minInsyncReplicasOf?.(topicData.name) ?? 1)
              : 1;
          if (waitsForReplicas) {
            if (partition.inSyncReplicaCount < minInsyncReplicas) {
              response.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS;
              response.errorMessage = `${partition.inSyncReplicaCount} in-sync replicas, below min.insync.replicas=${minInsyncReplicas}`;
              return response;
            }
          }
          try {
            const appended = partition.append(partitionData.records, 'client');
            response.baseOffset = BigInt(appended.baseOffset);
            response.logAppendTimeMs = BigInt(appended.logAppendTime);
            response.logStartOffset = BigInt(partition.logStartOffset);
            countAcknowledged(topicData.name, partitionData.records.length, appended);
            // The acknowledgement gets a rejection handler from the log when it fails; a
            // promise derived from it needs its own, since it may fail while the loop below
            // still awaits an earlier partition.
            const settled = waitsForReplicas
              ? appended.acknowledged.then(() =>
                  awaitReplicas(
                    partition,
                    term,
                    appended.lastOffset,
                    request.timeoutMs,
                    context.signal,
                    minInsyncReplicas,
                    response,
                    // Fenced, the leadership may lapse without a new term here (the followers
                    // stopped fetching): the wait ends then too, rather than at the timeout.
                    leadership?.fenced?.() === true
                      ? () => leadership.notLeader(topicData.name, partitionData.index) === null
                      : undefined,
                  ),
                )
              : appended.acknowledged;
            if (waitsForReplicas) settled.catch(noop);
            pendingResponses.push(response);
            pendingSettled.push(settled);
          } catch (error) {
            response.errorCode = kafkaErrorCodeOf(error);
            response.errorMessage = errorMessageOf(error);
          }
          return response;
        }),
      }));

      if (request.acks === 0) {
        // No response is expected; the appends still complete in the background. A refused
        // partition closes the connection instead, as Kafka does: the client has no other way
        // to learn that something it sent was not written.
        const refused = responses.some((topic) =>
          topic.partitionResponses.some((partition) => partition.errorCode !== ErrorCode.NONE),
        );
        const { onStorageFailure } = dependencies;
        if (onStorageFailure !== undefined)
          for (const settled of pendingSettled) settled.catch(onStorageFailure);
        return refused ? CLOSE_CONNECTION : NO_RESPONSE;
      }
      for (let index = 0; index < pendingSettled.length; index++) {
        try {
          await pendingSettled[index];
        } catch (error) {
          const response = pendingResponses[index];
          dependencies.onStorageFailure?.(error);
          response.errorCode = kafkaErrorCodeOf(error);
          if (response.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
            response.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          }
          response.errorMessage = errorMessageOf(error);
          response.baseOffset = -1n;
        }
      }
      return {
        responses,
        throttleTimeMs: 0,
        nodeEndpoints:
          leaderEndpoints === undefined
            ? []
            : leaderNodeEndpoints(leadership, leaderEndpoints, context.listenerName),
      };
    },

    errorResponse(request, errorCode) {
      return {
        responses: request.topicData.map((topicData) => ({
          name: topicData.name,
          partitionResponses: topicData.partitionData.map((partitionData) => ({
            index: partitionData.index,
            errorCode,
            baseOffset: -1n,
          })),
        })),
      };
    },
  });
}

/**
 * acks=all on a replicated partition: waits until the high watermark passes `lastOffset`; after
 * `timeoutMs` the answer is REQUEST_TIMED_OUT (the records stay in the log, as in Kafka); if this
 * broker stops leading meanwhile (a new term, or `stillLeads` false under the session fence),
 * NOT_LEADER_OR_FOLLOWER at once. If the
 * ISR shrank below min.insync.replicas meanwhile (the high watermark passed because lagging
 * followers left), the answer is NOT_ENOUGH_REPLICAS_AFTER_APPEND: the records are in the log but
 * on fewer replicas than the producer asked for. Never rejects.
 */
async function awaitReplicas(
  partition: Partition,
  term: ReplicaState | null,
  lastOffset: number,
  timeoutMs: number,
  connectionSignal: AbortSignal,
  minInsyncReplicas: number,
  response: { errorCode: number; errorMessage?: string | null },
  stillLeads?: () => boolean,
): Promise<void> {
  const lapsed = new AbortController();
  const { signal, clear } = deadline(timeoutMs, connectionSignal, lapsed.signal);
  const leadershipCheck =
    stillLeads === undefined
      ? undefined
      : setInterval(() => {
          if (!stillLeads()) lapsed.abort();
        }, LEADERSHIP_CHECK_MS);
  try {
    // Deposed before the flush completed: a follower's high watermark is the new leader's, which
    // says nothing of the records appended here.
    if (partition.replicaState !== term) throw new Error('the leadership changed');
    await partition.waitForHighWatermark(lastOffset + 1, signal);
  } catch {
    if (partition.replicaState !== term || lapsed.signal.aborted) {
      // Deposed (or re-elected in a new epoch) while waiting: the client asks the leader again.
      response.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      response.errorMessage = `this broker stopped leading the partition before offset ${lastOffset} was replicated`;
      return;
    }
    response.errorCode = ErrorCode.REQUEST_TIMED_OUT;
    response.errorMessage = `the in-sync replicas did not reach offset ${lastOffset} within ${timeoutMs} ms`;
    return;
  } finally {
    clearInterval(leadershipCheck);
    clear();
  }
  if (partition.inSyncReplicaCount < minInsyncReplicas) {
    response.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    response.errorMessage = `the ISR shrank to ${partition.inSyncReplicaCount} replicas, below min.insync.replicas=${minInsyncReplicas}, before offset ${lastOffset} was replicated`;
  }
}
