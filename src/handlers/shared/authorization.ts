// What Kafka's authorizer checks for each API, in one table, wrapped around the handlers when
// `authorizer.enabled` is true (the handlers stay as they are). Each guard looks at a request
// before the handler sees it and either lets it through, refuses it whole (the handler's own
// `errorResponse` with CLUSTER_/GROUP_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED), or splits it:
// the handler serves the authorized part and the guard adds the refused part to the response
// with TOPIC_AUTHORIZATION_FAILED (or the per-resource error Kafka answers), in request order.
//
// Checks are synchronous (the authorizer answers from memory) and run before the handler is
// called, so the ordering contract of `registry.ts` (nothing awaits before a handler's first
// await) still holds.
//
// Metadata, DescribeCluster and DescribeGroups answer, when asked, the operations the principal
// may perform on each resource (its "authorized operations"); without the authorizer the handlers
// answer every operation the resource supports, as Kafka does, and the guards here replace that
// with the principal's own.
//
// An API with no entry here needs no authorization (ApiVersions, SaslHandshake,
// SaslAuthenticate).

import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/index.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  AclOperation,
  type Authorizer,
  CLUSTER_RESOURCE_NAME,
  ResourceType,
} from '../../security/index.js';
import {
  type AnyHandler,
  CLOSE_CONNECTION,
  HandlerRegistry,
  NO_RESPONSE,
  type RequestContext,
} from '../registry.js';

/** DescribeConfigs and the AlterConfigs APIs name resources with these codes (not ACL codes). */
const CONFIG_RESOURCE_TOPIC = 2;
const CONFIG_RESOURCE_BROKER = 4;
const CONFIG_RESOURCE_BROKER_LOGGER = 8;
/** FindCoordinator key types. */
const COORDINATOR_KEY_TRANSACTION = 1;

export interface AuthorizationDependencies {
  readonly authorizer: Authorizer;
  /** A topic's name from its id (Fetch v13+ names topics by id only). */
  readonly topicNameById: (topicId: Buffer) => string | undefined;
  /** Whether a topic exists, for Metadata's auto-creation check. */
  readonly topicExists: (name: string) => boolean;
}

