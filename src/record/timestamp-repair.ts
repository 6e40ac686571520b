// Repairs a batch header whose maxTimestamp contradicts its records. Some producers send one:
// Sarama 1.22 (Go) writes maxTimestamp -1 while its records carry real timestamps. Kafka's
// validator recomputes maxTimestamp from the records; Brook does the same, but only for batches
// whose header is visibly wrong, so well-formed batches keep the header-only produce path.
//
// A header is visibly wrong under CreateTime when maxTimestamp is -1 or below baseTimestamp (the
// first record's timestamp): no set of records can make either true. Under LogAppendTime the
// broker stamps maxTimestamp itself, so nothing needs repairing.

import { AttributeBit, BatchField, readInt64, updateBatchCrc, writeInt64 } from './batch.js';
import type { DecompressionLimit } from './decompression-stream.js';
import { DEFAULT_DECOMPRESSION_LIMIT, recordsMaxTimestamp } from './records.js';

/** True when the header of the batch at `position` cannot be right: it must take the slow path. */
export function hasInconsistentMaxTimestamp(buffer: Buffer, position: number): boolean {
  const attributes = buffer.readInt16BE(position + BatchField.attributes);
  if ((attributes & AttributeBit.logAppendTime) !== 0) return false;
  const maxTimestamp = readInt64(buffer, position + BatchField.maxTimestamp);
  return (
    maxTimestamp === -1 || maxTimestamp < readInt64(buffer, position + BatchField.baseTimestamp)
  );
}

/**
 * Sets the batch's maxTimestamp to the largest of its records' timestamps (a walk of the record
 * varints; decompression first for a compressed batch) and rewrites the CRC when that changed the
 * header. Returns the maxTimestamp the batch now carries. The caller has already checked the
 * batch's CRC, so the new CRC vouches for the same records.
 */
export function repairMaxTimestamp(
  buffer: Buffer,
  position: number,
  limit: DecompressionLimit = DEFAULT_DECOMPRESSION_LIMIT,
): number {
  const maxTimestamp = recordsMaxTimestamp(buffer, position, limit);
  if (maxTimestamp !== readInt64(buffer, position + BatchField.maxTimestamp)) {
    writeInt64(buffer, position + BatchField.maxTimestamp, maxTimestamp);
    updateBatchCrc(buffer, position);
  }
  return maxTimestamp;
}
