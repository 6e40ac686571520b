// Each listener's security from the broker's settings: which protocol, the TLS context of SSL and
// of SASL_SSL listeners, and the SASL settings. Every security setting may be given per listener
// (listener.name.<listener>.<setting>, config/listener-settings.ts), and some per listener and
// SASL mechanism; each listener gets its own TLS context and OAUTHBEARER token checks from the
// values it sees. The config layer sits above this one, so the broker hands its settings in as a
// lookup by Kafka name.

import type { CredentialStore } from './credential-store.js';
import { BrookError } from '../util/errors.js';
import { JwksKeys } from './jwks.js';
import { type OAuthBearerSettings, oauthBearerMechanism } from './oauthbearer.js';
import {
  type ListenerSecurity,
  type SecurityProtocol,
  usesSasl,
  usesTls,
} from './listener-security.js';
import {
  type ClientAuthentication,
  TlsConfigurationError,
  TlsContext,
  type TlsSettings,
} from './tls-context.js';

/** The settings that decide listeners' security. */
export interface BrokerSecuritySettings {
  readonly listenerSecurityProtocols: ReadonlyMap<string, SecurityProtocol>;
  /**
   * A setting's value on one listener by Kafka name (`ssl.keystore.location`), for one SASL
   * mechanism where a mechanism is given: the most specific of the per-listener and broker values.
   */
  setting(listener: string, name: string, mechanism?: string): unknown;
}

/** Each SASL listener's OAUTHBEARER token checks, with the JWKS each reads; closed on shutdown. */
export interface ListenerOAuthBearer {
  /** null for a listener without OAUTHBEARER. */
  readonly byListener: ReadonlyMap<string, OAuthBearerSettings | null>;
  /** Stops every JWKS refresh. */
  close(): void;
}

/**
 * OAUTHBEARER's token checks on each listener that enables the mechanism, with each JWKS read
 * once already (throws JwksError when one cannot be). Listeners with the same JWKS settings share
 * one JwksKeys. The caller closes the result on shutdown.
 */
export async function oauthBearerFromConfig(
  config: BrokerSecuritySettings,
  onError: (message: string) => void,
): Promise<ListenerOAuthBearer> {
  const keysBySettings = new Map<string, JwksKeys>();
  const byListener = new Map<string, OAuthBearerSettings | null>();
  const result: ListenerOAuthBearer = {
    byListener,
    close: () => {
      for (const keys of keysBySettings.values()) keys.close();
    },
  };
  try {
    for (const [listener, protocol] of config.listenerSecurityProtocols) {
      const setting = (name: string) => config.setting(listener, name, oauthBearerMechanism);
      const mechanisms = setting('sasl.enabled.mechanisms') as readonly string[];
      if (!usesSasl(protocol) || !mechanisms.includes(oauthBearerMechanism)) {
        byListener.set(listener, null);
        continue;
      }
      const url = setting('sasl.oauthbearer.jwks.endpoint.url') as string | null;
      // Checked by the config already; kept here so the types say it.
      if (url === null) throw new Error('OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url');
      const refreshMs = setting('sasl.oauthbearer.jwks.endpoint.refresh.ms') as number;
      const retryBackoffMs = setting('sasl.oauthbearer.jwks.endpoint.retry.backoff.ms') as number;
      const identity = JSON.stringify([url, refreshMs, retryBackoffMs]);
      let keys = keysBySettings.get(identity);
      if (keys === undefined) {
        keys = new JwksKeys({ url, refreshMs, retryBackoffMs, onError });
        keysBySettings.set(identity, keys);
        await keys.start();
      }
      byListener.set(listener, {
        keys,
        expectedIssuer: setting('sasl.oauthbearer.expected.issuer') as string | null,
        expectedAudience:
          (setting('sasl.oauthbearer.expected.audience') as readonly string[] | null) ?? [],
        clockSkewSeconds: setting('sasl.oauthbearer.clock.skew.seconds') as number,
        subClaimName: setting('sasl.oauthbearer.sub.claim.name') as string,
      });
    }
  } catch (error) {
    result.close();
    throw error;
  }
  return result;
}

/** http.listeners' https:// address: a listener of its own for its TLS settings. */
export type TlsListenerKind = SecurityProtocol | 'HTTPS';

/**
 * One listener's TLS settings from its values. ssl.client.auth applies to SSL listeners and to
 * HTTPS; SASL_SSL listeners authenticate clients by SASL and ask for no certificate (KIP-684).
 */
export function listenerTlsSettings(
  config: BrokerSecuritySettings,
  listener: string,
  kind: TlsListenerKind,
): TlsSettings {
  const setting = (key: string) => config.setting(listener, key);
  return {
    // Checked by the config: a TLS listener has a keystore.
    keystoreLocation: setting('ssl.keystore.location') as string,
    keyPassword: setting('ssl.key.password') as string | null,
    truststoreLocation: setting('ssl.truststore.location') as string | null,
    clientAuthentication:
      kind === 'SSL' || kind === 'HTTPS'
        ? (setting('ssl.client.auth') as ClientAuthentication)
        : 'none',
    enabledProtocols: setting('ssl.enabled.protocols') as readonly string[],
    principalMappingRules: setting('ssl.principal.mapping.rules') as string,
  };
}

/**
 * The TLS context of http.listeners' https:// address (the listener HTTPS in listener.name.*
 * keys), ssl.client.auth included: a client certificate is how an HTTPS caller proves who it is
 * without a password. Throws TlsConfigurationError when the key or truststore cannot be used.
 */
