// Brook's own errors: one base class and one table of codes. Every error Brook raises on purpose
// extends BrookError and carries a stable `BROOK_*` code from the table below, so scripts, tests
// and operators can tell failures apart without parsing messages; docs/errors.md says what each
// one means and what to do about it (test/util/errors.test.ts fails for an undocumented code).
//
// Kafka's own error codes (the numbers in responses) live in one table too, the generated
// `ErrorCode` (src/protocol/errors.ts). An error that a request is answered with carries one of
// them as `kafkaErrorCode` beside its Brook code; the folders' short lists of Kafka codes
// (`RecordErrorCode`, `KafkaStorageErrorCode`) are views onto that table.

/** Every Brook error code with its meaning in one line; the long form is docs/errors.md. */
export const brookErrorCodes = {
  // Configuration (src/config).
  BROOK_CONFIG_UNKNOWN_SETTING: 'a setting name Brook does not know',
  BROOK_CONFIG_INVALID_VALUE: 'a known setting with a value of the wrong type or out of range',
  BROOK_CONFIG_CONFLICT: 'settings that are each valid but contradict one another',
  BROOK_CONFIG_NOT_DYNAMIC: 'AlterConfigs on a broker setting that only applies at start-up',
  BROOK_CONFIG_FILE_UNREADABLE: 'the file named by --config could not be read',
  BROOK_CONFIG_MALFORMED_FLAG: 'a command-line flag without its value, or not a --name at all',
  BROOK_CONFIG_DEPRECATED_TOPIC_CONFIG:
    'a warning: a deprecated topic config was set; it has no effect',

  // Start-up and the command line (src/cli, src/server, src/http).
  BROOK_CLI_UNKNOWN_COMMAND: 'brook was given a command it does not have',
  BROOK_CLI_START_FAILED: 'the broker failed to start for a reason Brook does not recognise',
  BROOK_CLI_USAGE: 'brook topics, configs, produce or consume was given bad arguments',
  BROOK_CLI_KAFKA_ERROR: 'the broker refused a CLI request with a Kafka error (named)',
  BROOK_CLI_CONNECTION: 'the CLI could not reach the broker, or the connection failed',
  BROOK_CLI_TIMEOUT: 'a CLI command did not finish within --timeout-ms',
  BROOK_CLI_INTERNAL: 'a bug in brook topics, configs, produce or consume',
  BROOK_START_PORT_IN_USE: "another process listens on a listener's port",
  BROOK_START_HOST_UNRESOLVABLE: "a listener's host does not resolve",
  BROOK_START_ADDRESS_UNAVAILABLE: "a listener's address is not one of this machine's",
  BROOK_START_PERMISSION_DENIED: 'listening on a port, or writing a path, was refused',
  BROOK_START_NOT_A_DIRECTORY: 'a log directory, or a directory on its path, is a file',
  BROOK_START_LOG_DIRECTORY_UNWRITABLE: "the log directory's file system is read-only or full",
  BROOK_SERVER_LISTEN: 'a Kafka listener could not listen, for a reason the system gave',
  BROOK_HTTP_LISTEN: 'an HTTP listener (http.listeners) could not listen',
  BROOK_HTTP_AUTHENTICATION: 'HTTP credentials that are wrong or not HTTP Basic (answered 401)',
  BROOK_SHARE_REQUEST: 'a push-delivery (/v1) request refused; its problem code says why',
  BROOK_CONSOLE_REQUEST: 'a web console (/ui/api) request refused, answered as a problem document',
  BROOK_TLS_CONFIGURATION: 'a keystore, truststore or key password a TLS listener cannot use',
  BROOK_OAUTHBEARER_JWKS: 'the JWKS OAUTHBEARER tokens are checked against cannot be read',
  BROOK_SASL_AUTHENTICATION_FAILED:
    'a SASL exchange failed (logged; the client hears only that it failed)',
  BROOK_SERVER_FRAME_SIZE: 'a request frame above socket.request.max.bytes, or negative',
  BROOK_HANDLER_REGISTRATION:
    'two handlers for one API key, or a handler with bad versions (a bug)',

  // The wire protocol (src/protocol).
  BROOK_PROTOCOL_DECODE: 'a frame that does not follow the protocol',
  BROOK_PROTOCOL_ENCODE: 'a value that cannot be encoded at the requested version',
  BROOK_PROTOCOL_UNSUPPORTED_VERSION: 'a message at a version its codec does not have',

  // Records and storage (src/record, src/storage, src/replica).
  BROOK_RECORD_INVALID: 'a record set the broker refuses (the Kafka code says why)',
  BROOK_PRODUCER_REFUSED: "a produce refused by the producer's sequence or epoch",
  BROOK_LOG_DIRECTORY_LOCKED: "another broker holds the log directory's lock",
  BROOK_DUPLICATE_LOG: 'one partition has a log in two entries of log.dirs',
  BROOK_STORAGE_FAILED: 'a write or fsync failed; the log refuses appends until reopened',
  BROOK_STORAGE_FULL: 'the disk is full; the log cut back to its last whole batch',
  BROOK_CORRUPT_SEGMENT: 'a batch read back from a segment fails its length or CRC check',
  BROOK_OFFSET_OUT_OF_RANGE: 'a read at an offset outside the log',
  BROOK_LOG_CLOSED: 'an operation on a log that is closed',
  BROOK_LOG_OFFLINE: 'a log whose directory could not be opened at start',
  BROOK_INVALID_LOG_CONFIG: 'a log configuration value out of range',

  // Topic metadata (src/metadata) and cluster mode (src/cluster).
  BROOK_METADATA_TOPIC_EXISTS: 'a topic create met an existing topic',
  BROOK_METADATA_UNKNOWN_TOPIC: 'a change named a topic that does not exist',
  BROOK_METADATA_CORRUPT: 'the metadata file is not what Brook writes',
  BROOK_CLUSTER_ETCD_UNAVAILABLE: 'no etcd endpoint answered in time',
  BROOK_CLUSTER_ETCD_NOT_FOUND: 'the etcd binary is not on PATH',
  BROOK_CLUSTER_BROKER_ID_IN_USE: "a live broker already holds this broker id's registration",
  BROOK_CLUSTER_ID_MISMATCH: 'the log directory or the etcd prefix belongs to another cluster',
  BROOK_CLUSTER_NOT_CONTROLLER: 'a controller write by a broker that is not the controller',
  BROOK_CLUSTER_STALE_PARTITION_EPOCH: 'a partition-state write after the partition epoch moved on',
  BROOK_CLUSTER_PLACEMENT_REFUSED: 'replicas cannot be placed as asked',
  BROOK_CLUSTER_TOPIC_EXISTS: 'a cluster topic create met an existing topic',
  BROOK_CLUSTER_UNKNOWN_TOPIC: 'a cluster topic change named a missing topic',
  BROOK_CLUSTER_TIMED_OUT: 'a topic change written to etcd that this broker did not apply in time',
  BROOK_CLUSTER_METADATA_CORRUPT: 'a value read from etcd is not what Brook writes there',
  BROOK_CLUSTER_MARKER_REFUSED: 'a partition leader refused a transaction marker for good',

  // Coordinators and admin requests (src/coordinator, src/handlers).
  BROOK_OFFSETS_RECORD: 'a __consumer_offsets key or value this version cannot read',
  BROOK_OFFSETS_BATCH: 'a __consumer_offsets batch that cannot be read',
  BROOK_TRANSACTION_COORDINATOR: 'a transaction request answered with a Kafka error',
  BROOK_TRANSACTION_MARKER: 'a partition refused a transaction marker (error named in the message)',
  BROOK_COORDINATOR_APPEND: 'a coordinator write to its internal partition not acknowledged',
  BROOK_ADMIN_REQUEST_REFUSED: 'an admin request refused for one resource with a Kafka error',

  // The small Kafka client (src/client) and brook groups (src/cli).
  BROOK_CLIENT_BAD_ADDRESS: 'a HOST:PORT that could not be parsed',
  BROOK_CLIENT_CONNECTION: 'connecting failed or timed out, or the connection failed',
  BROOK_CLIENT_TIMEOUT: 'a request got no response within the request timeout',
  BROOK_CLIENT_PROTOCOL: 'the broker sent something the client cannot read',
  BROOK_CLIENT_AUTHENTICATION:
    'SASL authentication failed (wrong credentials, mechanism not offered)',
  BROOK_CLIENT_KAFKA_ERROR: 'a response carried a Kafka error code (named in the message)',
  BROOK_GROUPS_USAGE: 'brook groups was given bad arguments',
  BROOK_GROUPS_KAFKA_ERROR: 'the broker answered brook groups with a Kafka error',
  BROOK_GROUPS_CONNECTION: 'brook groups could not reach the broker, or lost it',

  // Bugs.
  BROOK_INVARIANT: 'an invariant the code guarantees was broken: a bug in Brook',
} as const;

export type BrookErrorCode = keyof typeof brookErrorCodes;

export interface BrookErrorOptions {
  /** The Kafka error code a request that met this error is answered with, when there is one. */
  readonly kafkaErrorCode?: number;
  readonly cause?: unknown;
}

/** The base of every error Brook raises on purpose; `code` is stable, the message may change. */
export class BrookError extends Error {
  readonly code: BrookErrorCode;
  readonly kafkaErrorCode: number | undefined;

  constructor(code: BrookErrorCode, message: string, options: BrookErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrookError';
    this.code = code;
    this.kafkaErrorCode = options.kafkaErrorCode;
  }
}
