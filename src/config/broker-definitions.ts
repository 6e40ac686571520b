// Every broker setting Brook reads, by Kafka's name. Where Brook's default differs from Kafka's
// the documentation line says so and why. A setting that is not in this table is refused when it
// appears in a config file, a flag or an AlterConfigs request, so an operator's typo never passes
// silently.

import { type ConfigDefinition, type ConfigValue, LONG_MAX_VALUE } from './definitions.js';
import { parseListeners } from './listeners.js';
import { parsePrincipalMappingRules } from '../security/principal-mapping.js';
import { parseStorageQuotas } from '../quota/storage-quotas.js';
import { DEFAULT_DECOMPRESSION_RATIO_MAX } from '../record/decompression-stream.js';

const INT_MAX_VALUE = 2 ** 31 - 1;

/**
 * max.connections.per.ip.overrides: `address:count` pairs separated by commas (an IPv6 address
 * keeps its colons: the count is after the last one). Throws on a malformed pair.
 */
export function parseConnectionsPerIpOverrides(text: string): Map<string, number> {
  const overrides = new Map<string, number>();
  for (const entry of text.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const separator = entry.lastIndexOf(':');
    const count = Number(entry.slice(separator + 1));
    if (separator <= 0 || !Number.isInteger(count) || count < 0) {
      throw new Error(`${JSON.stringify(entry)} is not of the form ADDRESS:COUNT`);
    }
    overrides.set(entry.slice(0, separator), count);
  }
  return overrides;
}

function listenersValidator(value: ConfigValue): void {
  parseListeners(value as readonly string[]);
}

function httpListenersValidator(value: ConfigValue): void {
  for (const listener of parseListeners(value as readonly string[])) {
    if (listener.name !== 'HTTP' && listener.name !== 'HTTPS') {
      throw new Error(
        `http.listeners takes http://HOST:PORT and https://HOST:PORT addresses, not ${listener.name}://`,
      );
    }
  }
}

function securityProtocolMapValidator(value: ConfigValue): void {
  for (const entry of value as readonly string[]) {
    if (!/^[A-Za-z][A-Za-z0-9_]*:[A-Za-z_]+$/.test(entry)) {
      throw new Error(
        `${JSON.stringify(entry)} is not of the form LISTENER_NAME:SECURITY_PROTOCOL`,
      );
    }
  }
}

function jwksUrlValidator(value: ConfigValue): void {
  if (value === null) return;
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    throw new Error('expected a URL (https://, http:// or file://)');
  }
  if (!['https:', 'http:', 'file:'].includes(url.protocol)) {
    throw new Error(`${url.protocol} URLs are not read; use https://, http:// or file://`);
  }
}

function principalMappingRulesValidator(value: ConfigValue): void {
  if (typeof value === 'string') parsePrincipalMappingRules(value);
}

function clusterIdValidator(value: ConfigValue): void {
  // Kafka's cluster ids are 16 bytes in URL-safe base64 without padding (22 characters).
  if (typeof value === 'string' && !/^[A-Za-z0-9_-]{22}$/.test(value)) {
    throw new Error(
      'a cluster id is 22 characters of URL-safe base64 (16 bytes), e.g. from `kafka-storage random-uuid`',
    );
  }
}

function etcdEndpointsValidator(value: ConfigValue): void {
  for (const endpoint of value as readonly string[]) {
    if (!/^https?:\/\/[^/\s]+:[0-9]+\/?$/.test(endpoint)) {
      throw new Error(
        `${JSON.stringify(endpoint)} is not an etcd client URL of the form http://HOST:PORT`,
      );
    }
  }
}

function etcdPrefixValidator(value: ConfigValue): void {
  if (typeof value === 'string' && !/^\/[^\s]*$/.test(value)) {
    throw new Error('an etcd key prefix starts with / and holds no spaces, e.g. /brook/prod');
  }
}

/**
 * A broker setting's definition. `field` names the BrokerConfig property that carries the parsed
 * value as it is (Kafka's name in camel case); settings without one are read from
 * `BrokerConfig.settings`, or feed a computed property (listeners, nodeId, offsetsRetentionMs).
 */
export interface BrokerSettingDefinition extends ConfigDefinition {
  readonly field?: string;
}

