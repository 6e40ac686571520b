// SaslHandshake (key 17): the client names a SASL mechanism; the answer lists the enabled ones.
// v0 means the tokens that follow come bare (no request header); v1 means they come in
// SaslAuthenticate requests. An unsupported mechanism is answered, then the connection closes.
// On a listener without SASL the answer is ILLEGAL_SASL_STATE, as Kafka's.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createSaslHandshakeHandler() {
  return defineHandler(ApiKey.SaslHandshake, {
    ...servedVersions[ApiKey.SaslHandshake],
    handle(request, context) {
      const authentication = context.authentication;
      if (authentication === undefined || !authentication.usesSasl) {
        return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
      }
      return authentication.handshake(request.mechanism, context.apiVersion);
    },
    errorResponse(_request, errorCode) {
      return { errorCode, mechanisms: [] };
    },
  });
}
