// Metadata (API key 3): the brokers, the cluster id, the controller, and each topic's partitions
// with their leader and replicas. Creates missing topics when the broker allows it
// (auto.create.topics.enable) and the request does (v4+ says so; earlier versions imply it).

import { type ClusterView, NO_LEADER, type TopicAssignment } from '../metadata/cluster-metadata.js';
import { isValidTopicName } from '../metadata/topic-name.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type {
  MetadataRequest,
  MetadataResponseTopicInput,
} from '../protocol/generated/metadata.js';
import type { TopicMetadata } from '../metadata/metadata-store.js';
import type { ReplicaManager, TopicPartitions } from '../replica/replica-manager.js';
import { defineHandler, type RequestContext } from './registry.js';
import { servedVersions } from './served-versions.js';
import { kafkaErrorCodeOf } from './shared/errors.js';
import { INTERNAL_TOPIC_NAMES } from './shared/internal-topics.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  ResourceType,
  allAuthorizedOperations,
} from '../security/acl.js';

/**
 * Without an authorizer a principal may do everything, and Kafka says so when asked; with one,
 * the authorization layer (shared/authorization.ts) replaces these with the principal's own.
 */
const ALL_TOPIC_OPERATIONS = allAuthorizedOperations(ResourceType.TOPIC);
const ALL_CLUSTER_OPERATIONS = allAuthorizedOperations(ResourceType.CLUSTER);

export interface BrokerNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface MetadataHandlerDependencies {
  readonly replicas: ReplicaManager;
  readonly clusterId: string;
  /** The brokers as clients reach them through the listener the request came in on. */
  readonly brokers: (context: RequestContext) => readonly BrokerNode[];
  /** This broker: it serves the internal topics, and every topic outside cluster mode. */
  readonly nodeId: number;
  readonly controllerId: () => number;
  /**
   * Cluster mode: data topics, their leaders, replicas and ISRs come from the view, and a topic
   * is auto-created through the cluster (placed over the live brokers).
   */
  readonly cluster?: {
    readonly view: ClusterView;
    /**
     * True while this broker's etcd session is fenced (cluster/session-fenced-view.ts): a
     * partition without a leader is then answered without an error, the leader being unknown
     * here rather than absent. kafkajs throws on LEADER_NOT_AVAILABLE and asks the same broker
     * again without reading the broker list; answered NONE, it drops this broker (not listed)
     * and asks another one for the new leader.
     */
    readonly fenced?: () => boolean;
    createTopic(name: string, partitionCount: number): Promise<void>;
  };
  /** Settings read per request: they can change at run time (AlterConfigs). */
  readonly autoCreateTopicsEnable: () => boolean;
  readonly numPartitions: () => number;
}

