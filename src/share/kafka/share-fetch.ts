// ShareFetch (key 78, v1–2): a share-group member's acknowledgements (piggy-backed) and its next
// records. Request → session epoch → acknowledgements per partition → acquisition per session
// partition, with a long poll of up to MaxWaitMs while nothing could be acquired. Records go out
// as the log's whole batches (bytes), with the acquired offset ranges beside them.

import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type {
  ShareFetchRequest,
  ShareFetchResponse,
  ShareFetchResponseInput,
  ShareFetchResponsePartitionDataInput,
} from '../../protocol/generated/share-fetch.js';
import { defineHandler } from '../../handlers/registry.js';
import type { Subscription } from '../subscription.js';
import { type ShareForwarder, forwardedOrigin } from './share-forwarder.js';
import type { ShareGroups } from './share-groups.js';

interface PartitionAnswer {
  topicId: Buffer;
  partition: ShareFetchResponsePartitionDataInput;
}

/**
 * `forwarder` (cluster mode): a request for a group another broker serves is passed on to it,
 * unless it was itself forwarded (no forwarding loops while the group moves).
 */
export function createShareFetchHandler(
  groups: ShareGroups,
  nodeId: number,
  forwarder?: ShareForwarder,
) {
  const topLevel = (errorCode: number, errorMessage: string | null): ShareFetchResponseInput => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    acquisitionLockTimeoutMs: groups.lockDurationMs,
    responses: [],
    nodeEndpoints: [],
  });

  return defineHandler(ApiKey.ShareFetch, {
    minVersion: 1,
    maxVersion: 2,
    handle: async (request, context) => {
      const { groupId, memberId, shareSessionEpoch } = request;
      if (groupId === null || groupId === '' || memberId === null || memberId === '')
        return topLevel(ErrorCode.INVALID_REQUEST, 'GroupId and MemberId are required');
      const hasAcknowledgements = request.topics.some((topic) =>
        topic.partitions.some((partition) => partition.acknowledgementBatches.length > 0),
      );
      if (shareSessionEpoch === 0 && hasAcknowledgements)
        return topLevel(
          ErrorCode.INVALID_REQUEST,
          'acknowledgements cannot ride on the request that opens a share session',
        );
      const origin = forwardedOrigin(context);
      const owner = origin === '' ? groups.servedElsewhere(groupId) : undefined;
      if (owner !== undefined && forwarder !== undefined) {
        try {
          return await forwarder.forward<ShareFetchResponse>(
            owner,
            context,
            request,
            request.maxWaitMs,
          );
        } catch (error) {
          return topLevel(
            ErrorCode.NOT_COORDINATOR,
            `share group ${groupId} is served by broker ${owner}, which did not answer: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      const checked = groups.checkSession(groupId, memberId, shareSessionEpoch, 'may-open', origin);
      if (checked.errorCode !== 0)
        return topLevel(checked.errorCode, 'errorMessage' in checked ? checked.errorMessage : null);
      const session = 'session' in checked ? checked.session : null;
      // A forwarded session lives as long as the connection it came on (one per client).
      if (session !== null && shareSessionEpoch === 0 && origin !== '') {
        const opened = session;
        context.signal.addEventListener(
          'abort',
          () => groups.dropSession(groupId, memberId, origin, opened),
          { once: true },
        );
      }

      // The session's partitions: this request's topics added, forgotten ones removed.
      if (session !== null) {
        for (const topic of request.topics)
          for (const partition of topic.partitions)
            session.partitions.set(partitionKey(topic.topicId, partition.partitionIndex), {
              topicId: topic.topicId,
              partitionIndex: partition.partitionIndex,
            });
        for (const forgotten of request.forgottenTopicsData)
          for (const partitionIndex of forgotten.partitions)
            session.partitions.delete(partitionKey(forgotten.topicId, partitionIndex));
      }

      const answers = new Map<string, PartitionAnswer>();
      const answerFor = (topicId: Buffer, partitionIndex: number): PartitionAnswer => {
        const key = partitionKey(topicId, partitionIndex);
        let answer = answers.get(key);
        if (answer === undefined) {
          const resolved = groups.resolve(topicId, partitionIndex);
          answer = {
            topicId,
            partition: {
              partitionIndex,
              errorCode: 'errorCode' in resolved ? resolved.errorCode : 0,
              acknowledgeErrorCode: 0,
              currentLeader: {
                leaderId: 'errorCode' in resolved ? -1 : nodeId,
                leaderEpoch: 'errorCode' in resolved ? -1 : resolved.leaderEpoch,
              },
              records: [],
              acquiredRecords: [],
            },
          };
          answers.set(key, answer);
        }
        return answer;
      };

      const subscriptions = new Map<string, Subscription>();
      const subscriptionOf = async (topicId: Buffer): Promise<Subscription | null> => {
        const topic = groups.resolveTopicName(topicId);
        if (topic === null) return null;
        let subscription = subscriptions.get(topic);
        if (subscription === undefined) {
          subscription = await groups.subscriptionFor(groupId, topic);
          subscriptions.set(topic, subscription);
        }
        return subscription;
      };

      // Acknowledgements first: records released here may be fetched again below.
      for (const topic of request.topics) {
        for (const partition of topic.partitions) {
          const answer = answerFor(topic.topicId, partition.partitionIndex);
          if (partition.acknowledgementBatches.length === 0 || answer.partition.errorCode !== 0)
            continue;
          const subscription = await subscriptionOf(topic.topicId);
          if (subscription === null) continue;
          const result = await groups.acknowledge(
            subscription,
            partition.partitionIndex,
            memberId,
            partition.acknowledgementBatches,
          );
          answer.partition.acknowledgeErrorCode = result.errorCode;
          answer.partition.acknowledgeErrorMessage = result.errorMessage;
        }
      }

      if (session === null) {
        // Epoch -1: the session is closed; what the member still holds goes back.
        groups.closeSession(groupId, memberId, 'closed' in checked ? checked.closed : undefined);
        return respond(answers, groups.lockDurationMs);
      }

      const deadline = Date.now() + Math.max(0, request.maxWaitMs);
      let remaining = groups.maxRecordsOf(request.maxRecords);
      for (;;) {
        for (const { topicId, partitionIndex } of session.partitions.values()) {
          if (remaining <= 0) break;
          const answer = answerFor(topicId, partitionIndex);
          if (answer.partition.errorCode !== 0) continue;
          const resolved = groups.resolve(topicId, partitionIndex);
          if ('errorCode' in resolved) continue;
          const subscription = await subscriptionOf(topicId);
          if (subscription === null) continue;
          const got = await groups.acquire(subscription, partitionIndex, memberId, remaining);
          if (got.acquired.length === 0) continue;
          for (const range of got.acquired)
            remaining -= Number(range.lastOffset - range.firstOffset) + 1;
          (answer.partition.records as Buffer[]).push(...got.records);
          (answer.partition.acquiredRecords as Array<(typeof got.acquired)[number]>).push(
            ...got.acquired,
          );
        }
        const acquiredAny = [...answers.values()].some(
          (answer) => answer.partition.acquiredRecords.length > 0,
        );
        const waitMs = deadline - Date.now();
        if (acquiredAny || waitMs <= 0 || context.signal.aborted) break;
        await waitForRecords([...subscriptions.values()], waitMs, context.signal);
      }
      return respond(answers, groups.lockDurationMs);
    },
    errorResponse: (_request: ShareFetchRequest, errorCode) => topLevel(errorCode, null),
  });
}

function respond(
  answers: ReadonlyMap<string, PartitionAnswer>,
  acquisitionLockTimeoutMs: number,
): ShareFetchResponseInput {
  const byTopic = new Map<
    string,
    { topicId: Buffer; partitions: ShareFetchResponsePartitionDataInput[] }
  >();
  for (const { topicId, partition } of answers.values()) {
    const key = topicId.toString('hex');
    let topic = byTopic.get(key);
    if (topic === undefined) {
      topic = { topicId, partitions: [] };
      byTopic.set(key, topic);
    }
    topic.partitions.push(partition);
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    acquisitionLockTimeoutMs,
    responses: [...byTopic.values()],
    nodeEndpoints: [],
  };
}

/** Resolves once any of the subscriptions may have records, after `waitMs`, or on abort. */
function waitForRecords(
  subscriptions: readonly Subscription[],
  waitMs: number,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const cancels: Array<() => void> = [];
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      for (const cancel of cancels) cancel();
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    signal.addEventListener('abort', done);
    for (const subscription of subscriptions) cancels.push(subscription.whenAvailable(done));
  });
}

function partitionKey(topicId: Buffer, partitionIndex: number): string {
  return `${topicId.toString('hex')}:${partitionIndex}`;
}
