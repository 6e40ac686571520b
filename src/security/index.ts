// The security layer's public surface: listener protocols, TLS, SASL and SCRAM credentials.
export {
  type ListenerSecurity,
  type SecurityProtocol,
  isSecurityProtocol,
  plaintextSecurity,
  securityProtocols,
  usesSasl,
  usesTls,
} from './listener-security.js';
export {
  ConnectionAuthentication,
  type SaslSettings,
  anonymousPrincipal,
  supportedSaslMechanisms,
} from './connection-authentication.js';
export {
  type ClientAuthentication,
  TlsConfigurationError,
  TlsContext,
  type TlsSettings,
  serveReloadedCertificates,
  applyReloadedCertificates,
} from './tls-context.js';
export {
  type CredentialStore,
  LocalCredentialStore,
  MemoryCredentialStore,
  type ScramCredentialSection,
  type StoredScramCredentials,
} from './credential-store.js';
export * from './scram-credential.js';
export * from './acl.js';
export { type AclSection, type AclStore, LocalAclStore, MemoryAclStore } from './acl-store.js';
export {
  type AuthorizationSubject,
  Authorizer,
  type AuthorizerSettings,
  parseSuperUsers,
} from './authorizer.js';
