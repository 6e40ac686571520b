// AlterUserScramCredentials (key 51): adds, replaces and removes users' SCRAM credentials. The
// client sends a salt and a salted password, never the password; the broker keeps only the
// stored and server keys derived from them. Answers one result per user named, as Kafka does:
// a user whose alterations are not all valid has none applied.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import {
  type CredentialStore,
  type ScramMechanism,
  credentialFromSaltedPassword,
  hashLength,
  scramIterationsMax,
  scramIterationsMin,
  scramMechanismByCode,
} from '../security/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

interface UserResult {
  user: string;
  errorCode: number;
  errorMessage: string | null;
}

export function createAlterUserScramCredentialsHandler(credentials: CredentialStore) {
  return defineHandler(ApiKey.AlterUserScramCredentials, {
    ...servedVersions[ApiKey.AlterUserScramCredentials],
    async handle(request) {
      const results = new Map<string, UserResult>();
      const refuse = (user: string, errorCode: number, errorMessage: string): void => {
        if (results.get(user)?.errorCode !== ErrorCode.NONE && results.has(user)) return;
        results.set(user, { user, errorCode, errorMessage });
      };
      const seen = new Set<string>();
      const alterations = [
        ...request.deletions.map((deletion) => ({ ...deletion, upsertion: null })),
        ...request.upsertions.map((upsertion) => ({ ...upsertion, upsertion })),
      ];
      for (const { name, mechanism } of alterations) {
        if (!results.has(name))
          results.set(name, { user: name, errorCode: ErrorCode.NONE, errorMessage: null });
        const key = `${name}\0${mechanism}`;
        if (seen.has(key))
          refuse(
            name,
            ErrorCode.DUPLICATE_RESOURCE,
            `A user credential cannot be altered twice in the same request`,
          );
        seen.add(key);
      }
      for (const { name, mechanism, upsertion } of alterations) {
        const scram = scramMechanismByCode(mechanism);
        if (name === '') {
          refuse(name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
        } else if (scram === undefined) {
          refuse(
            name,
            ErrorCode.UNSUPPORTED_SASL_MECHANISM,
            `Unknown SCRAM mechanism ${mechanism}`,
          );
        } else if (upsertion !== null) {
          if (
            upsertion.iterations < scramIterationsMin ||
            upsertion.iterations > scramIterationsMax
          ) {
            refuse(
              name,
              ErrorCode.UNACCEPTABLE_CREDENTIAL,
              `Iterations must be between ${scramIterationsMin} and ${scramIterationsMax}`,
            );
          } else if (
            upsertion.salt.length === 0 ||
            upsertion.saltedPassword.length !== hashLength(scram)
          ) {
            refuse(
              name,
              ErrorCode.UNACCEPTABLE_CREDENTIAL,
              'Salt and salted password must be given',
            );
          }
        } else if (credentials.scramCredential(name, scram) === undefined) {
          refuse(
            name,
            ErrorCode.RESOURCE_NOT_FOUND,
            'Attempt to delete a user credential that does not exist',
          );
        }
      }
      for (const { name, mechanism, upsertion } of alterations) {
        if (results.get(name)!.errorCode !== ErrorCode.NONE) continue;
        const scram = scramMechanismByCode(mechanism) as ScramMechanism;
        if (upsertion === null) {
          await credentials.deleteScramCredential(name, scram);
        } else {
          await credentials.upsertScramCredential(
            name,
            credentialFromSaltedPassword(
              scram,
              upsertion.salt,
              upsertion.iterations,
              upsertion.saltedPassword,
            ),
          );
        }
      }
      return { throttleTimeMs: 0, results: [...results.values()] };
    },
  });
}