export function httpsTlsFromConfig(config: BrokerSecuritySettings, listener: string): TlsContext {
  return new TlsContext(listenerTlsSettings(config, listener, 'HTTPS'));
}

/** One SASL listener's settings from its values; OAUTHBEARER's checks come made. */
function listenerSaslSettings(
  config: BrokerSecuritySettings,
  name: string,
  credentials: CredentialStore,
  oauthBearer: ListenerOAuthBearer | null,
): ListenerSecurity['sasl'] {
  const setting = (key: string) => config.setting(name, key);
  const mechanisms = setting('sasl.enabled.mechanisms') as readonly string[];
  return {
    enabledMechanisms: mechanisms,
    credentials,
    oauthBearer: oauthBearer?.byListener.get(name) ?? null,
    failedAuthenticationDelayMs: setting('connection.failed.authentication.delay.ms') as number,
    reauthenticationMs: setting('connections.max.reauth.ms') as number,
    reauthenticationMsByMechanism: new Map(
      mechanisms.map((mechanism) => [
        mechanism,
        config.setting(name, 'connections.max.reauth.ms', mechanism) as number,
      ]),
    ),
    receiveBytesMax: setting('sasl.server.max.receive.size') as number,
  };
}

/** Throws TlsConfigurationError when a TLS listener's key, certificate or truststore cannot be used. */
export function listenerSecurityFromConfig(
  config: BrokerSecuritySettings,
  credentials: CredentialStore,
  oauthBearer: ListenerOAuthBearer | null = null,
): Map<string, ListenerSecurity> {
  const security = new Map<string, ListenerSecurity>();
  for (const [name, protocol] of config.listenerSecurityProtocols) {
    const tls = usesTls(protocol)
      ? new TlsContext(listenerTlsSettings(config, name, protocol))
      : null;
    const sasl = usesSasl(protocol)
      ? listenerSaslSettings(config, name, credentials, oauthBearer)
      : null;
    security.set(name, { protocol, tls, sasl });
  }
  return security;
}

/**
 * A listener setting AlterConfigs changed that the listener cannot take; the message says why.
 * The broker answers it as the ConfigError it is to the client (INVALID_CONFIG).
 */
export class ListenerReconfigurationError extends BrookError {
  declare readonly code: 'BROOK_CONFIG_INVALID_VALUE';

  constructor(
    readonly listener: string,
    /** The setting whose value is refused, by Kafka name (`ssl.keystore.location`). */
    readonly setting: string,
    message: string,
  ) {
    super('BROOK_CONFIG_INVALID_VALUE', message);
    this.name = 'ListenerReconfigurationError';
  }
}

/** What a running broker's listeners read their security from, for reconfiguration. */
export interface RunningListeners {
  /** Each Kafka listener's security: the map the server reads at every accepted connection. */
  readonly security: Map<string, ListenerSecurity>;
  /** The HTTPS listener's TLS, if there is one, by its listener name. */
  readonly https: { readonly listener: string; readonly tls: TlsContext } | null;
  readonly credentials: CredentialStore;
  readonly oauthBearer: ListenerOAuthBearer | null;
}

/**
 * Checks that every listener whose TLS or SASL settings differ between `previous` and `next`
 * can take its new ones (a keystore that loads, an OAUTHBEARER it was started with), and returns
 * what hands them over: new connections then get the new certificate and mechanisms, open ones
 * keep what they have. Throws ListenerReconfigurationError; nothing changes then.
 */
export function prepareListenerReconfiguration(
  running: RunningListeners,
  previous: BrokerSecuritySettings,
  next: BrokerSecuritySettings,
): () => void {
  const steps: Array<() => void> = [];
  const tlsStep = (listener: string, kind: TlsListenerKind, tls: TlsContext): void => {
    const settings = listenerTlsSettings(next, listener, kind);
    if (JSON.stringify(settings) === JSON.stringify(listenerTlsSettings(previous, listener, kind)))
      return;
    try {
      TlsContext.check(settings);
    } catch (error) {
      if (!(error instanceof TlsConfigurationError)) throw error;
      const setting = /ssl\.truststore\.location/.test(error.message)
        ? 'ssl.truststore.location'
        : 'ssl.keystore.location';
      throw new ListenerReconfigurationError(listener, setting, error.message);
    }
    steps.push(() => tls.reconfigure(settings));
  };
  for (const [name, protocol] of next.listenerSecurityProtocols) {
    const security = running.security.get(name);
    if (security === undefined) continue;
    if (security.tls !== null) tlsStep(name, protocol, security.tls);
    if (security.sasl === null) continue;
    const mechanisms = next.setting(name, 'sasl.enabled.mechanisms') as readonly string[];
    const before = previous.setting(name, 'sasl.enabled.mechanisms') as readonly string[];
    if (mechanisms.join(',') === before.join(',')) continue;
    if (
      mechanisms.includes(oauthBearerMechanism) &&
      (running.oauthBearer?.byListener.get(name) ?? null) === null
    ) {
      throw new ListenerReconfigurationError(
        name,
        'sasl.enabled.mechanisms',
        `listener ${name} started without OAUTHBEARER, whose token checks are set up at start; enable it in the config and restart`,
      );
    }
    const sasl = listenerSaslSettings(next, name, running.credentials, running.oauthBearer);
    steps.push(() => running.security.set(name, { ...security, sasl }));
  }
  if (running.https !== null) tlsStep(running.https.listener, 'HTTPS', running.https.tls);
  return () => {
    for (const step of steps) step();
  };
}