export function createMetadataHandler(dependencies: MetadataHandlerDependencies) {
  const { replicas, cluster } = dependencies;
  return defineHandler(ApiKey.Metadata, {
    ...servedVersions[ApiKey.Metadata],

    async handle(request, context) {
      const version = context.apiVersion;
      const topics: MetadataResponseTopicInput[] = [];
      if (request.topics === null) {
        if (cluster === undefined) {
          for (const topic of replicas.topics()) topics.push(describeTopic(topic));
        } else {
          for (const topic of cluster.view.topics().values())
            topics.push(describeClusterTopic(topic));
        }
        for (const internal of replicas.internalTopicMetadata()) {
          topics.push(describeInternalTopic(internal));
        }
      } else {
        for (const requested of request.topics) {
          topics.push(await resolveTopic(requested.name, requested.topicId, request, version));
        }
      }
      if (request.includeTopicAuthorizedOperations) {
        for (const topic of topics) topic.topicAuthorizedOperations = ALL_TOPIC_OPERATIONS;
      }
      return {
        throttleTimeMs: 0,
        brokers: dependencies.brokers(context),
        clusterId: dependencies.clusterId,
        controllerId: dependencies.controllerId(),
        topics,
        clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
          ? ALL_CLUSTER_OPERATIONS
          : AUTHORIZED_OPERATIONS_OMITTED,
      };
    },
  });

  async function resolveTopic(
    name: string | null,
    topicId: Buffer,
    request: MetadataRequest,
    version: number,
  ): Promise<MetadataResponseTopicInput> {
    if (cluster !== undefined) {
      const assignment =
        name === null
          ? [...cluster.view.topics().values()].find((topic) => topic.topicId.equals(topicId))
          : cluster.view.topics().get(name);
      if (assignment !== undefined) return describeClusterTopic(assignment);
    }
    if (name === null) {
      // v10+: a topic asked for by id alone.
      const topic = replicas.topicById(topicId);
      if (topic !== undefined) return describeTopic(topic);
      const internal = replicas
        .internalTopicMetadata()
        .find((candidate) => candidate.topicId.equals(topicId));
      if (internal !== undefined) return describeInternalTopic(internal);
      return failedTopic(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID);
    }
    const existing = cluster === undefined ? replicas.topic(name) : undefined;
    if (existing !== undefined) return describeTopic(existing);
    const internal = replicas.internalTopicMetadata().find((candidate) => candidate.name === name);
    if (internal !== undefined) return describeInternalTopic(internal);
    if (!isValidTopicName(name))
      return failedTopic(name, topicId, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const allowed = version < 4 || request.allowAutoTopicCreation;
    if (!allowed || !dependencies.autoCreateTopicsEnable()) {
      return failedTopic(name, topicId, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    try {
      if (cluster === undefined) {
        await replicas.createTopic({ name, partitionCount: dependencies.numPartitions() });
      } else {
        await cluster.createTopic(name, dependencies.numPartitions());
      }
    } catch (error) {
      // A concurrent request may have created it first; that request answers the same way.
      const created =
        cluster === undefined ? replicas.topic(name) : cluster.view.topics().get(name);
      if (created === undefined) {
        return failedTopic(name, topicId, kafkaErrorCodeOf(error));
      }
    }
    // Kafka answers the request that created a topic with LEADER_NOT_AVAILABLE and no partitions,
    // and clients (kafka-go's tests among them) wait for a later Metadata to show them: a topic
    // re-created by a refresh after DeleteTopics must not look ready in the same answer.
    return failedTopic(name, topicId, ErrorCode.LEADER_NOT_AVAILABLE);
  }

  function describeTopic(topic: TopicPartitions): MetadataResponseTopicInput {
    return describePartitions(topic.metadata, topic.partitions);
  }

  /**
   * An internal topic opens its partitions on first use (replica/internal-topic.ts); every one is
   * listed, served by this broker, whether open yet or not.
   */
  function describeInternalTopic(metadata: TopicMetadata): MetadataResponseTopicInput {
    const partitions = Array.from({ length: metadata.partitionCount }, (_, partitionIndex) => ({
      partitionIndex,
      leaderEpoch: 0,
    }));
    return describePartitions(metadata, partitions);
  }

  function describePartitions(
    metadata: TopicMetadata,
    partitions: readonly { partitionIndex: number; leaderEpoch: number }[],
  ): MetadataResponseTopicInput {
    const nodeId = dependencies.nodeId;
    return {
      errorCode: ErrorCode.NONE,
      name: metadata.name,
      topicId: metadata.topicId,
      isInternal: metadata.internal,
      partitions: partitions.map((partition) => ({
        errorCode: ErrorCode.NONE,
        partitionIndex: partition.partitionIndex,
        leaderId: nodeId,
        leaderEpoch: partition.leaderEpoch,
        replicaNodes: [nodeId],
        isrNodes: [nodeId],
        offlineReplicas: [],
      })),
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  }

  /**
   * A topic as the cluster has it: each partition's leader, leader epoch, replicas and ISR from
   * its state, and as offline the replicas whose broker is not registered or reports them
   * offline (their log directory or log failed). A partition whose
   * state is not written yet (the controller fills it in) or that has no leader answers
   * LEADER_NOT_AVAILABLE, which clients retry.
   */
  function describeClusterTopic(topic: TopicAssignment): MetadataResponseTopicInput {
    const live = cluster!.view.brokers();
    const leaderUnknownHere = cluster!.fenced?.() ?? false;
    return {
      errorCode: ErrorCode.NONE,
      name: topic.name,
      topicId: topic.topicId,
      isInternal: INTERNAL_TOPIC_NAMES.has(topic.name),
      partitions: topic.partitions.map((assigned, partitionIndex) => {
        const state = cluster!.view.partitionState(topic.name, partitionIndex);
        const replicaNodes = [...(state?.replicas ?? assigned)];
        const leaderId = state?.leader ?? NO_LEADER;
        return {
          errorCode:
            leaderId === NO_LEADER && !leaderUnknownHere
              ? ErrorCode.LEADER_NOT_AVAILABLE
              : ErrorCode.NONE,
          partitionIndex,
          leaderId,
          leaderEpoch: state?.leaderEpoch ?? -1,
          replicaNodes,
          isrNodes: [...(state?.isr ?? [])],
          offlineReplicas: replicaNodes.filter(
            (brokerId) =>
              !live.has(brokerId) ||
              cluster!.view.isReplicaOffline(brokerId, topic.name, partitionIndex),
          ),
        };
      }),
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  }
}

function failedTopic(
  name: string | null,
  topicId: Buffer,
  errorCode: number,
): MetadataResponseTopicInput {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}