/** The checks a guard may make, bound to one request's principal and address. */
interface Checks {
  topic(operation: AclOperation, name: string): boolean;
  group(operation: AclOperation, groupId: string): boolean;
  cluster(operation: AclOperation): boolean;
  transactionalId(operation: AclOperation, id: string): boolean;
  anyTopic(operation: AclOperation): boolean;
  /** The authorized-operations bit field of the resource (Metadata, DescribeCluster, DescribeGroups). */
  operations(resourceType: ResourceType, name: string): number;
  readonly dependencies: AuthorizationDependencies;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- each guard reads one API's generated shapes */

/**
 * A guard's verdict: serve as is, refuse whole with `errorCode`, serve `request` and amend the
 * response, or answer `response` without the handler. A split request the handler answers with
 * no response (an acks=0 Produce) is answered `withoutResponse` instead when that is given.
 */
type Verdict =
  | { readonly kind: 'allow' }
  | { readonly kind: 'deny'; readonly errorCode: number }
  | {
      readonly kind: 'split';
      readonly request: unknown;
      amend(response: any): any;
      readonly withoutResponse?: typeof CLOSE_CONNECTION;
    }
  | { readonly kind: 'respond'; readonly response: unknown };

type Guard = (request: any, checks: Checks, context: RequestContext) => Verdict;

const allow: Verdict = { kind: 'allow' };
const deny = (errorCode: number): Verdict => ({ kind: 'deny', errorCode });
const respond = (response: unknown): Verdict => ({ kind: 'respond', response });
const split = (request: unknown, amend: (response: any) => any): Verdict => ({
  kind: 'split',
  request,
  amend,
});

/** `verdict`, with `fill` applied to the response the request is finally answered with. */
function thenAmend(verdict: Verdict, request: unknown, fill: (response: any) => any): Verdict {
  if (verdict.kind === 'allow') return split(request, fill);
  if (verdict.kind === 'split') {
    return split(verdict.request, (response) => fill(verdict.amend(response)));
  }
  return verdict;
}

/**
 * A cluster's authorized operations as Kafka answers them: 0 to a principal that may not Describe
 * the cluster, its operations otherwise.
 */
function clusterOperations(checks: Checks): number {
  return checks.cluster(AclOperation.DESCRIBE)
    ? checks.operations(ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME)
    : 0;
}

/** Splits `items` into those `allowed` and the rest, keeping their order. */
function partition<T>(items: readonly T[], allowed: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (allowed(item) ? yes : no).push(item);
  return [yes, no];
}

/** The whole request needs one check; refused, the handler's errorResponse answers. */
function single(check: (request: any, checks: Checks) => boolean, errorCode: number): Guard {
  return (request, checks) => (check(request, checks) ? allow : deny(errorCode));
}

/**
 * Requests with a `topics`-like list whose response has a list of per-topic entries: refused topics
 * are taken out of the request and answered with `refusedEntry`.
 */
function perTopic(options: {
  requestList: string;
  responseList: string;
  name?: (item: any) => string;
  operation: AclOperation | ((request: any) => AclOperation);
  refusedEntry: (item: any, request: any) => unknown;
  precheck?: (request: any, checks: Checks) => Verdict | null;
  /** What a request with refused topics is answered when the handler sends no response. */
  withoutResponse?: (request: any) => typeof CLOSE_CONNECTION | undefined;
}): Guard {
  const name = options.name ?? ((item: any) => item.name as string);
  return (request, checks) => {
    const early = options.precheck?.(request, checks);
    if (early !== null && early !== undefined) return early;
    const operation =
      typeof options.operation === 'function' ? options.operation(request) : options.operation;
    const items = request[options.requestList] as any[];
    // The common case, every topic authorized, allocates nothing.
    if (items.every((item) => checks.topic(operation, name(item)))) return allow;
    const [allowed, refused] = partition(items, (item) => checks.topic(operation, name(item)));
    return {
      ...split({ ...request, [options.requestList]: allowed }, (response) => ({
        ...response,
        [options.responseList]: [
          ...response[options.responseList],
          ...refused.map((item) => options.refusedEntry(item, request)),
        ],
      })),
      withoutResponse: options.withoutResponse?.(request),
    };
  };
}

const topicRefused = ErrorCode.TOPIC_AUTHORIZATION_FAILED;

const guards: ReadonlyMap<number, Guard> = new Map<number, Guard>([
  [
    ApiKey.Produce,
    perTopic({
      requestList: 'topicData',
      responseList: 'responses',
      operation: AclOperation.WRITE,
      refusedEntry: (topic) => ({
        name: topic.name,
        partitionResponses: topic.partitionData.map((partition: any) => ({
          index: partition.index,
          errorCode: topicRefused,
          baseOffset: -1n,
        })),
      }),
      precheck: (request, checks) => {
        if (
          request.transactionalId === null ||
          checks.transactionalId(AclOperation.WRITE, request.transactionalId)
        ) {
          return null;
        }
        return request.acks === 0
          ? respond(CLOSE_CONNECTION)
          : deny(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      },
      // acks=0 reads no response: as Kafka, a refused topic closes the connection instead, so
      // the producer notices (the authorized topics are still written).
      withoutResponse: (request) => (request.acks === 0 ? CLOSE_CONNECTION : undefined),
    }),
  ],
  [ApiKey.Fetch, fetchGuard],
  [
    ApiKey.ListOffsets,
    perTopic({
      requestList: 'topics',
      responseList: 'topics',
      operation: AclOperation.DESCRIBE,
      refusedEntry: (topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition: any) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: topicRefused,
          timestamp: -1n,
          offset: -1n,
        })),
      }),
    }),
  ],
  [ApiKey.Metadata, metadataGuard],
  [
    ApiKey.OffsetForLeaderEpoch,
    perTopic({
      requestList: 'topics',
      responseList: 'topics',
      name: (topic) => topic.topic,
      operation: AclOperation.DESCRIBE,
      refusedEntry: (topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((partition: any) => ({
          partition: partition.partition,
          errorCode: topicRefused,
          leaderEpoch: -1,
          endOffset: -1n,
        })),
      }),
      precheck: (request, checks) =>
        request.replicaId >= 0 && !checks.cluster(AclOperation.CLUSTER_ACTION)
          ? deny(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
          : null,
    }),
  ],
  [
    ApiKey.OffsetCommit,
    perTopic({
      requestList: 'topics',
      responseList: 'topics',
      operation: AclOperation.READ,
      refusedEntry: (topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition: any) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: topicRefused,
        })),
      }),
      precheck: (request, checks) =>
        checks.group(AclOperation.READ, request.groupId)
          ? null
          : deny(ErrorCode.GROUP_AUTHORIZATION_FAILED),
    }),
  ],
  [ApiKey.OffsetFetch, offsetFetchGuard],
  [
    ApiKey.FindCoordinator,
    (request, checks) => {
      const transactional = request.keyType === COORDINATOR_KEY_TRANSACTION;
      const keys: string[] =
        request.coordinatorKeys.length > 0 ? request.coordinatorKeys : [request.key];
      const authorized = (key: string) =>
        transactional
          ? checks.transactionalId(AclOperation.DESCRIBE, key)
          : checks.group(AclOperation.DESCRIBE, key);
      const errorCode = transactional
        ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        : ErrorCode.GROUP_AUTHORIZATION_FAILED;
      if (request.coordinatorKeys.length === 0) {
        return authorized(request.key) ? allow : deny(errorCode);
      }
      const [allowed, refused] = partition(keys, authorized);
      if (refused.length === 0) return allow;
      return split({ ...request, coordinatorKeys: allowed }, (response) => ({
        ...response,
        coordinators: [
          ...response.coordinators,
          ...refused.map((key) => ({
            key,
            nodeId: -1,
            host: '',
            port: -1,
            errorCode,
            errorMessage: null,
          })),
        ],
      }));
    },
  ],
  // Share groups (KIP-932): READ on the group; ShareFetch and ShareAcknowledge also READ on
  // every topic they name (refused whole here, where Kafka answers per partition).
  [
    ApiKey.ShareGroupHeartbeat,
    (request, checks) => {
      if (!checks.group(AclOperation.READ, request.groupId))
        return deny(ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const topics: string[] = request.subscribedTopicNames ?? [];
      return topics.every((name) => checks.topic(AclOperation.DESCRIBE, name))
        ? allow
        : deny(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    },
  ],
  ...([ApiKey.ShareFetch, ApiKey.ShareAcknowledge] as const).map((apiKey): [number, Guard] => [
    apiKey,
    (request, checks) => {
      if (!checks.group(AclOperation.READ, request.groupId ?? ''))
        return deny(ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const readable = (request.topics as Array<{ topicId: Buffer }>).every((topic) => {
        const name = checks.dependencies.topicNameById(topic.topicId);
        return name === undefined || checks.topic(AclOperation.READ, name);
      });
      return readable ? allow : deny(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    },
  ]),
  [ApiKey.DescribeShareGroupOffsets, describeShareGroupOffsetsGuard],
  // Resetting a share group's start offsets needs READ on the group and on each topic; deleting
  // its state for topics needs DELETE on the group and READ on each topic (Kafka's KafkaApis).
  [
    ApiKey.AlterShareGroupOffsets,
    perTopic({
      requestList: 'topics',
      responseList: 'responses',
      name: (topic) => topic.topicName,
      operation: AclOperation.READ,
      refusedEntry: (topic) => ({
        topicName: topic.topicName,
        topicId: Buffer.alloc(16),
        partitions: topic.partitions.map((partition: any) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: topicRefused,
          errorMessage: 'Topic authorization failed.',
        })),
      }),
      precheck: (request, checks) =>
        checks.group(AclOperation.READ, request.groupId)
          ? null
          : deny(ErrorCode.GROUP_AUTHORIZATION_FAILED),
    }),
  ],
  [
    ApiKey.DeleteShareGroupOffsets,
    perTopic({
      requestList: 'topics',
      responseList: 'responses',
      name: (topic) => topic.topicName,
      operation: AclOperation.READ,
      refusedEntry: (topic) => ({
        topicName: topic.topicName,
        topicId: Buffer.alloc(16),
        errorCode: topicRefused,
        errorMessage: 'Topic authorization failed.',
      }),
      precheck: (request, checks) =>
        checks.group(AclOperation.DELETE, request.groupId)
          ? null
          : deny(ErrorCode.GROUP_AUTHORIZATION_FAILED),
    }),
  ],
  [
    ApiKey.ShareGroupDescribe,
    single(
      (request, checks) =>
        (request.groupIds as string[]).every((groupId) =>
          checks.group(AclOperation.DESCRIBE, groupId),
        ),
      ErrorCode.GROUP_AUTHORIZATION_FAILED,
    ),
  ],
  ...([ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Heartbeat, ApiKey.LeaveGroup] as const).map(
    (apiKey): [number, Guard] => [
      apiKey,
      single(
        (request, checks) => checks.group(AclOperation.READ, request.groupId),
        ErrorCode.GROUP_AUTHORIZATION_FAILED,
      ),
    ],
  ),
  [ApiKey.DescribeGroups, describeGroupsGuard],
  [
    ApiKey.DescribeCluster,
    (request, checks) =>
      request.includeClusterAuthorizedOperations
        ? split(request, (response) =>
            response.errorCode === ErrorCode.NONE
              ? { ...response, clusterAuthorizedOperations: clusterOperations(checks) }
              : response,
          )
        : allow,
  ],
  [
    ApiKey.ListGroups,
    (request, checks) => {
      if (checks.cluster(AclOperation.DESCRIBE)) return allow;
      return split(request, (response) => ({
        ...response,
        groups: response.groups.filter((group: any) =>
          checks.group(AclOperation.DESCRIBE, group.groupId),
        ),
      }));
    },
  ],
  [
    ApiKey.DeleteGroups,
    (request, checks) => {
      const [allowed, refused] = partition(request.groupsNames as string[], (groupId) =>
        checks.group(AclOperation.DELETE, groupId),
      );
      if (refused.length === 0) return allow;
      return split({ ...request, groupsNames: allowed }, (response) => ({
        ...response,
        results: [
          ...response.results,
          ...refused.map((groupId) => ({
            groupId,
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
          })),
        ],
      }));
    },
  ],
  [
    ApiKey.OffsetDelete,
    perTopic({
      requestList: 'topics',
      responseList: 'topics',
      operation: AclOperation.READ,
      refusedEntry: (topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition: any) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: topicRefused,
        })),
      }),
      precheck: (request, checks) =>
        checks.group(AclOperation.DELETE, request.groupId)
          ? null
          : deny(ErrorCode.GROUP_AUTHORIZATION_FAILED),
    }),
  ],
  [ApiKey.CreateTopics, createTopicsGuard],
  [ApiKey.DeleteTopics, deleteTopicsGuard],
  [
    ApiKey.CreatePartitions,
    perTopic({
      requestList: 'topics',
      responseList: 'results',
      operation: AclOperation.ALTER,
      refusedEntry: (topic) => ({
        name: topic.name,
        errorCode: topicRefused,
        errorMessage: 'Authorization failed.',
      }),
    }),
  ],
  [
    ApiKey.DeleteRecords,
    perTopic({
      requestList: 'topics',
      responseList: 'topics',
      operation: AclOperation.DELETE,
      refusedEntry: (topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition: any) => ({
          partitionIndex: partition.partitionIndex,
          lowWatermark: -1n,
          errorCode: topicRefused,
        })),
      }),
    }),
  ],
  [ApiKey.DescribeConfigs, configsGuard('results', AclOperation.DESCRIBE_CONFIGS)],
  [ApiKey.AlterConfigs, configsGuard('responses', AclOperation.ALTER_CONFIGS)],
  [ApiKey.IncrementalAlterConfigs, configsGuard('responses', AclOperation.ALTER_CONFIGS)],
  [ApiKey.ElectLeaders, clusterGuard(AclOperation.ALTER)],
  [ApiKey.AlterPartitionReassignments, clusterGuard(AclOperation.ALTER)],
  [ApiKey.ListPartitionReassignments, clusterGuard(AclOperation.DESCRIBE)],
  [ApiKey.DescribeLogDirs, clusterGuard(AclOperation.DESCRIBE)],
  [ApiKey.DescribeClientQuotas, clusterGuard(AclOperation.DESCRIBE_CONFIGS)],
  [ApiKey.AlterClientQuotas, clusterGuard(AclOperation.ALTER_CONFIGS)],
  [ApiKey.DescribeUserScramCredentials, clusterGuard(AclOperation.DESCRIBE)],
  [
    ApiKey.AlterUserScramCredentials,
    (request, checks) => {
      if (checks.cluster(AclOperation.ALTER)) return allow;
      // No errorResponse on this handler: answer every user named, as Kafka does.
      return respond({
        throttleTimeMs: 0,
        results: [
          ...new Set([...request.deletions, ...request.upsertions].map((user: any) => user.name)),
        ].map((user) => ({
          user,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
        })),
      });
    },
  ],
  [ApiKey.DescribeAcls, clusterGuard(AclOperation.DESCRIBE)],
  [ApiKey.CreateAcls, clusterGuard(AclOperation.ALTER)],
  [ApiKey.DeleteAcls, clusterGuard(AclOperation.ALTER)],
  [ApiKey.WriteTxnMarkers, clusterGuard(AclOperation.CLUSTER_ACTION)],
  [
    ApiKey.InitProducerId,
    (request, checks) => {
      if (request.transactionalId !== null) {
        return checks.transactionalId(AclOperation.WRITE, request.transactionalId)
          ? allow
          : deny(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
      // KIP-679: an idempotent producer needs IdempotentWrite on the cluster or Write on a topic.
      return checks.cluster(AclOperation.IDEMPOTENT_WRITE) || checks.anyTopic(AclOperation.WRITE)
        ? allow
        : deny(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    },
  ],
  [ApiKey.AddPartitionsToTxn, addPartitionsToTxnGuard],
  [
    ApiKey.AddOffsetsToTxn,
    (request, checks) => {
      if (!checks.transactionalId(AclOperation.WRITE, request.transactionalId)) {
        return deny(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
      return checks.group(AclOperation.READ, request.groupId)
        ? allow
        : deny(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    },
  ],
  [
    ApiKey.EndTxn,
    single(
      (request, checks) => checks.transactionalId(AclOperation.WRITE, request.transactionalId),
      ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ),
  ],
  [
    ApiKey.TxnOffsetCommit,
    perTopic({
      requestList: 'topics',
      responseList: 'topics',
      operation: AclOperation.READ,
      refusedEntry: (topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition: any) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: topicRefused,
        })),
      }),
      precheck: (request, checks) => {
        if (!checks.transactionalId(AclOperation.WRITE, request.transactionalId)) {
          return deny(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        }
        return checks.group(AclOperation.READ, request.groupId)
          ? null
          : deny(ErrorCode.GROUP_AUTHORIZATION_FAILED);
      },
    }),
  ],
  [
    ApiKey.DescribeProducers,
    perTopic({
      requestList: 'topics',
      responseList: 'topics',
      operation: AclOperation.READ,
      refusedEntry: (topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex: number) => ({
          partitionIndex,
          errorCode: topicRefused,
          errorMessage: null,
          activeProducers: [],
        })),
      }),
    }),
  ],
  [
    ApiKey.DescribeTransactions,
    (request, checks) => {
      const [allowed, refused] = partition(request.transactionalIds as string[], (id) =>
        checks.transactionalId(AclOperation.DESCRIBE, id),
      );
      if (refused.length === 0) return allow;
      return split({ ...request, transactionalIds: allowed }, (response) => ({
        ...response,
        transactionStates: [
          ...response.transactionStates,
          ...refused.map((transactionalId) => ({
            errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            transactionalId,
            transactionState: '',
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1n,
            producerId: -1n,
            producerEpoch: -1,
            topics: [],
          })),
        ],
      }));
    },
  ],
  [
    ApiKey.ListTransactions,
    (request, checks) =>
      split(request, (response) => ({
        ...response,
        transactionStates: response.transactionStates.filter((state: any) =>
          checks.transactionalId(AclOperation.DESCRIBE, state.transactionalId),
        ),
      })),
  ],
]);

