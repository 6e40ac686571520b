// Which APIs are admin actions, and what each one acted on: the one place that decides what the
// audit log records of a request (src/security/audit-log.ts writes it). Each describer reads one
// API's generated request and response and returns one action per resource, with the error code
// the response gave that resource (0 = done). Describers copy names and counts, never values a
// client authenticates with: a SCRAM upsertion's salt and salted password stay out, and config
// values whose names suggest a secret are masked.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { maskSecretConfigs } from '../util/logger.js';
import type { AuditResource } from './audit-log.js';

export interface AuditAction {
  readonly resource: AuditResource;
  readonly errorCode: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- each describer reads one API's generated shapes */
type Describer = (request: any, response: any) => AuditAction[];

/** DescribeConfigs / AlterConfigs resource types (Kafka's ConfigResource.Type). */
const CONFIG_RESOURCE_TYPES: Readonly<Record<number, string>> = {
  2: 'topic',
  4: 'broker',
  8: 'broker-logger',
  16: 'client-metrics',
  32: 'group',
};
/** ACL resource types (Kafka's ResourceType). */
const ACL_RESOURCE_TYPES: Readonly<Record<number, string>> = {
  1: 'any',
  2: 'topic',
  3: 'group',
  4: 'cluster',
  5: 'transactional-id',
  6: 'delegation-token',
  7: 'user',
};
const SCRAM_MECHANISMS: Readonly<Record<number, string>> = {
  1: 'SCRAM-SHA-256',
  2: 'SCRAM-SHA-512',
};
const CONFIG_OPERATIONS: Readonly<Record<number, string>> = {
  0: 'set',
  1: 'delete',
  2: 'append',
  3: 'subtract',
};

const topic = (name: string): AuditResource => ({ type: 'topic', name });
const group = (name: string): AuditResource => ({ type: 'group', name });
const cluster: AuditResource = { type: 'cluster', name: 'kafka-cluster' };

/** One action per partition of per-topic, per-partition results, grouped back by topic. */
function perTopic(
  topics: any[],
  partitionsOf: (topic: any) => any[],
  partitionIndexOf: (partition: any) => number,
  extra: Record<string, unknown> = {},
): AuditAction[] {
  return topics.flatMap((result) => {
    const partitions = partitionsOf(result) ?? [];
    const byCode = new Map<number, number[]>();
    for (const partition of partitions) {
      const list = byCode.get(partition.errorCode) ?? [];
      list.push(partitionIndexOf(partition));
      byCode.set(partition.errorCode, list);
    }
    return [...byCode].map(([errorCode, indexes]) => ({
      resource: topic(result.name ?? result.topic),
      errorCode,
      details: { partitions: indexes, ...extra },
    }));
  });
}

function configActions(request: any, response: any, incremental: boolean): AuditAction[] {
  return (response.responses as any[]).map((result) => {
    const asked = (request.resources as any[]).find(
      (resource) =>
        resource.resourceType === result.resourceType &&
        resource.resourceName === result.resourceName,
    );
    const configs = ((asked?.configs ?? []) as any[]).map(
      (config) =>
        [
          incremental
            ? `${config.name} (${CONFIG_OPERATIONS[config.configOperation] ?? config.configOperation})`
            : config.name,
          config.value,
        ] as const,
    );
    return {
      resource: {
        type: CONFIG_RESOURCE_TYPES[result.resourceType] ?? String(result.resourceType),
        name: result.resourceName,
      },
      errorCode: result.errorCode,
      details: {
        configs: maskSecretConfigs(configs),
        ...(incremental ? {} : { replaced: true }),
        ...(request.validateOnly === true ? { validateOnly: true } : {}),
      },
    };
  });
}

function aclDetails(binding: any): Record<string, unknown> {
  return {
    principal: binding.principal ?? binding.principalFilter,
    host: binding.host ?? binding.hostFilter,
    operation: binding.operation,
    permissionType: binding.permissionType,
    patternType: binding.resourcePatternType ?? binding.patternType ?? binding.patternTypeFilter,
  };
}

/** The admin APIs, by key. An API absent here is audited only when it is refused authorization. */
export const adminApis: ReadonlyMap<number, Describer> = new Map<number, Describer>([
  [
    ApiKey.CreateTopics,
    (request, response) =>
      (response.topics as any[]).map((result) => {
        const asked = (request.topics as any[]).find((candidate) => candidate.name === result.name);
        return {
          resource: topic(result.name),
          errorCode: result.errorCode,
          details: {
            partitions: result.numPartitions ?? asked?.numPartitions,
            replicationFactor: result.replicationFactor ?? asked?.replicationFactor,
            configs: maskSecretConfigs(
              ((asked?.configs ?? []) as any[]).map((config) => [config.name, config.value]),
            ),
            ...(request.validateOnly === true ? { validateOnly: true } : {}),
          },
        };
      }),
  ],
  [
    ApiKey.DeleteTopics,
    (_request, response) =>
      (response.responses as any[]).map((result) => ({
        resource: topic(
          result.name ?? (Buffer.isBuffer(result.topicId) ? result.topicId.toString('hex') : ''),
        ),
        errorCode: result.errorCode,
      })),
  ],
  [
    ApiKey.CreatePartitions,
    (request, response) =>
      (response.results as any[]).map((result) => ({
        resource: topic(result.name),
        errorCode: result.errorCode,
        details: {
          partitions: (request.topics as any[]).find((asked) => asked.name === result.name)?.count,
          ...(request.validateOnly === true ? { validateOnly: true } : {}),
        },
      })),
  ],
  [ApiKey.AlterConfigs, (request, response) => configActions(request, response, false)],
  [ApiKey.IncrementalAlterConfigs, (request, response) => configActions(request, response, true)],
  [
    ApiKey.AlterUserScramCredentials,
    (request, response) =>
      (response.results as any[]).map((result) => {
        const mechanisms = (changes: any[]): string[] =>
          changes
            .filter((change) => change.name === result.user)
            .map((change) => SCRAM_MECHANISMS[change.mechanism] ?? String(change.mechanism));
        return {
          resource: { type: 'user', name: result.user },
          errorCode: result.errorCode,
          // The mechanisms only: an upsertion's salt and salted password never leave the request.
          details: {
            upserted: mechanisms(request.upsertions ?? []),
            deleted: mechanisms(request.deletions ?? []),
          },
        };
      }),
  ],
  [
    ApiKey.AlterClientQuotas,
    (request, response) =>
      (response.entries as any[]).map((result) => {
        const entity = (result.entity as any[])
          .map((part) => `${part.entityType}=${part.entityName ?? '<default>'}`)
          .join(',');
        const asked = (request.entries as any[]).find(
          (candidate) =>
            (candidate.entity as any[])
              .map((part) => `${part.entityType}=${part.entityName ?? '<default>'}`)
              .join(',') === entity,
        );
        return {
          resource: { type: 'client-quota', name: entity },
          errorCode: result.errorCode,
          details: {
            quotas: Object.fromEntries(
              ((asked?.ops ?? []) as any[]).map((op) => [op.key, op.remove ? null : op.value]),
            ),
            ...(request.validateOnly === true ? { validateOnly: true } : {}),
          },
        };
      }),
  ],
  [
    ApiKey.DeleteGroups,
    (_request, response) =>
      (response.results as any[]).map((result) => ({
        resource: group(result.groupId),
        errorCode: result.errorCode,
      })),
  ],
  [
    ApiKey.OffsetDelete,
    (request, response) =>
      response.errorCode !== 0
        ? [{ resource: group(request.groupId), errorCode: response.errorCode }]
        : perTopic(
            response.topics,
            (result) => result.partitions,
            (partition) => partition.partitionIndex,
            { group: request.groupId },
          ),
  ],
  [
    // Offsets committed outside a group generation: what an offset reset (kafka-consumer-groups
    // --reset-offsets, AdminClient.alterConsumerGroupOffsets) sends. A consumer's own commits
    // (a member of a generation) are not admin actions.
    ApiKey.OffsetCommit,
    (request, response) =>
      request.generationIdOrMemberEpoch !== -1 || request.memberId !== ''
        ? []
        : perTopic(
            response.topics,
            (result) => result.partitions,
            (partition) => partition.partitionIndex,
            { group: request.groupId, reset: true },
          ),
  ],
  [
    // A share group's start offsets reset (kafka-share-groups --reset-offsets).
    ApiKey.AlterShareGroupOffsets,
    (request, response) =>
      response.errorCode !== 0
        ? [{ resource: group(request.groupId), errorCode: response.errorCode }]
        : (response.responses as any[]).flatMap((result) =>
            perTopic(
              [{ name: result.topicName, partitions: result.partitions }],
              (entry) => entry.partitions,
              (partition) => partition.partitionIndex,
              { group: request.groupId, reset: true },
            ),
          ),
  ],
  [
    ApiKey.DeleteShareGroupOffsets,
    (request, response) =>
      response.errorCode !== 0
        ? [{ resource: group(request.groupId), errorCode: response.errorCode }]
        : (response.responses as any[]).map((result) => ({
            resource: topic(result.topicName),
            errorCode: result.errorCode,
            details: { group: request.groupId },
          })),
  ],
  [
    ApiKey.DeleteRecords,
    (_request, response) =>
      perTopic(
        response.topics,
        (result) => result.partitions,
        (partition) => partition.partitionIndex,
      ),
  ],
  [
    ApiKey.AlterPartitionReassignments,
    (_request, response) =>
      response.errorCode !== 0
        ? [{ resource: cluster, errorCode: response.errorCode }]
        : perTopic(
            response.responses,
            (result) => result.partitions,
            (partition) => partition.partitionIndex,
          ),
  ],
  [
    ApiKey.ElectLeaders,
    (request, response) =>
      response.errorCode !== 0
        ? [{ resource: cluster, errorCode: response.errorCode }]
        : perTopic(
            response.replicaElectionResults,
            (result) => result.partitionResult,
            (partition) => partition.partitionId,
            { electionType: request.electionType === 1 ? 'unclean' : 'preferred' },
          ),
  ],
  [
    ApiKey.CreateAcls,
    (request, response) =>
      (response.results as any[]).map((result, index) => {
        const creation = (request.creations as any[])[index] ?? {};
        return {
          resource: {
            type: ACL_RESOURCE_TYPES[creation.resourceType] ?? String(creation.resourceType),
            name: creation.resourceName,
          },
          errorCode: result.errorCode,
          details: { acl: 'create', ...aclDetails(creation) },
        };
      }),
  ],
  [
    ApiKey.DeleteAcls,
    (request, response) =>
      (response.filterResults as any[]).flatMap((result, index) => {
        const filter = (request.filters as any[])[index] ?? {};
        if (result.errorCode !== 0 || (result.matchingAcls as any[]).length === 0) {
          return [
            {
              resource: {
                type: ACL_RESOURCE_TYPES[filter.resourceTypeFilter] ?? 'any',
                name: filter.resourceNameFilter ?? '*',
              },
              errorCode: result.errorCode,
              details: { acl: 'delete', matched: 0, ...aclDetails(filter) },
            },
          ];
        }
        return (result.matchingAcls as any[]).map((acl) => ({
          resource: {
            type: ACL_RESOURCE_TYPES[acl.resourceType] ?? String(acl.resourceType),
            name: acl.resourceName,
          },
          errorCode: acl.errorCode,
          details: { acl: 'delete', ...aclDetails(acl) },
        }));
      }),
  ],
]);
/* eslint-enable @typescript-eslint/no-explicit-any */

const authorizationFailures = [
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
] as const;
type AuthorizationFailure = (typeof authorizationFailures)[number];

function isAuthorizationFailure(code: unknown): code is AuthorizationFailure {
  return (authorizationFailures as readonly unknown[]).includes(code);
}

/** The *_AUTHORIZATION_FAILED codes anywhere in a response, each once. */
export function authorizationFailuresIn(response: object): Set<AuthorizationFailure> {
  const found = new Set<AuthorizationFailure>();
  // Responses nest topics > partitions > ...; a few levels reach every errorCode Kafka defines.
  const walk = (value: unknown, depth: number): void => {
    if (depth > 6 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, depth + 1);
      return;
    }
    for (const [key, field] of Object.entries(value)) {
      if (key === 'errorCode') {
        if (isAuthorizationFailure(field)) found.add(field);
      } else if (typeof field === 'object') {
        walk(field, depth + 1);
      }
    }
  };
  walk(response, 0);
  return found;
}
