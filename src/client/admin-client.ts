// The one small admin client that `brook topics`, `brook configs`, `brook produce` and
// `brook consume` share: connections by broker address over kafka-connection.ts, each Kafka API
// they need as one method with a fixed request version, and a Kafka error in a response turned
// into a KafkaResponseError naming the error and what was asked. It never creates a topic by
// accident: Metadata is always asked with allow_auto_topic_creation=false.
//
// Requests that change the cluster (CreateTopics, DeleteTopics, CreatePartitions) go to the
// controller Metadata names, when it names one that is listed; produce, fetch and list-offsets go
// to each partition's leader. Methods may run concurrently: connections are opened once per
// address and pipeline their requests.

import { ErrorCode, errorName } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type {
  CreatePartitionsRequestInput,
  CreatePartitionsResponse,
} from '../protocol/generated/create-partitions.js';
import type {
  CreateTopicsRequestInput,
  CreateTopicsResponse,
  CreateTopicsResponseCreatableTopicResult,
} from '../protocol/generated/create-topics.js';
import type {
  DeleteTopicsRequestInput,
  DeleteTopicsResponse,
} from '../protocol/generated/delete-topics.js';
import type {
  DescribeConfigsRequestInput,
  DescribeConfigsResponse,
  DescribeConfigsResponseDescribeConfigsResourceResult,
} from '../protocol/generated/describe-configs.js';
import type {
  FetchRequestInput,
  FetchResponse,
  FetchResponsePartitionData,
} from '../protocol/generated/fetch.js';
import type {
  IncrementalAlterConfigsRequestInput,
  IncrementalAlterConfigsResponse,
} from '../protocol/generated/incremental-alter-configs.js';
import type {
  ListOffsetsRequestInput,
  ListOffsetsResponse,
} from '../protocol/generated/list-offsets.js';
import type { MetadataRequestInput, MetadataResponse } from '../protocol/generated/metadata.js';
import type { ProduceRequestInput, ProduceResponse } from '../protocol/generated/produce.js';
import type { FindCoordinatorResponse } from '../protocol/generated/find-coordinator.js';
import type { OffsetCommitResponse } from '../protocol/generated/offset-commit.js';
import type { OffsetFetchResponse } from '../protocol/generated/offset-fetch.js';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type {
  AlterUserScramCredentialsRequestInput,
  AlterUserScramCredentialsResponse,
} from '../protocol/generated/alter-user-scram-credentials.js';
import type { DescribeUserScramCredentialsResponse } from '../protocol/generated/describe-user-scram-credentials.js';
import {
  type ScramMechanism,
  saltedPasswordUpsertion,
  scramIterationsDefault,
  scramMechanismByCode,
  scramMechanismCodes,
} from '../security/scram-credential.js';
import { KafkaClientError, KafkaClientErrorCode, KafkaConnection } from './kafka-connection.js';
import type { SaslCredentials } from './sasl-client.js';
import type { AlterClientQuotasResponse } from '../protocol/generated/alter-client-quotas.js';
import type { CreateAclsResponse } from '../protocol/generated/create-acls.js';
import type { DeleteAclsResponse } from '../protocol/generated/delete-acls.js';
import type { DescribeAclsResponse } from '../protocol/generated/describe-acls.js';
import type { AclBinding, AclBindingFilter } from '../security/acl.js';
import type { DescribeClientQuotasResponse } from '../protocol/generated/describe-client-quotas.js';

/** A Kafka error code in a response (`kafkaErrorCode`); the message says for what. */
export class KafkaResponseError extends KafkaClientError {
  constructor(errorCode: number, what: string, detail: string | null) {
    super(
      KafkaClientErrorCode.KAFKA_ERROR,
      `${what}: ${errorName(errorCode)}${detail === null || detail === '' ? '' : ` (${detail})`}`,
      errorCode,
    );
    this.name = 'KafkaResponseError';
  }
}