/** Refused whole unless the principal may perform `operation` on the cluster. */
function clusterGuard(operation: AclOperation): Guard {
  return single(
    (_request, checks) => checks.cluster(operation),
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  );
}

/**
 * Fetch: a follower (replica id ≥ 0) needs ClusterAction; a consumer needs Read on each topic.
 * Checked on the response, not the request, because an incremental fetch session serves
 * partitions named in earlier requests; a refused partition's records are dropped.
 */
function fetchGuard(request: any, checks: Checks): Verdict {
  const replicaId: number = request.replicaState?.replicaId ?? request.replicaId;
  const follower = replicaId >= 0 || (request.replicaId ?? -1) >= 0;
  const clusterAction = follower && checks.cluster(AclOperation.CLUSTER_ACTION);
  return split(request, (response) => {
    if (response === NO_RESPONSE || response === CLOSE_CONNECTION) return response;
    return {
      ...response,
      responses: response.responses.map((topic: any) => {
        const name =
          topic.topic !== '' && topic.topic !== undefined
            ? (topic.topic as string)
            : checks.dependencies.topicNameById(topic.topicId);
        const authorized = follower
          ? clusterAction
          : name === undefined || checks.topic(AclOperation.READ, name);
        if (authorized) return topic;
        return {
          ...topic,
          partitions: topic.partitions.map((partition: any) => ({
            partitionIndex: partition.partitionIndex,
            errorCode: topicRefused,
            highWatermark: -1n,
            lastStableOffset: -1n,
            logStartOffset: -1n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: null,
          })),
        };
      }),
    };
  });
}

