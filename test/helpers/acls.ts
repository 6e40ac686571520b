// The ACL binding most tests grant: one principal, from any host, allowed one operation on one
// resource named literally.

import {
  type AclBinding,
  type AclOperation,
  AclPermissionType,
  PatternType,
  type ResourceType,
} from '../../src/security/index.js';

export function allowed(
  principal: string,
  resourceType: ResourceType,
  resourceName: string,
  operation: AclOperation,
): AclBinding {
  return {
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionType.ALLOW,
  };
}
