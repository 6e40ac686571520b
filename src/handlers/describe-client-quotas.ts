// DescribeClientQuotas (API key 48): the configured quotas of every entity that matches a filter.
// Each filter component names an entity type and matches a name exactly (0), the type's default
// (1), or any entity that has the type at all (2); `strict` also requires the entity to have no
// other types. A malformed filter answers the whole request with Kafka's error and message.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ClientQuotas } from '../quota/client-quotas.js';
import { EntityType, type QuotaEntity, entityToWire } from '../quota/quota-entity.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_SPECIFIED = 2;

interface Filter {
  /** Types whose name must equal this (null: the default). */
  readonly exact: Map<string, string | null>;
  /** Types the entity must have, whatever the name. */
  readonly present: Set<string>;
  readonly strict: boolean;
}

export function createDescribeClientQuotasHandler(quotas: ClientQuotas) {
  return defineHandler(ApiKey.DescribeClientQuotas, {
    ...servedVersions[ApiKey.DescribeClientQuotas],

    handle(request) {
      const filter = filterOf(request.components, request.strict);
      if (typeof filter === 'object' && 'errorCode' in filter) {
        return { throttleTimeMs: 0, ...filter, entries: null };
      }
      const entries = quotas
        .entries()
        .filter(({ entity }) => matches(entity, filter))
        .map(({ entity, values }) => ({
          entity: entityToWire(entity),
          values: [...values].map(([key, value]) => ({ key, value })),
        }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
    },

    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, errorMessage: null, entries: null };
    },
  });
}

/** The filter a request's components describe, or the error Kafka answers for them. */
function filterOf(
  components: ReadonlyArray<{ entityType: string; matchType: number; match: string | null }>,
  strict: boolean,
): Filter | { errorCode: number; errorMessage: string } {
  const invalid = (errorMessage: string) => ({
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage,
  });
  const unsupported = (errorMessage: string) => ({
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    errorMessage,
  });
  const filter: Filter = { exact: new Map(), present: new Set(), strict };
  for (const { entityType, matchType, match } of components) {
    if (entityType === '') return invalid('Invalid empty entity type.');
    if (filter.exact.has(entityType) || filter.present.has(entityType)) {
      return invalid(`Entity type ${entityType} cannot appear more than once in the filter.`);
    }
    if (
      entityType !== EntityType.USER &&
      entityType !== EntityType.CLIENT_ID &&
      entityType !== EntityType.IP
    ) {
      return unsupported(`Unsupported entity type ${entityType}`);
    }
    if (matchType === MATCH_EXACT) {
      if (match === null) {
        return invalid('Request specified MATCH_TYPE_EXACT, but set match string to null.');
      }
      filter.exact.set(entityType, match);
    } else if (matchType === MATCH_DEFAULT) {
      if (match !== null) {
        return invalid('Request specified MATCH_TYPE_DEFAULT, but also specified a match string.');
      }
      filter.exact.set(entityType, null);
    } else if (matchType === MATCH_SPECIFIED) {
      if (match !== null) {
        return invalid(
          'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.',
        );
      }
      filter.present.add(entityType);
    } else {
      return unsupported(`Unknown match type ${matchType}`);
    }
  }
  const hasType = (type: string) => filter.exact.has(type) || filter.present.has(type);
  if (hasType(EntityType.IP) && (hasType(EntityType.USER) || hasType(EntityType.CLIENT_ID))) {
    return invalid(
      'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.',
    );
  }
  return filter;
}

function matches(entity: QuotaEntity, filter: Filter): boolean {
  if (filter.strict && entity.size !== filter.exact.size + filter.present.size) return false;
  for (const [type, name] of filter.exact) {
    if (!entity.has(type as EntityType) || entity.get(type as EntityType) !== name) return false;
  }
  for (const type of filter.present) if (!entity.has(type as EntityType)) return false;
  return true;
}
