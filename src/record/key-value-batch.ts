// Batches of plain key/value records, the shape of every record a coordinator writes to its
// internal topic (`__consumer_offsets`, `__transaction_state`): uncompressed, producerId -1, no
// headers, every record stamped with the batch's timestamp. Built and read with this folder's
// one RecordBatch v2 codec (records.ts); nothing here knows what the keys and values mean.
//
// Building is synchronous on purpose: a coordinator builds a batch and hands it to the log in the
// same turn, so two appends it issues land in the order it issued them.

import {
  AttributeBit,
  BATCH_HEADER_BYTES,
  BatchField,
  CURRENT_MAGIC,
  CompressionType,
  LOG_OVERHEAD_BYTES,
  RecordError,
  RecordErrorCode,
  hasValidCrc,
} from './batch.js';
import { buildUncompressedBatch, decodeBatchSync } from './records.js';

export interface KeyValueRecord {
  key: Buffer;
  /** null is a tombstone. */
  value: Buffer | null;
}

/** One uncompressed RecordBatch v2 holding `records` in order, all stamped with `timestampMs`. */
export function buildKeyValueBatch(
  records: readonly KeyValueRecord[],
  timestampMs: number,
): Buffer {
  if (records.length === 0) throw new Error('assertion: a key/value batch needs records');
  return buildUncompressedBatch({
    records: records.map((record) => ({ key: record.key, value: record.value })),
    baseTimestamp: timestampMs,
  });
}

/**
 * The key/value records of a chunk of log bytes holding whole batches, in offset order. Each
 * batch's length, magic and CRC are checked first. Control batches (transaction markers) and
 * transactional batches are skipped, and so are records without a key (they mean nothing to a
 * coordinator); a compressed batch is refused, since coordinators never write one and compaction
 * keeps batches as written. A malformed batch or record throws a RecordError (CORRUPT_MESSAGE).
 */
export function* readKeyValueRecords(bytes: Buffer): Generator<KeyValueRecord> {
  let position = 0;
  while (position + BATCH_HEADER_BYTES <= bytes.length) {
    const batchLength = bytes.readInt32BE(position + BatchField.batchLength);
    const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
    if (
      batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES ||
      position + sizeBytes > bytes.length
    ) {
      throw corrupt(`batch at byte ${position} has a bad length ${batchLength}`);
    }
    const magic = bytes.readInt8(position + BatchField.magic);
    if (magic !== CURRENT_MAGIC) throw corrupt(`batch magic ${magic} is not ${CURRENT_MAGIC}`);
    if (!hasValidCrc(bytes, position, sizeBytes)) {
      throw corrupt(`batch at byte ${position} fails its CRC-32C`);
    }
    const attributes = bytes.readInt16BE(position + BatchField.attributes);
    const batchPosition = position;
    position += sizeBytes;
    if ((attributes & (AttributeBit.control | AttributeBit.transactional)) !== 0) continue;
    if ((attributes & AttributeBit.compressionMask) !== CompressionType.none) {
      throw corrupt(`batch at byte ${batchPosition} is compressed; key/value batches never are`);
    }
    for (const record of decodeBatchSync(bytes, batchPosition).records) {
      if (record.key !== null) yield { key: record.key, value: record.value };
    }
  }
}

function corrupt(message: string): RecordError {
  return new RecordError(RecordErrorCode.CORRUPT_MESSAGE, message);
}
