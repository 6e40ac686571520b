// One SASL exchange on the server side: the client's tokens in, the broker's challenges out, until
// the exchange completes with an authenticated user or fails. PLAIN and OAUTHBEARER take one
// token, SCRAM two.

import { BrookError } from '../util/errors.js';

/**
 * A failed exchange. `reason` is for the broker's log; the client hears a generic message, or
 * `clientMessage` where the mechanism defines what a failure says (OAUTHBEARER's error JSON).
 */
export class SaslAuthenticationError extends BrookError {
  declare readonly code: 'BROOK_SASL_AUTHENTICATION_FAILED';

  constructor(
    readonly reason: string,
    readonly clientMessage?: string,
  ) {
    super('BROOK_SASL_AUTHENTICATION_FAILED', reason);
    this.name = 'SaslAuthenticationError';
  }
}

export interface SaslStep {
  /** What to send back (empty when the mechanism has nothing to say). */
  readonly challenge: Buffer;
  /** The user once the exchange has succeeded; undefined while it goes on. */
  readonly user?: string;
  /** When the credential presented stops being valid (a token's exp): the session ends then. */
  readonly credentialExpiresAtMs?: number;
}

export interface SaslServerExchange {
  readonly mechanism: string;
  /** Takes the client's next token; throws SaslAuthenticationError when authentication fails. */
  evaluate(token: Buffer): Promise<SaslStep>;
}
