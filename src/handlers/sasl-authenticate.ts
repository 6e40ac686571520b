// SaslAuthenticate (key 36): one token of the SASL exchange the handshake chose. v1 adds the
// session lifetime (KIP-368: connections.max.reauth.ms), after which the client re-authenticates
// on the same connection. A failure is answered SASL_AUTHENTICATION_FAILED with a generic message
// after connection.failed.authentication.delay.ms, and the connection then closes.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createSaslAuthenticateHandler() {
  return defineHandler(ApiKey.SaslAuthenticate, {
    ...servedVersions[ApiKey.SaslAuthenticate],
    async handle(request, context) {
      const authentication = context.authentication;
      if (authentication === undefined || !authentication.usesSasl) {
        return {
          errorCode: ErrorCode.ILLEGAL_SASL_STATE,
          errorMessage: 'this listener does not use SASL',
          authBytes: Buffer.alloc(0),
          sessionLifetimeMs: 0n,
        };
      }
      return authentication.authenticate(request.authBytes, context.apiVersion);
    },
    errorResponse(_request, errorCode) {
      return { errorCode, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
    },
  });
}
