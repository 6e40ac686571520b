// SASL PLAIN (RFC 4616): one token, `authzid NUL authcid NUL password`. The password is checked
// against the user's salted SCRAM credential, so PLAIN needs no password stored anywhere.

import type { CredentialStore } from './credential-store.js';
import { passwordMatches, scramMechanisms } from './scram-credential.js';
import {
  SaslAuthenticationError,
  type SaslServerExchange,
  type SaslStep,
} from './sasl-mechanism.js';

export class PlainExchange implements SaslServerExchange {
  readonly mechanism = 'PLAIN';
  private done = false;

  constructor(private readonly credentials: CredentialStore) {}

  async evaluate(token: Buffer): Promise<SaslStep> {
    if (this.done) throw new SaslAuthenticationError('PLAIN takes a single token');
    this.done = true;
    const parts = token.toString('utf8').split('\0');
    if (parts.length !== 3) throw new SaslAuthenticationError('malformed PLAIN token');
    const [authorizationId, user, password] = parts;
    if (user === '' || password === '') {
      throw new SaslAuthenticationError('PLAIN token without a user name or password');
    }
    if (authorizationId !== '' && authorizationId !== user) {
      throw new SaslAuthenticationError('PLAIN authorization id differs from the user name');
    }
    // The strongest credential the user has; any of them was made from the same password.
    const credential = [...scramMechanisms]
      .reverse()
      .map((mechanism) => this.credentials.scramCredential(user, mechanism))
      .find((found) => found !== undefined);
    if (credential === undefined || !(await passwordMatches(credential, password))) {
      throw new SaslAuthenticationError(`invalid credentials for user ${JSON.stringify(user)}`);
    }
    return { challenge: Buffer.alloc(0), user };
  }
}