/** Request versions: the newest the CLI needs that every Kafka since 2.8 and Brook serve. */
const apiVersion = {
  acls: 3,
  clientQuotas: 1,
  produce: 8,
  // v11 is the last that names topics instead of topic ids.
  fetch: 11,
  listOffsets: 5,
  // v10 is the first with topic ids.
  metadata: 10,
  createTopics: 5,
  deleteTopics: 5,
  createPartitions: 2,
  describeConfigs: 3,
  incrementalAlterConfigs: 1,
  // The last versions with one group per request and the key/keyType form.
  findCoordinator: 3,
  offsetFetch: 7,
  offsetCommit: 7,
} as const;

/** DescribeConfigs and IncrementalAlterConfigs resource types. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;
export type ConfigResourceType = (typeof ConfigResourceType)[keyof typeof ConfigResourceType];

/** IncrementalAlterConfigs operations. */
export const ConfigOperation = { SET: 0, DELETE: 1 } as const;

/** DescribeConfigs' config_source, by number. */
export const configSourceNames: readonly string[] = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
];

/** ListOffsets' special timestamps. */
export const OffsetTimestamp = { EARLIEST: -2n, LATEST: -1n } as const;

export interface TopicPartitionMetadata {
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly isInternal: boolean;
  readonly partitions: readonly TopicPartitionMetadata[];
}

export interface ClusterMetadata {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly brokers: ReadonlyMap<number, string>;
  /** The topics found; a topic that was asked for and does not exist is absent. */
  readonly topics: ReadonlyMap<string, TopicMetadata>;
}

export interface NewTopic {
  readonly name: string;
  /** -1: the broker's num.partitions. */
  readonly partitions: number;
  /** -1: the broker's default.replication.factor. */
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
}

export interface ConfigAlteration {
  readonly set: ReadonlyMap<string, string>;
  readonly delete: readonly string[];
}

export interface PartitionOffsetQuery {
  readonly topic: string;
  readonly partition: number;
  /** An epoch time in ms, or OffsetTimestamp.EARLIEST / LATEST. */
  readonly timestamp: bigint;
}

export interface AdminClientOptions {
  readonly bootstrapServer: string;
  readonly clientId: string;
  /** For connecting and for each request. */
  readonly requestTimeoutMs: number;
  /** TLS and SASL for every connection (a --command-config file); plaintext when absent. */
  readonly security?: ClientSecurity;
}

/** How the client reaches a secured listener. */
export interface ClientSecurity {
  readonly tls?: TlsConnectionOptions;
  readonly sasl?: SaslCredentials;
}

/** A user's SCRAM credentials as DescribeUserScramCredentials lists them: never a key or salt. */
export interface UserScramCredentials {
  readonly user: string;
  readonly credentials: ReadonlyArray<{ readonly mechanism: string; readonly iterations: number }>;
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const zeroUuid = Buffer.alloc(16);

export class AdminClient {
  private readonly connections = new Map<string, Promise<KafkaConnection>>();

  constructor(private readonly options: AdminClientOptions) {}

  private connection(address = this.options.bootstrapServer): Promise<KafkaConnection> {
    let connection = this.connections.get(address);
    if (connection === undefined) {
      connection = KafkaConnection.open(address, {
        clientId: this.options.clientId,
        requestTimeoutMs: this.options.requestTimeoutMs,
        ...this.options.security,
      });
      // A failed connection is not kept: the next call tries again.
      connection.catch(() => this.connections.delete(address!));
      this.connections.set(address, connection);
    }
    return connection;
  }

  private async request<Response>(
    address: string | undefined,
    apiKey: number,
    version: number,
    body: unknown,
  ): Promise<Response> {
    const connection = await this.connection(address);
    return connection.request<Response>(apiKey, version, body);
  }

