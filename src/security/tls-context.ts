// The TLS side of SSL and SASL_SSL listeners: the broker's key and certificate chain from one PEM
// file (ssl.keystore.location, the key optionally encrypted with ssl.key.password), the CAs that
// client certificates must chain to (ssl.truststore.location), whether to ask for one
// (ssl.client.auth), TLS 1.2 and 1.3 only. Node's tls module does all the cryptography.
//
// The files are watched: when the keystore or truststore changes (a renewed certificate), the
// listener's secure context is rebuilt and new connections use it, without a restart. A file that
// cannot be read or parsed after a change is reported and the previous context stays in use.

import { type Stats, readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import { nodeTls } from '../util/node-tls.js';
import {
  type PrincipalMappingRule,
  distinguishedNameOf,
  mapDistinguishedName,
  parsePrincipalMappingRules,
} from './principal-mapping.js';
import { anonymousPrincipal } from './connection-authentication.js';
import { BrookError } from '../util/errors.js';
import type { LoggerLike } from '../util/logger.js';

export type ClientAuthentication = 'none' | 'requested' | 'required';

export interface TlsSettings {
  readonly keystoreLocation: string;
  /** Never logged; null when the key is not encrypted. */
  readonly keyPassword: string | null;
  readonly truststoreLocation: string | null;
  readonly clientAuthentication: ClientAuthentication;
  /** ssl.enabled.protocols: some of TLSv1.2, TLSv1.3. */
  readonly enabledProtocols: readonly string[];
  readonly principalMappingRules: string;
  /** How often the files are checked for changes. */
  readonly reloadCheckIntervalMs?: number;
}

const privateKeyBlock =
  /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----/g;
const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** An unusable keystore, truststore or key password; the message names the file, never the password. */
export class TlsConfigurationError extends BrookError {
  declare readonly code: 'BROOK_TLS_CONFIGURATION';

  constructor(message: string) {
    super('BROOK_TLS_CONFIGURATION', message);
    this.name = 'TlsConfigurationError';
  }
}

/**
 * One listener's TLS: its settings, the server options built from them, and the files watched.
 * Owned by the listener's server, which applies every new set of options it is given; the
 * broker may replace the settings (`reconfigure`, AlterConfigs). Both happen synchronously, so
 * nothing interleaves between building options and handing them over.
 */
export class TlsContext {
  private rules: PrincipalMappingRule[];
  private options: TlsOptions;
  /** The files watched, each with its own listener (another context may watch the same file). */
  private readonly watched: Array<[string, (current: Stats, previous: Stats) => void]> = [];
  /** The server's callbacks, once it watches. */
  private watcher: {
    onReload: (options: TlsOptions) => void;
    onError: (message: string) => void;
  } | null = null;

  constructor(private settings: TlsSettings) {
    this.rules = parsePrincipalMappingRules(settings.principalMappingRules);
    this.options = buildOptions(settings);
  }

  /** Throws TlsConfigurationError, saying why, when `settings` cannot serve TLS. */
  static check(settings: TlsSettings): void {
    parsePrincipalMappingRules(settings.principalMappingRules);
    buildOptions(settings);
  }

  /** The settings in use. */
  get currentSettings(): TlsSettings {
    return this.settings;
  }

  /** What tls.createServer takes; rebuilt on reload. */
  get serverOptions(): TlsOptions {
    return this.options;
  }

  /**
   * Serves new connections with `settings` from now on (open connections keep theirs) and
   * watches its files instead of the old ones. Throws TlsConfigurationError when they cannot be
   * used; the old settings then stay in use.
   */
  reconfigure(settings: TlsSettings): void {
    const options = buildOptions(settings);
    this.rules = parsePrincipalMappingRules(settings.principalMappingRules);
    this.settings = settings;
    this.options = options;
    const watcher = this.watcher;
    if (watcher === null) return;
    this.close();
    this.watch(watcher.onReload, watcher.onError);
    watcher.onReload(options);
  }

  /**
   * Watches the keystore and truststore; `onReload` gets the new options after a change that
   * loads (or a `reconfigure`), `onError` the reason when one does not (the old options stay).
   */
  watch(onReload: (options: TlsOptions) => void, onError: (message: string) => void): void {
    this.watcher = { onReload, onError };
    const files = [this.settings.keystoreLocation, this.settings.truststoreLocation].filter(
      (file): file is string => file !== null,
    );
    for (const file of files) {
      const check = (current: Stats, previous: Stats): void => {
        if (current.mtimeMs === previous.mtimeMs) return;
        try {
          this.options = buildOptions(this.settings);
          onReload(this.options);
        } catch (error) {
          onError((error as Error).message);
        }
      };
      watchFile(
        file,
        { persistent: false, interval: this.settings.reloadCheckIntervalMs ?? 1000 },
        check,
      );
      this.watched.push([file, check]);
    }
  }

  close(): void {
    for (const [file, check] of this.watched.splice(0)) unwatchFile(file, check);
  }

  /**
   * The principal of a connection whose handshake finished: from its client certificate when it
   * sent a verified one, User:ANONYMOUS when it sent none. Throws when the certificate's name
   * matches no mapping rule, or when a certificate that failed verification was sent.
   */
  principalOf(socket: TLSSocket): string {
    const certificate = socket.getPeerX509Certificate();
    if (certificate === undefined) return anonymousPrincipal;
    if (!socket.authorized) {
      throw new TlsConfigurationError(
        `client certificate not trusted: ${String(socket.authorizationError)}`,
      );
    }
    return `User:${this.principalName(certificate)}`;
  }

  private principalName(certificate: X509Certificate): string {
    const distinguishedName = distinguishedNameOf(certificate.subject);
    const name = mapDistinguishedName(this.rules, distinguishedName);
    if (name === null) {
      throw new TlsConfigurationError(
        `no ssl.principal.mapping.rules rule applies to ${distinguishedName}`,
      );
    }
    return name;
  }
}

/**
 * Hands new options to a listening TLS server: its secure context, and whether it asks for and
 * insists on client certificates, which node keeps beside the context and reads per connection.
 */
export function applyServerOptions(server: TlsServer, options: TlsOptions): void {
  server.setSecureContext(options);
  const settable = server as TlsServer & { requestCert: boolean; rejectUnauthorized: boolean };
  settable.requestCert = options.requestCert === true;
  settable.rejectUnauthorized = options.rejectUnauthorized !== false;
}

/**
 * Keeps a listening TLS server (a Kafka listener or an https:// HTTP one) on its context's
 * current files: each reload is applied and logged, a reload that cannot be loaded keeps the
 * previous certificates and is logged as an error, and the watch ends when the server closes.
 */
export function serveReloadedCertificates(
  server: TlsServer,
  tls: TlsContext,
  listenerName: string,
  logger: LoggerLike,
): void {
  applyReloadedCertificates(tls, listenerName, logger, (options) =>
    applyServerOptions(server, options),
  );
  server.once('close', () => tls.close());
}

/**
 * As serveReloadedCertificates, for a server that is not in this thread (the network thread's):
 * `apply` takes each reload's options there. The caller ends the watch (`tls.close()`).
 */
export function applyReloadedCertificates(
  tls: TlsContext,
  listenerName: string,
  logger: LoggerLike,
  apply: (options: TlsOptions) => void,
): void {
  tls.watch(
    (options) => {
      apply(options);
      logger.info('TLS certificates reloaded', { listener: listenerName });
    },
    (message) =>
      logger.error('TLS certificates changed but cannot be loaded; keeping the previous ones', {
        listener: listenerName,
        error: message,
      }),
  );
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new TlsConfigurationError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

function buildOptions(settings: TlsSettings): TlsOptions {
  const keystore = readPem(settings.keystoreLocation, 'ssl.keystore.location');
  const keys = keystore.match(privateKeyBlock) ?? [];
  const certificates = keystore.match(certificateBlock) ?? [];
  if (keys.length !== 1 || certificates.length === 0) {
    throw new TlsConfigurationError(
      `ssl.keystore.location ${settings.keystoreLocation} must hold one PEM private key and its certificate chain (found ${keys.length} keys, ${certificates.length} certificates)`,
    );
  }
  const ca =
    settings.truststoreLocation === null
      ? undefined
      : readPem(settings.truststoreLocation, 'ssl.truststore.location').match(certificateBlock);
  if (ca !== undefined && (ca === null || ca.length === 0)) {
    throw new TlsConfigurationError(
      `ssl.truststore.location ${settings.truststoreLocation} holds no PEM certificate`,
    );
  }
  const versions = [...settings.enabledProtocols].sort();
  const options: TlsOptions = {
    key: keys[0],
    passphrase: settings.keyPassword ?? undefined,
    cert: certificates.join('\n'),
    ca: ca ?? undefined,
    requestCert: settings.clientAuthentication !== 'none',
    rejectUnauthorized: settings.clientAuthentication === 'required',
    minVersion: versions[0] as 'TLSv1.2' | 'TLSv1.3',
    maxVersion: versions[versions.length - 1] as 'TLSv1.2' | 'TLSv1.3',
  };
  try {
    // Fails here, with a clear message, on a wrong password or a key that does not match.
    nodeTls().createSecureContext(options);
  } catch (error) {
    const message = (error as Error).message;
    // A wrong password usually fails the decryption's padding check ("bad decrypt"), but about
    // once in 256 the garbage passes it and OpenSSL's decoder fails instead ("unsupported"): for
    // an encrypted key, any failure to read it points at the password.
    const encrypted = /ENCRYPTED/.test(keys[0]);
    const keyUnreadable = /decrypt|bad password|passphrase|DECODER|unsupported/i.test(message);
    throw new TlsConfigurationError(
      `ssl.keystore.location ${settings.keystoreLocation} cannot be used: ${message}` +
        ((encrypted && keyUnreadable) || /decrypt|bad password|passphrase/i.test(message)
          ? ' (is ssl.key.password right?)'
          : ''),
    );
  }
  return options;
}
