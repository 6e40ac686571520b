// RecordBatch v2 (magic 2) as bytes: the 61-byte header, attribute bits, validation of a
// producer's record set, and the in-place rewrites the broker makes on append. Nothing here
// decodes individual records: the produce and fetch paths only ever look at batch headers.
//
//   0        8         12                    16    17    21          23              27
//   | baseOffset | batchLength | partitionLeaderEpoch | magic | crc | attributes | lastOffsetDelta |
//   27             35             43           51             53            57           61
//   | baseTimestamp | maxTimestamp | producerId | producerEpoch | baseSequence | recordsCount | records...
//
// The CRC-32C covers bytes [21, end): everything from the attributes on. baseOffset,
// batchLength and partitionLeaderEpoch sit outside it, so the broker can stamp them for free.

import { ErrorCode } from '../protocol/errors.js';
import { BrookError } from '../util/errors.js';
import { crc32c } from '../util/commonjs-packages.js';

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes of a batch that batchLength does not count. */
export const LOG_OVERHEAD_BYTES = 12;
export const CURRENT_MAGIC = 2;

export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

/** The first byte the CRC covers. */
export const CRC_START = BatchField.attributes;

export const AttributeBit = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

export const CompressionType = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

/** Kafka error codes a record set can earn (a view onto the protocol's ErrorCode table). */
export const RecordErrorCode = {
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
  INVALID_TIMESTAMP: ErrorCode.INVALID_TIMESTAMP,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  UNSUPPORTED_COMPRESSION_TYPE: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  INVALID_RECORD: ErrorCode.INVALID_RECORD,
} as const;

/** A record set the broker refuses; `kafkaErrorCode` goes straight into the produce response. */
export class RecordError extends BrookError {
  declare readonly code: 'BROOK_RECORD_INVALID';
  declare readonly kafkaErrorCode: number;

  constructor(kafkaErrorCode: number, message: string) {
    super('BROOK_RECORD_INVALID', message, { kafkaErrorCode });
    this.name = 'RecordError';
  }
}

const TWO_TO_32 = 4294967296;

/** Reads an int64 as a JavaScript number; offsets and timestamps stay far below 2^53. */
export function readInt64(buffer: Buffer, position: number): number {
  return buffer.readInt32BE(position) * TWO_TO_32 + buffer.readUInt32BE(position + 4);
}

export function writeInt64(buffer: Buffer, position: number, value: number): void {
  buffer.writeInt32BE(Math.floor(value / TWO_TO_32), position);
  buffer.writeUInt32BE(value >>> 0, position + 4);
}

export function batchBaseOffset(buffer: Buffer, position = 0): number {
  return readInt64(buffer, position + BatchField.baseOffset);
}

/** Total bytes of the batch at `position`, header included. */
export function batchSizeBytes(buffer: Buffer, position = 0): number {
  return LOG_OVERHEAD_BYTES + buffer.readInt32BE(position + BatchField.batchLength);
}

export function batchLastOffset(buffer: Buffer, position = 0): number {
  return (
    batchBaseOffset(buffer, position) + buffer.readInt32BE(position + BatchField.lastOffsetDelta)
  );
}

export function batchAttributes(buffer: Buffer, position = 0): number {
  return buffer.readInt16BE(position + BatchField.attributes);
}

export function batchMaxTimestamp(buffer: Buffer, position = 0): number {
  return readInt64(buffer, position + BatchField.maxTimestamp);
}

export function batchBaseTimestamp(buffer: Buffer, position = 0): number {
  return readInt64(buffer, position + BatchField.baseTimestamp);
}

export function batchRecordsCount(buffer: Buffer, position = 0): number {
  return buffer.readInt32BE(position + BatchField.recordsCount);
}

export function batchCompression(buffer: Buffer, position = 0): number {
  return batchAttributes(buffer, position) & AttributeBit.compressionMask;
}

export function isControlBatch(buffer: Buffer, position = 0): boolean {
  return (batchAttributes(buffer, position) & AttributeBit.control) !== 0;
}

export function isTransactionalBatch(buffer: Buffer, position = 0): boolean {
  return (batchAttributes(buffer, position) & AttributeBit.transactional) !== 0;
}

export function computeBatchCrc(buffer: Buffer, position: number, sizeBytes: number): number {
  return crc32c(buffer.subarray(position + CRC_START, position + sizeBytes)) >>> 0;
}

export function storedBatchCrc(buffer: Buffer, position = 0): number {
  return buffer.readUInt32BE(position + BatchField.crc);
}

/** True when the batch at `position` (whose bytes are all in `buffer`) has a matching CRC. */
export function hasValidCrc(buffer: Buffer, position: number, sizeBytes: number): boolean {
  return storedBatchCrc(buffer, position) === computeBatchCrc(buffer, position, sizeBytes);
}

/** What validation learned about one batch of a record set. */
export interface BatchSpan {
  position: number;
  sizeBytes: number;
  lastOffsetDelta: number;
  recordsCount: number;
  maxTimestamp: number;
  attributes: number;
}

export interface ValidateOptions {
  /** Clients may not write control batches; coordinators and replication may. */
  allowControlBatches: boolean;
  /**
   * A client's producer batch has sequences; a coordinator writes a transaction's batch without
   * (the group coordinator's TxnOffsetCommit offsets), and replication copies those.
   */
  allowUnsequencedProducerBatches?: boolean;
  /** A batch larger than this (header included) earns MESSAGE_TOO_LARGE. */
  maxMessageBytes: number;
  /** Replication copies the leader's batches, which may carry compaction gaps. */
  requireDenseOffsets?: boolean;
}

/**
 * Walks a record set (concatenated batches, as a produce request carries them) and checks each
 * header and CRC. Throws a RecordError naming the first problem; returns one span per batch.
 */