  /** Metadata of the given topics (every topic when null), never creating one. */
  async metadata(topics: readonly string[] | null): Promise<ClusterMetadata> {
    const request: MetadataRequestInput = {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    };
    const response = await this.request<MetadataResponse>(
      undefined,
      ApiKey.Metadata,
      apiVersion.metadata,
      request,
    );
    const brokers = new Map(
      response.brokers.map((broker) => [broker.nodeId, `${broker.host}:${broker.port}`]),
    );
    const found = new Map<string, TopicMetadata>();
    for (const topic of response.topics) {
      if (topic.name === null || topic.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
      if (topic.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(topic.errorCode, `Metadata for topic ${topic.name}`, null);
      }
      found.set(topic.name, {
        name: topic.name,
        topicId: formatUuid(topic.topicId),
        isInternal: topic.isInternal,
        partitions: topic.partitions
          .map((partition) => ({
            partition: partition.partitionIndex,
            leaderId: partition.leaderId,
            leaderEpoch: partition.leaderEpoch,
            replicas: partition.replicaNodes,
            isr: partition.isrNodes,
            offlineReplicas: partition.offlineReplicas,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers,
      topics: found,
    };
  }

  /**
   * Sets a user's password for one SCRAM mechanism (AlterUserScramCredentials): the password is
   * salted here, and only the salt and salted password travel.
   */
  async upsertUserScramCredential(
    user: string,
    mechanism: ScramMechanism,
    password: string,
    iterations = scramIterationsDefault,
  ): Promise<void> {
    const upsertion = await saltedPasswordUpsertion(mechanism, password, iterations);
    await this.alterUserScramCredentials({
      deletions: [],
      upsertions: [{ name: user, mechanism: scramMechanismCodes[mechanism], ...upsertion }],
    });
  }

  /** Removes a user's credential for one SCRAM mechanism. */
  async deleteUserScramCredential(user: string, mechanism: ScramMechanism): Promise<void> {
    await this.alterUserScramCredentials({
      deletions: [{ name: user, mechanism: scramMechanismCodes[mechanism] }],
      upsertions: [],
    });
  }

  private async alterUserScramCredentials(
    request: AlterUserScramCredentialsRequestInput,
  ): Promise<void> {
    const response = await this.request<AlterUserScramCredentialsResponse>(
      await this.controller(),
      ApiKey.AlterUserScramCredentials,
      0,
      request,
    );
    for (const result of response.results) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(
          result.errorCode,
          `AlterUserScramCredentials for user ${result.user}`,
          result.errorMessage,
        );
      }
    }
  }

  /** Users and their SCRAM mechanisms; every user when `users` is null. */
  async describeUserScramCredentials(
    users: readonly string[] | null,
  ): Promise<UserScramCredentials[]> {
    const response = await this.request<DescribeUserScramCredentialsResponse>(
      undefined,
      ApiKey.DescribeUserScramCredentials,
      0,
      { users: users === null ? null : users.map((name) => ({ name })) },
    );
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(
        response.errorCode,
        'DescribeUserScramCredentials',
        response.errorMessage,
      );
    }
    return response.results.map((result) => {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(
          result.errorCode,
          `DescribeUserScramCredentials for user ${result.user}`,
          result.errorMessage,
        );
      }
      return {
        user: result.user,
        credentials: result.credentialInfos.map((info) => ({
          mechanism: scramMechanismByCode(info.mechanism) ?? `mechanism ${info.mechanism}`,
          iterations: info.iterations,
        })),
      };
    });
  }

  /** The controller's address when Metadata names a listed one, else the bootstrap server. */
  private async controller(): Promise<string> {
    const metadata = await this.metadata([]);
    return metadata.brokers.get(metadata.controllerId) ?? this.options.bootstrapServer;
  }

  /**
   * Creates one topic. With `ifNotExists`, a topic that exists already is not an error and
   * resolves with null; otherwise resolves with the broker's answer (partitions, configs).
   */
  async createTopic(
    topic: NewTopic,
    timeoutMs: number,
    ifNotExists: boolean,
  ): Promise<CreateTopicsResponseCreatableTopicResult | null> {
    const request: CreateTopicsRequestInput = {
      topics: [
        {
          name: topic.name,
          numPartitions: topic.partitions,
          replicationFactor: topic.replicationFactor,
          assignments: [],
          configs: [...topic.configs].map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs,
      validateOnly: false,
    };
    const response = await this.request<CreateTopicsResponse>(
      await this.controller(),
      ApiKey.CreateTopics,
      apiVersion.createTopics,
      request,
    );
    const result = response.topics.find((entry) => entry.name === topic.name);
    if (result === undefined) {
      throw new KafkaClientError(
        KafkaClientErrorCode.PROTOCOL,
        `CreateTopics gave no result for ${topic.name}`,
      );
    }
    if (ifNotExists && result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return null;
    if (result.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(
        result.errorCode,
        `CreateTopics for ${topic.name}`,
        result.errorMessage,
      );
    }
    return result;
  }

  /** Deletes topics by name; with `ifExists`, unknown ones are skipped. Resolves with those deleted. */
  async deleteTopics(
    names: readonly string[],
    timeoutMs: number,
    ifExists: boolean,
  ): Promise<string[]> {
    const request: DeleteTopicsRequestInput = { topicNames: names, timeoutMs };
    const response = await this.request<DeleteTopicsResponse>(
      await this.controller(),
      ApiKey.DeleteTopics,
      apiVersion.deleteTopics,
      request,
    );
    const deleted: string[] = [];
    for (const result of response.responses) {
      const name = result.name ?? formatUuid(result.topicId);
      if (ifExists && result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(
          result.errorCode,
          `DeleteTopics for ${name}`,
          result.errorMessage,
        );
      }
      deleted.push(name);
    }
    return deleted;
  }

  /** Grows a topic to `count` partitions. */
  async createPartitions(topic: string, count: number, timeoutMs: number): Promise<void> {
    const request: CreatePartitionsRequestInput = {
      topics: [{ name: topic, count, assignments: null }],
      timeoutMs,
      validateOnly: false,
    };
    const response = await this.request<CreatePartitionsResponse>(
      await this.controller(),
      ApiKey.CreatePartitions,
      apiVersion.createPartitions,
      request,
    );
    for (const result of response.results) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(
          result.errorCode,
          `CreatePartitions for ${result.name}`,
          result.errorMessage,
        );
      }
    }
  }

  /**
   * Where a resource's configs are asked or changed: a broker's on that broker (Kafka answers a
   * broker's own configs only there), a topic's on the bootstrap server.
   */
  private async configAddress(
    resourceType: ConfigResourceType,
    resourceName: string,
  ): Promise<string | undefined> {
    if (resourceType !== ConfigResourceType.BROKER) return undefined;
    const metadata = await this.metadata([]);
    return metadata.brokers.get(Number(resourceName)) ?? undefined;
  }

  /** Every config of one resource (a topic name, or a broker id as text). */
  async describeConfigs(
    resourceType: ConfigResourceType,
    resourceName: string,
  ): Promise<DescribeConfigsResponseDescribeConfigsResourceResult[]> {
    const described = await this.describeTopicConfigsOf(resourceType, [resourceName], false);
    return described.get(resourceName)!;
  }

  /**
   * Every config of several topics in one request, by topic name; each sorted by config name. A
   * topic the broker does not know (deleted since it was listed, or an internal topic a broker
   * lists but keeps no configs for) is absent.
   */
  async describeTopicConfigs(
    names: readonly string[],
  ): Promise<Map<string, DescribeConfigsResponseDescribeConfigsResourceResult[]>> {
    return this.describeTopicConfigsOf(ConfigResourceType.TOPIC, names, true);
  }

  private async describeTopicConfigsOf(
    resourceType: ConfigResourceType,
    names: readonly string[],
    skipUnknown: boolean,
  ): Promise<Map<string, DescribeConfigsResponseDescribeConfigsResourceResult[]>> {
    const described = new Map<string, DescribeConfigsResponseDescribeConfigsResourceResult[]>();
    if (names.length === 0) return described;
    const request: DescribeConfigsRequestInput = {
      resources: names.map((resourceName) => ({
        resourceType,
        resourceName,
        configurationKeys: null,
      })),
      includeSynonyms: false,
      includeDocumentation: false,
    };
    const response = await this.request<DescribeConfigsResponse>(
      await this.configAddress(resourceType, names[0]),
      ApiKey.DescribeConfigs,
      apiVersion.describeConfigs,
      request,
    );
    const answered = new Set<string>();
    for (const result of response.results) {
      answered.add(result.resourceName);
      if (skipUnknown && result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(
          result.errorCode,
          `DescribeConfigs for ${result.resourceName}`,
          result.errorMessage,
        );
      }
      described.set(
        result.resourceName,
        [...result.configs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      );
    }
    for (const name of names) {
      if (!answered.has(name)) {
        throw new KafkaClientError(
          KafkaClientErrorCode.PROTOCOL,
          `DescribeConfigs gave no result for ${name}`,
        );
      }
    }
    return described;
  }

  /** Sets and deletes (reverts to the default) configs of one resource, in one request. */
  async alterConfigs(
    resourceType: ConfigResourceType,
    resourceName: string,
    alteration: ConfigAlteration,
  ): Promise<void> {
    const request: IncrementalAlterConfigsRequestInput = {
      resources: [
        {
          resourceType,
          resourceName,
          configs: [
            ...[...alteration.set].map(([name, value]) => ({
              name,
              configOperation: ConfigOperation.SET,
              value,
            })),
            ...alteration.delete.map((name) => ({
              name,
              configOperation: ConfigOperation.DELETE,
              value: null,
            })),
          ],
        },
      ],
      validateOnly: false,
    };
    const response = await this.request<IncrementalAlterConfigsResponse>(
      await this.configAddress(resourceType, resourceName),
      ApiKey.IncrementalAlterConfigs,
      apiVersion.incrementalAlterConfigs,
      request,
    );
    for (const result of response.responses) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(
          result.errorCode,
          `IncrementalAlterConfigs for ${result.resourceName}`,
          result.errorMessage,
        );
      }
    }
  }

  /** The client quotas of the entities matching the filter (DescribeClientQuotas). */
  async describeClientQuotas(
    components: ReadonlyArray<{ entityType: string; matchType: number; match: string | null }>,
    strict: boolean,
  ): Promise<DescribeClientQuotasResponse['entries'] & object> {
    const response = await this.request<DescribeClientQuotasResponse>(
      this.options.bootstrapServer,
      ApiKey.DescribeClientQuotas,
      apiVersion.clientQuotas,
      { components, strict },
    );
    if (response.errorCode !== ErrorCode.NONE || response.entries === null) {
      throw new KafkaResponseError(
        response.errorCode,
        'DescribeClientQuotas',
        response.errorMessage,
      );
    }
    return response.entries;
  }

  /** Sets (value) and removes (null) client quotas of one entity (AlterClientQuotas). */
  async alterClientQuotas(
    entity: ReadonlyArray<{ entityType: string; entityName: string | null }>,
    changes: ReadonlyMap<string, number | null>,
  ): Promise<void> {
    const response = await this.request<AlterClientQuotasResponse>(
      this.options.bootstrapServer,
      ApiKey.AlterClientQuotas,
      apiVersion.clientQuotas,
      {
        entries: [
          {
            entity,
            ops: [...changes].map(([key, value]) => ({
              key,
              value: value ?? 0,
              remove: value === null,
            })),
          },
        ],
        validateOnly: false,
      },
    );
    for (const entry of response.entries) {
      if (entry.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(entry.errorCode, 'AlterClientQuotas', entry.errorMessage);
      }
    }
  }

  /** Creates ACL bindings (CreateAcls v3); the first refused one throws. */
  async createAcls(bindings: readonly AclBinding[]): Promise<void> {
    const response = await this.request<CreateAclsResponse>(
      this.options.bootstrapServer,
      ApiKey.CreateAcls,
      apiVersion.acls,
      {
        creations: bindings.map((binding) => ({
          ...binding,
          resourcePatternType: binding.patternType,
        })),
      },
    );
    for (const result of response.results) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(result.errorCode, 'CreateAcls', result.errorMessage);
      }
    }
  }

