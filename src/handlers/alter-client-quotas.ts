// AlterClientQuotas (API key 49): sets and removes client quotas. Each entry (one entity and its
// changes) is checked on its own, with Kafka's messages, and answered on its own: one bad entry
// leaves the others applied. Within an entry a later change to the same key wins, as in Kafka.
// validate_only checks without applying.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ClientQuotas, QuotaChange } from '../quota/client-quotas.js';
import {
  type QuotaEntity,
  checkQuotaValue,
  entityFromWire,
  isRefusal,
} from '../quota/quota-entity.js';
import { errorMessageOf, kafkaErrorCodeOf } from './shared/errors.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createAlterClientQuotasHandler(quotas: ClientQuotas) {
  return defineHandler(ApiKey.AlterClientQuotas, {
    ...servedVersions[ApiKey.AlterClientQuotas],

    async handle(request) {
      const accepted: Array<{ entity: QuotaEntity; changes: QuotaChange[] }> = [];
      const results = request.entries.map((entry) => {
        const result = {
          errorCode: ErrorCode.NONE as number,
          errorMessage: null as string | null,
          entity: entry.entity,
        };
        const entity = entityFromWire(entry.entity);
        if (isRefusal(entity)) {
          result.errorCode = entity.errorCode;
          result.errorMessage = entity.message;
          return result;
        }
        const changes = new Map<string, number | null>();
        for (const op of entry.ops) changes.set(op.key, op.remove ? null : op.value);
        for (const [key, value] of changes) {
          const refusal = value === null ? null : checkQuotaValue(entity, key, value);
          if (refusal !== null) {
            result.errorCode = refusal.errorCode;
            result.errorMessage = refusal.message;
            return result;
          }
        }
        accepted.push({
          entity,
          changes: [...changes].map(([key, value]) => ({ key, value })),
        });
        return result;
      });
      if (!request.validateOnly && accepted.length > 0) {
        try {
          await quotas.alter(accepted);
        } catch (error) {
          // The store could not persist: nothing was applied, and every entry says why.
          for (const result of results) {
            if (result.errorCode !== ErrorCode.NONE) continue;
            result.errorCode = kafkaErrorCodeOf(error);
            result.errorMessage = errorMessageOf(error);
          }
        }
      }
      return { throttleTimeMs: 0, entries: results };
    },

    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        entries: request.entries.map((entry) => ({
          errorCode,
          errorMessage: null,
          entity: entry.entity,
        })),
      };
    },
  });
}
