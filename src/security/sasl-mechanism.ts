// One SASL exchange on the server side: the client's tokens in, the broker's challenges out, until
// the exchange completes with an authenticated user or fails. PLAIN takes one token, SCRAM two.

import { BrookError } from '../util/errors.js';

/** A failed exchange. `reason` is for the broker's log; the client only ever hears a generic message. */
export class SaslAuthenticationError extends BrookError {
  declare readonly code: 'BROOK_SASL_AUTHENTICATION_FAILED';

  constructor(readonly reason: string) {
    super('BROOK_SASL_AUTHENTICATION_FAILED', reason);
    this.name = 'SaslAuthenticationError';
  }
}

export interface SaslStep {
  /** What to send back (empty when the mechanism has nothing to say). */
  readonly challenge: Buffer;
  /** The user once the exchange has succeeded; undefined while it goes on. */
  readonly user?: string;
}

export interface SaslServerExchange {
  readonly mechanism: string;
  /** Takes the client's next token; throws SaslAuthenticationError when authentication fails. */
  evaluate(token: Buffer): Promise<SaslStep>;
}
