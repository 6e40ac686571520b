// Kafka's ACL model, as data: resource types, pattern types, operations and permissions with the
// numbers CreateAcls, DescribeAcls and DeleteAcls carry on the wire, an ACL binding (a resource
// pattern plus an access control entry), and the filters DescribeAcls and DeleteAcls match
// bindings with. The authorizer (authorizer.ts) indexes bindings; this file only describes them.

/** Kafka's ResourceType codes. ANY appears only in filters. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;
export type ResourceType = (typeof ResourceType)[keyof typeof ResourceType];

/** Kafka's PatternType codes. ANY and MATCH appear only in filters. */
export const PatternType = {
  UNKNOWN: 0,
  ANY: 1,
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const;
export type PatternType = (typeof PatternType)[keyof typeof PatternType];

/** Kafka's AclOperation codes. ANY appears only in filters. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;
export type AclOperation = (typeof AclOperation)[keyof typeof AclOperation];

/** Kafka's AclPermissionType codes. ANY appears only in filters. */
export const AclPermissionType = {
  UNKNOWN: 0,
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const;
export type AclPermissionType = (typeof AclPermissionType)[keyof typeof AclPermissionType];

/** The one name a Cluster resource has, in Kafka and here. */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';
/** A literal resource name that matches every resource of its type. */
export const WILDCARD_RESOURCE = '*';
/** A principal that matches every principal, ANONYMOUS included. */
export const WILDCARD_PRINCIPAL = 'User:*';
/** A host that matches every client address. */
export const WILDCARD_HOST = '*';

/** One ACL: who (principal, host) may or may not (permission) do what (operation) to which resources. */
export interface AclBinding {
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly patternType: PatternType;
  readonly principal: string;
  readonly host: string;
  readonly operation: AclOperation;
  readonly permissionType: AclPermissionType;
}

/** What DescribeAcls and DeleteAcls match bindings with; null names and ANY codes match anything. */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

// Kafka's names, as kafka-acls prints and accepts them (case-insensitive on input).
const resourceTypeNames: Readonly<Record<number, string>> = {
  [ResourceType.UNKNOWN]: 'Unknown',
  [ResourceType.ANY]: 'Any',
  [ResourceType.TOPIC]: 'Topic',
  [ResourceType.GROUP]: 'Group',
  [ResourceType.CLUSTER]: 'Cluster',
  [ResourceType.TRANSACTIONAL_ID]: 'TransactionalId',
  [ResourceType.DELEGATION_TOKEN]: 'DelegationToken',
  [ResourceType.USER]: 'User',
};
const patternTypeNames: Readonly<Record<number, string>> = {
  [PatternType.UNKNOWN]: 'UNKNOWN',
  [PatternType.ANY]: 'ANY',
  [PatternType.MATCH]: 'MATCH',
  [PatternType.LITERAL]: 'LITERAL',
  [PatternType.PREFIXED]: 'PREFIXED',
};
const operationNames: Readonly<Record<number, string>> = {
  [AclOperation.UNKNOWN]: 'Unknown',
  [AclOperation.ANY]: 'Any',
  [AclOperation.ALL]: 'All',
  [AclOperation.READ]: 'Read',
  [AclOperation.WRITE]: 'Write',
  [AclOperation.CREATE]: 'Create',
  [AclOperation.DELETE]: 'Delete',
  [AclOperation.ALTER]: 'Alter',
  [AclOperation.DESCRIBE]: 'Describe',
  [AclOperation.CLUSTER_ACTION]: 'ClusterAction',
  [AclOperation.DESCRIBE_CONFIGS]: 'DescribeConfigs',
  [AclOperation.ALTER_CONFIGS]: 'AlterConfigs',
  [AclOperation.IDEMPOTENT_WRITE]: 'IdempotentWrite',
  [AclOperation.CREATE_TOKENS]: 'CreateTokens',
  [AclOperation.DESCRIBE_TOKENS]: 'DescribeTokens',
  [AclOperation.TWO_PHASE_COMMIT]: 'TwoPhaseCommit',
};
const permissionTypeNames: Readonly<Record<number, string>> = {
  [AclPermissionType.UNKNOWN]: 'Unknown',
  [AclPermissionType.ANY]: 'Any',
  [AclPermissionType.DENY]: 'Deny',
  [AclPermissionType.ALLOW]: 'Allow',
};

export function resourceTypeName(code: number): string {
  return resourceTypeNames[code] ?? `Unknown(${code})`;
}
export function patternTypeName(code: number): string {
  return patternTypeNames[code] ?? `UNKNOWN(${code})`;
}
export function operationName(code: number): string {
  return operationNames[code] ?? `Unknown(${code})`;
}
export function permissionTypeName(code: number): string {
  return permissionTypeNames[code] ?? `Unknown(${code})`;
}

function codeByName(names: Readonly<Record<number, string>>, name: string): number | undefined {
  const wanted = name.replaceAll('_', '').replaceAll('-', '').toLowerCase();
  for (const [code, candidate] of Object.entries(names)) {
    if (candidate.toLowerCase() === wanted) return Number(code);
  }
  return undefined;
}

/** `Read`, `read`, `READ`, `cluster_action`: the operation's code, or undefined. */
export function operationByName(name: string): AclOperation | undefined {
  return codeByName(operationNames, name) as AclOperation | undefined;
}
/** `literal`, `PREFIXED`, `match`, `any`: the pattern type's code, or undefined. */
export function patternTypeByName(name: string): PatternType | undefined {
  return codeByName(patternTypeNames, name) as PatternType | undefined;
}

/** Operations an ALLOW on a resource of this type can grant: the rest are refused by CreateAcls. */
const operationsByResourceType: ReadonlyMap<number, readonly AclOperation[]> = new Map([
  [
    ResourceType.TOPIC,
    [
      AclOperation.READ,
      AclOperation.WRITE,
      AclOperation.CREATE,
      AclOperation.DELETE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
    ],
  ],
  [ResourceType.GROUP, [AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE]],
  [
    ResourceType.CLUSTER,
    [
      AclOperation.CREATE,
      AclOperation.CLUSTER_ACTION,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
      AclOperation.IDEMPOTENT_WRITE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE,
    ],
  ],
  [
    ResourceType.TRANSACTIONAL_ID,
    [AclOperation.DESCRIBE, AclOperation.WRITE, AclOperation.TWO_PHASE_COMMIT],
  ],
  [ResourceType.DELEGATION_TOKEN, [AclOperation.DESCRIBE]],
  [ResourceType.USER, [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS]],
]);

/** The operations a resource type supports (Kafka's authorized-operations set), All excluded. */
export function supportedOperations(resourceType: number): readonly AclOperation[] {
  return operationsByResourceType.get(resourceType) ?? [];
}

/**
 * Kafka's "authorized operations were not requested" marker in Metadata, DescribeCluster and
 * DescribeGroups responses (the int32 minimum).
 */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** `operations` as the authorized-operations bit field those responses carry: bit n = code n. */
export function authorizedOperationsBits(operations: Iterable<AclOperation>): number {
  let bits = 0;
  for (const operation of operations) bits |= 1 << operation;
  return bits;
}

/**
 * What Kafka answers as a resource's authorized operations when no authorizer runs: every
 * operation the resource type supports.
 */
export function allAuthorizedOperations(resourceType: ResourceType): number {
  return authorizedOperationsBits(supportedOperations(resourceType));
}

/**
 * Why a binding cannot be stored, or null when it can: what CreateAcls answers INVALID_REQUEST
 * with. A binding must be concrete (no ANY, MATCH or UNKNOWN), name a principal as `Type:name`,
 * and a Cluster binding must name `kafka-cluster`.
 */
export function invalidBindingReason(binding: AclBinding): string | null {
  const { resourceType, resourceName, patternType, principal, host, operation, permissionType } =
    binding;
  if (!operationsByResourceType.has(resourceType)) {
    return `resource type ${resourceTypeName(resourceType)} cannot carry ACLs`;
  }
  if (patternType !== PatternType.LITERAL && patternType !== PatternType.PREFIXED) {
    return `pattern type ${patternTypeName(patternType)} is for filters; an ACL is LITERAL or PREFIXED`;
  }
  if (resourceName === '') return 'the resource name is empty';
  if (resourceType === ResourceType.CLUSTER && resourceName !== CLUSTER_RESOURCE_NAME) {
    return `the cluster resource is named ${CLUSTER_RESOURCE_NAME}, not ${resourceName}`;
  }
  if (patternType === PatternType.PREFIXED && resourceName === WILDCARD_RESOURCE) {
    return 'a PREFIXED ACL cannot use the wildcard name "*"; use LITERAL "*"';
  }
  const colon = principal.indexOf(':');
  if (colon <= 0 || colon === principal.length - 1) {
    return `principal ${JSON.stringify(principal)} is not of the form Type:name (User:alice)`;
  }
  if (host === '') return 'the host is empty; use "*" for every host';
  if (
    operation === AclOperation.ANY ||
    operation === AclOperation.UNKNOWN ||
    operationNames[operation] === undefined
  ) {
    return `operation ${operationName(operation)} is for filters; an ACL names one operation or All`;
  }
  if (permissionType !== AclPermissionType.ALLOW && permissionType !== AclPermissionType.DENY) {
    return `permission ${permissionTypeName(permissionType)} is for filters; an ACL is Allow or Deny`;
  }
  return null;
}

/** Why a filter can match nothing meaningful, or null: UNKNOWN codes are refused, as Kafka does. */
export function invalidFilterReason(filter: AclBindingFilter): string | null {
  if (
    filter.resourceType === ResourceType.UNKNOWN ||
    resourceTypeNames[filter.resourceType] === undefined
  ) {
    return `resource type ${resourceTypeName(filter.resourceType)} is not a filter`;
  }
  if (
    filter.patternType === PatternType.UNKNOWN ||
    patternTypeNames[filter.patternType] === undefined
  ) {
    return `pattern type ${patternTypeName(filter.patternType)} is not a filter`;
  }
  if (filter.operation === AclOperation.UNKNOWN || operationNames[filter.operation] === undefined) {
    return `operation ${operationName(filter.operation)} is not a filter`;
  }
  if (
    filter.permissionType === AclPermissionType.UNKNOWN ||
    permissionTypeNames[filter.permissionType] === undefined
  ) {
    return `permission ${permissionTypeName(filter.permissionType)} is not a filter`;
  }
  return null;
}

/**
 * Whether `binding` matches `filter`, as Kafka's AclBindingFilter does. A MATCH filter with a name
 * matches every binding that would apply to a resource of that name: the literal name, the
 * literal wildcard, and every prefix of it; without a name it matches like ANY.
 */
export function bindingMatchesFilter(binding: AclBinding, filter: AclBindingFilter): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) {
    return false;
  }
  if (!patternMatchesFilter(binding, filter)) return false;
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  if (
    filter.permissionType !== AclPermissionType.ANY &&
    filter.permissionType !== binding.permissionType
  ) {
    return false;
  }
  return true;
}

