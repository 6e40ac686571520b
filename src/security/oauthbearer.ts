// SASL OAUTHBEARER (RFC 7628, Kafka's KIP-255 and KIP-768): the client sends one message holding
// a JSON Web Token, the broker checks the token and takes the principal from one of its claims.
//
//   client initial response:  n,[a=authzid],  ^A  auth=Bearer <jwt>  ^A  [key=value ^A]...  ^A
//                             └ GS2 header ┘      └ the token ─────┘      └ SASL extensions ┘
//
// The token is a signed JWT (RFC 7519) in compact form, `header.claims.signature`, base64url each.
// It is accepted when:
//   - its `alg` is RS256/384/512 or ES256/384/512 (never `none`, never an HMAC: the broker has no
//     shared secret) and its signature verifies with a key of the JWKS (`kid` picks the key);
//   - `exp` is present and not past, `nbf` (when present) is reached, both with
//     `sasl.oauthbearer.clock.skew.seconds` of tolerance;
//   - `iss` equals `sasl.oauthbearer.expected.issuer` and `aud` (a string or a list) holds one of
//     `sasl.oauthbearer.expected.audience`, when those are set;
//   - the claim named `sasl.oauthbearer.sub.claim.name` (default `sub`) is a non-empty string: the
//     principal is `User:` and that string. An authorization id in the GS2 header must equal it.
// The session (KIP-368) then ends when the token expires, or sooner with connections.max.reauth.ms.
//
// A refused token is answered, as Kafka's server does, with the RFC 7628 error JSON
// `{"status":"invalid_token"}`. Kafka sends it as a challenge and fails only after the client's
// ^A reply; Brook fails the SaslAuthenticate at once with that JSON as the error message, which
// librdkafka, kafkajs and the Java client all report as their authentication error (kafkajs would
// otherwise take the challenge for success). Why the token was refused goes to the broker's log
// only, and the token itself never does.

import { verify as verifySignature } from 'node:crypto';
import type { JwksKeys, VerificationKey } from './jwks.js';
import {
  SaslAuthenticationError,
  type SaslServerExchange,
  type SaslStep,
} from './sasl-mechanism.js';

export const oauthBearerMechanism = 'OAUTHBEARER';

export interface OAuthBearerSettings {
  readonly keys: JwksKeys;
  /** sasl.oauthbearer.expected.issuer; null accepts any issuer. */
  readonly expectedIssuer: string | null;
  /** sasl.oauthbearer.expected.audience; empty accepts any audience. */
  readonly expectedAudience: readonly string[];
  /** sasl.oauthbearer.clock.skew.seconds */
  readonly clockSkewSeconds: number;
  /** sasl.oauthbearer.sub.claim.name */
  readonly subClaimName: string;
}

/** What a client is answered for any refused token (RFC 7628 section 3.2.2). */
export const invalidTokenResponse = JSON.stringify({ status: 'invalid_token' });

const separator = '\u0001';
/** RFC 7628: the bearer token is b64token; a JWT's three parts are base64url. */
const bearerPattern = /^Bearer +([-A-Za-z0-9._~+/]+=*)$/i;
const extensionKeyPattern = /^[A-Za-z]+$/;

const digestOf: Readonly<
  Record<string, { digest: string; keyType: 'RSA' | 'EC'; curve?: string }>
> = {
  RS256: { digest: 'sha256', keyType: 'RSA' },
  RS384: { digest: 'sha384', keyType: 'RSA' },
  RS512: { digest: 'sha512', keyType: 'RSA' },
  ES256: { digest: 'sha256', keyType: 'EC', curve: 'prime256v1' },
  ES384: { digest: 'sha384', keyType: 'EC', curve: 'secp384r1' },
  ES512: { digest: 'sha512', keyType: 'EC', curve: 'secp521r1' },
};

/** A token refused; `reason` is for the log and never holds the token. */
function refuse(reason: string): never {
  throw new SaslAuthenticationError(`OAUTHBEARER token refused: ${reason}`, invalidTokenResponse);
}

export interface ClientInitialResponse {
  readonly authorizationId: string;
  readonly token: string;
  readonly extensions: ReadonlyMap<string, string>;
}

/** Parses the client's one message; throws SaslAuthenticationError when it is malformed. */
export function parseClientInitialResponse(message: Buffer): ClientInitialResponse {
  const text = message.toString('utf8');
  const malformed = (what: string): never => {
    throw new SaslAuthenticationError(`malformed OAUTHBEARER message: ${what}`);
  };
  if (!text.endsWith(separator + separator)) malformed('it does not end with two ^A');
  const [gs2Header, ...pairs] = text.slice(0, -2).split(separator);
  const gs2 = /^([ny]),(?:a=([^,]*))?,$/.exec(gs2Header);
  if (gs2 === null) malformed('no GS2 header');
  const authorizationId = (gs2![2] ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
  let token: string | null = null;
  const extensions = new Map<string, string>();
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) malformed('a key-value pair without a key');
    const key = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    if (key === 'auth') {
      const bearer = bearerPattern.exec(value);
      if (bearer === null) malformed('auth is not "Bearer <token>"');
      token = bearer![1];
    } else if (!extensionKeyPattern.test(key) || extensions.has(key)) {
      malformed('an invalid or repeated extension name');
    } else {
      extensions.set(key, value);
    }
  }
  if (token === null) malformed('no auth=Bearer pair');
  return { authorizationId, token: token!, extensions };
}

