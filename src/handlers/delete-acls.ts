// DeleteAcls (key 31): removes the bindings matching each filter and answers, per filter, what
// it removed.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { type AclBindingFilter, type AclStore, invalidFilterReason } from '../security/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

/** `acls` is null when `authorizer.enabled` is false. */
export function createDeleteAclsHandler(acls: AclStore | null) {
  return defineHandler(ApiKey.DeleteAcls, {
    ...servedVersions[ApiKey.DeleteAcls],
    async handle(request) {
      if (acls === null) {
        return {
          throttleTimeMs: 0,
          filterResults: request.filters.map(() => ({
            errorCode: ErrorCode.SECURITY_DISABLED,
            errorMessage: 'No authorizer is configured (authorizer.enabled=false)',
            matchingAcls: [],
          })),
        };
      }
      const filters: AclBindingFilter[] = request.filters.map((filter) => ({
        resourceType: filter.resourceTypeFilter,
        resourceName: filter.resourceNameFilter,
        patternType: filter.patternTypeFilter,
        principal: filter.principalFilter,
        host: filter.hostFilter,
        operation: filter.operation,
        permissionType: filter.permissionType,
      }));
      const reasons = filters.map(invalidFilterReason);
      const removed = await acls.remove(
        filters.filter((_filter, index) => reasons[index] === null),
      );
      let next = 0;
      return {
        throttleTimeMs: 0,
        filterResults: reasons.map((reason) => {
          if (reason !== null) {
            return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: reason, matchingAcls: [] };
          }
          return {
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            matchingAcls: removed[next++].map((binding) => ({
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              ...binding,
            })),
          };
        }),
      };
    },
    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        filterResults: request.filters.map(() => ({
          errorCode,
          errorMessage: null,
          matchingAcls: [],
        })),
      };
    },
  });
}