  /** The ACL bindings matching `filter` (DescribeAcls v3). */
  async describeAcls(filter: AclBindingFilter): Promise<AclBinding[]> {
    const response = await this.request<DescribeAclsResponse>(
      this.options.bootstrapServer,
      ApiKey.DescribeAcls,
      apiVersion.acls,
      aclFilterInput(filter),
    );
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(response.errorCode, 'DescribeAcls', response.errorMessage);
    }
    return response.resources.flatMap((resource) =>
      resource.acls.map((acl) => ({
        resourceType: resource.resourceType as AclBinding['resourceType'],
        resourceName: resource.resourceName,
        patternType: resource.patternType as AclBinding['patternType'],
        principal: acl.principal,
        host: acl.host,
        operation: acl.operation as AclBinding['operation'],
        permissionType: acl.permissionType as AclBinding['permissionType'],
      })),
    );
  }

  /** Deletes the ACL bindings matching each filter (DeleteAcls v3); returns those deleted. */
  async deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclBinding[]> {
    const response = await this.request<DeleteAclsResponse>(
      this.options.bootstrapServer,
      ApiKey.DeleteAcls,
      apiVersion.acls,
      { filters: filters.map(aclFilterInput) },
    );
    const deleted: AclBinding[] = [];
    for (const result of response.filterResults) {
      if (result.errorCode !== ErrorCode.NONE) {
        throw new KafkaResponseError(result.errorCode, 'DeleteAcls', result.errorMessage);
      }
      for (const acl of result.matchingAcls) {
        deleted.push({
          resourceType: acl.resourceType as AclBinding['resourceType'],
          resourceName: acl.resourceName,
          patternType: acl.patternType as AclBinding['patternType'],
          principal: acl.principal,
          host: acl.host,
          operation: acl.operation as AclBinding['operation'],
          permissionType: acl.permissionType as AclBinding['permissionType'],
        });
      }
    }
    return deleted;
  }

