// What a listener's security protocol asks of its connections: TLS or not, SASL or not.

import type { SaslSettings } from './connection-authentication.js';
import type { TlsContext } from './tls-context.js';

export const securityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof securityProtocols)[number];

export function isSecurityProtocol(name: string): name is SecurityProtocol {
  return (securityProtocols as readonly string[]).includes(name);
}

export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

/** One listener's security, as the server applies it to each connection it accepts. */
export interface ListenerSecurity {
  readonly protocol: SecurityProtocol;
  /** Present exactly when the protocol uses TLS. */
  readonly tls: TlsContext | null;
  /** Present exactly when the protocol uses SASL; `onFailure` is added per connection. */
  readonly sasl: Omit<SaslSettings, 'onFailure'> | null;
}

export const plaintextSecurity: ListenerSecurity = { protocol: 'PLAINTEXT', tls: null, sasl: null };