interface JwtParts {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly signedBytes: Buffer;
  readonly signature: Buffer;
}

function decodeJwt(token: string): JwtParts {
  const parts = token.split('.');
  if (parts.length !== 3) refuse('not a signed JWT in compact form (three parts)');
  const json = (part: string, what: string): Record<string, unknown> => {
    try {
      const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return value as Record<string, unknown>;
      }
    } catch {
      // Reported below as any other undecodable part.
    }
    return refuse(`the JWT ${what} is not a base64url JSON object`);
  };
  return {
    header: json(parts[0], 'header'),
    claims: json(parts[1], 'claims'),
    signedBytes: Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'),
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

function signatureVerifies(
  algorithm: string,
  key: VerificationKey,
  signedBytes: Buffer,
  signature: Buffer,
): boolean {
  const expected = digestOf[algorithm];
  if (key.keyType !== expected.keyType) return false;
  if (key.algorithm !== null && key.algorithm !== algorithm) return false;
  if (expected.curve !== undefined && key.key.asymmetricKeyDetails?.namedCurve !== expected.curve) {
    return false;
  }
  if (expected.keyType === 'RSA') {
    return verifySignature(expected.digest, signedBytes, key.key, signature);
  }
  // A JWS ECDSA signature is r and s side by side (IEEE P1363), not DER.
  return verifySignature(
    expected.digest,
    signedBytes,
    { key: key.key, dsaEncoding: 'ieee-p1363' },
    signature,
  );
}

export interface ValidatedToken {
  /** The principal's name (the configured claim). */
  readonly subject: string;
  /** `exp` in milliseconds since the epoch. */
  readonly expiresAtMs: number;
}

/** Checks a token's signature and claims; throws SaslAuthenticationError when it is refused. */
export async function validateToken(
  token: string,
  settings: OAuthBearerSettings,
  nowMs = Date.now(),
): Promise<ValidatedToken> {
  const { header, claims, signedBytes, signature } = decodeJwt(token);
  const algorithm = header.alg;
  if (typeof algorithm !== 'string' || digestOf[algorithm] === undefined) {
    refuse(
      `algorithm ${JSON.stringify(algorithm)} is not one of ${Object.keys(digestOf).join(', ')}`,
    );
  }
  const keyId = typeof header.kid === 'string' ? header.kid : null;
  const candidates = await settings.keys.candidates(keyId);
  if (candidates.length === 0) refuse(`no key with id ${JSON.stringify(keyId)} in the JWKS`);
  if (!candidates.some((key) => signatureVerifies(algorithm, key, signedBytes, signature))) {
    refuse('the signature does not verify with the JWKS');
  }

  const skewSeconds = settings.clockSkewSeconds;
  const nowSeconds = nowMs / 1000;
  const { exp, nbf, iss, aud } = claims;
  if (typeof exp !== 'number') refuse('no numeric exp claim');
  if (nowSeconds > exp + skewSeconds) refuse(`expired at ${new Date(exp * 1000).toISOString()}`);
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') refuse('the nbf claim is not a number');
    if (nowSeconds < nbf - skewSeconds) {
      refuse(`not valid before ${new Date(nbf * 1000).toISOString()}`);
    }
  }
  if (settings.expectedIssuer !== null && iss !== settings.expectedIssuer) {
    refuse(
      `issuer ${JSON.stringify(iss ?? null)} is not ${JSON.stringify(settings.expectedIssuer)}`,
    );
  }
  if (settings.expectedAudience.length > 0) {
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.some((audience) => settings.expectedAudience.includes(audience as string))) {
      refuse(`audience ${JSON.stringify(aud ?? null)} holds none of the expected audiences`);
    }
  }
  const subject = claims[settings.subClaimName];
  if (typeof subject !== 'string' || subject.trim() === '') {
    refuse(`no non-empty string claim ${JSON.stringify(settings.subClaimName)}`);
  }
  return { subject, expiresAtMs: exp * 1000 };
}

export class OAuthBearerExchange implements SaslServerExchange {
  readonly mechanism = oauthBearerMechanism;
  private done = false;

  constructor(private readonly settings: OAuthBearerSettings) {}

  async evaluate(message: Buffer): Promise<SaslStep> {
    if (this.done) throw new SaslAuthenticationError('OAUTHBEARER takes a single message');
    this.done = true;
    const response = parseClientInitialResponse(message);
    const token = await validateToken(response.token, this.settings);
    if (response.authorizationId !== '' && response.authorizationId !== token.subject) {
      throw new SaslAuthenticationError(
        'OAUTHBEARER authorization id differs from the token subject',
        invalidTokenResponse,
      );
    }
    return {
      challenge: Buffer.alloc(0),
      user: token.subject,
      credentialExpiresAtMs: token.expiresAtMs,
    };
  }
}