  private async leaderOf(topic: string, partition: number): Promise<string> {
    const metadata = await this.metadata([topic]);
    const found = metadata.topics.get(topic);
    if (found === undefined) {
      throw new KafkaResponseError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic}`, null);
    }
    const entry = found.partitions.find((candidate) => candidate.partition === partition);
    if (entry === undefined) {
      throw new KafkaResponseError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `partition ${topic}-${partition}`,
        `the topic has ${found.partitions.length} partitions`,
      );
    }
    const leader = metadata.brokers.get(entry.leaderId);
    if (leader === undefined) {
      throw new KafkaResponseError(
        ErrorCode.LEADER_NOT_AVAILABLE,
        `partition ${topic}-${partition}`,
        null,
      );
    }
    return leader;
  }

  /**
   * Appends one whole record batch (built with src/record) to a partition with acks=all, and
   * resolves with the offset of its first record.
   */
  async produce(
    topic: string,
    partition: number,
    batch: Buffer,
    timeoutMs: number,
  ): Promise<bigint> {
    const request: ProduceRequestInput = {
      transactionalId: null,
      acks: -1,
      timeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    };
    const response = await this.request<ProduceResponse>(
      await this.leaderOf(topic, partition),
      ApiKey.Produce,
      apiVersion.produce,
      request,
    );
    const result = response.responses[0]?.partitionResponses[0];
    if (result === undefined) {
      throw new KafkaClientError(
        KafkaClientErrorCode.PROTOCOL,
        `Produce gave no result for ${topic}-${partition}`,
      );
    }
    if (result.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(
        result.errorCode,
        `Produce to ${topic}-${partition}`,
        result.errorMessage,
      );
    }
    return result.baseOffset;
  }

  /** ListOffsets: the offset at each query's timestamp (−1 when no record is at or after it). */
  async listOffset(query: PartitionOffsetQuery): Promise<bigint> {
    const request: ListOffsetsRequestInput = {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: query.topic,
          partitions: [{ partitionIndex: query.partition, timestamp: query.timestamp }],
        },
      ],
    };
    const response = await this.request<ListOffsetsResponse>(
      await this.leaderOf(query.topic, query.partition),
      ApiKey.ListOffsets,
      apiVersion.listOffsets,
      request,
    );
    const result = response.topics[0]?.partitions[0];
    if (result === undefined) {
      throw new KafkaClientError(
        KafkaClientErrorCode.PROTOCOL,
        `ListOffsets gave no result for ${query.topic}-${query.partition}`,
      );
    }
    if (result.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(
        result.errorCode,
        `ListOffsets for ${query.topic}-${query.partition}`,
        null,
      );
    }
    return result.offset;
  }

  /**
   * One Fetch of one partition from `offset`, read uncommitted. The records are whole batches as
   * the broker sent them (the last may be cut short by maxBytes).
   */
  async fetch(
    topic: string,
    partition: number,
    offset: bigint,
    maxWaitMs: number,
    partitionMaxBytes: number,
  ): Promise<FetchResponsePartitionData> {
    const request: FetchRequestInput = {
      replicaId: -1,
      maxWaitMs,
      minBytes: 1,
      maxBytes: partitionMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          topicId: zeroUuid,
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              logStartOffset: -1n,
              partitionMaxBytes,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    };
    const response = await this.request<FetchResponse>(
      await this.leaderOf(topic, partition),
      ApiKey.Fetch,
      apiVersion.fetch,
      request,
    );
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(response.errorCode, `Fetch from ${topic}-${partition}`, null);
    }
    const result = response.responses[0]?.partitions[0];
    if (result === undefined) {
      throw new KafkaClientError(
        KafkaClientErrorCode.PROTOCOL,
        `Fetch gave no result for ${topic}-${partition}`,
      );
    }
    if (result.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(result.errorCode, `Fetch from ${topic}-${partition}`, null);
    }
    return result;
  }

  /**
   * One request to the bootstrap broker, or with `groupId` to that group's coordinator: for the
   * API families that keep their methods in a module of their own (share-group-admin.ts).
   */
  async requestTo<Response>(
    target: { readonly groupId: string } | 'bootstrap',
    apiKey: number,
    version: number,
    body: unknown,
  ): Promise<Response> {
    const address =
      target === 'bootstrap' ? undefined : await this.groupCoordinator(target.groupId);
    return this.request<Response>(address, apiKey, version, body);
  }

  /** The address of the group's coordinator. */
  private async groupCoordinator(groupId: string): Promise<string> {
    const response = await this.request<FindCoordinatorResponse>(
      undefined,
      ApiKey.FindCoordinator,
      apiVersion.findCoordinator,
      { key: groupId, keyType: 0 },
    );
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(
        response.errorCode,
        `FindCoordinator for group ${groupId}`,
        response.errorMessage,
      );
    }
    return `${response.host}:${response.port}`;
  }

  /** The group's committed offsets in `topic`, by partition (partitions without one are absent). */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const response = await this.request<OffsetFetchResponse>(
      await this.groupCoordinator(groupId),
      ApiKey.OffsetFetch,
      apiVersion.offsetFetch,
      { groupId, topics: null, requireStable: true },
    );
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaResponseError(response.errorCode, `OffsetFetch for group ${groupId}`, null);
    }
    const committed = new Map<number, bigint>();
    for (const entry of response.topics) {
      if (entry.name !== topic) continue;
      for (const partition of entry.partitions) {
        if (partition.errorCode !== ErrorCode.NONE) {
          throw new KafkaResponseError(
            partition.errorCode,
            `OffsetFetch for ${topic}-${partition.partitionIndex}`,
            null,
          );
        }
        if (partition.committedOffset >= 0n)
          committed.set(partition.partitionIndex, partition.committedOffset);
      }
    }
    return committed;
  }

  /**
   * Commits offsets for a group without joining it (generation -1, as an assigning consumer
   * does): the coordinator accepts it only while the group has no members.
   */
  async commitOffsets(
    groupId: string,
    topic: string,
    offsets: ReadonlyMap<number, bigint>,
  ): Promise<void> {
    const response = await this.request<OffsetCommitResponse>(
      await this.groupCoordinator(groupId),
      ApiKey.OffsetCommit,
      apiVersion.offsetCommit,
      {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [
          {
            name: topic,
            partitions: [...offsets].map(([partitionIndex, committedOffset]) => ({
              partitionIndex,
              committedOffset,
              committedMetadata: '',
            })),
          },
        ],
      },
    );
    for (const entry of response.topics) {
      for (const partition of entry.partitions) {
        if (partition.errorCode !== ErrorCode.NONE) {
          throw new KafkaResponseError(
            partition.errorCode,
            `OffsetCommit for group ${groupId} on ${entry.name}-${partition.partitionIndex}`,
            null,
          );
        }
      }
    }
  }

  close(): void {
    for (const connection of this.connections.values()) {
      connection.then(
        (open) => open.close(),
        () => undefined,
      );
    }
  }
}

/** An ACL filter as DescribeAcls and DeleteAcls carry it. */
function aclFilterInput(filter: AclBindingFilter) {
  return {
    resourceTypeFilter: filter.resourceType,
    resourceNameFilter: filter.resourceName,
    patternTypeFilter: filter.patternType,
    principalFilter: filter.principal,
    hostFilter: filter.host,
    operation: filter.operation,
    permissionType: filter.permissionType,
  };
}
