// DescribeUserScramCredentials (key 50): which SCRAM mechanisms each user has credentials for, and
// with how many iterations; never a salt or a key. No user list means every user.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { type CredentialStore, scramMechanismCodes } from '../security/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createDescribeUserScramCredentialsHandler(credentials: CredentialStore) {
  return defineHandler(ApiKey.DescribeUserScramCredentials, {
    ...servedVersions[ApiKey.DescribeUserScramCredentials],
    handle(request) {
      const users = credentials.scramUsers();
      const describe = (user: string) => ({
        user,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        credentialInfos: (users.get(user) ?? []).map((credential) => ({
          mechanism: scramMechanismCodes[credential.mechanism],
          iterations: credential.iterations,
        })),
      });
      if (request.users === null || request.users.length === 0) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          results: [...users.keys()].sort().map(describe),
        };
      }
      const names = request.users.map((user) => user.name);
      const duplicates = new Set(names.filter((name, index) => names.indexOf(name) !== index));
      const results = [...new Set(names)].map((user) => {
        if (duplicates.has(user)) {
          return {
            user,
            errorCode: ErrorCode.DUPLICATE_RESOURCE,
            errorMessage: 'Cannot describe the same user twice',
            credentialInfos: [],
          };
        }
        if (!users.has(user)) {
          return {
            user,
            errorCode: ErrorCode.RESOURCE_NOT_FOUND,
            errorMessage: 'Attempt to describe a user credential that does not exist',
            credentialInfos: [],
          };
        }
        return describe(user);
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, errorMessage: null, results: [] };
    },
  });
}