// `as const` keeps each entry's literal name, field, type and default, from which
// BrokerSettingFields below computes the BrokerConfig properties and their value types.
const definitions = [
  // --- where the broker keeps data and listens
  {
    name: 'log.dirs',
    type: 'list',
    defaultValue: ['./data'],
    documentation:
      'The directory where partition logs and broker metadata are kept (Brook uses the first).',
    dynamic: false,
  },
  {
    name: 'listeners',
    type: 'list',
    defaultValue: ['PLAINTEXT://127.0.0.1:9092'],
    validate: listenersValidator,
    documentation:
      'Comma-separated NAME://HOST:PORT addresses to listen on; port 0 picks a free port.',
    dynamic: false,
  },
  {
    name: 'advertised.listeners',
    type: 'list',
    defaultValue: null,
    validate: listenersValidator,
    documentation: 'The addresses returned to clients in Metadata, when different from listeners.',
    dynamic: false,
  },
  {
    name: 'http.listeners',
    type: 'list',
    defaultValue: null,
    validate: httpListenersValidator,
    documentation:
      'http://HOST:PORT and https://HOST:PORT addresses of the HTTP endpoint: /metrics (Prometheus), /healthz, /readyz, the console under /ui and the push delivery API under /v1. https:// serves TLS with the ssl.* settings, or their listener.name.https.* values. Empty: no HTTP endpoint.',
    dynamic: false,
  },
  {
    name: 'console.writes.enabled',
    field: 'consoleWritesEnabled',
    type: 'boolean',
    defaultValue: false,
    documentation:
      'Whether the web console at /ui may change anything (create and delete topics, produce, reset group offsets); off, it only reads.',
    dynamic: false,
  },
  {
    name: 'log.level',
    field: 'logLevel',
    type: 'string',
    defaultValue: 'info',
    validValues: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    documentation:
      'The least severe level the broker logs (to stderr: JSON lines, or one readable line each when stderr is a terminal).',
    dynamic: false,
  },
  {
    name: 'request.log.enabled',
    field: 'requestLogEnabled',
    type: 'boolean',
    defaultValue: false,
    documentation:
      'Log every answered request at info (component "request"): API, version, correlation and client id, principal, client address, listener, sizes, total/queue/local/remote/response-queue/send times and error codes; never payloads.',
    dynamic: false,
  },
  {
    name: 'request.log.sample.rate',
    field: 'requestLogSampleRate',
    type: 'double',
    defaultValue: 1,
    minimum: 0,
    maximum: 1,
    documentation:
      'With request.log.enabled, the fraction of answered requests that get a line, chosen at random (0.01: one in a hundred); slow requests are logged whatever it says.',
    dynamic: false,
  },
  {
    name: 'request.log.slow.ms',
    field: 'requestLogSlowMs',
    type: 'long',
    defaultValue: 5000,
    minimum: 0,
    documentation:
      "Log a request at warn when it took longer than this beyond the wait it asked for (a Fetch's max wait, a JoinGroup's rebalance timeout), at most 10 lines a second; 0 = never.",
    dynamic: false,
  },
  {
    name: 'listener.security.protocol.map',
    type: 'list',
    defaultValue: [
      'PLAINTEXT:PLAINTEXT',
      'SSL:SSL',
      'SASL_PLAINTEXT:SASL_PLAINTEXT',
      'SASL_SSL:SASL_SSL',
    ],
    validate: securityProtocolMapValidator,
    documentation:
      'Listener name to security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), for listeners whose name is not a protocol.',
    dynamic: false,
  },

  // --- TLS and SASL (src/security); ssl.* apply to every SSL and SASL_SSL listener
  {
    name: 'ssl.keystore.location',
    field: 'sslKeystoreLocation',
    type: 'string',
    defaultValue: null,
    documentation:
      "A PEM file with the broker's private key and certificate chain (Brook reads PEM only); reloaded when it changes.",
    dynamic: false,
  },
  {
    name: 'ssl.keystore.type',
    type: 'string',
    defaultValue: 'PEM',
    validValues: ['PEM'],
    documentation: 'The keystore format; Brook reads PEM only.',
    dynamic: false,
  },
  {
    name: 'ssl.key.password',
    field: 'sslKeyPassword',
    type: 'string',
    defaultValue: null,
    sensitive: true,
    documentation:
      'The password of the private key in ssl.keystore.location, when it is encrypted.',
    dynamic: false,
  },
  {
    name: 'ssl.truststore.location',
    field: 'sslTruststoreLocation',
    type: 'string',
    defaultValue: null,
    documentation:
      'A PEM file with the CA certificates client certificates must chain to (ssl.client.auth); reloaded when it changes.',
    dynamic: false,
  },
  {
    name: 'ssl.truststore.type',
    type: 'string',
    defaultValue: 'PEM',
    validValues: ['PEM'],
    documentation: 'The truststore format; Brook reads PEM only.',
    dynamic: false,
  },
  {
    name: 'ssl.client.auth',
    field: 'sslClientAuth',
    type: 'string',
    defaultValue: 'none',
    validValues: ['none', 'requested', 'required'],
    documentation:
      'Whether SSL listeners ask clients for a certificate: none, requested (verified when sent), required.',
    dynamic: false,
  },
  {
    name: 'ssl.enabled.protocols',
    field: 'sslEnabledProtocols',
    type: 'list',
    defaultValue: ['TLSv1.2', 'TLSv1.3'],
    validValues: ['TLSv1.2', 'TLSv1.3'],
    documentation: 'The TLS versions accepted; older ones are never offered.',
    dynamic: false,
  },
  {
    name: 'ssl.principal.mapping.rules',
    field: 'sslPrincipalMappingRules',
    type: 'string',
    defaultValue: 'DEFAULT',
    validate: principalMappingRulesValidator,
    documentation:
      "How a client certificate's DN becomes the principal name: DEFAULT, or RULE:pattern/replacement/[LU], tried in order.",
    dynamic: false,
  },
  {
    name: 'authorizer.enabled',
    field: 'authorizerEnabled',
    type: 'boolean',
    defaultValue: false,
    documentation:
      'Whether ACLs decide what each principal may do (Kafka: authorizer.class.name); off, every client may do everything.',
    dynamic: false,
  },
  {
    name: 'super.users',
    field: 'superUsers',
    type: 'string',
    defaultValue: null,
    documentation:
      'Principals the authorizer allows everything, separated by semicolons: User:admin;User:ANONYMOUS.',
    dynamic: false,
  },
  {
    name: 'allow.everyone.if.no.acl.found',
    field: 'allowEveryoneIfNoAclFound',
    type: 'boolean',
    defaultValue: false,
    documentation: 'Whether the authorizer allows every principal on a resource that no ACL names.',
    dynamic: false,
  },
  {
    name: 'sasl.enabled.mechanisms',
    field: 'saslEnabledMechanisms',
    type: 'list',
    // Kafka's default is GSSAPI, which Brook does not have.
    defaultValue: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    validValues: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'],
    documentation:
      'SASL mechanisms served on SASL listeners (Kafka: GSSAPI); PLAIN checks passwords against the SCRAM credentials; OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url.',
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.jwks.endpoint.url',
    field: 'saslOauthbearerJwksEndpointUrl',
    type: 'string',
    defaultValue: null,
    validate: jwksUrlValidator,
    documentation:
      'Where OAUTHBEARER token signing keys are read from: a JWKS at an https://, http:// or file:// URL, read at start and refreshed.',
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.jwks.endpoint.refresh.ms',
    field: 'saslOauthbearerJwksEndpointRefreshMs',
    type: 'long',
    defaultValue: 3_600_000,
    minimum: 1000,
    documentation:
      'How often the JWKS is read again (a token with an unknown kid also triggers a read).',
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms',
    field: 'saslOauthbearerJwksEndpointRetryBackoffMs',
    type: 'long',
    defaultValue: 100,
    minimum: 0,
    documentation: 'The least time between two reads of the JWKS triggered by unknown key ids.',
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.expected.issuer',
    field: 'saslOauthbearerExpectedIssuer',
    type: 'string',
    defaultValue: null,
    documentation: 'The iss claim an OAUTHBEARER token must carry; unset accepts any issuer.',
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.expected.audience',
    field: 'saslOauthbearerExpectedAudience',
    type: 'list',
    defaultValue: null,
    documentation:
      "Audiences of which an OAUTHBEARER token's aud claim must hold one; unset accepts any audience.",
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.clock.skew.seconds',
    field: 'saslOauthbearerClockSkewSeconds',
    type: 'int',
    defaultValue: 30,
    minimum: 0,
    documentation: "Clock difference tolerated when checking an OAUTHBEARER token's exp and nbf.",
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.sub.claim.name',
    field: 'saslOauthbearerSubClaimName',
    type: 'string',
    defaultValue: 'sub',
    documentation: 'The OAUTHBEARER token claim whose value is the principal name (User:<value>).',
    dynamic: false,
  },
  {
    name: 'sasl.oauthbearer.scope.claim.name',
    type: 'string',
    defaultValue: 'scope',
    documentation:
      "The OAUTHBEARER token claim holding its scopes (read by Kafka's validator; Brook checks none).",
    dynamic: false,
  },
  {
    name: 'sasl.server.max.receive.size',
    field: 'saslServerMaxReceiveSize',
    type: 'int',
    defaultValue: 524288,
    minimum: 1,
    documentation:
      'The largest frame (and SASL token) read from a SASL connection before it is authenticated.',
    dynamic: false,
  },
  {
    name: 'connection.failed.authentication.delay.ms',
    field: 'connectionFailedAuthenticationDelayMs',
    type: 'int',
    defaultValue: 100,
    minimum: 0,
    documentation:
      'How long a failed authentication waits before it is answered and the connection closed.',
    dynamic: false,
  },
  {
    name: 'inter.broker.listener.name',
    field: 'interBrokerListenerName',
    type: 'string',
    defaultValue: null,
    documentation:
      'The listener brokers use to reach each other in cluster mode (replication, transaction markers); unset: the first of listeners.',
    dynamic: false,
  },
  {
    name: 'sasl.mechanism.inter.broker.protocol',
    field: 'saslMechanismInterBrokerProtocol',
    type: 'string',
    // Kafka's default is GSSAPI, which Brook does not have.
    defaultValue: 'PLAIN',
    validValues: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    documentation:
      'The SASL mechanism a broker authenticates with when the inter-broker listener uses SASL.',
    dynamic: false,
  },
  {
    name: 'sasl.jaas.config',
    field: 'saslJaasConfig',
    type: 'string',
    defaultValue: null,
    sensitive: true,
    documentation:
      'The inter-broker SASL identity, as a JAAS line: a login module with username="..." password="..." (PLAIN or SCRAM).',
    dynamic: false,
  },
  {
    name: 'connections.max.reauth.ms',
    field: 'connectionsMaxReauthMs',
    type: 'long',
    defaultValue: 0,
    minimum: 0,
    documentation:
      'SASL session lifetime (KIP-368): the client must re-authenticate within it or be disconnected; 0 = no limit.',
    dynamic: false,
  },
  {
    name: 'audit.log.file',
    field: 'auditLogFile',
    type: 'string',
    defaultValue: null,
    documentation:
      'A file the audit log is appended to (one JSON line per admin action and per authentication failure); unset = no audit file.',
    dynamic: false,
  },
  {
    name: 'audit.log.topic',
    field: 'auditLogTopic',
    type: 'string',
    defaultValue: null,
    documentation:
      'A topic each audit line is also produced to (created with one partition when missing; in cluster mode it must exist, and each broker writes to partition broker.id modulo the partition count); unset = none.',
    dynamic: false,
  },
  {
    name: 'node.id',
    type: 'int',
    defaultValue: 1,
    minimum: 0,
    documentation: "This broker's id in the cluster (Kafka requires it set; Brook defaults to 1).",
    dynamic: false,
  },
  {
    name: 'broker.id',
    type: 'int',
    defaultValue: null,
    minimum: 0,
    documentation: 'Older name for node.id; when both are set they must agree.',
    dynamic: false,
  },
  {
    name: 'cluster.id',
    field: 'clusterId',
    type: 'string',
    defaultValue: null,
    validate: clusterIdValidator,
    documentation:
      'The cluster id; when unset Brook generates one on first start and keeps it under log.dirs.',
    dynamic: false,
  },

  // --- cluster mode: metadata, liveness and the controller in etcd (src/cluster/README.md)
  {
    name: 'etcd.endpoints',
    type: 'list',
    defaultValue: null,
    validate: etcdEndpointsValidator,
    documentation:
      'Comma-separated etcd client URLs (http://HOST:PORT); unset or empty runs one broker with local metadata.',
    dynamic: false,
  },
  {
    name: 'etcd.prefix',
    type: 'string',
    defaultValue: null,
    validate: etcdPrefixValidator,
    documentation:
      "The etcd key prefix of this cluster's metadata; when unset /brook/<cluster.id>, or /brook/default.",
    dynamic: false,
  },
  {
    name: 'broker.session.timeout.ms',
    type: 'int',
    defaultValue: 9000,
    minimum: 2000,
    documentation:
      "How long a broker that stops renewing its etcd lease keeps its registration (the lease's TTL).",
    dynamic: false,
  },
  {
    name: 'broker.session.fence.enable',
    type: 'boolean',
    defaultValue: true,
    documentation:
      'Cluster mode: a broker whose etcd lease may have expired (keep-alives unanswered for about broker.session.timeout.ms) goes on leading a partition only while its other in-sync replicas keep fetching from it at its leader epoch (or while it is the only one and unclean.leader.election.enable is off), and acknowledges acks=1 writes only once the in-sync replicas have them; so a broker cut off from etcd alone stops serving within a second of its successor taking over, while through an etcd outage every leader keeps serving. Off, a broker cut off from etcd goes on leading until it learns of its successor (acks=all stays safe, acks=1 writes in between may be lost).',
    dynamic: false,
  },
  {
    name: 'broker.rack',
    type: 'string',
    defaultValue: null,
    documentation:
      "This broker's rack; replica placement spreads a partition's replicas over racks.",
    dynamic: false,
  },
  {
    name: 'transaction.state.log.min.isr',
    type: 'int',
    defaultValue: 1,
    minimum: 1,
    documentation:
      'min.insync.replicas of __transaction_state (Kafka: 2; Brook starts single-broker).',
    dynamic: false,
  },
  {
    name: 'auto.leader.rebalance.enable',
    type: 'boolean',
    defaultValue: true,
    documentation:
      "The controller moves each partition's leadership back to its preferred replica when it is in sync.",
    dynamic: false,
  },
  {
    name: 'leader.imbalance.check.interval.seconds',
    type: 'int',
    defaultValue: 300,
    minimum: 1,
    documentation:
      'How often the controller looks for leaderships away from their preferred replica (auto.leader.rebalance.enable).',
    dynamic: false,
  },
  {
    name: 'controlled.shutdown.enable',
    type: 'boolean',
    defaultValue: true,
    documentation:
      'On SIGTERM a clustered broker hands its leaderships to other in-sync replicas before it exits.',
    dynamic: false,
  },

  // --- topics
  {
    name: 'num.partitions',
    field: 'numPartitions',
    type: 'int',
    defaultValue: 1,
    minimum: 1,
    documentation:
      "Partitions of an auto-created topic (Kafka's default; librdkafka's test suite expects 4).",
    dynamic: false,
  },
  {
    name: 'default.replication.factor',
    field: 'defaultReplicationFactor',
    type: 'int',
    defaultValue: 1,
    minimum: 1,
    documentation: 'Replication factor of an auto-created topic.',
    dynamic: false,
  },
  {
    name: 'auto.create.topics.enable',
    field: 'autoCreateTopicsEnable',
    type: 'boolean',
    defaultValue: true,
    documentation:
      'Create a topic when a Metadata request that allows it names a topic that does not exist.',
    dynamic: false,
  },
  {
    name: 'delete.topic.enable',
    field: 'deleteTopicEnable',
    type: 'boolean',
    defaultValue: true,
    documentation: 'Allow DeleteTopics; when false it answers TOPIC_DELETION_DISABLED.',
    dynamic: false,
  },
  {
    name: 'min.insync.replicas',
    field: 'minInsyncReplicas',
    type: 'int',
    defaultValue: 1,
    minimum: 1,
    documentation: 'Replicas that must acknowledge an acks=all produce.',
    dynamic: true,
  },
  {
    name: 'unclean.leader.election.enable',
    type: 'boolean',
    defaultValue: false,
    documentation:
      'Allow a replica outside the ISR to become leader, at the cost of losing records.',
    dynamic: true,
  },
  {
    name: 'message.max.bytes',
    field: 'messageMaxBytes',
    type: 'int',
    defaultValue: 1048588,
    minimum: 0,
    documentation: 'The largest record batch a topic accepts (topic config max.message.bytes).',
    dynamic: true,
  },
  {
    name: 'compression.type',
    type: 'string',
    defaultValue: 'producer',
    validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
    documentation: "The codec batches are stored with; 'producer' keeps the producer's.",
    dynamic: true,
  },
  {
    name: 'compression.gzip.level',
    type: 'int',
    defaultValue: -1,
    minimum: -1,
    maximum: 9,
    documentation: 'The gzip level used when the broker recompresses.',
    dynamic: true,
  },
  {
    name: 'compression.lz4.level',
    type: 'int',
    defaultValue: 9,
    minimum: 1,
    maximum: 17,
    documentation: 'The lz4 level used when the broker recompresses.',
    dynamic: true,
  },
  {
    name: 'compression.zstd.level',
    type: 'int',
    defaultValue: 3,
    minimum: -131072,
    maximum: 22,
    documentation: 'The zstd level used when the broker recompresses.',
    dynamic: true,
  },

  // --- network limits
  {
    name: 'num.io.threads',
    field: 'numIoThreads',
    type: 'int',
    defaultValue: 1,
    minimum: 1,
    documentation:
      'Threads serving the Kafka listeners. 1: the event loop does everything. n ≥ 2: n - 1 network threads share each listening port (SO_REUSEPORT) and accept the connections, terminate TLS, read and frame requests and write responses, and the event loop serves the requests. Node.js before 22.12 cannot share a port between threads: there, one network thread.',
    dynamic: false,
  },
  {
    name: 'socket.request.max.bytes',
    field: 'socketRequestMaxBytes',
    type: 'int',
    defaultValue: 104857600,
    minimum: 1,
    documentation: 'The largest request frame accepted; a larger one closes the connection.',
    dynamic: false,
  },
  {
    name: 'connections.max.idle.ms',
    field: 'connectionsMaxIdleMs',
    type: 'long',
    defaultValue: 600000,
    minimum: 1,
    documentation:
      'Close a connection that has sent nothing and has nothing in flight for this long.',
    dynamic: false,
  },
  {
    name: 'queued.max.request.bytes',
    field: 'queuedMaxRequestBytes',
    type: 'long',
    defaultValue: 33554432,
    minimum: -1,
    documentation:
      'Per connection in Brook (Kafka: whole broker, default -1): request and response bytes in flight before reading pauses (one request is always let through, however large); -1 = no limit.',
    dynamic: false,
  },
  {
    name: 'queued.max.request.bytes.total',
    field: 'queuedMaxRequestBytesTotal',
    type: 'long',
    defaultValue: 268435456,
    minimum: -1,
    documentation:
      'Brook: request and response bytes in flight summed over all connections; above it each connection starts one request at a time, so memory stays near this plus one request per connection; -1 = no limit.',
    dynamic: false,
  },
  {
    name: 'queued.max.requests',
    field: 'queuedMaxRequests',
    type: 'int',
    defaultValue: 500,
    minimum: 1,
    documentation: 'Per connection in Brook: requests in flight before reading pauses.',
    dynamic: false,
  },

  {
    name: 'max.connections',
    field: 'maxConnections',
    type: 'int',
    defaultValue: INT_MAX_VALUE,
    minimum: 0,
    documentation:
      'Connections the broker accepts across all listeners; more are closed on accept.',
    dynamic: false,
  },
  {
    name: 'max.connections.per.ip',
    field: 'maxConnectionsPerIp',
    type: 'int',
    defaultValue: INT_MAX_VALUE,
    minimum: 0,
    documentation: 'Connections the broker accepts from one IP address; more are closed on accept.',
    dynamic: false,
  },
  {
    name: 'max.connections.per.ip.overrides',
    field: 'maxConnectionsPerIpOverrides',
    type: 'string',
    defaultValue: null,
    validate: (value) => {
      parseConnectionsPerIpOverrides((value as string | null) ?? '');
    },
    documentation:
      'Per-address exceptions to max.connections.per.ip, as ADDRESS:COUNT pairs separated by commas.',
    dynamic: false,
  },
  {
    name: 'max.connection.creation.rate',
    field: 'maxConnectionCreationRate',
    type: 'int',
    defaultValue: INT_MAX_VALUE,
    minimum: 0,
    documentation:
      'New connections per second the broker accepts across listeners, over the quota windows; Brook closes the excess on accept (Kafka delays it).',
    dynamic: false,
  },
  {
    name: 'storage.quota.topic.prefixes',
    field: 'storageQuotaTopicPrefixes',
    type: 'string',
    defaultValue: null,
    validate: (value) => {
      parseStorageQuotas((value as string | null) ?? '');
    },
    documentation:
      'Brook only: storage quotas per tenant, as TOPIC_PREFIX:BYTES pairs separated by commas; produce to a tenant whose topics hold that many bytes on disk is refused (POLICY_VIOLATION).',
    dynamic: false,
  },
  {
    name: 'quota.window.num',
    field: 'quotaWindowNum',
    type: 'int',
    defaultValue: 11,
    minimum: 1,
    documentation: 'How many sample windows client quota rates are measured over.',
    dynamic: false,
  },
  {
    name: 'quota.window.size.seconds',
    field: 'quotaWindowSizeSeconds',
    type: 'int',
    defaultValue: 1,
    minimum: 1,
    documentation: 'The length of one client quota sample window.',
    dynamic: false,
  },
  {
    name: 'fetch.max.bytes',
    field: 'fetchMaxBytes',
    type: 'int',
    defaultValue: 57671680,
    minimum: 1024,
    documentation:
      'The most bytes of records one Fetch response carries, whatever the client asks.',
    dynamic: false,
  },
  {
    name: 'replica.lag.time.max.ms',
    field: 'replicaLagTimeMaxMs',
    type: 'long',
    defaultValue: 30000,
    minimum: 1,
    documentation: 'A follower that has not caught up for this long leaves the ISR.',
    dynamic: false,
  },
  {
    name: 'request.timeout.ms',
    field: 'requestTimeoutMs',
    type: 'int',
    defaultValue: 10000,
    minimum: 1,
    documentation:
      "Cluster mode: how long a partition leader waits for its ISR to reach a transaction marker before answering REQUEST_TIMED_OUT, and (a second more) how long the coordinator waits for a leader's answer before asking again (Kafka: 30000; Brook: 10000, so a marker is retried within transaction.markers.timeout.ms).",
    dynamic: false,
  },

  // --- logs: segments, retention, flush, cleaning
  {
    name: 'log.segment.bytes',
    type: 'int',
    defaultValue: 1073741824,
    minimum: 14,
    documentation: 'The size at which a segment file is rolled.',
    dynamic: true,
  },
  {
    name: 'log.roll.ms',
    type: 'long',
    defaultValue: null,
    minimum: 1,
    documentation: 'Roll a segment this long after its first record; when unset, log.roll.hours.',
    dynamic: true,
  },
  {
    name: 'log.roll.hours',
    type: 'int',
    defaultValue: 168,
    minimum: 1,
    documentation:
      'Roll a segment this many hours after its first record (secondary to log.roll.ms).',
    dynamic: false,
  },
  {
    name: 'log.roll.jitter.ms',
    type: 'long',
    defaultValue: null,
    minimum: 0,
    documentation:
      'The largest random jitter subtracted from the roll time; when unset, log.roll.jitter.hours.',
    dynamic: true,
  },
  {
    name: 'log.roll.jitter.hours',
    type: 'int',
    defaultValue: 0,
    minimum: 0,
    documentation: 'The largest random jitter subtracted from the roll time, in hours.',
    dynamic: false,
  },
  {
    name: 'log.retention.ms',
    type: 'long',
    defaultValue: null,
    minimum: -1,
    documentation:
      'Delete segments older than this; -1 keeps them forever; when unset, log.retention.minutes.',
    dynamic: true,
  },
  {
    name: 'log.retention.minutes',
    type: 'int',
    defaultValue: null,
    minimum: -1,
    documentation:
      'Retention in minutes, used when log.retention.ms is unset; when unset, log.retention.hours.',
    dynamic: false,
  },
  {
    name: 'log.retention.hours',
    type: 'int',
    defaultValue: 168,
    minimum: -1,
    documentation:
      'Retention in hours, used when log.retention.ms and log.retention.minutes are unset.',
    dynamic: false,
  },
  {
    name: 'log.retention.bytes',
    type: 'long',
    defaultValue: -1,
    minimum: -1,
    documentation: 'Delete the oldest segments of a partition above this size; -1 = no size limit.',
    dynamic: true,
  },
  {
    name: 'log.retention.check.interval.ms',
    field: 'logRetentionCheckIntervalMs',
    type: 'long',
    defaultValue: 300000,
    minimum: 1,
    documentation: 'How often retention is applied.',
    dynamic: false,
  },
  {
    name: 'log.tail.cache.max.bytes',
    field: 'logTailCacheMaxBytes',
    type: 'long',
    defaultValue: 67108864,
    minimum: -1,
    documentation:
      "Brook: memory for the recent appends kept to serve consumers and followers at a log's tail without reading its file, summed over every partition (each keeps at most 1 MiB; an append counts once written, its bytes and 512 for its bookkeeping). Past it, the partitions written to least recently give theirs up first; -1 = no broker-wide limit.",
    dynamic: false,
  },
  {
    name: 'log.max.decompression.ratio',
    type: 'int',
    defaultValue: DEFAULT_DECOMPRESSION_RATIO_MAX,
    minimum: 1,
    documentation:
      "Brook's own: the records of a compressed batch may decompress to at most this many times max.message.bytes (topic config max.decompression.ratio).",
    dynamic: true,
  },
  {
    name: 'log.retention.timestamp.type',
    type: 'string',
    defaultValue: 'append',
    validValues: ['append', 'record'],
    documentation:
      "Brook's own: retention counts from the broker's append (append) or from the record timestamp (record, as Kafka).",
    dynamic: true,
  },
  {
    name: 'log.segment.delete.delay.ms',
    type: 'long',
    defaultValue: 60000,
    minimum: 0,
    documentation: 'How long a deleted segment file lingers before it is removed.',
    dynamic: true,
  },
  {
    name: 'log.cleanup.policy',
    type: 'list',
    defaultValue: ['delete'],
    validValues: ['delete', 'compact'],
    validate: (value) => {
      if ((value as readonly string[]).length === 0)
        throw new Error('name delete, compact, or both');
    },
    documentation: 'delete (by retention), compact (keep the latest record per key), or both.',
    dynamic: true,
  },
  {
    name: 'log.cleaner.enable',
    field: 'logCleanerEnable',
    type: 'boolean',
    defaultValue: true,
    documentation: 'Run the log cleaner that compacts topics with cleanup.policy=compact.',
    dynamic: false,
  },
  {
    name: 'log.cleaner.delete.retention.ms',
    type: 'long',
    defaultValue: 86400000,
    minimum: 0,
    documentation: 'How long tombstones are kept in a compacted topic.',
    dynamic: true,
  },
  {
    name: 'log.cleaner.min.compaction.lag.ms',
    type: 'long',
    defaultValue: 0,
    minimum: 0,
    documentation: 'The least time a record stays uncompacted.',
    dynamic: true,
  },
  {
    name: 'log.cleaner.max.compaction.lag.ms',
    type: 'long',
    defaultValue: LONG_MAX_VALUE,
    minimum: 1,
    documentation: 'The most time a record may stay uncompacted.',
    dynamic: true,
  },
  {
    name: 'log.cleaner.min.cleanable.ratio',
    type: 'double',
    defaultValue: 0.5,
    minimum: 0,
    maximum: 1,
    documentation: 'The dirty fraction of a log above which it is compacted.',
    dynamic: true,
  },
  {
    name: 'log.flush.interval.messages',
    type: 'long',
    defaultValue: 1,
    minimum: 1,
    documentation:
      'Flush after this many records; Brook defaults to 1, an fsync before every acknowledgement (Kafka: never).',
    dynamic: true,
  },
  {
    name: 'log.flush.interval.ms',
    type: 'long',
    defaultValue: null,
    minimum: 0,
    documentation:
      'Flush data older than this; when unset, only log.flush.interval.messages applies.',
    dynamic: true,
  },
  {
    name: 'log.index.interval.bytes',
    type: 'int',
    defaultValue: 4096,
    minimum: 0,
    documentation: 'Bytes between offset index entries.',
    dynamic: true,
  },
  {
    name: 'log.index.size.max.bytes',
    type: 'int',
    defaultValue: 10485760,
    minimum: 4,
    documentation: 'The largest offset or time index file of one segment.',
    dynamic: true,
  },
  {
    name: 'log.preallocate',
    type: 'boolean',
    defaultValue: false,
    documentation:
      'Preallocate segment files (accepted and described; Brook does not preallocate).',
    dynamic: true,
  },
  {
    name: 'log.message.timestamp.type',
    type: 'string',
    defaultValue: 'CreateTime',
    validValues: ['CreateTime', 'LogAppendTime'],
    documentation:
      "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's clock.",
    dynamic: true,
  },
  {
    name: 'log.message.timestamp.before.max.ms',
    type: 'long',
    defaultValue: LONG_MAX_VALUE,
    minimum: 0,
    documentation: 'Refuse a CreateTime batch whose timestamp is further than this in the past.',
    dynamic: true,
  },
  {
    name: 'log.message.timestamp.after.max.ms',
    type: 'long',
    defaultValue: 3600000,
    minimum: 0,
    documentation: 'Refuse a CreateTime batch whose timestamp is further than this in the future.',
    dynamic: true,
  },
  {
    name: 'log.local.retention.ms',
    type: 'long',
    defaultValue: -2,
    minimum: -2,
    documentation:
      'Tiered storage local retention (stored and described; Brook has no tiered storage).',
    dynamic: true,
  },
  {
    name: 'log.local.retention.bytes',
    type: 'long',
    defaultValue: -2,
    minimum: -2,
    documentation:
      'Tiered storage local retention (stored and described; Brook has no tiered storage).',
    dynamic: true,
  },

  // --- consumer groups and the offsets topic
  {
    name: 'offsets.topic.num.partitions',
    field: 'offsetsTopicNumPartitions',
    type: 'int',
    defaultValue: 50,
    minimum: 1,
    documentation: 'Partitions of __consumer_offsets; fixed once the topic exists.',
    dynamic: false,
  },
  {
    name: 'offsets.topic.replication.factor',
    field: 'offsetsTopicReplicationFactor',
    type: 'short',
    defaultValue: 1,
    minimum: 1,
    documentation:
      'Replication factor of __consumer_offsets (Kafka: 3; Brook starts single-broker).',
    dynamic: false,
  },
  {
    name: 'offsets.topic.segment.bytes',
    field: 'offsetsTopicSegmentBytes',
    type: 'int',
    defaultValue: 104857600,
    minimum: 1,
    documentation: 'Segment size of __consumer_offsets.',
    dynamic: false,
  },
  {
    name: 'offsets.retention.minutes',
    type: 'int',
    defaultValue: 10080,
    minimum: 1,
    documentation: 'Committed offsets of an empty group are kept this long.',
    dynamic: false,
  },
  {
    name: 'offsets.retention.check.interval.ms',
    field: 'offsetsRetentionCheckIntervalMs',
    type: 'long',
    defaultValue: 600000,
    minimum: 1,
    documentation: 'How often expired committed offsets are removed.',
    dynamic: false,
  },
  {
    name: 'offsets.commit.timeout.ms',
    field: 'offsetsCommitTimeoutMs',
    type: 'int',
    defaultValue: 5000,
    minimum: 1,
    documentation: 'How long an offset commit waits for its write to __consumer_offsets.',
    dynamic: false,
  },
  {
    name: 'group.initial.rebalance.delay.ms',
    field: 'groupInitialRebalanceDelayMs',
    type: 'int',
    defaultValue: 0,
    minimum: 0,
    documentation:
      'How long a new group waits for more members before its first rebalance (Kafka: 3000; Brook: 0).',
    dynamic: false,
  },
  {
    name: 'group.min.session.timeout.ms',
    field: 'groupMinSessionTimeoutMs',
    type: 'int',
    defaultValue: 6000,
    minimum: 0,
    documentation: 'The smallest session timeout a member may ask for.',
    dynamic: false,
  },
  {
    name: 'group.max.session.timeout.ms',
    field: 'groupMaxSessionTimeoutMs',
    type: 'int',
    defaultValue: 1800000,
    minimum: 0,
    documentation: 'The largest session timeout a member may ask for.',
    dynamic: false,
  },
  {
    name: 'group.max.size',
    field: 'groupMaxSize',
    type: 'int',
    defaultValue: INT_MAX_VALUE,
    minimum: 1,
    documentation: 'The most members one consumer group may have.',
    dynamic: false,
  },

  // --- transactions and idempotent producers
  {
    name: 'transaction.max.timeout.ms',
    field: 'transactionMaxTimeoutMs',
    type: 'int',
    defaultValue: 900000,
    minimum: 1,
    documentation: 'The longest transaction timeout a producer may ask for.',
    dynamic: false,
  },
  {
    name: 'transactional.id.expiration.ms',
    field: 'transactionalIdExpirationMs',
    type: 'int',
    defaultValue: 604800000,
    minimum: 1,
    documentation: 'Forget a transactional id that has not been used for this long.',
    dynamic: true,
  },
  {
    name: 'transaction.state.log.num.partitions',
    field: 'transactionStateLogNumPartitions',
    type: 'int',
    defaultValue: 50,
    minimum: 1,
    documentation: 'Partitions of __transaction_state; fixed once the topic exists.',
    dynamic: false,
  },
  {
    name: 'transaction.state.log.replication.factor',
    field: 'transactionStateLogReplicationFactor',
    type: 'short',
    defaultValue: 1,
    minimum: 1,
    documentation:
      'Replication factor of __transaction_state (Kafka: 3; Brook starts single-broker).',
    dynamic: false,
  },
  {
    name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    field: 'transactionAbortTimedOutTransactionCleanupIntervalMs',
    type: 'int',
    defaultValue: 10000,
    minimum: 1,
    documentation: 'How often transactions past their timeout are aborted.',
    dynamic: false,
  },
  {
    name: 'transaction.markers.timeout.ms',
    field: 'transactionMarkersTimeoutMs',
    type: 'int',
    defaultValue: 20000,
    minimum: 1,
    documentation:
      "Brook only: how long ending a transaction waits for its COMMIT or ABORT markers before EndTxn is answered COORDINATOR_NOT_AVAILABLE (the transaction stays prepared and is completed later; Kafka answers before writing markers). Keep it below the clients' request timeout (30 s).",
    dynamic: false,
  },
  {
    name: 'transaction.remove.expired.transaction.cleanup.interval.ms',
    field: 'transactionRemoveExpiredTransactionCleanupIntervalMs',
    type: 'int',
    defaultValue: 3600000,
    minimum: 1,
    documentation: 'How often transactional ids past transactional.id.expiration.ms are removed.',
    dynamic: false,
  },
  {
    name: 'producer.id.expiration.ms',
    field: 'producerIdExpirationMs',
    type: 'int',
    defaultValue: 86400000,
    minimum: 1,
    documentation: "Forget an idle idempotent producer's sequence state after this long.",
    dynamic: true,
  },

  // --- shared subscriptions (push delivery and queues, src/share)
  {
    name: 'share.record.lock.duration.ms',
    field: 'shareRecordLockDurationMs',
    type: 'int',
    defaultValue: 30000,
    minimum: 1,
    documentation:
      'How long a consumer holds a record it was given before the record is available again (a subscription may set its own ackTimeoutMs).',
    dynamic: false,
  },
  {
    name: 'share.delivery.count.limit',
    field: 'shareDeliveryCountLimit',
    type: 'int',
    defaultValue: 5,
    minimum: 1,
    documentation:
      'Deliveries of one record before it goes to the dead-letter topic (a subscription may set its own maxDeliveries).',
    dynamic: false,
  },
  {
    name: 'share.partition.max.record.locks',
    field: 'sharePartitionMaxRecordLocks',
    type: 'int',
    defaultValue: 2000,
    minimum: 1,
    documentation:
      'Records of one source partition a subscription tracks at once (read ahead, in flight, delayed); reading pauses at the limit.',
    dynamic: false,
  },
  {
    name: 'share.state.topic.num.partitions',
    field: 'shareStateTopicNumPartitions',
    type: 'int',
    defaultValue: 10,
    minimum: 1,
    documentation: 'Partitions of __share_group_state; fixed once the topic exists.',
    dynamic: false,
  },
  {
    name: 'group.share.enable',
    field: 'groupShareEnable',
    type: 'boolean',
    defaultValue: false,
    documentation:
      'Serve Kafka share groups (KIP-932: ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch, ShareAcknowledge) over the shared-subscription engine; off, ApiVersions does not list them. Kafka 4.0 named it so; 4.1 and later gate share groups with the share.version feature instead.',
    dynamic: false,
  },
  {
    name: 'group.share.session.timeout.ms',
    field: 'groupShareSessionTimeoutMs',
    type: 'int',
    defaultValue: 45000,
    minimum: 1,
    documentation:
      'A share-group member that sends no ShareGroupHeartbeat for this long leaves the group, and the records it holds become available again.',
    dynamic: false,
  },
  {
    name: 'group.share.heartbeat.interval.ms',
    field: 'groupShareHeartbeatIntervalMs',
    type: 'int',
    defaultValue: 5000,
    minimum: 1,
    documentation: 'How often a share-group member is told to send ShareGroupHeartbeat.',
    dynamic: false,
  },
] as const satisfies readonly BrokerSettingDefinition[];

