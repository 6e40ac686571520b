// `brook acls`: ACLs of a running broker (--bootstrap-server, --command-config) in the vocabulary
// of Kafka's kafka-acls.sh: add, remove and list over CreateAcls, DeleteAcls and DescribeAcls.

import type { AdminClient } from '../client/admin-client.js';
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermissionType,
  CLUSTER_RESOURCE_NAME,
  PatternType,
  ResourceType,
  operationByName,
  operationName,
  patternTypeByName,
  patternTypeName,
  permissionTypeName,
  resourceTypeName,
} from '../security/acl.js';
import {
  type CommonArguments,
  type ParseOptions,
  type commonArguments,
  parseAdminCommandLine,
  strings,
  usageError,
} from './admin-arguments.js';
import {
  type AdminCommand,
  type AdminCommandOutput,
  adminCommandRunner,
  commonOptionsUsage,
  table,
  toJson,
} from './admin-command.js';

export const aclsUsage = `usage: brook acls <command> [options]
  add     (--allow-principal P | --deny-principal P)... --operation OP... RESOURCE
          [--allow-host H]... [--deny-host H]... [--resource-pattern-type literal|prefixed]
                                                 create ACLs (hosts default to *)
  remove  [--allow-principal P | --deny-principal P]... [--operation OP]... [RESOURCE]
          [--resource-pattern-type literal|prefixed|match|any]
                                                 delete the ACLs matching the filter
  list    [RESOURCE] [--principal P] [--resource-pattern-type literal|prefixed|match|any]
                                                 the ACLs matching the filter (default: all)
RESOURCE: --topic T | --group G | --transactional-id ID | --cluster
OP: All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs,
    AlterConfigs, IdempotentWrite
${commonOptionsUsage}`;

type AclsArguments =
  | { readonly command: 'help' }
  | (CommonArguments &
      (
        | { readonly command: 'add'; readonly bindings: readonly AclBinding[] }
        | { readonly command: 'remove'; readonly filters: readonly AclBindingFilter[] }
        | { readonly command: 'list'; readonly filter: AclBindingFilter }
      ));

