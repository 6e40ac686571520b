// Who an HTTP caller is, and what the ACLs let them do, for the push API and the console's JSON
// routes when authorizer.enabled is true.
//
// A caller authenticates with HTTP Basic (`Authorization: Basic base64(user:password)`), checked
// as SASL PLAIN checks a password: against the user's salted SCRAM credential, so the same users
// and passwords serve Kafka clients and HTTP. Over HTTPS a caller may instead present a client
// certificate (ssl.client.auth), whose name becomes the principal through
// ssl.principal.mapping.rules as on an SSL Kafka listener; an Authorization header, when sent,
// wins over a trusted certificate, as SASL does on a Kafka listener. Neither is User:ANONYMOUS, as an
// unauthenticated Kafka connection is; wrong credentials, a scheme other than Basic, or a client
// certificate that is not trusted or maps to no principal are 401.
// The principal is then checked with the broker's Authorizer, operation by operation, as the
// Kafka API each route mirrors (produce: Topic Write; read a subscription: Group Read and Topic
// Read; create a topic: Cluster or Topic Create; ...): 403 when refused.
//
// Checking a password costs a PBKDF2 of the credential's iterations, too much for every request
// of a busy producer. A verified header is remembered (by its SHA-256, never the password) with
// the stored key it was checked against; it is honoured only while the user's credential is still
// that one, so a changed or deleted password takes effect at the next request.
//
// Every refusal, 401 or 403, is an audit line (listener HTTP), as a failed SASL exchange or a
// refused Kafka request is; a check that only hides something from a listing is not.

import { createHash } from 'node:crypto';
import {
  type AclOperation,
  type ResourceType,
  operationName,
  resourceTypeName,
} from '../security/acl.js';
import { type AuditLog, discardingAuditLog } from '../security/audit-log.js';
import type { Authorizer } from '../security/authorizer.js';
import { anonymousPrincipal } from '../security/connection-authentication.js';
import type { CredentialStore } from '../security/credential-store.js';
import { PlainExchange } from '../security/plain.js';
import { SaslAuthenticationError } from '../security/sasl-mechanism.js';
import { type ScramCredential, scramMechanisms } from '../security/scram-credential.js';
import { BrookError } from '../util/errors.js';

/** Bad HTTP credentials: answered 401 with a WWW-Authenticate challenge. */
export class HttpAuthenticationError extends BrookError {
  declare readonly code: 'BROOK_HTTP_AUTHENTICATION';

  constructor(message: string) {
    super('BROOK_HTTP_AUTHENTICATION', message);
    this.name = 'HttpAuthenticationError';
  }
}

/** The challenge a 401 carries. */
export const basicChallenge = 'Basic realm="brook", charset="UTF-8"';

/** An HTTP caller: the principal and the address the ACLs' host filters see. */
export interface HttpCaller {
  readonly principal: string;
  readonly remoteAddress: string;
}

export interface HttpAccess {
  /** Whether requests are checked at all (authorizer.enabled). */
  readonly enabled: boolean;
  /**
   * The principal of an Authorization header (undefined: none) from `clientAddress` (host:port),
   * else of the connection's client certificate (`certificatePrincipal`, which throws when the
   * certificate is refused), else User:ANONYMOUS; throws HttpAuthenticationError.
   */
  authenticate(
    authorization: string | undefined,
    clientAddress: string,
    certificatePrincipal?: () => string,
  ): Promise<string>;
  /** An HTTPS handshake from `clientAddress` (host:port) failed: audited as on a Kafka listener. */
  handshakeFailed?(clientAddress: string, reason: string): void;
  /**
   * Whether `caller` may perform `operation` on the resource, as for a Kafka request; a refusal
   * is audited unless `quiet` (a listing leaving the resource out).
   */
  authorize(
    caller: HttpCaller,
    operation: AclOperation,
    resourceType: ResourceType,
    resourceName: string,
    quiet?: boolean,
  ): boolean;
}

