// Checks of a record set before `PartitionLog.append` assigns its offsets: the batch format
// (record/batch.ts), keys on compacted topics, and under CreateTime the batch timestamps
// (repaired when the header contradicts its records, refused outside KIP-937's bounds). Throws
// RecordError, with the Kafka code to answer with, and leaves the log untouched.

import {
  AttributeBit,
  BatchField,
  RecordError,
  RecordErrorCode,
  readInt64,
  validateRecordSet,
  type BatchSpan,
} from '../record/batch.js';
import { forEachRecord } from '../record/records.js';
import { hasInconsistentMaxTimestamp, repairMaxTimestamp } from '../record/timestamp-repair.js';
import type { AppendOrigin } from './log.js';
import { decompressionLimitOf, isCompacted, type LogConfig } from './log-config.js';

/** The spans of `records`' batches, validated for an append from `origin` at broker time `now`. */
export function validateAppend(
  records: Buffer,
  origin: AppendOrigin,
  config: LogConfig,
  now: number,
): BatchSpan[] {
  const isReplication = origin === 'replication';
  const spans = validateRecordSet(records, {
    allowControlBatches: origin !== 'client',
    allowUnsequencedProducerBatches: origin !== 'client',
    maxMessageBytes: config.maxMessageBytes,
    requireDenseOffsets: !isReplication,
  });
  if (isCompacted(config) && !isReplication) requireKeys(records, spans, config);
  const logAppendTime = config.messageTimestampType === 'LogAppendTime' && !isReplication;
  if (!isReplication && !logAppendTime) {
    for (const span of spans) {
      // The slow path, for headers no records could produce (Sarama's maxTimestamp -1):
      // repaired here so that nothing downstream (time index, ListOffsets, record-time
      // retention) reads a timestamp older than the records'.
      if (hasInconsistentMaxTimestamp(records, span.position))
        span.maxTimestamp = repairMaxTimestamp(
          records,
          span.position,
          decompressionLimitOf(config),
        );
      if (origin === 'client') checkTimestampBounds(records, span, now, config);
    }
  }
  return spans;
}

/**
 * Compacted topics keep the newest record per key, so a record without a key has no place there.
 * Records are read one at a time as they decompress, within max.decompression.ratio.
 */
function requireKeys(records: Buffer, spans: BatchSpan[], config: LogConfig): void {
  const limit = decompressionLimitOf(config);
  for (const span of spans) {
    if ((span.attributes & AttributeBit.control) !== 0) continue;
    forEachRecord(records, span.position, limit, (record) => {
      if (record.key === null) {
        throw new RecordError(
          RecordErrorCode.INVALID_RECORD,
          'compacted topic cannot accept a record without a key',
        );
      }
    });
  }
}

/**
 * KIP-937: under CreateTime a batch whose timestamps lie further from the broker's clock than
 * message.timestamp.before.max.ms / after.max.ms is refused with INVALID_TIMESTAMP. Checked on
 * the header: its first timestamp against the past bound, its maxTimestamp against the future
 * one (-1, "no timestamp", is never refused, as in Kafka).
 */
function checkTimestampBounds(
  records: Buffer,
  span: BatchSpan,
  now: number,
  config: LogConfig,
): void {
  const firstTimestamp = readInt64(records, span.position + BatchField.baseTimestamp);
  const earliest = now - config.messageTimestampBeforeMaxMs;
  const latest = now + config.messageTimestampAfterMaxMs;
  const tooOld = firstTimestamp >= 0 && firstTimestamp < earliest;
  const tooNew = span.maxTimestamp >= 0 && span.maxTimestamp > latest;
  if (!tooOld && !tooNew) return;
  const [timestamp, setting] = tooOld
    ? [firstTimestamp, 'message.timestamp.before.max.ms']
    : [span.maxTimestamp, 'message.timestamp.after.max.ms'];
  throw new RecordError(
    RecordErrorCode.INVALID_TIMESTAMP,
    `batch at position ${span.position} has timestamp ${timestamp}, ${tooOld ? 'older' : 'newer'} than ${setting} allows (broker time ${now})`,
  );
}
