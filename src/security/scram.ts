// SCRAM-SHA-256 / SCRAM-SHA-512 on the server side (RFC 5802, RFC 7677), with Kafka's extensions.
//
//   client-first  n,,n=alice,r=<client nonce>[,ext=value...]
//   server-first  r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//   client-final  c=biws,r=<both nonces>,p=<proof>
//   server-final  v=<server signature>
//
// Kafka clients may add extensions to client-first (KIP-84; `tokenauth=true` asks for delegation
// token authentication, which Brook does not have, so it fails like a wrong password). Channel
// binding is not offered (`p=` is refused). An unknown user is not told apart from a wrong
// password: the exchange goes on with a salt derived from a per-process secret and fails at the
// proof, as it would for a real user.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialStore } from './credential-store.js';
import {
  hash,
  hmac,
  type ScramCredential,
  type ScramMechanism,
  scramIterationsDefault,
  xor,
} from './scram-credential.js';
import {
  SaslAuthenticationError,
  type SaslServerExchange,
  type SaslStep,
} from './sasl-mechanism.js';

const unknownUserSecret = randomBytes(32);

type State =
  | { readonly kind: 'first' }
  | {
      readonly kind: 'final';
      readonly user: string;
      readonly credential: ScramCredential;
      /** False for an unknown user: the exchange runs to the end and then fails. */
      readonly known: boolean;
      readonly gs2Header: string;
      readonly clientFirstBare: string;
      readonly serverFirst: string;
      readonly nonce: string;
    }
  | { readonly kind: 'done' };

export class ScramExchange implements SaslServerExchange {
  private state: State = { kind: 'first' };

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly credentials: CredentialStore,
  ) {}

  evaluate(token: Buffer): Promise<SaslStep> {
    const state = this.state;
    this.state = { kind: 'done' };
    if (state.kind === 'first') return Promise.resolve(this.clientFirst(token.toString('utf8')));
    if (state.kind === 'final')
      return Promise.resolve(this.clientFinal(state, token.toString('utf8')));
    throw new SaslAuthenticationError('SCRAM exchange already finished');
  }

  private clientFirst(message: string): SaslStep {
    // gs2-header: channel-binding flag, optional authzid, then the bare message.
    const match = /^([ny]),(a=[^,]*)?,(n=[^,]*,r=[^,]+(?:,.*)?)$/.exec(message);
    if (match === null) throw new SaslAuthenticationError('malformed SCRAM client-first message');
    const [, , authorization, clientFirstBare] = match;
    const attributes = parseAttributes(clientFirstBare);
    const user = unescapeName(attributes.get('n') ?? '');
    const clientNonce = attributes.get('r') ?? '';
    if (user === '' || clientNonce === '' || /[^\x21-\x7e]|,/.test(clientNonce)) {
      throw new SaslAuthenticationError('malformed SCRAM client-first message');
    }
    if (authorization !== undefined && unescapeName(authorization.slice(2)) !== user) {
      throw new SaslAuthenticationError('SCRAM authorization id differs from the user name');
    }
    if (attributes.get('tokenauth') === 'true') {
      throw new SaslAuthenticationError('delegation tokens are not supported');
    }
    const stored = this.credentials.scramCredential(user, this.mechanism);
    const credential = stored ?? this.unknownUserCredential(user);
    const nonce = clientNonce + randomBytes(24).toString('base64url');
    const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = {
      kind: 'final',
      user,
      credential,
      known: stored !== undefined,
      gs2Header: message.slice(0, message.length - clientFirstBare.length),
      clientFirstBare,
      serverFirst,
      nonce,
    };
    return { challenge: Buffer.from(serverFirst, 'utf8') };
  }

  private clientFinal(state: Extract<State, { kind: 'final' }>, message: string): SaslStep {
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw new SaslAuthenticationError('SCRAM client-final message has no proof');
    const withoutProof = message.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    if (attributes.get('c') !== Buffer.from(state.gs2Header, 'utf8').toString('base64')) {
      throw new SaslAuthenticationError('SCRAM channel binding does not match the first message');
    }
    // Kafka accepts a nonce that ends with the one it sent: librdkafka (2.0.2 at least) sends its
    // own nonce again in front of the combined one.
    if (!(attributes.get('r') ?? '').endsWith(state.nonce)) {
      throw new SaslAuthenticationError('SCRAM nonce does not match');
    }
    const { mechanism, credential } = { mechanism: this.mechanism, credential: state.credential };
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
    const clientSignature = hmac(mechanism, credential.storedKey, authMessage);
    if (proof.length !== clientSignature.length) {
      throw new SaslAuthenticationError('SCRAM proof has the wrong length');
    }
    const clientKey = xor(proof, clientSignature);
    const matches = timingSafeEqual(hash(mechanism, clientKey), credential.storedKey);
    if (!matches || !state.known) {
      throw new SaslAuthenticationError(
        `invalid credentials for user ${JSON.stringify(state.user)}`,
      );
    }
    const serverSignature = hmac(mechanism, credential.serverKey, authMessage);
    return {
      challenge: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
      user: state.user,
    };
  }

  /** A stable, plausible credential for a user that does not exist; it matches no proof. */
  private unknownUserCredential(user: string): ScramCredential {
    const salt = createHmac('sha256', unknownUserSecret)
      .update(`${this.mechanism}\0${user}`)
      .digest();
    const key = hash(this.mechanism, salt);
    return {
      mechanism: this.mechanism,
      salt,
      iterations: scramIterationsDefault,
      storedKey: key,
      serverKey: key,
    };
  }
}

/** `a=1,b=2` → {a: '1', b: '2'}; the first occurrence of a name wins. */
function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of text.split(',')) {
    const equals = part.indexOf('=');
    if (equals <= 0) throw new SaslAuthenticationError('malformed SCRAM attribute');
    const name = part.slice(0, equals);
    if (!attributes.has(name)) attributes.set(name, part.slice(equals + 1));
  }
  return attributes;
}

/** RFC 5802 saslname: ',' is sent as =2C and '=' as =3D; any other '=' is malformed. */
function unescapeName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw new SaslAuthenticationError('malformed SCRAM user name');
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** The client side's escaping, for the admin client. */
export function escapeScramName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}
