// ApiVersions (key 18): what every client asks first. The answer is the registry itself, so a
// handler that is registered is advertised and nothing else is.
//
// Two rules from KIP-511 matter to real clients: a request at a version Brook does not know is
// answered (by the server, through errorResponse) in v0 form with UNSUPPORTED_VERSION and the
// full list, so the client can retry at a version it shares instead of losing the connection; and
// v3+ requests carry the client's software name and version, which must be well-formed.

import { ErrorCode } from '../protocol/errors.js';
import type { ApiVersionsResponseInput } from '../protocol/generated/api-versions.js';
import { ApiKey, apiMessages } from '../protocol/generated/index.js';
import { defineHandler, type HandlerRegistry } from './registry.js';
import { assert } from '../util/assert.js';

/** KIP-511: letters and digits, with '-' and '.' allowed inside. */
const clientSoftwarePattern = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export function isValidClientSoftware(text: string): boolean {
  return clientSoftwarePattern.test(text);
}

export function createApiVersionsHandler(registry: HandlerRegistry) {
  const codec = apiMessages.get(ApiKey.ApiVersions);
  const validVersions = codec?.validVersions;
  assert(
    validVersions !== undefined && validVersions !== null,
    'the generated codecs have no stable ApiVersions versions',
  );

  const response = (errorCode: number, withApis: boolean): ApiVersionsResponseInput => ({
    errorCode,
    apiKeys: withApis ? registry.advertisedApis() : [],
    throttleTimeMs: 0,
    // Brook finalizes no features (no KRaft metadata.version); -1 is the "unknown epoch".
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });

  return defineHandler(ApiKey.ApiVersions, {
    minVersion: validVersions.min,
    maxVersion: Math.min(4, validVersions.max),
    handle(request, context) {
      if (context.apiVersion >= 3) {
        const { clientSoftwareName, clientSoftwareVersion } = request;
        if (
          !isValidClientSoftware(clientSoftwareName) ||
          !isValidClientSoftware(clientSoftwareVersion)
        ) {
          return response(ErrorCode.INVALID_REQUEST, false);
        }
      }
      return response(ErrorCode.NONE, true);
    },
    // UNSUPPORTED_VERSION carries the list (the client picks a version from it); anything else does not.
    errorResponse(_request, errorCode) {
      return response(errorCode, errorCode === ErrorCode.UNSUPPORTED_VERSION);
    },
  });
}
