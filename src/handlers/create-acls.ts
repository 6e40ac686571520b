// CreateAcls (key 30): stores ACL bindings. Each creation is checked on its own and answered in
// request order; the valid ones are stored together. Without an authorizer there is nowhere
// ACLs would apply, and Kafka answers SECURITY_DISABLED.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import {
  type AclBinding,
  type AclOperation,
  type AclPermissionType,
  type AclStore,
  type PatternType,
  type ResourceType,
  invalidBindingReason,
} from '../security/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

/** `acls` is null when `authorizer.enabled` is false. */
export function createCreateAclsHandler(acls: AclStore | null) {
  return defineHandler(ApiKey.CreateAcls, {
    ...servedVersions[ApiKey.CreateAcls],
    async handle(request) {
      if (acls === null) {
        return {
          throttleTimeMs: 0,
          results: request.creations.map(() => ({
            errorCode: ErrorCode.SECURITY_DISABLED,
            errorMessage: 'No authorizer is configured (authorizer.enabled=false)',
          })),
        };
      }
      const valid: AclBinding[] = [];
      const results = request.creations.map((creation) => {
        const binding: AclBinding = {
          resourceType: creation.resourceType as ResourceType,
          resourceName: creation.resourceName,
          patternType: creation.resourcePatternType as PatternType,
          principal: creation.principal,
          host: creation.host,
          operation: creation.operation as AclOperation,
          permissionType: creation.permissionType as AclPermissionType,
        };
        const reason = invalidBindingReason(binding);
        if (reason !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: reason };
        valid.push(binding);
        return { errorCode: ErrorCode.NONE, errorMessage: null };
      });
      await acls.add(valid);
      return { throttleTimeMs: 0, results };
    },
    errorResponse(request, errorCode) {
      return {
        throttleTimeMs: 0,
        results: request.creations.map(() => ({ errorCode, errorMessage: null })),
      };
    },
  });
}
