// Turning errors from the layers below into what a response carries: the Kafka error code, and
// for admin APIs a message beside it that says which setting or topic was wrong.

import { ClusterError, ClusterErrorCode } from '../../cluster/errors.js';
import { ConfigError, ConfigErrorCode } from '../../config/errors.js';
import { MetadataError, MetadataErrorCode } from '../../metadata/metadata-store.js';
import { ErrorCode } from '../../protocol/errors.js';
import { BrookError } from '../../util/errors.js';

/**
 * The Kafka error code for an error thrown by storage, record validation or a coordinator. Errors
 * that carry `kafkaErrorCode` say it themselves; anything else is a bug or an unexpected
 * failure and becomes UNKNOWN_SERVER_ERROR (logged by the caller).
 */
export function kafkaErrorCodeOf(error: unknown): number {
  if (typeof error === 'object' && error !== null && 'kafkaErrorCode' in error) {
    const code = (error as { kafkaErrorCode: unknown }).kafkaErrorCode;
    if (typeof code === 'number') return code;
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface AdminError {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** Thrown inside admin handlers to answer one resource with a specific Kafka error. */
export class AdminRequestError extends BrookError {
  declare readonly code: 'BROOK_ADMIN_REQUEST_REFUSED';
  declare readonly kafkaErrorCode: number;

  constructor(kafkaErrorCode: number, message: string) {
    super('BROOK_ADMIN_REQUEST_REFUSED', message, { kafkaErrorCode });
    this.name = 'AdminRequestError';
  }
}

export function adminErrorOf(error: unknown): AdminError {
  if (error instanceof ConfigError) {
    // A broker setting that only applies at start-up is a request Kafka refuses, not a bad value.
    const errorCode =
      error.code === ConfigErrorCode.NOT_DYNAMIC
        ? ErrorCode.INVALID_REQUEST
        : ErrorCode.INVALID_CONFIG;
    return { errorCode, errorMessage: error.message };
  }
  if (error instanceof MetadataError) {
    switch (error.code) {
      case MetadataErrorCode.TOPIC_EXISTS:
        return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: error.message };
      case MetadataErrorCode.UNKNOWN_TOPIC:
        return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: error.message };
      default:
        return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: error.message };
    }
  }
  if (error instanceof ClusterError && error.kafkaErrorCode === undefined) {
    return { errorCode: clusterErrorCodes[error.code], errorMessage: error.message };
  }
  return { errorCode: kafkaErrorCodeOf(error), errorMessage: errorMessageOf(error) };
}

/** Cluster-mode errors without a Kafka code of their own, as an admin response carries them. */
const clusterErrorCodes: Record<ClusterErrorCode, number> = {
  [ClusterErrorCode.TOPIC_EXISTS]: ErrorCode.TOPIC_ALREADY_EXISTS,
  [ClusterErrorCode.UNKNOWN_TOPIC]: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  [ClusterErrorCode.NOT_CONTROLLER]: ErrorCode.NOT_CONTROLLER,
  [ClusterErrorCode.STALE_PARTITION_EPOCH]: ErrorCode.REQUEST_TIMED_OUT,
  [ClusterErrorCode.TIMED_OUT]: ErrorCode.REQUEST_TIMED_OUT,
  [ClusterErrorCode.ETCD_UNAVAILABLE]: ErrorCode.REQUEST_TIMED_OUT,
  [ClusterErrorCode.ETCD_NOT_FOUND]: ErrorCode.UNKNOWN_SERVER_ERROR,
  [ClusterErrorCode.BROKER_ID_IN_USE]: ErrorCode.UNKNOWN_SERVER_ERROR,
  [ClusterErrorCode.CLUSTER_ID_MISMATCH]: ErrorCode.UNKNOWN_SERVER_ERROR,
  [ClusterErrorCode.PLACEMENT_REFUSED]: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  [ClusterErrorCode.METADATA_CORRUPT]: ErrorCode.UNKNOWN_SERVER_ERROR,
  [ClusterErrorCode.MARKER_REFUSED]: ErrorCode.UNKNOWN_SERVER_ERROR,
};

export const NO_ERROR: AdminError = { errorCode: ErrorCode.NONE, errorMessage: null };
