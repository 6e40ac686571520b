// The public keys OAUTHBEARER tokens are checked against: a JSON Web Key Set (RFC 7517) read
// from `sasl.oauthbearer.jwks.endpoint.url` (file://, http:// or https://), kept in memory and
// read again every `sasl.oauthbearer.jwks.endpoint.refresh.ms`. A token naming a key id the set
// does not hold triggers an early read (the identity provider rotated its keys), at most once per
// `sasl.oauthbearer.jwks.endpoint.retry.backoff.ms` (a token arriving sooner waits for it), so
// clients sending made-up key ids cannot make the broker hammer the provider.
//
// A read that fails keeps the previous keys and is reported once through `onError`; only the
// first read, at start, must succeed. Node's crypto parses the keys (createPublicKey with the JWK
// format); a key it cannot parse is skipped and reported, the others stay usable.
//
// One reader at a time: a refresh started while another is in flight joins it.

import { type KeyObject, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BrookError } from '../util/errors.js';

/** The key set cannot be used at start: the broker does not start. */
export class JwksError extends BrookError {
  declare readonly code: 'BROOK_OAUTHBEARER_JWKS';

  constructor(message: string) {
    super('BROOK_OAUTHBEARER_JWKS', message);
    this.name = 'JwksError';
  }
}

/** One verification key of the set, as node:crypto uses it. */
export interface VerificationKey {
  readonly keyId: string | null;
  /** The JWK's `kty`: RSA or EC (others are skipped). */
  readonly keyType: 'RSA' | 'EC';
  /** The JWK's `alg` when it names one: a token must then use exactly that algorithm. */
  readonly algorithm: string | null;
  readonly key: KeyObject;
}

export interface JwksSettings {
  readonly url: string;
  readonly refreshMs: number;
  readonly retryBackoffMs: number;
  /** A read over HTTP that has not answered by then fails. */
  readonly fetchTimeoutMs?: number;
  readonly onError: (message: string) => void;
}

/** The largest key set read: a provider's set is a few KiB; anything far larger is a mistake. */
const jwksBytesMax = 1024 * 1024;

export class JwksKeys {
  private keys: readonly VerificationKey[] = [];
  private refreshTimer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private lastReadStartedMs = -Infinity;
  private closed = false;

  constructor(private readonly settings: JwksSettings) {}

  /** The first read; throws JwksError when the set cannot be read or holds no usable key. */
  async start(): Promise<void> {
    await this.refresh(true);
    if (this.keys.length === 0) {
      throw new JwksError(`the JWKS at ${this.settings.url} holds no usable RSA or EC key`);
    }
    this.scheduleRefresh();
  }

  close(): void {
    this.closed = true;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  /**
   * The keys a token with this header may be checked against: the one with its key id, or (a
   * token without `kid`) every key. An unknown key id reads the set again first, within the
   * backoff.
   */
  async candidates(keyId: string | null): Promise<readonly VerificationKey[]> {
    if (keyId === null) return this.keys;
    let found = this.keys.filter((key) => key.keyId === keyId);
    if (found.length > 0 || this.closed) return found;
    // A read that started after this token arrived has seen the set as it is now.
    const askedMs = performance.now();
    const waitMs = this.lastReadStartedMs + this.settings.retryBackoffMs - askedMs;
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (this.lastReadStartedMs < askedMs) await this.refresh(false);
    else await this.reading;
    found = this.keys.filter((key) => key.keyId === keyId);
    return found;
  }

  private scheduleRefresh(): void {
    if (this.closed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh(false).finally(() => this.scheduleRefresh());
    }, this.settings.refreshMs);
    this.refreshTimer.unref();
  }

  private refresh(mustSucceed: boolean): Promise<void> {
    this.reading ??= (async () => {
      this.lastReadStartedMs = performance.now();
      try {
        this.keys = this.parse(await this.read());
      } catch (error) {
        const message = `cannot read the JWKS at ${this.settings.url}: ${(error as Error).message}`;
        if (mustSucceed) throw new JwksError(message);
        this.settings.onError(`${message}; keeping the ${this.keys.length} keys read before`);
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  private async read(): Promise<string> {
    const url = new URL(this.settings.url);
    if (url.protocol === 'file:') {
      const text = await readFile(fileURLToPath(url), 'utf8');
      if (text.length > jwksBytesMax) throw new Error(`larger than ${jwksBytesMax} bytes`);
      return text;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`${url.protocol} URLs are not read; use file://, http:// or https://`);
    }
    const response = await fetch(url, {
      signal: AbortSignal.timeout(this.settings.fetchTimeoutMs ?? 10_000),
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > jwksBytesMax) throw new Error(`larger than ${jwksBytesMax} bytes`);
    return text;
  }

  private parse(text: string): VerificationKey[] {
    const document = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(document.keys)) throw new Error('no "keys" array');
    const keys: VerificationKey[] = [];
    for (const entry of document.keys as Array<Record<string, unknown>>) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { kty, kid, alg, use } = entry;
      if (kty !== 'RSA' && kty !== 'EC') continue;
      if (use !== undefined && use !== 'sig') continue;
      try {
        // Only the public members are given to crypto, so a set that (wrongly) publishes a
        // private key still yields a public key and nothing more.
        const publicMembers =
          kty === 'RSA'
            ? { kty, n: entry.n, e: entry.e }
            : { kty, crv: entry.crv, x: entry.x, y: entry.y };
        keys.push({
          keyId: typeof kid === 'string' ? kid : null,
          keyType: kty,
          algorithm: typeof alg === 'string' ? alg : null,
          key: createPublicKey({ key: publicMembers as never, format: 'jwk' }),
        });
      } catch (error) {
        this.settings.onError(
          `skipping JWKS key ${JSON.stringify(kid ?? null)}: ${(error as Error).message}`,
        );
      }
    }
    return keys;
  }
}
