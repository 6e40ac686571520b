// Client quota entities and keys as Kafka defines them: an entity is a user, a client id, a user
// and a client id together, or an IP address, each name either given or `<default>` (null on the
// wire); a quota is a key from a fixed list with a number. The validation messages and codes are
// Kafka's (its ClientQuotaControlManager), since admin tools show them as they are.

import { ErrorCode } from '../protocol/errors.js';

export const EntityType = { USER: 'user', CLIENT_ID: 'client-id', IP: 'ip' } as const;
export type EntityType = (typeof EntityType)[keyof typeof EntityType];

/** One quota entity: each of its types with a name, or null for that type's default. */
export type QuotaEntity = ReadonlyMap<EntityType, string | null>;

export const QuotaKey = {
  PRODUCER_BYTE_RATE: 'producer_byte_rate',
  CONSUMER_BYTE_RATE: 'consumer_byte_rate',
  REQUEST_PERCENTAGE: 'request_percentage',
  CONTROLLER_MUTATION_RATE: 'controller_mutation_rate',
  CONNECTION_CREATION_RATE: 'connection_creation_rate',
} as const;
export type QuotaKey = (typeof QuotaKey)[keyof typeof QuotaKey];

/** The keys a user or client-id entity takes, and whether each must be a whole number. */
const clientKeys: ReadonlyMap<string, 'integral' | 'fractional'> = new Map([
  [QuotaKey.PRODUCER_BYTE_RATE, 'integral'],
  [QuotaKey.CONSUMER_BYTE_RATE, 'integral'],
  [QuotaKey.REQUEST_PERCENTAGE, 'fractional'],
  [QuotaKey.CONTROLLER_MUTATION_RATE, 'fractional'],
]);
const ipKeys: ReadonlyMap<string, 'integral' | 'fractional'> = new Map([
  [QuotaKey.CONNECTION_CREATION_RATE, 'integral'],
]);

/** A refusal to answer with: Kafka's error code and its message. */
export interface QuotaRefusal {
  readonly errorCode: number;
  readonly message: string;
}

const invalid = (message: string): QuotaRefusal => ({
  errorCode: ErrorCode.INVALID_REQUEST,
  message,
});

/** An entity as the wire carries it, checked; a refusal when Kafka would refuse it. */
export function entityFromWire(
  components: ReadonlyArray<{ entityType: string; entityName: string | null }>,
): QuotaEntity | QuotaRefusal {
  if (components.length === 0) return invalid('Invalid empty client quota entity');
  const entity = new Map<EntityType, string | null>();
  for (const { entityType, entityName } of components) {
    if (entity.has(entityType as EntityType)) {
      return invalid(`Invalid empty client quota entity, duplicate entity entry ${entityType}`);
    }
    if (
      entityType !== EntityType.USER &&
      entityType !== EntityType.CLIENT_ID &&
      entityType !== EntityType.IP
    ) {
      return invalid(`Unhandled client quota entity type: ${entityType}`);
    }
    if (entityType === EntityType.IP && entityName !== null && !isIpAddress(entityName)) {
      return invalid(`Invalid IP address in client quota entity: ${entityName}`);
    }
    if (entityName !== null && entityName.length === 0) {
      return invalid(`Empty ${entityType} not supported`);
    }
    entity.set(entityType, entityName);
  }
  if (entity.has(EntityType.IP) && entity.size > 1) {
    return invalid(
      'Invalid entity type combination: ip quota cannot be combined with user or client-id quotas',
    );
  }
  return entity;
}

export function isRefusal(value: unknown): value is QuotaRefusal {
  return typeof value === 'object' && value !== null && 'errorCode' in value;
}

/** Checks one value set on an entity (Kafka's validateQuotaKeyValue). */
export function checkQuotaValue(
  entity: QuotaEntity,
  key: string,
  value: number,
): QuotaRefusal | null {
  const kind = (entity.has(EntityType.IP) ? ipKeys : clientKeys).get(key);
  if (kind === undefined) return invalid(`Invalid configuration key ${key}`);
  if (!(value > 0)) return invalid(`Quota ${key} must be greater than 0`);
  if (kind === 'integral') {
    if (value > Number.MAX_SAFE_INTEGER) {
      return invalid(`Proposed value for ${key} is too large for a LONG.`);
    }
    if (Math.abs(value % 1) > 1e-6) return invalid(`${key} cannot be a fractional value.`);
  }
  return null;
}

/** A stable text form of an entity, for map keys and the stored document. */
export function entityKey(entity: QuotaEntity): string {
  return JSON.stringify([...entity.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function entityFromKey(key: string): QuotaEntity {
  return new Map(JSON.parse(key) as Array<[EntityType, string | null]>);
}

/** The wire form of an entity: user first, then client-id, as Kafka lists them. */
export function entityToWire(
  entity: QuotaEntity,
): Array<{ entityType: string; entityName: string | null }> {
  const order: EntityType[] = [EntityType.USER, EntityType.CLIENT_ID, EntityType.IP];
  return order
    .filter((type) => entity.has(type))
    .map((type) => ({ entityType: type, entityName: entity.get(type)! }));
}

function isIpAddress(text: string): boolean {
  return (
    /^(\d{1,3}\.){3}\d{1,3}$/.test(text) || (text.includes(':') && /^[0-9a-f:.]+$/i.test(text))
  );
}
