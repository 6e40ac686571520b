// Storage's own errors. Each has a stable `code` (for logs, tests and operators) and the Kafka
// error code a handler puts in its response.

export const StorageErrorCode = {
  /** Another process (or another open in this one) holds the directory's lock file. */
  LOG_DIRECTORY_LOCKED: 'BROOK_LOG_DIRECTORY_LOCKED',
  /** A write or fsync failed; the log refuses appends until it is reopened (or space is freed). */
  STORAGE_FAILED: 'BROOK_STORAGE_FAILED',
  /** The disk is full; the log has cut back to its last whole batch and accepts appends again. */
  STORAGE_FULL: 'BROOK_STORAGE_FULL',
  /** A batch read back from a segment fails its length or CRC check. */
  CORRUPT_SEGMENT: 'BROOK_CORRUPT_SEGMENT',
  OFFSET_OUT_OF_RANGE: 'BROOK_OFFSET_OUT_OF_RANGE',
  LOG_CLOSED: 'BROOK_LOG_CLOSED',
  INVALID_CONFIG: 'BROOK_INVALID_LOG_CONFIG',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** Kafka error codes for storage failures. */
export const KafkaStorageErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_SERVER_ERROR: -1,
  KAFKA_STORAGE_ERROR: 56,
} as const;

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly kafkaErrorCode: number;

  constructor(
    code: StorageErrorCode,
    message: string,
    kafkaErrorCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
    this.kafkaErrorCode = kafkaErrorCode;
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