/**
 * Metadata: topics the principal may not Describe are hidden from an "all topics" answer and
 * answered TOPIC_AUTHORIZATION_FAILED when asked for by name; a topic that would be auto-created
 * needs Create on the cluster or on the topic. When asked (v8+), the topics shown and the cluster
 * (v8-10) carry the principal's authorized operations on them.
 */
function metadataGuard(request: any, checks: Checks): Verdict {
  const verdict = metadataTopicsGuard(request, checks);
  const includeTopics: boolean = request.includeTopicAuthorizedOperations;
  const includeCluster: boolean = request.includeClusterAuthorizedOperations;
  if (!includeTopics && !includeCluster) return verdict;
  return thenAmend(verdict, request, (response) => ({
    ...response,
    topics: includeTopics
      ? response.topics.map((topic: any) =>
          topic.errorCode === topicRefused || topic.name === null
            ? topic
            : {
                ...topic,
                topicAuthorizedOperations: checks.operations(ResourceType.TOPIC, topic.name),
              },
        )
      : response.topics,
    clusterAuthorizedOperations: includeCluster
      ? clusterOperations(checks)
      : response.clusterAuthorizedOperations,
  }));
}

function metadataTopicsGuard(request: any, checks: Checks): Verdict {
  const topics: any[] | null = request.topics;
  if (topics === null) {
    return split(request, (response) => ({
      ...response,
      topics: response.topics.filter((topic: any) =>
        checks.topic(AclOperation.DESCRIBE, topic.name),
      ),
    }));
  }
  const mayCreateAny = checks.cluster(AclOperation.CREATE);
  const named = (topic: any) =>
    topic.name ?? (topic.topicId ? checks.dependencies.topicNameById(topic.topicId) : undefined);
  const [allowed, refused] = partition(topics, (topic) => {
    const name = named(topic);
    if (name === undefined || name === null) return true;
    if (!checks.topic(AclOperation.DESCRIBE, name)) return false;
    if (
      request.allowAutoTopicCreation &&
      !checks.dependencies.topicExists(name) &&
      !mayCreateAny &&
      !checks.topic(AclOperation.CREATE, name)
    ) {
      return false;
    }
    return true;
  });
  if (refused.length === 0) return allow;
  return split({ ...request, topics: allowed }, (response) => ({
    ...response,
    topics: [
      ...response.topics,
      ...refused.map((topic) => ({
        errorCode: topicRefused,
        name: named(topic) ?? null,
        topicId: topic.topicId,
        isInternal: false,
        partitions: [],
        topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      })),
    ],
  }));
}

