// The client side of SASL PLAIN and SCRAM for the small client: SaslHandshake v1, then the tokens
// in SaslAuthenticate v1 requests. The SCRAM arithmetic is the broker's own (security/).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { BrookError } from '../util/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { SaslAuthenticateResponse } from '../protocol/generated/sasl-authenticate.js';
import type { SaslHandshakeResponse } from '../protocol/generated/sasl-handshake.js';
import {
  type ScramMechanism,
  credentialFromSaltedPassword,
  hmac,
  isScramMechanism,
  saltPassword,
  xor,
} from '../security/scram-credential.js';

export type SaslMechanism = 'PLAIN' | ScramMechanism;

export interface SaslCredentials {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

/** The requests the exchange needs from a connection that is not yet authenticated. */
export type SaslRequester = <Response>(
  apiKey: number,
  apiVersion: number,
  body: unknown,
) => Promise<Response>;

/** Authenticates the connection; throws an Error whose message names the failure (never the password). */
export async function authenticateSasl(
  request: SaslRequester,
  credentials: SaslCredentials,
): Promise<void> {
  const handshake = await request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, {
    mechanism: credentials.mechanism,
  });
  if (handshake.errorCode !== ErrorCode.NONE) {
    throw new SaslClientError(
      handshake.errorCode,
      `the broker does not offer SASL mechanism ${credentials.mechanism} (it offers ${handshake.mechanisms.join(', ') || 'none'})`,
    );
  }
  const step = async (token: Buffer): Promise<Buffer> => {
    const response = await request<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, 1, {
      authBytes: token,
    });
    if (response.errorCode !== ErrorCode.NONE) {
      throw new SaslClientError(
        response.errorCode,
        `authentication as ${credentials.username} failed: ${response.errorMessage ?? errorName(response.errorCode)}`,
      );
    }
    return response.authBytes;
  };
  if (credentials.mechanism === 'PLAIN') {
    await step(Buffer.from(`\0${credentials.username}\0${credentials.password}`, 'utf8'));
    return;
  }
  if (!isScramMechanism(credentials.mechanism))
    throw new Error(`unknown SASL mechanism ${String(credentials.mechanism)}`);
  await scramExchange(step, credentials.mechanism, credentials.username, credentials.password);
}

/** The broker refused the mechanism or the credentials; `kafkaErrorCode` says which. */
export class SaslClientError extends BrookError {
  declare readonly code: 'BROOK_CLIENT_AUTHENTICATION';
  declare readonly kafkaErrorCode: number;

  constructor(kafkaErrorCode: number, message: string) {
    super('BROOK_CLIENT_AUTHENTICATION', message, { kafkaErrorCode });
    this.name = 'SaslClientError';
  }
}

async function scramExchange(
  step: (token: Buffer) => Promise<Buffer>,
  mechanism: ScramMechanism,
  username: string,
  password: string,
): Promise<void> {
  const clientNonce = randomBytes(24).toString('base64url');
  const clientFirstBare = `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${clientNonce}`;
  const serverFirst = (await step(Buffer.from(`n,,${clientFirstBare}`, 'utf8'))).toString('utf8');
  const attributes = new Map(
    serverFirst
      .split(',')
      .map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]),
  );
  const nonce = attributes.get('r') ?? '';
  const salt = Buffer.from(attributes.get('s') ?? '', 'base64');
  const iterations = Number(attributes.get('i'));
  if (
    !nonce.startsWith(clientNonce) ||
    salt.length === 0 ||
    !Number.isInteger(iterations) ||
    iterations < 1
  ) {
    throw new Error(`malformed SCRAM server-first message from the broker`);
  }
  const saltedPassword = await saltPassword(mechanism, password, salt, iterations);
  const clientKey = hmac(mechanism, saltedPassword, 'Client Key');
  const { storedKey, serverKey } = credentialFromSaltedPassword(
    mechanism,
    salt,
    iterations,
    saltedPassword,
  );
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const proof = xor(clientKey, hmac(mechanism, storedKey, authMessage));
  const serverFinal = (
    await step(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'))
  ).toString('utf8');
  const expected = hmac(mechanism, serverKey, authMessage);
  const signature = Buffer.from(serverFinal.startsWith('v=') ? serverFinal.slice(2) : '', 'base64');
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new Error(
      'the broker did not prove it knows the SCRAM credential (server signature mismatch)',
    );
  }
}
