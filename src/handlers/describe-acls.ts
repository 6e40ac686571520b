// DescribeAcls (key 29): the bindings matching one filter, grouped by resource pattern.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import {
  type AclBinding,
  type AclBindingFilter,
  type AclStore,
  bindingMatchesFilter,
  invalidFilterReason,
} from '../security/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

/** `acls` is null when `authorizer.enabled` is false. */
export function createDescribeAclsHandler(acls: AclStore | null) {
  return defineHandler(ApiKey.DescribeAcls, {
    ...servedVersions[ApiKey.DescribeAcls],
    handle(request) {
      if (acls === null) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.SECURITY_DISABLED,
          errorMessage: 'No authorizer is configured (authorizer.enabled=false)',
          resources: [],
        };
      }
      const filter: AclBindingFilter = {
        resourceType: request.resourceTypeFilter,
        resourceName: request.resourceNameFilter,
        patternType: request.patternTypeFilter,
        principal: request.principalFilter,
        host: request.hostFilter,
        operation: request.operation,
        permissionType: request.permissionType,
      };
      const reason = invalidFilterReason(filter);
      if (reason !== null) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: reason,
          resources: [],
        };
      }
      const byResource = new Map<string, AclBinding[]>();
      for (const binding of acls.bindings()) {
        if (!bindingMatchesFilter(binding, filter)) continue;
        const key = `${binding.resourceType}\u0000${binding.patternType}\u0000${binding.resourceName}`;
        const bindings = byResource.get(key);
        if (bindings === undefined) byResource.set(key, [binding]);
        else bindings.push(binding);
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        resources: [...byResource.values()].map((bindings) => ({
          resourceType: bindings[0].resourceType,
          resourceName: bindings[0].resourceName,
          patternType: bindings[0].patternType,
          acls: bindings.map(({ principal, host, operation, permissionType }) => ({
            principal,
            host,
            operation,
            permissionType,
          })),
        })),
      };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, errorMessage: null, resources: [] };
    },
  });
}