function patternMatchesFilter(binding: AclBinding, filter: AclBindingFilter): boolean {
  const name = filter.resourceName;
  switch (filter.patternType) {
    case PatternType.ANY:
      return name === null || name === binding.resourceName;
    case PatternType.MATCH:
      if (name === null) return true;
      if (binding.patternType === PatternType.LITERAL) {
        return binding.resourceName === name || binding.resourceName === WILDCARD_RESOURCE;
      }
      return name.startsWith(binding.resourceName);
    default:
      return (
        filter.patternType === binding.patternType &&
        (name === null || name === binding.resourceName)
      );
  }
}

/** One line for logs and the CLI: `User:alice has Allow permission for operations: Read from hosts: *`. */
export function describeBinding(binding: AclBinding): string {
  return (
    `(principal=${binding.principal}, host=${binding.host}, operation=${operationName(binding.operation)}, ` +
    `permissionType=${permissionTypeName(binding.permissionType)}) on ` +
    `ResourcePattern(resourceType=${resourceTypeName(binding.resourceType)}, name=${binding.resourceName}, ` +
    `patternType=${patternTypeName(binding.patternType)})`
  );
}

/** A stable key for one binding: the same ACL created twice is stored once. */
export function bindingKey(binding: AclBinding): string {
  return JSON.stringify([
    binding.resourceType,
    binding.patternType,
    binding.resourceName,
    binding.principal,
    binding.host,
    binding.operation,
    binding.permissionType,
  ]);
}
