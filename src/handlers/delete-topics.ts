// DeleteTopics (API key 20): deletes topics by name (v0-5: topic_names; v6: topics, by name or by
// topic id). The metadata entry goes first, then every partition's log directory, so a topic is
// never half-listed. Internal topics (__consumer_offsets) are refused: the group coordinator
// keeps its state in them.

import { isValidTopicName } from '../metadata/topic-name.js';
import { ErrorCode } from '../protocol/errors.js';
import type {
  DeleteTopicsRequest,
  DeleteTopicsResponseDeletableTopicResultInput,
} from '../protocol/generated/delete-topics.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ReplicaManager, TopicPartitions } from '../replica/replica-manager.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';
import { AdminRequestError, adminErrorOf } from './shared/errors.js';
import { INTERNAL_TOPIC_NAMES } from './shared/internal-topics.js';

const ZERO_TOPIC_ID = Buffer.alloc(16);

export interface DeleteTopicsHandlerDependencies {
  readonly replicas: ReplicaManager;
  /** delete.topic.enable, read per request. */
  readonly deleteTopicEnable: () => boolean;
  /** Cluster mode: deletes through etcd; resolves once this broker has removed its logs. */
  readonly clusterDeleteTopic?: (name: string) => Promise<void>;
}

/** One topic of the request, by name or (v6) by id. */
interface TopicReference {
  readonly name: string | null;
  readonly topicId: Buffer;
}

export function createDeleteTopicsHandler(dependencies: DeleteTopicsHandlerDependencies) {
  const { replicas } = dependencies;
  return defineHandler(ApiKey.DeleteTopics, {
    ...servedVersions[ApiKey.DeleteTopics],

    async handle(request) {
      const references = referencesOf(request);
      const counts = new Map<string, number>();
      for (const reference of references) {
        const key = keyOf(reference);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const responses: DeleteTopicsResponseDeletableTopicResultInput[] = [];
      for (const reference of references) {
        if (counts.get(keyOf(reference))! > 1) {
          responses.push(
            result(
              reference.name,
              reference.topicId,
              ErrorCode.INVALID_REQUEST,
              'Duplicate topic in request.',
            ),
          );
          continue;
        }
        let topic: TopicPartitions | undefined;
        try {
          topic = resolve(reference);
          if (!dependencies.deleteTopicEnable()) {
            throw new AdminRequestError(
              ErrorCode.TOPIC_DELETION_DISABLED,
              'Topic deletion is disabled (delete.topic.enable=false).',
            );
          }
          if (topic.metadata.internal || INTERNAL_TOPIC_NAMES.has(topic.metadata.name)) {
            throw new AdminRequestError(
              ErrorCode.INVALID_REQUEST,
              `Topic '${topic.metadata.name}' is internal to the broker and cannot be deleted.`,
            );
          }
          if (dependencies.clusterDeleteTopic !== undefined) {
            await dependencies.clusterDeleteTopic(topic.metadata.name);
          } else {
            await replicas.deleteTopic(topic.metadata.name);
          }
          responses.push(result(topic.metadata.name, topic.metadata.topicId, ErrorCode.NONE, null));
        } catch (error) {
          const { errorCode, errorMessage } = adminErrorOf(error);
          responses.push(
            result(
              topic?.metadata.name ?? reference.name,
              topic?.metadata.topicId ?? reference.topicId,
              errorCode,
              errorMessage,
            ),
          );
        }
      }
      return { throttleTimeMs: 0, responses };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        responses: referencesOf(request).map((reference) =>
          result(reference.name, reference.topicId, errorCode, null),
        ),
      };
    },
  });

  function resolve(reference: TopicReference): TopicPartitions {
    if (reference.name !== null) {
      if (!reference.topicId.equals(ZERO_TOPIC_ID)) {
        throw new AdminRequestError(
          ErrorCode.INVALID_REQUEST,
          'A topic is named by both its name and its id; give one.',
        );
      }
      const topic = replicas.topic(reference.name);
      if (topic !== undefined) return topic;
      if (!isValidTopicName(reference.name)) {
        throw new AdminRequestError(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `'${reference.name}' is not a valid topic name`,
        );
      }
      throw new AdminRequestError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Topic '${reference.name}' does not exist.`,
      );
    }
    const topic = replicas.topicById(reference.topicId);
    if (topic === undefined) {
      throw new AdminRequestError(
        ErrorCode.UNKNOWN_TOPIC_ID,
        `No topic has id ${reference.topicId.toString('hex')}.`,
      );
    }
    return topic;
  }
}

/** v0-5 name topics in topic_names, v6 in topics; the decoder leaves the other empty. */
function referencesOf(request: DeleteTopicsRequest): TopicReference[] {
  return [
    ...request.topicNames.map((name) => ({ name, topicId: ZERO_TOPIC_ID })),
    ...request.topics.map((topic) => ({ name: topic.name, topicId: topic.topicId })),
  ];
}

function keyOf(reference: TopicReference): string {
  return reference.name !== null
    ? `name:${reference.name}`
    : `id:${reference.topicId.toString('hex')}`;
}

function result(
  name: string | null,
  topicId: Buffer,
  errorCode: number,
  errorMessage: string | null,
): DeleteTopicsResponseDeletableTopicResultInput {
  return { name, topicId, errorCode, errorMessage };
}
