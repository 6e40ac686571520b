// An identity provider for tests: key pairs made with node:crypto, the JWKS that publishes their
// public halves (written to a file the broker reads through a file:// URL), and signed JWTs.
// Nothing here is a secret worth keeping; every test makes its own keys.

import { type KeyObject, generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface SigningKey {
  readonly keyId: string;
  readonly algorithm: 'RS256' | 'ES256';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function makeSigningKey(keyId: string, algorithm: 'RS256' | 'ES256'): SigningKey {
  const pair =
    algorithm === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { keyId, algorithm, ...pair };
}

/** Writes the JWKS of `keys` to `directory/jwks.json`; returns its file:// URL. */
export function writeJwks(directory: string, keys: readonly SigningKey[]): string {
  const path = join(directory, 'jwks.json');
  const document = {
    keys: keys.map((key) => ({
      ...key.publicKey.export({ format: 'jwk' }),
      kid: key.keyId,
      alg: key.algorithm,
      use: 'sig',
    })),
  };
  writeFileSync(path, JSON.stringify(document));
  return pathToFileURL(path).href;
}

export interface TokenOptions {
  readonly subject?: string;
  readonly issuer?: string;
  readonly audience?: string | string[];
  /** Seconds from now; negative for a token already expired. */
  readonly expiresInSeconds?: number;
  readonly notBeforeInSeconds?: number;
  readonly extraClaims?: Record<string, unknown>;
  /** Overrides the header's alg (a forged `none`, say). */
  readonly headerAlgorithm?: string;
}

export const testIssuer = 'https://issuer.test';
export const testAudience = 'brook';

/** A compact signed JWT; `exp` is returned too (seconds), as clients' token providers need it. */
export function signToken(
  key: SigningKey,
  options: TokenOptions = {},
): { token: string; expiresAtSeconds: number } {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const expiresAtSeconds = nowSeconds + (options.expiresInSeconds ?? 300);
  const claims: Record<string, unknown> = {
    sub: options.subject ?? 'alice',
    iss: options.issuer ?? testIssuer,
    aud: options.audience ?? testAudience,
    iat: nowSeconds,
    exp: expiresAtSeconds,
    ...options.extraClaims,
  };
  if (options.notBeforeInSeconds !== undefined) {
    claims.nbf = nowSeconds + options.notBeforeInSeconds;
  }
  const header = { alg: options.headerAlgorithm ?? key.algorithm, typ: 'JWT', kid: key.keyId };
  const encode = (value: object): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  const signedPart = `${encode(header)}.${encode(claims)}`;
  const signature =
    key.algorithm === 'RS256'
      ? sign('sha256', Buffer.from(signedPart), key.privateKey)
      : sign('sha256', Buffer.from(signedPart), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return { token: `${signedPart}.${signature.toString('base64url')}`, expiresAtSeconds };
}

/** The client's OAUTHBEARER message (RFC 7628), as librdkafka and kafkajs send it. */
export function clientInitialResponse(
  token: string,
  options: { authorizationId?: string; extensions?: Record<string, string> } = {},
): Buffer {
  const extensions = Object.entries(options.extensions ?? {}).map(
    ([key, value]) => `${key}=${value}\u0001`,
  );
  const authorizationId =
    options.authorizationId === undefined ? '' : `a=${options.authorizationId}`;
  return Buffer.from(
    `n,${authorizationId},\u0001auth=Bearer ${token}\u0001${extensions.join('')}\u0001`,
  );
}