/**
 * DescribeGroups: a group the principal may not Describe is answered GROUP_AUTHORIZATION_FAILED;
 * the others, when asked (v3+), carry the principal's authorized operations on them.
 */
function describeGroupsGuard(request: any, checks: Checks, context: RequestContext): Verdict {
  const [allowed, refused] = partition(request.groups as string[], (groupId) =>
    checks.group(AclOperation.DESCRIBE, groupId),
  );
  const verdict =
    refused.length === 0
      ? allow
      : split({ ...request, groups: allowed }, (response) => ({
          ...response,
          groups: [
            ...response.groups,
            ...refused.map((groupId) => ({
              errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
              groupId,
              groupState: '',
              protocolType: '',
              protocolData: '',
              members: [],
              authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
            })),
          ],
        }));
  if (context.apiVersion < 3 || !request.includeAuthorizedOperations) return verdict;
  return thenAmend(verdict, request, (response) => ({
    ...response,
    groups: response.groups.map((group: any) =>
      group.errorCode === ErrorCode.NONE
        ? { ...group, authorizedOperations: checks.operations(ResourceType.GROUP, group.groupId) }
        : group,
    ),
  }));
}

/** OffsetFetch: Group Describe on each group, topic Describe on each named topic (v8+: many groups). */
function offsetFetchGuard(request: any, checks: Checks): Verdict {
  const refusedPartitions = (topic: any) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex: number) => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: null,
      errorCode: topicRefused,
    })),
  });
  const visible = (topics: any[]) =>
    topics.filter((topic: any) => checks.topic(AclOperation.DESCRIBE, topic.name));
  if (request.groups.length === 0) {
    if (!checks.group(AclOperation.DESCRIBE, request.groupId)) {
      return deny(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    if (request.topics === null) {
      return split(request, (response) => ({ ...response, topics: visible(response.topics) }));
    }
    const [allowed, refused] = partition(request.topics as any[], (topic) =>
      checks.topic(AclOperation.DESCRIBE, topic.name),
    );
    if (refused.length === 0) return allow;
    return split({ ...request, topics: allowed }, (response) => ({
      ...response,
      topics: [...response.topics, ...refused.map(refusedPartitions)],
    }));
  }
  const [allowedGroups, refusedGroups] = partition(request.groups as any[], (group) =>
    checks.group(AclOperation.DESCRIBE, group.groupId),
  );
  const refusedTopics = new Map<string, any[]>();
  const groups = allowedGroups.map((group) => {
    if (group.topics === null) return group;
    const [allowed, refused] = partition(group.topics as any[], (topic) =>
      checks.topic(AclOperation.DESCRIBE, topic.name),
    );
    if (refused.length > 0) refusedTopics.set(group.groupId, refused);
    return { ...group, topics: allowed };
  });
  return split({ ...request, groups }, (response) => ({
    ...response,
    groups: [
      ...response.groups.map((group: any) => ({
        ...group,
        topics: [
          ...visible(group.topics),
          ...(refusedTopics.get(group.groupId) ?? []).map(refusedPartitions),
        ],
      })),
      ...refusedGroups.map((group) => ({
        groupId: group.groupId,
        topics: [],
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      })),
    ],
  }));
}

/**
 * DescribeShareGroupOffsets, as Kafka's KafkaApis answers it: Describe on each group, refused per
 * group (GROUP_AUTHORIZATION_FAILED, in the group's place in the answer); for a group asked with
 * every topic (null), the topics the principal may not Describe are left out; for topics named,
 * each one it may not Describe answers every named partition TOPIC_AUTHORIZATION_FAILED, without
 * an offset or topic id, after the topics served.
 */
function describeShareGroupOffsetsGuard(request: any, checks: Checks): Verdict {
  const describable = (name: string) => checks.topic(AclOperation.DESCRIBE, name);
  const groups = request.groups as Array<{
    groupId: string;
    topics: Array<{ topicName: string; partitions: number[] }> | null;
  }>;
  const allowedGroups = groups.map((group) => checks.group(AclOperation.DESCRIBE, group.groupId));
  const refusedTopics = groups.map((group) =>
    group.topics === null ? [] : group.topics.filter((topic) => !describable(topic.topicName)),
  );
  const served = groups
    .filter((_, index) => allowedGroups[index])
    .map((group) =>
      group.topics === null
        ? group
        : { ...group, topics: group.topics.filter((topic) => describable(topic.topicName)) },
    );
  return split({ ...request, groups: served }, (response) => {
    // The handler answers the groups it was given in order; refused groups go back in place.
    const answered = response.groups[Symbol.iterator]();
    return {
      ...response,
      groups: groups.map((group, index) => {
        if (!allowedGroups[index]) {
          return {
            groupId: group.groupId,
            topics: [],
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            errorMessage: null,
          };
        }
        const result = answered.next().value;
        if (result.errorCode !== ErrorCode.NONE) return result;
        return {
          ...result,
          topics: [
            ...(group.topics === null
              ? result.topics.filter((topic: any) => describable(topic.topicName))
              : result.topics),
            ...refusedTopics[index].map((topic) => ({
              topicName: topic.topicName,
              topicId: Buffer.alloc(16),
              partitions: topic.partitions.map((partitionIndex) => ({
                partitionIndex,
                startOffset: -1n,
                leaderEpoch: 0,
                errorCode: topicRefused,
                errorMessage: 'Topic authorization failed.',
              })),
            })),
          ],
        };
      }),
    };
  });
}

/**
 * CreateTopics: Create on the cluster, or else on each topic; a topic created (or validated) for
 * a principal that may not DescribeConfigs it is answered without its configs, partition count
 * and replication factor, its config error TOPIC_AUTHORIZATION_FAILED (v5+ carry them), as
 * Kafka's controller does.
 */
function createTopicsGuard(request: any, checks: Checks, context: RequestContext): Verdict {
  const verdict = checks.cluster(AclOperation.CREATE)
    ? allow
    : perTopic({
        requestList: 'topics',
        responseList: 'topics',
        operation: AclOperation.CREATE,
        refusedEntry: (topic) => ({
          name: topic.name,
          errorCode: topicRefused,
          errorMessage: 'Authorization failed.',
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
        }),
      })(request, checks, context);
  const topics = request.topics as { name: string }[];
  if (topics.every((topic) => checks.topic(AclOperation.DESCRIBE_CONFIGS, topic.name))) {
    return verdict;
  }
  return thenAmend(verdict, request, (response) => ({
    ...response,
    topics: response.topics.map((topic: any) =>
      topic.errorCode !== ErrorCode.NONE || checks.topic(AclOperation.DESCRIBE_CONFIGS, topic.name)
        ? topic
        : {
            ...topic,
            topicConfigErrorCode: topicRefused,
            numPartitions: -1,
            replicationFactor: -1,
            configs: null,
          },
    ),
  }));
}

/**
 * DeleteTopics names topics by name (v0-5) or by name or id (v6+). Delete on the cluster covers
 * every topic; otherwise, as Kafka: a topic named but not describable is refused whether it exists
 * or not, and one given by id that is not deletable is refused without its name unless the
 * principal may Describe it (so an id never reveals a name).
 */
function deleteTopicsGuard(request: any, checks: Checks): Verdict {
  if (checks.cluster(AclOperation.DELETE)) return allow;
  const byId = request.topics.length > 0;
  const items: any[] = byId ? request.topics : request.topicNames;
  const named = (item: any): boolean => !byId || (item.name !== null && item.name !== undefined);
  const nameOf = (item: any): string | undefined =>
    byId ? (item.name ?? checks.dependencies.topicNameById(item.topicId)) : (item as string);
  const [allowed, refused] = partition(items, (item) => {
    const name = nameOf(item);
    if (name === undefined) return true;
    if (named(item) && !checks.topic(AclOperation.DESCRIBE, name)) return false;
    return checks.topic(AclOperation.DELETE, name);
  });
  if (refused.length === 0) return allow;
  return split(
    byId ? { ...request, topics: allowed } : { ...request, topicNames: allowed },
    (response) => ({
      ...response,
      responses: [
        ...response.responses,
        ...refused.map((item) => {
          const name = nameOf(item)!;
          const shown = named(item) || checks.topic(AclOperation.DESCRIBE, name);
          return {
            name: shown ? name : null,
            topicId: byId ? item.topicId : undefined,
            errorCode: topicRefused,
            errorMessage: null,
          };
        }),
      ],
    }),
  );
}

/** DescribeConfigs / AlterConfigs: topic resources need the operation on the topic, broker ones on the cluster. */
function configsGuard(responseList: string, operation: AclOperation): Guard {
  return (request, checks) => {
    const authorized = (resource: any): boolean => {
      if (resource.resourceType === CONFIG_RESOURCE_TOPIC) {
        return checks.topic(operation, resource.resourceName);
      }
      if (
        resource.resourceType === CONFIG_RESOURCE_BROKER ||
        resource.resourceType === CONFIG_RESOURCE_BROKER_LOGGER
      ) {
        return checks.cluster(operation);
      }
      return true;
    };
    const [allowed, refused] = partition(request.resources as any[], authorized);
    if (refused.length === 0) return allow;
    return split({ ...request, resources: allowed }, (response) => ({
      ...response,
      [responseList]: [
        ...response[responseList],
        ...refused.map((resource) => ({
          errorCode:
            resource.resourceType === CONFIG_RESOURCE_TOPIC
              ? topicRefused
              : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          configs: [],
        })),
      ],
    }));
  };
}

/**
 * AddPartitionsToTxn: the transactional id needs Write, then each topic Write; when some topic is
 * refused nothing is added and the rest answer OPERATION_NOT_ATTEMPTED, as in Kafka. Only the
 * client versions (v0-3, one transaction) are guarded per topic; v4+ comes from brokers and needs
 * ClusterAction.
 */
function addPartitionsToTxnGuard(request: any, checks: Checks, context: RequestContext): Verdict {
  if (context.apiVersion >= 4) {
    return checks.cluster(AclOperation.CLUSTER_ACTION)
      ? allow
      : deny(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  }
  if (!checks.transactionalId(AclOperation.WRITE, request.v3AndBelowTransactionalId)) {
    return deny(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  }
  const topics: any[] = request.v3AndBelowTopics;
  const refused = new Set(
    topics.filter((topic) => !checks.topic(AclOperation.WRITE, topic.name)).map((t) => t.name),
  );
  if (refused.size === 0) return allow;
  return respond({
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    resultsByTransaction: [],
    resultsByTopicV3AndBelow: topics.map((topic) => ({
      name: topic.name,
      resultsByPartition: topic.partitions.map((partitionIndex: number) => ({
        partitionIndex,
        partitionErrorCode: refused.has(topic.name)
          ? topicRefused
          : ErrorCode.OPERATION_NOT_ATTEMPTED,
      })),
    })),
  });
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The checks of one request: a class, so that making one per request allocates no closures. */
class RequestChecks implements Checks {
  constructor(
    private readonly context: RequestContext,
    readonly dependencies: AuthorizationDependencies,
  ) {}

  topic(operation: AclOperation, name: string): boolean {
    return this.check(operation, ResourceType.TOPIC, name);
  }

  group(operation: AclOperation, groupId: string): boolean {
    return this.check(operation, ResourceType.GROUP, groupId);
  }

  cluster(operation: AclOperation): boolean {
    return this.check(operation, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
  }

  transactionalId(operation: AclOperation, id: string): boolean {
    return this.check(operation, ResourceType.TRANSACTIONAL_ID, id);
  }

  private check(operation: AclOperation, type: ResourceType, name: string): boolean {
    return this.dependencies.authorizer.authorize(this.context, operation, type, name);
  }

  anyTopic(operation: AclOperation): boolean {
    return this.dependencies.authorizer.authorizeAny(this.context, operation, ResourceType.TOPIC);
  }

  operations(resourceType: ResourceType, name: string): number {
    return this.dependencies.authorizer.authorizedOperations(this.context, resourceType, name);
  }
}

/** The handler, checking what Kafka's authorizer checks for its API before it serves a request. */
export function authorizeRequests(
  handler: AnyHandler,
  dependencies: AuthorizationDependencies,
): AnyHandler {
  const guard = guards.get(handler.apiKey);
  if (guard === undefined) return handler;
  return {
    ...handler,
    handle(request, context) {
      const verdict = guard(request, new RequestChecks(context, dependencies), context);
      if (verdict.kind === 'allow') return handler.handle(request, context);
      if (verdict.kind === 'respond') return verdict.response;
      if (verdict.kind === 'deny') {
        if (handler.errorResponse === undefined) {
          throw new Error(`API ${handler.apiKey} refused whole but has no errorResponse`);
        }
        return handler.errorResponse(request, verdict.errorCode, context);
      }
      const amend = (response: unknown): unknown => {
        if (response === NO_RESPONSE) return verdict.withoutResponse ?? response;
        return response === CLOSE_CONNECTION ? response : verdict.amend(response);
      };
      const result = handler.handle(verdict.request, context);
      return result instanceof Promise ? result.then(amend) : amend(result);
    },
  };
}

/** The same handlers, each wrapped by `authorizeRequests` (a deferred one once it loads). */
export function authorizedRegistry(
  registry: HandlerRegistry,
  dependencies: AuthorizationDependencies,
): HandlerRegistry {
  const authorized = new HandlerRegistry();
  for (const served of registry.servedApis()) {
    const handler = registry.loaded(served.apiKey);
    authorized.register(
      handler !== undefined
        ? authorizeRequests(handler, dependencies)
        : {
            ...served,
            load: async () => authorizeRequests(await registry.load(served.apiKey), dependencies),
          },
    );
  }
  return authorized;
}