export const brokerConfigDefinitions: ReadonlyMap<string, BrokerSettingDefinition> = new Map(
  definitions.map((definition): [string, BrokerSettingDefinition] => [definition.name, definition]),
);

type FieldDefinition = Extract<(typeof definitions)[number], { readonly field: string }>;

/** The TypeScript type of a parsed value: ConfigValue narrowed by the definition's type and default. */
type SettingValue<D extends BrokerSettingDefinition> =
  | (D['type'] extends 'boolean'
      ? boolean
      : D['type'] extends 'string'
        ? string
        : D['type'] extends 'list'
          ? readonly string[]
          : number)
  | (D['defaultValue'] extends null ? null : never);

/** The BrokerConfig properties that are one setting's value as parsed, computed from the table. */
export type BrokerSettingFields = {
  readonly [D in FieldDefinition as D['field']]: SettingValue<D>;
};

/** Kafka's name in camel case: `num.partitions` -> `numPartitions`. */
type CamelCase<Name extends string> = Name extends `${infer Head}.${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : Name;
type MisnamedField<D> = D extends FieldDefinition
  ? D['field'] extends CamelCase<D['name']>
    ? never
    : D['name']
  : never;
// Fails to compile, naming the setting, when a field is not its setting's name in camel case.
const fieldsNamedAfterSettings: [MisnamedField<FieldDefinition>] extends [never]
  ? true
  : MisnamedField<FieldDefinition> = true;
void fieldsNamedAfterSettings;

/** Each field of BrokerSettingFields with the setting it comes from, in table order. */
export const brokerSettingFields: ReadonlyArray<{
  readonly name: string;
  readonly field: keyof BrokerSettingFields;
}> = definitions.flatMap((definition: BrokerSettingDefinition) =>
  definition.field === undefined
    ? []
    : [{ name: definition.name, field: definition.field as keyof BrokerSettingFields }],
);
