// Storage's own errors. Each has a stable `code` (for logs, tests and operators) and the Kafka
// error code a handler puts in its response. The codes are in the one table, src/util/errors.ts;
// the Kafka codes are a view onto the generated one.

import { ErrorCode } from '../protocol/errors.js';
import { BrookError, type BrookErrorCode } from '../util/errors.js';

export const StorageErrorCode = {
  /** Another process (or another open in this one) holds the directory's lock file. */
  LOG_DIRECTORY_LOCKED: 'BROOK_LOG_DIRECTORY_LOCKED',
  /** The same `<topic>-<partition>` log is in two entries of log.dirs; the broker does not start. */
  DUPLICATE_LOG: 'BROOK_DUPLICATE_LOG',
  /** A write or fsync failed; the log refuses appends until it is reopened (or space is freed). */
  STORAGE_FAILED: 'BROOK_STORAGE_FAILED',
  /** The disk is full; the log has cut back to its last whole batch and accepts appends again. */
  STORAGE_FULL: 'BROOK_STORAGE_FULL',
  /** A batch read back from a segment fails its length or CRC check. */
  CORRUPT_SEGMENT: 'BROOK_CORRUPT_SEGMENT',
  OFFSET_OUT_OF_RANGE: 'BROOK_OFFSET_OUT_OF_RANGE',
  LOG_CLOSED: 'BROOK_LOG_CLOSED',
  /** The log's directory could not be opened at start; its partitions are offline until it is. */
  LOG_OFFLINE: 'BROOK_LOG_OFFLINE',
  INVALID_CONFIG: 'BROOK_INVALID_LOG_CONFIG',
} as const satisfies Record<string, BrookErrorCode>;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** The Kafka error codes storage failures are answered with (a view onto ErrorCode). */
export const KafkaStorageErrorCode = {
  OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  UNKNOWN_SERVER_ERROR: ErrorCode.UNKNOWN_SERVER_ERROR,
  KAFKA_STORAGE_ERROR: ErrorCode.KAFKA_STORAGE_ERROR,
} as const;

export class StorageError extends BrookError {
  declare readonly code: StorageErrorCode;
  declare readonly kafkaErrorCode: number;

  constructor(
    code: StorageErrorCode,
    message: string,
    kafkaErrorCode: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, { kafkaErrorCode, cause: options?.cause });
    this.name = 'StorageError';
  }
}

export class OffsetOutOfRangeError extends StorageError {
  constructor(offset: number, logStartOffset: number, logEndOffset: number) {
    super(
      StorageErrorCode.OFFSET_OUT_OF_RANGE,
      `offset ${offset} is outside the log [${logStartOffset}, ${logEndOffset}]`,
      KafkaStorageErrorCode.OFFSET_OUT_OF_RANGE,
    );
    this.name = 'OffsetOutOfRangeError';
  }
}
