// Who is on the other end of one connection, and the SASL exchange that establishes it.
//
// The connection asks four things of this object and nothing else: the principal to put in each
// request's context, whether a request may be served now (`refusal`), whether the next frame is a
// bare SASL token rather than a request (after SaslHandshake v0), and whether the response just
// produced must be followed by closing the connection (a failed authentication).
//
//   PLAINTEXT / SSL:  authenticated from the start (User:ANONYMOUS, or the certificate's principal)
//   SASL_*:
//     ┌──────────┐ SaslHandshake ┌────────────┐ SaslAuthenticate…  ┌───────────────┐
//     │ initial  │──────────────►│ handshaken │───────────────────►│ authenticated │
//     └──────────┘ (v0: raw)     └────────────┘  (or raw tokens)   └───────────────┘
//          ApiVersions only            │ failure                   │ SaslHandshake v1 again
//                                      ▼                           ▼ (re-authentication, KIP-368)
//                            response, delay, close          handshaken (same user only)
//
// Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are served; any other
// request closes the connection, as Kafka does. Everything here runs on the event loop; an
// exchange's evaluate() is awaited, and the connection starts no other request meanwhile except
// those the client pipelines, which `refusal` then turns away.

import { ErrorCode } from '../protocol/errors.js';
import { assert } from '../util/assert.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { CredentialStore } from './credential-store.js';
import {
  OAuthBearerExchange,
  type OAuthBearerSettings,
  oauthBearerMechanism,
} from './oauthbearer.js';
import { PlainExchange } from './plain.js';
import { ScramExchange } from './scram.js';
import { isScramMechanism } from './scram-credential.js';
import { SaslAuthenticationError, type SaslServerExchange } from './sasl-mechanism.js';

export const anonymousPrincipal = 'User:ANONYMOUS';

/** The mechanisms Brook can serve, in Kafka's spelling. */
export const supportedSaslMechanisms: readonly string[] = [
  'PLAIN',
  'SCRAM-SHA-256',
  'SCRAM-SHA-512',
  'OAUTHBEARER',
];

export interface SaslSettings {
  /** sasl.enabled.mechanisms */
  readonly enabledMechanisms: readonly string[];
  readonly credentials: CredentialStore;
  /** How OAUTHBEARER tokens are checked; null when OAUTHBEARER is not enabled. */
  readonly oauthBearer: OAuthBearerSettings | null;
  /** connection.failed.authentication.delay.ms: how long a failure waits before it is answered. */
  readonly failedAuthenticationDelayMs: number;
  /** connections.max.reauth.ms: a session's lifetime; 0 means sessions do not expire. */
  readonly reauthenticationMs: number;
  /** The same per mechanism where listener.name.<l>.<mechanism>.connections.max.reauth.ms sets it. */
  readonly reauthenticationMsByMechanism?: ReadonlyMap<string, number>;
  /** sasl.server.max.receive.size: the largest frame (and token) read before authentication. */
  readonly receiveBytesMax: number;
  /** Told of each failure once, with the reason; the client hears only a generic message. */
  readonly onFailure: (reason: string) => void;
}

export interface HandshakeOutcome {
  readonly errorCode: number;
  readonly mechanisms: readonly string[];
}

export interface AuthenticateOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly authBytes: Buffer;
  readonly sessionLifetimeMs: bigint;
}

type SaslState = 'initial' | 'handshaken' | 'authenticated' | 'failed';

