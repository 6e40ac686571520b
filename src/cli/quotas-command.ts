// `brook quotas`: client quotas of a running broker (--bootstrap-server), in the vocabulary of
// Kafka's kafka-configs.sh (--entity-type users|clients, --entity-name, --entity-default,
// --add-config producer_byte_rate=1024), over AlterClientQuotas and DescribeClientQuotas.

import type { AdminClient } from '../client/admin-client.js';
import {
  type CommonArguments,
  type ParseOptions,
  configPairs,
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

export const quotasUsage = `usage: brook quotas <command> [options]
  describe [--entity-type users|clients [--entity-name N | --entity-default]] ...
                                                 the quotas set (no entity: all of them)
  alter --entity-type users|clients (--entity-name N | --entity-default) ...
        [--add-config K=V[,K=V]] [--delete-config K[,K]]
                                                 set or remove quotas of one entity; users and
                                                 clients together name a user's client id
Keys: producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate
(and connection_creation_rate with --entity-type ips).
${commonOptionsUsage}`;

type Entity = Array<{ entityType: string; entityName: string | null }>;

/** One type in a describe filter: a name, the default (null), or any entity of the type. */
interface FilterComponent {
  readonly entityType: string;
  readonly match: string | null | 'any';
}

type QuotasArguments =
  | { readonly command: 'help' }
  | (CommonArguments &
      (
        | { readonly command: 'describe'; readonly filter: readonly FilterComponent[] }
        | {
            readonly command: 'alter';
            readonly entity: Entity;
            readonly changes: ReadonlyMap<string, number | null>;
          }
      ));

const quotasOptions = {
  'entity-type': { type: 'string', multiple: true },
  'entity-name': { type: 'string', multiple: true },
  'entity-default': { type: 'boolean' },
  'add-config': { type: 'string', multiple: true },
  'delete-config': { type: 'string', multiple: true },
} as const satisfies ParseOptions;

const quotasCommandOptions: Record<string, readonly (keyof typeof quotasOptions)[]> = {
  describe: ['entity-type', 'entity-name', 'entity-default'],
  alter: ['entity-type', 'entity-name', 'entity-default', 'add-config', 'delete-config'],
};

const entityTypes: ReadonlyMap<string, string> = new Map([
  ['users', 'user'],
  ['clients', 'client-id'],
  ['ips', 'ip'],
]);

/**
 * The entity the flags name: each --entity-type takes the --entity-name in the same position;
 * with --entity-default, the last type without a name is that type's default.
 */
function entityOf(types: readonly string[], names: readonly string[], byDefault: boolean): Entity {
  const expectedNames = byDefault ? types.length - 1 : types.length;
  if (names.length !== expectedNames) {
    throw usageError(
      `${types.length} --entity-type need ${expectedNames} --entity-name${byDefault ? ' besides --entity-default' : ''}, got ${names.length}`,
    );
  }
  return types.map((type, index) => {
    const entityType = entityTypes.get(type);
    if (entityType === undefined) {
      throw usageError(`--entity-type ${type}: expected users, clients or ips`);
    }
    return { entityType, entityName: index < names.length ? names[index] : null };
  });
}

export function parseQuotasArguments(argv: readonly string[]): QuotasArguments {
  const parsed = parseAdminCommandLine(argv, quotasOptions, quotasCommandOptions);
  if (parsed === null) return { command: 'help' };
  const { command, values, common } = parsed;
  const types = strings(values, 'entity-type');
  const names = strings(values, 'entity-name');
  const byDefault = values['entity-default'] === true;
  if (command === 'describe') {
    if (types.length === 0 && (names.length > 0 || byDefault)) {
      throw usageError('--entity-name and --entity-default need an --entity-type');
    }
    // Types given without a name or --entity-default match any entity of that type.
    const filter: FilterComponent[] =
      names.length === 0 && !byDefault
        ? types.map((type) => ({
            entityType: entityOf([type], [type], false)[0].entityType,
            match: 'any',
          }))
        : entityOf(types, names, byDefault).map(({ entityType, entityName }) => ({
            entityType,
            match: entityName,
          }));
    return { ...common, command, filter };
  }
  if (types.length === 0) throw usageError('alter needs --entity-type');
  const entity = entityOf(types, names, byDefault);
  const changes = new Map<string, number | null>();
  const added = configPairs(
    strings(values, 'add-config').flatMap((item) => item.split(',')),
    'add-config',
  );
  for (const [key, text] of added) {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      throw usageError(`--add-config ${key}=${text}: a quota is a number`);
    }
    changes.set(key, value);
  }
  for (const key of strings(values, 'delete-config').flatMap((item) => item.split(','))) {
    if (changes.has(key)) throw usageError(`${key} is both added and deleted`);
    changes.set(key, null);
  }
  if (changes.size === 0) throw usageError('alter needs --add-config or --delete-config');
  return { ...common, command: 'alter', entity, changes };
}

function entityText(entity: Entity): string {
  return entity
    .map(({ entityType, entityName }) => `${entityType}=${entityName ?? '<default>'}`)
    .join(',');
}

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_SPECIFIED = 2;

const quotasCommand: AdminCommand<Exclude<QuotasArguments, { command: 'help' }>> = {
  name: 'quotas',
  usage: quotasUsage,
  parse: parseQuotasArguments,
  async run(client: AdminClient, request, output: AdminCommandOutput) {
    if (request.command === 'alter') {
      await client.alterClientQuotas(request.entity, request.changes);
      output.out(`altered the quotas of ${entityText(request.entity)}`);
      return;
    }
    const components = request.filter.map(({ entityType, match }) => ({
      entityType,
      matchType: match === 'any' ? MATCH_SPECIFIED : match === null ? MATCH_DEFAULT : MATCH_EXACT,
      match: match === 'any' ? null : match,
    }));
    const entries = await client.describeClientQuotas(components, false);
    if (request.output === 'json') {
      output.out(
        toJson(
          entries.map((entry) => ({
            entity: Object.fromEntries(
              entry.entity.map(({ entityType, entityName }) => [entityType, entityName]),
            ),
            quotas: Object.fromEntries(entry.values.map(({ key, value }) => [key, value])),
          })),
        ),
      );
      return;
    }
    output.out(
      table([
        ['ENTITY', 'QUOTA', 'VALUE'],
        ...entries.flatMap((entry) =>
          entry.values.map(({ key, value }) => [entityText(entry.entity), key, String(value)]),
        ),
      ]),
    );
  },
};

export const runQuotasCommand = adminCommandRunner(quotasCommand);