export function validateRecordSet(records: Buffer, options: ValidateOptions): BatchSpan[] {
  const spans: BatchSpan[] = [];
  const requireDenseOffsets = options.requireDenseOffsets ?? true;
  if (records.length === 0) {
    throw new RecordError(RecordErrorCode.CORRUPT_MESSAGE, 'the record set is empty');
  }
  let position = 0;
  while (position < records.length) {
    const remaining = records.length - position;
    if (remaining < BATCH_HEADER_BYTES) {
      throw new RecordError(
        RecordErrorCode.CORRUPT_MESSAGE,
        `${remaining} trailing bytes at position ${position} are too few for a batch header`,
      );
    }
    const magic = records.readInt8(position + BatchField.magic);
    if (magic !== CURRENT_MAGIC) {
      throw new RecordError(
        RecordErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        `batch at position ${position} has magic ${magic}; only RecordBatch v2 (magic 2) is accepted`,
      );
    }
    const batchLength = records.readInt32BE(position + BatchField.batchLength);
    const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
    if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES || sizeBytes > remaining) {
      throw new RecordError(
        RecordErrorCode.CORRUPT_MESSAGE,
        `batch at position ${position} declares batchLength ${batchLength} but ${remaining} bytes remain`,
      );
    }
    if (sizeBytes > options.maxMessageBytes) {
      throw new RecordError(
        RecordErrorCode.MESSAGE_TOO_LARGE,
        `batch of ${sizeBytes} bytes exceeds max.message.bytes ${options.maxMessageBytes}`,
      );
    }
    const lastOffsetDelta = records.readInt32BE(position + BatchField.lastOffsetDelta);
    const recordsCount = records.readInt32BE(position + BatchField.recordsCount);
    if (recordsCount < 1 || lastOffsetDelta < 0) {
      throw new RecordError(
        RecordErrorCode.INVALID_RECORD,
        `batch at position ${position} has ${recordsCount} records and lastOffsetDelta ${lastOffsetDelta}`,
      );
    }
    if (requireDenseOffsets && lastOffsetDelta + 1 !== recordsCount) {
      throw new RecordError(
        RecordErrorCode.INVALID_RECORD,
        `batch at position ${position}: lastOffsetDelta ${lastOffsetDelta} + 1 != recordsCount ${recordsCount}`,
      );
    }
    if (!hasValidCrc(records, position, sizeBytes)) {
      throw new RecordError(
        RecordErrorCode.CORRUPT_MESSAGE,
        `batch at position ${position} fails its CRC-32C check`,
      );
    }
    const attributes = records.readInt16BE(position + BatchField.attributes);
    if ((attributes & AttributeBit.control) !== 0 && !options.allowControlBatches) {
      throw new RecordError(
        RecordErrorCode.INVALID_RECORD,
        'clients are not allowed to write control batches',
      );
    }
    const compression = attributes & AttributeBit.compressionMask;
    if (compression > CompressionType.zstd) {
      throw new RecordError(
        RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `batch at position ${position} uses unknown compression codec ${compression}`,
      );
    }
    const producerId = readInt64(records, position + BatchField.producerId);
    const baseSequence = records.readInt32BE(position + BatchField.baseSequence);
    if (
      producerId >= 0 &&
      baseSequence < 0 &&
      (attributes & AttributeBit.control) === 0 &&
      options.allowUnsequencedProducerBatches !== true
    ) {
      throw new RecordError(
        RecordErrorCode.INVALID_RECORD,
        `batch at position ${position} has producerId ${producerId} but baseSequence ${baseSequence}`,
      );
    }
    spans.push({
      position,
      sizeBytes,
      lastOffsetDelta,
      recordsCount,
      maxTimestamp: readInt64(records, position + BatchField.maxTimestamp),
      attributes,
    });
    position += sizeBytes;
  }
  return spans;
}

/** Writes the broker-assigned fields; both lie outside the CRC, so the checksum still holds. */
export function stampBatch(
  buffer: Buffer,
  position: number,
  baseOffset: number,
  partitionLeaderEpoch: number,
): void {
  writeInt64(buffer, position + BatchField.baseOffset, baseOffset);
  buffer.writeInt32BE(partitionLeaderEpoch, position + BatchField.partitionLeaderEpoch);
}

/** LogAppendTime: the broker's clock becomes maxTimestamp, which is inside the CRC. */
export function setLogAppendTime(
  buffer: Buffer,
  position: number,
  sizeBytes: number,
  now: number,
): void {
  const attributes = buffer.readInt16BE(position + BatchField.attributes);
  buffer.writeInt16BE(attributes | AttributeBit.logAppendTime, position + BatchField.attributes);
  writeInt64(buffer, position + BatchField.maxTimestamp, now);
  buffer.writeUInt32BE(computeBatchCrc(buffer, position, sizeBytes), position + BatchField.crc);
}

/**
 * Makes a built batch an idempotent producer's: its producer id, epoch and base sequence, which
 * lie inside the CRC, so the checksum is computed again.
 */
export function stampProducer(
  buffer: Buffer,
  producerId: number,
  producerEpoch: number,
  baseSequence: number,
): void {
  writeInt64(buffer, BatchField.producerId, producerId);
  buffer.writeInt16BE(producerEpoch, BatchField.producerEpoch);
  buffer.writeInt32BE(baseSequence, BatchField.baseSequence);
  updateBatchCrc(buffer);
}

/** Rewrites the CRC after any change inside the checksummed range (used by builders and tests). */
export function updateBatchCrc(buffer: Buffer, position = 0): void {
  const sizeBytes = batchSizeBytes(buffer, position);
  buffer.writeUInt32BE(computeBatchCrc(buffer, position, sizeBytes), position + BatchField.crc);
}
