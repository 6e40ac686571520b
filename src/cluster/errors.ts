// Brook's own errors of cluster mode. Each carries a stable code (for scripts and tests) and a
// message that says what to do. Kafka errors that reach clients (INVALID_REPLICATION_FACTOR, ...)
// are carried as a Kafka error code beside it, so a handler can answer without parsing text.
// The codes are in the one table, src/util/errors.ts.

import { BrookError, type BrookErrorCode, type BrookErrorOptions } from '../util/errors.js';

export const ClusterErrorCode = {
  /** No etcd endpoint answered within the time allowed; the message names the endpoints. */
  ETCD_UNAVAILABLE: 'BROOK_CLUSTER_ETCD_UNAVAILABLE',
  /** The `etcd` binary is not on PATH (tests, `brook dev-cluster`). */
  ETCD_NOT_FOUND: 'BROOK_CLUSTER_ETCD_NOT_FOUND',
  /** A live broker already holds this broker id's registration. */
  BROKER_ID_IN_USE: 'BROOK_CLUSTER_BROKER_ID_IN_USE',
  /** The log directory, or the etcd prefix, belongs to another cluster. */
  CLUSTER_ID_MISMATCH: 'BROOK_CLUSTER_ID_MISMATCH',
  /** A controller write was refused because this broker is no longer (or never was) controller. */
  NOT_CONTROLLER: 'BROOK_CLUSTER_NOT_CONTROLLER',
  /** A partition-state write was refused: the partition epoch moved on since it was read. */
  STALE_PARTITION_EPOCH: 'BROOK_CLUSTER_STALE_PARTITION_EPOCH',
  /** Replicas cannot be placed as asked (too few live brokers, unknown broker ids). */
  PLACEMENT_REFUSED: 'BROOK_CLUSTER_PLACEMENT_REFUSED',
  /** A topic create met an existing topic, or a change named a missing one. */
  TOPIC_EXISTS: 'BROOK_CLUSTER_TOPIC_EXISTS',
  UNKNOWN_TOPIC: 'BROOK_CLUSTER_UNKNOWN_TOPIC',
  /** A topic change was written to etcd, but this broker did not apply it in the time allowed. */
  TIMED_OUT: 'BROOK_CLUSTER_TIMED_OUT',
  /** A value read from etcd is not what Brook writes there (hand-edited or another program). */
  METADATA_CORRUPT: 'BROOK_CLUSTER_METADATA_CORRUPT',
  /** A partition leader refused a transaction marker with an error retrying cannot cure. */
  MARKER_REFUSED: 'BROOK_CLUSTER_MARKER_REFUSED',
} as const satisfies Record<string, BrookErrorCode>;

export type ClusterErrorCode = (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode];

export class ClusterError extends BrookError {
  declare readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string, options: BrookErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ClusterError';
  }
}
