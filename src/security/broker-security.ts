// Each listener's security from the broker's settings: which protocol, the TLS context of SSL and
// of SASL_SSL listeners (the ssl.* settings are broker-wide in Brook; no listener.name.* prefix
// yet), and the SASL settings.

import type { CredentialStore } from './credential-store.js';
import { JwksKeys } from './jwks.js';
import { type OAuthBearerSettings, oauthBearerMechanism } from './oauthbearer.js';
import { type ListenerSecurity, type SecurityProtocol, usesSasl } from './listener-security.js';
import { type ClientAuthentication, TlsContext } from './tls-context.js';

/** The broker settings (by their BrokerConfig names) that decide listeners' security. */
export interface BrokerSecuritySettings {
  readonly listenerSecurityProtocols: ReadonlyMap<string, SecurityProtocol>;
  readonly sslKeystoreLocation: string | null;
  readonly sslKeyPassword: string | null;
  readonly sslTruststoreLocation: string | null;
  readonly sslClientAuth: string;
  readonly sslEnabledProtocols: readonly string[];
  readonly sslPrincipalMappingRules: string;
  readonly saslEnabledMechanisms: readonly string[];
  readonly saslServerMaxReceiveSize: number;
  readonly connectionFailedAuthenticationDelayMs: number;
  readonly connectionsMaxReauthMs: number;
}

/** The sasl.oauthbearer.* settings (by their BrokerConfig names). */
export interface BrokerOAuthBearerSettings {
  readonly saslEnabledMechanisms: readonly string[];
  readonly saslOauthbearerJwksEndpointUrl: string | null;
  readonly saslOauthbearerJwksEndpointRefreshMs: number;
  readonly saslOauthbearerJwksEndpointRetryBackoffMs: number;
  readonly saslOauthbearerExpectedIssuer: string | null;
  readonly saslOauthbearerExpectedAudience: readonly string[] | null;
  readonly saslOauthbearerClockSkewSeconds: number;
  readonly saslOauthbearerSubClaimName: string;
}

/**
 * OAUTHBEARER's token checks when the mechanism is enabled, with the JWKS read once already
 * (throws JwksError when it cannot be); null otherwise. The caller closes `keys` on shutdown.
 */
export async function oauthBearerFromConfig(
  config: BrokerOAuthBearerSettings,
  onError: (message: string) => void,
): Promise<OAuthBearerSettings | null> {
  if (!config.saslEnabledMechanisms.includes(oauthBearerMechanism)) return null;
  const url = config.saslOauthbearerJwksEndpointUrl;
  // Checked by the config already; kept here so the types say it.
  if (url === null) throw new Error('OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url');
  const keys = new JwksKeys({
    url,
    refreshMs: config.saslOauthbearerJwksEndpointRefreshMs,
    retryBackoffMs: config.saslOauthbearerJwksEndpointRetryBackoffMs,
    onError,
  });
  await keys.start();
  return {
    keys,
    expectedIssuer: config.saslOauthbearerExpectedIssuer,
    expectedAudience: config.saslOauthbearerExpectedAudience ?? [],
    clockSkewSeconds: config.saslOauthbearerClockSkewSeconds,
    subClaimName: config.saslOauthbearerSubClaimName,
  };
}

/** Throws TlsConfigurationError when a TLS listener's key, certificate or truststore cannot be used. */
export function listenerSecurityFromConfig(
  config: BrokerSecuritySettings,
  credentials: CredentialStore,
  oauthBearer: OAuthBearerSettings | null = null,
): Map<string, ListenerSecurity> {
  const protocols = [...config.listenerSecurityProtocols.values()];
  const tlsContext = (clientAuthentication: ClientAuthentication): TlsContext =>
    new TlsContext({
      keystoreLocation: config.sslKeystoreLocation!,
      keyPassword: config.sslKeyPassword,
      truststoreLocation: config.sslTruststoreLocation,
      clientAuthentication,
      enabledProtocols: config.sslEnabledProtocols,
      principalMappingRules: config.sslPrincipalMappingRules,
    });
  // As in Kafka (KIP-684), ssl.client.auth applies to SSL listeners; SASL_SSL listeners
  // authenticate clients by SASL and do not ask for a certificate.
  const sslTls = protocols.includes('SSL')
    ? tlsContext(config.sslClientAuth as ClientAuthentication)
    : null;
  const saslSslTls = protocols.includes('SASL_SSL') ? tlsContext('none') : null;
  const sasl = {
    enabledMechanisms: config.saslEnabledMechanisms,
    credentials,
    oauthBearer,
    failedAuthenticationDelayMs: config.connectionFailedAuthenticationDelayMs,
    reauthenticationMs: config.connectionsMaxReauthMs,
    receiveBytesMax: config.saslServerMaxReceiveSize,
  };
  return new Map(
    [...config.listenerSecurityProtocols].map(([name, protocol]) => [
      name,
      {
        protocol,
        tls: protocol === 'SSL' ? sslTls : protocol === 'SASL_SSL' ? saslSslTls : null,
        sasl: usesSasl(protocol) ? sasl : null,
      },
    ]),
  );
}
