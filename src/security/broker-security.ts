// Each listener's security from the broker's settings: which protocol, one TLS context shared by
// the TLS listeners (the ssl.* settings are broker-wide in Brook), and the SASL settings.

import type { CredentialStore } from './credential-store.js';
import {
  type ListenerSecurity,
  type SecurityProtocol,
  usesSasl,
  usesTls,
} from './listener-security.js';
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

/** Throws TlsConfigurationError when a TLS listener's key, certificate or truststore cannot be used. */
export function listenerSecurityFromConfig(
  config: BrokerSecuritySettings,
  credentials: CredentialStore,
): Map<string, ListenerSecurity> {
  const protocols = [...config.listenerSecurityProtocols.values()];
  let tls: TlsContext | null = null;
  if (protocols.some(usesTls)) {
    tls = new TlsContext({
      keystoreLocation: config.sslKeystoreLocation!,
      keyPassword: config.sslKeyPassword,
      truststoreLocation: config.sslTruststoreLocation,
      clientAuthentication: config.sslClientAuth as ClientAuthentication,
      enabledProtocols: config.sslEnabledProtocols,
      principalMappingRules: config.sslPrincipalMappingRules,
    });
  }
  const sasl = {
    enabledMechanisms: config.saslEnabledMechanisms,
    credentials,
    failedAuthenticationDelayMs: config.connectionFailedAuthenticationDelayMs,
    reauthenticationMs: config.connectionsMaxReauthMs,
    receiveBytesMax: config.saslServerMaxReceiveSize,
  };
  return new Map(
    [...config.listenerSecurityProtocols].map(([name, protocol]) => [
      name,
      {
        protocol,
        tls: usesTls(protocol) ? tls : null,
        sasl: usesSasl(protocol) ? sasl : null,
      },
    ]),
  );
}