const aclsOptions = {
  'allow-principal': { type: 'string', multiple: true },
  'deny-principal': { type: 'string', multiple: true },
  principal: { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  'deny-host': { type: 'string', multiple: true },
  operation: { type: 'string', multiple: true },
  topic: { type: 'string' },
  group: { type: 'string' },
  'transactional-id': { type: 'string' },
  cluster: { type: 'boolean' },
  'resource-pattern-type': { type: 'string' },
} as const satisfies ParseOptions;

const resourceOptions = ['topic', 'group', 'transactional-id', 'cluster'] as const;
const aclsCommandOptions: Record<string, readonly (keyof typeof aclsOptions)[]> = {
  add: [
    'allow-principal',
    'deny-principal',
    'allow-host',
    'deny-host',
    'operation',
    'resource-pattern-type',
    ...resourceOptions,
  ],
  remove: [
    'allow-principal',
    'deny-principal',
    'allow-host',
    'deny-host',
    'operation',
    'resource-pattern-type',
    ...resourceOptions,
  ],
  list: ['principal', 'resource-pattern-type', ...resourceOptions],
};

type Values = Parameters<typeof commonArguments>[0];

/** The one resource the flags name, or null for none. */
function resourceOf(values: Values): { resourceType: ResourceType; resourceName: string } | null {
  const named: { resourceType: ResourceType; resourceName: string }[] = [];
  if (values.topic !== undefined) {
    named.push({ resourceType: ResourceType.TOPIC, resourceName: values.topic as string });
  }
  if (values.group !== undefined) {
    named.push({ resourceType: ResourceType.GROUP, resourceName: values.group as string });
  }
  if (values['transactional-id'] !== undefined) {
    named.push({
      resourceType: ResourceType.TRANSACTIONAL_ID,
      resourceName: values['transactional-id'] as string,
    });
  }
  if (values.cluster === true) {
    named.push({ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_RESOURCE_NAME });
  }
  if (named.length > 1) {
    throw usageError('name one resource: --topic, --group, --transactional-id or --cluster');
  }
  return named[0] ?? null;
}

function patternTypeOf(values: Values, filter: boolean): PatternType {
  const text = values['resource-pattern-type'] as string | undefined;
  if (text === undefined) return filter ? PatternType.ANY : PatternType.LITERAL;
  const patternType = patternTypeByName(text);
  const allowed: readonly PatternType[] = filter
    ? [PatternType.LITERAL, PatternType.PREFIXED, PatternType.MATCH, PatternType.ANY]
    : [PatternType.LITERAL, PatternType.PREFIXED];
  if (patternType === undefined || !allowed.includes(patternType)) {
    throw usageError(
      `--resource-pattern-type ${text}: expected ${allowed.map((code) => patternTypeName(code).toLowerCase()).join(', ')}`,
    );
  }
  return patternType;
}

function operationsOf(values: Values): AclOperation[] {
  return strings(values, 'operation').map((text) => {
    const operation = operationByName(text);
    if (
      operation === undefined ||
      operation === AclOperation.ANY ||
      operation === AclOperation.UNKNOWN
    ) {
      throw usageError(`--operation ${text}: not one of Kafka's operations (Read, Write, ...)`);
    }
    return operation;
  });
}

/** (principal, permission, host) triples: each principal with each host of its kind. */
function entriesOf(
  values: Values,
  defaultHost: string | null,
): { principal: string; permissionType: AclPermissionType; host: string | null }[] {
  const entries = [];
  for (const [principals, hosts, permissionType] of [
    [strings(values, 'allow-principal'), strings(values, 'allow-host'), AclPermissionType.ALLOW],
    [strings(values, 'deny-principal'), strings(values, 'deny-host'), AclPermissionType.DENY],
  ] as const) {
    for (const principal of principals) {
      if (!/^[^:]+:.+$/.test(principal)) {
        throw usageError(`principal ${principal}: expected Type:name, e.g. User:alice`);
      }
      for (const host of hosts.length === 0 ? [defaultHost] : hosts) {
        entries.push({ principal, permissionType, host });
      }
    }
  }
  return entries;
}

export function parseAclsArguments(argv: readonly string[]): AclsArguments {
  const parsed = parseAdminCommandLine(argv, aclsOptions, aclsCommandOptions);
  if (parsed === null) return { command: 'help' };
  const { command, values, common } = parsed;
  const resource = resourceOf(values);
  if (command === 'add') {
    if (resource === null)
      throw usageError('add needs --topic, --group, --transactional-id or --cluster');
    const entries = entriesOf(values, '*');
    if (entries.length === 0) throw usageError('add needs --allow-principal or --deny-principal');
    const operations = operationsOf(values);
    if (operations.length === 0) throw usageError('add needs --operation');
    const patternType = patternTypeOf(values, false);
    const bindings = entries.flatMap((entry) =>
      operations.map((operation) => ({
        ...resource,
        patternType,
        principal: entry.principal,
        host: entry.host ?? '*',
        operation,
        permissionType: entry.permissionType,
      })),
    );
    return { ...common, command, bindings };
  }
  const base: AclBindingFilter = {
    resourceType: resource?.resourceType ?? ResourceType.ANY,
    resourceName: resource?.resourceName ?? null,
    patternType: patternTypeOf(values, true),
    principal: null,
    host: null,
    operation: AclOperation.ANY,
    permissionType: AclPermissionType.ANY,
  };
  if (command === 'list') {
    return {
      ...common,
      command,
      filter: { ...base, principal: (values.principal as string | undefined) ?? null },
    };
  }
  const entries = entriesOf(values, null);
  const operations = operationsOf(values);
  if (resource === null && entries.length === 0) {
    throw usageError('remove needs a resource or a principal (it never removes every ACL unasked)');
  }
  const byEntry: Partial<AclBindingFilter>[] =
    entries.length === 0 ? [{}] : entries.map((entry) => ({ ...entry }));
  const byOperation: Partial<AclBindingFilter>[] =
    operations.length === 0 ? [{}] : operations.map((operation) => ({ operation }));
  const filters = byEntry.flatMap((entry) =>
    byOperation.map((operation) => ({ ...base, ...entry, ...operation }) as AclBindingFilter),
  );
  return { ...common, command: 'remove', filters };
}

function bindingRow(binding: AclBinding): string[] {
  return [
    resourceTypeName(binding.resourceType),
    binding.resourceName,
    patternTypeName(binding.patternType),
    binding.principal,
    binding.host,
    operationName(binding.operation),
    permissionTypeName(binding.permissionType),
  ];
}

function bindingJson(binding: AclBinding): Record<string, string> {
  const [resourceType, resourceName, patternType, principal, host, operation, permissionType] =
    bindingRow(binding);
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType };
}

const header = ['RESOURCE TYPE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'];

const aclsCommand: AdminCommand<Exclude<AclsArguments, { command: 'help' }>> = {
  name: 'acls',
  usage: aclsUsage,
  parse: parseAclsArguments,
  async run(client: AdminClient, request, output: AdminCommandOutput) {
    const print = (bindings: readonly AclBinding[]) =>
      output.out(
        request.output === 'json'
          ? toJson(bindings.map(bindingJson))
          : table([header, ...bindings.map(bindingRow)]),
      );
    if (request.command === 'add') {
      await client.createAcls(request.bindings);
      print(request.bindings);
      return;
    }
    if (request.command === 'remove') {
      print(await client.deleteAcls(request.filters));
      return;
    }
    print(await client.describeAcls(request.filter));
  },
};

export const runAclsCommand = adminCommandRunner(aclsCommand);
