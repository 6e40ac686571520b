// Zstandard arrived with Produce v7 and Fetch v10 (KIP-110): a client that speaks an older version
// may not be able to read zstd, so Kafka refuses to hand zstd across those versions and answers
// UNSUPPORTED_COMPRESSION_TYPE instead. Brook follows, so an old client fails loudly instead of
// storing or receiving batches that its consumers cannot decompress.
//
// The two directions are gated differently, as in Kafka's KafkaApis:
// - Produce below v7: any zstd batch in a partition's record set refuses that partition. Only
//   batch headers (the attributes) are read; nothing is decompressed.
// - Fetch below v10: refused only when the topic's compression.type is zstd. Batches a producer
//   sent as zstd to a topic that keeps the producer's codec are served; refusing per batch broke
//   kafka-python 2.0.2, which fetches with v4 yet reads zstd itself.

import { ErrorCode } from '../protocol/errors.js';
import {
  BatchField,
  CompressionType,
  LOG_OVERHEAD_BYTES,
  batchCompression,
} from '../record/batch.js';

/** The first Produce version that may carry zstd batches. */
export const PRODUCE_ZSTD_MIN_VERSION = 7;
/** The first Fetch version that may be answered with zstd batches. */
export const FETCH_ZSTD_MIN_VERSION = 10;

/**
 * UNSUPPORTED_COMPRESSION_TYPE when a Produce at `version` carries a zstd batch in `records`,
 * otherwise NONE. A record set too short to hold a batch header ends the walk: storage validates
 * framing and answers CORRUPT_MESSAGE for it.
 */
export function produceCompressionError(version: number, records: Buffer): number {
  if (version >= PRODUCE_ZSTD_MIN_VERSION) return ErrorCode.NONE;
  let position = 0;
  while (position + BatchField.attributes + 2 <= records.length) {
    if (batchCompression(records, position) === CompressionType.zstd) {
      return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
    }
    const batchLength = records.readInt32BE(position + BatchField.batchLength);
    if (batchLength <= 0) break;
    position += LOG_OVERHEAD_BYTES + batchLength;
  }
  return ErrorCode.NONE;
}

/** UNSUPPORTED_COMPRESSION_TYPE when a Fetch at `version` reads a topic whose compression.type is zstd. */
export function fetchCompressionError(version: number, topicCompressionType: () => string): number {
  if (version >= FETCH_ZSTD_MIN_VERSION) return ErrorCode.NONE;
  return topicCompressionType() === 'zstd'
    ? ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    : ErrorCode.NONE;
}