/** Requests a connection serves before it is authenticated. */
const beforeAuthentication = new Set<number>([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);

export class ConnectionAuthentication {
  private currentPrincipal: string;
  private state: SaslState;
  private exchange: SaslServerExchange | null = null;
  private rawTokens = false;
  /** Date.now() after which the session has expired; Infinity when it never does. */
  private sessionExpiresAtMs = Infinity;
  /** When the session now running began: its lifetime is announced as of then. */
  private sessionStartedAtMs = 0;
  private closeRequested = false;
  private evaluating = false;
  /** Set by the first successful exchange: a re-authentication must name the same user. */
  private saslAuthenticated = false;

  /**
   * `transportPrincipal` is what TLS established (User:ANONYMOUS without a client certificate);
   * `sasl` is given on SASL listeners, whose principal comes from the exchange instead.
   */
  constructor(
    transportPrincipal: string,
    private readonly sasl: SaslSettings | null,
  ) {
    this.currentPrincipal = transportPrincipal;
    this.state = sasl === null ? 'authenticated' : 'initial';
  }

  get principal(): string {
    return this.currentPrincipal;
  }

  /** Whether SaslHandshake / SaslAuthenticate mean anything here (a SASL listener). */
  get usesSasl(): boolean {
    return this.sasl !== null;
  }

  /** After SaslHandshake v0 the client sends bare length-prefixed tokens, not requests. */
  get expectsRawToken(): boolean {
    return this.rawTokens;
  }

  /** The largest frame to accept now: small until authenticated, as in Kafka. */
  frameBytesMax(requestBytesMax: number): number {
    if (this.sasl === null || this.state === 'authenticated') return requestBytesMax;
    return Math.min(requestBytesMax, this.sasl.receiveBytesMax);
  }

  /** Why a request with `apiKey` may not be served now (the connection then closes), or null. */
  refusal(apiKey: number): string | null {
    if (this.state === 'failed') return 'authentication failed';
    if (this.state === 'authenticated') {
      if (Date.now() > this.sessionExpiresAtMs && !beforeAuthentication.has(apiKey)) {
        return 'the SASL session expired (connections.max.reauth.ms, or the token expired) without re-authentication';
      }
      return null;
    }
    if (beforeAuthentication.has(apiKey)) return null;
    return `request (API key ${apiKey}) before SASL authentication completed`;
  }

  /** True once: the response just produced must be the last on this connection. */
  takeCloseRequest(): boolean {
    const requested = this.closeRequested;
    this.closeRequested = false;
    return requested;
  }

  handshake(mechanism: string, version: number): HandshakeOutcome {
    const sasl = this.sasl;
    if (sasl === null) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    const mechanisms = sasl.enabledMechanisms;
    const reauthenticating = this.state === 'authenticated';
    if ((this.state !== 'initial' && !reauthenticating) || (reauthenticating && version < 1)) {
      this.fail(`SaslHandshake in state ${this.state}`);
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    if (!mechanisms.includes(mechanism)) {
      this.fail(
        `client asked for SASL mechanism ${JSON.stringify(mechanism)}, which is not enabled`,
      );
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    if (reauthenticating && this.exchange !== null && this.exchange.mechanism !== mechanism) {
      this.fail(`re-authentication with ${mechanism} after ${this.exchange.mechanism}`);
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    this.exchange = this.newExchange(mechanism, sasl);
    this.state = 'handshaken';
    this.rawTokens = version === 0;
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  private newExchange(mechanism: string, sasl: SaslSettings): SaslServerExchange {
    if (isScramMechanism(mechanism)) return new ScramExchange(mechanism, sasl.credentials);
    if (mechanism === oauthBearerMechanism) {
      assert(sasl.oauthBearer !== null, 'OAUTHBEARER is enabled without its token settings');
      return new OAuthBearerExchange(sasl.oauthBearer);
    }
    return new PlainExchange(sasl.credentials);
  }

  /** SaslAuthenticate: one token of the exchange. Failures are answered after the delay. */
  async authenticate(token: Buffer, version: number): Promise<AuthenticateOutcome> {
    const outcome = await this.evaluate(token);
    if (outcome.kind === 'failed') {
      return {
        errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: outcome.message,
        authBytes: Buffer.alloc(0),
        sessionLifetimeMs: 0n,
      };
    }
    const lifetimeMs =
      outcome.kind === 'authenticated' && version >= 1 ? this.sessionLifetimeMs() : 0;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      authBytes: outcome.challenge,
      sessionLifetimeMs: BigInt(lifetimeMs),
    };
  }

  /** A bare token after SaslHandshake v0: the challenge to send back bare, or null to close. */
  async rawToken(token: Buffer): Promise<Buffer | null> {
    const outcome = await this.evaluate(token);
    if (outcome.kind === 'failed') return null;
    if (outcome.kind === 'authenticated') this.rawTokens = false;
    return outcome.challenge;
  }

  private async evaluate(
    token: Buffer,
  ): Promise<
    { kind: 'failed'; message: string } | { kind: 'continue' | 'authenticated'; challenge: Buffer }
  > {
    const sasl = this.sasl;
    const exchange = this.exchange;
    const mechanism = exchange?.mechanism ?? 'none';
    const generic = `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
    if (sasl === null || exchange === null || this.state !== 'handshaken' || this.evaluating) {
      const reason =
        sasl === null
          ? 'SaslAuthenticate on a listener without SASL'
          : `SaslAuthenticate in state ${this.state}`;
      if (sasl !== null) this.fail(reason);
      return { kind: 'failed', message: 'SaslAuthenticate is not expected now' };
    }
    if (token.length > sasl.receiveBytesMax) {
      this.fail(`SASL token of ${token.length} bytes is above sasl.server.max.receive.size`);
      await delay(sasl.failedAuthenticationDelayMs);
      return { kind: 'failed', message: generic };
    }
    this.evaluating = true;
    try {
      const step = await exchange.evaluate(token);
      if (step.user === undefined) return { kind: 'continue', challenge: step.challenge };
      const principal = `User:${step.user}`;
      if (this.saslAuthenticated && principal !== this.currentPrincipal) {
        this.fail(`re-authentication as ${principal} on a connection of ${this.currentPrincipal}`);
        await delay(sasl.failedAuthenticationDelayMs);
        return { kind: 'failed', message: generic };
      }
      this.currentPrincipal = principal;
      this.saslAuthenticated = true;
      this.state = 'authenticated';
      // The session ends with connections.max.reauth.ms, or sooner when the credential itself
      // expires (an OAUTHBEARER token's exp), so a token is never used past its lifetime.
      const reauthenticationMs =
        sasl.reauthenticationMsByMechanism?.get(mechanism) ?? sasl.reauthenticationMs;
      this.sessionStartedAtMs = Date.now();
      this.sessionExpiresAtMs = Math.min(
        reauthenticationMs > 0 ? this.sessionStartedAtMs + reauthenticationMs : Infinity,
        step.credentialExpiresAtMs ?? Infinity,
      );
      return { kind: 'authenticated', challenge: step.challenge };
    } catch (error) {
      if (!(error instanceof SaslAuthenticationError)) throw error;
      this.fail(`${mechanism}: ${error.reason}`);
      await delay(sasl.failedAuthenticationDelayMs);
      return { kind: 'failed', message: error.clientMessage ?? generic };
    } finally {
      this.evaluating = false;
    }
  }

  /**
   * What SaslAuthenticate v1+ tells the client: 0 when the session never expires, else its
   * lifetime as of the moment it began (connections.max.reauth.ms exactly, or less for a token
   * that expires sooner), not less the milliseconds the answer took to be made.
   */
  private sessionLifetimeMs(): number {
    if (this.sessionExpiresAtMs === Infinity) return 0;
    // A token accepted within the clock skew after its exp still gets a moment to re-authenticate.
    return Math.max(1, Math.floor(this.sessionExpiresAtMs - this.sessionStartedAtMs));
  }

  private fail(reason: string): void {
    this.state = 'failed';
    this.rawTokens = false;
    this.closeRequested = true;
    this.sasl?.onFailure(reason);
  }
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