/** Without authorizer.enabled: every caller is User:ANONYMOUS and may do anything, as on Kafka listeners. */
export const openHttpAccess: HttpAccess = {
  enabled: false,
  authenticate: (_authorization, _clientAddress, certificatePrincipal) => {
    try {
      return Promise.resolve(certificatePrincipal?.() ?? anonymousPrincipal);
    } catch (error) {
      return Promise.reject(new HttpAuthenticationError((error as Error).message));
    }
  },
  authorize: () => true,
};

/** Verified headers remembered at most; the oldest is forgotten first. */
const VERIFIED_HEADERS_MAX = 1024;

export function httpAccess(
  credentials: CredentialStore,
  authorizer: Authorizer,
  audit: AuditLog = discardingAuditLog,
): HttpAccess {
  const verified = new Map<string, { user: string; storedKey: Buffer }>();
  const strongestCredential = (user: string): ScramCredential | undefined =>
    [...scramMechanisms]
      .reverse()
      .map((mechanism) => credentials.scramCredential(user, mechanism))
      .find((found) => found !== undefined);
  return {
    enabled: true,
    async authenticate(authorization, clientAddress, certificatePrincipal) {
      const refuse = (
        reason: string,
        user: string | null,
        api = 'HttpBasicAuthentication',
      ): HttpAuthenticationError => {
        audit.record({
          principal: user === null ? anonymousPrincipal : `User:${user}`,
          clientAddress,
          listener: 'HTTP',
          api,
          resource: null,
          outcome: 'failure',
          error: reason,
        });
        return new HttpAuthenticationError(reason);
      };
      // A certificate that is sent is checked even when a password comes too: an SSL Kafka
      // listener refuses the connection of an untrusted one whatever follows.
      let certificate: string;
      try {
        certificate = certificatePrincipal?.() ?? anonymousPrincipal;
      } catch (error) {
        throw refuse((error as Error).message, null, 'HttpClientCertificate');
      }
      if (authorization === undefined || authorization.trim() === '') return certificate;
      const match = /^Basic +([A-Za-z0-9+/]+=*)$/i.exec(authorization.trim());
      if (match === null) {
        throw refuse('only HTTP Basic authentication is accepted', null);
      }
      const digest = createHash('sha256').update(authorization.trim()).digest('hex');
      const remembered = verified.get(digest);
      if (remembered !== undefined) {
        const credential = strongestCredential(remembered.user);
        if (credential !== undefined && credential.storedKey.equals(remembered.storedKey)) {
          return `User:${remembered.user}`;
        }
        verified.delete(digest);
      }
      const decoded = Buffer.from(match[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw refuse('malformed HTTP Basic credentials', null);
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      try {
        await new PlainExchange(credentials).evaluate(Buffer.from(`\0${user}\0${password}`));
      } catch (error) {
        if (!(error instanceof SaslAuthenticationError)) throw error;
        // The same words for an unknown user and a wrong password.
        throw refuse('invalid user name or password', user);
      }
      const credential = strongestCredential(user);
      if (credential !== undefined) {
        if (verified.size >= VERIFIED_HEADERS_MAX) {
          verified.delete(verified.keys().next().value!);
        }
        verified.set(digest, { user, storedKey: credential.storedKey });
      }
      return `User:${user}`;
    },
    handshakeFailed(clientAddress, reason) {
      audit.record({
        principal: anonymousPrincipal,
        clientAddress,
        listener: 'HTTP',
        api: 'TlsHandshake',
        resource: null,
        outcome: 'failure',
        error: reason,
      });
    },
    authorize(caller, operation, resourceType, resourceName, quiet = false) {
      if (authorizer.authorize(caller, operation, resourceType, resourceName)) return true;
      if (!quiet) {
        const type = resourceTypeName(resourceType);
        audit.record({
          principal: caller.principal,
          clientAddress: caller.remoteAddress,
          listener: 'HTTP',
          api: 'HTTP',
          resource: { type: type.toLowerCase(), name: resourceName },
          outcome: 'failure',
          error: `${type.toUpperCase()}_AUTHORIZATION_FAILED`,
          details: { operation: operationName(operation) },
        });
      }
      return false;
    },
  };
}
