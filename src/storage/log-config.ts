// A partition log's settings: Kafka's topic configs, in camelCase with units last.

import {
  DEFAULT_DECOMPRESSION_RATIO_MAX,
  type DecompressionLimit,
} from '../record/decompression-stream.js';
import { StorageError, StorageErrorCode, KafkaStorageErrorCode } from './errors.js';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export type MessageTimestampType = 'CreateTime' | 'LogAppendTime';
/**
 * What time retention measures a record's age from: `append`, when this broker appended it (the
 * default; a producer's clock cannot make a record expire early), or `record`, its timestamp
 * (Kafka's behaviour).
 */
export type RetentionTimestampType = 'append' | 'record';

export interface LogConfig {
  /** segment.bytes: roll to a new segment before the active one would pass this size. */
  segmentBytes: number;
  /** segment.ms: roll a segment once it is this old (measured from its first append). */
  segmentMs: number;
  /** index.interval.bytes: one sparse index entry per this many bytes of batches. */
  indexIntervalBytes: number;
  /** retention.ms: -1 keeps records forever. */
  retentionMs: number;
  /** retention.bytes: -1 means no size limit. */
  retentionBytes: number;
  cleanupPolicy: CleanupPolicy;
  /** delete.retention.ms: how long a tombstone survives after its first compaction. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: records younger than this are never compacted. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a segment left uncompacted this long is compacted whatever the dirty ratio. */
  maxCompactionLagMs: number;
  /**
   * min.cleanable.dirty.ratio: a pass compacts only when the part not yet compacted is at least
   * this fraction of the compactable part (0 compacts on every pass).
   */
  minCleanableDirtyRatio: number;
  /**
   * flush.messages: fsync once this many records are unflushed. 1 (Brook's default) means every
   * append is acknowledged only after an fsync that covers it; larger values acknowledge after
   * the write and fsync in the background.
   */
  flushMessages: number;
  /** flush.ms: with a looser flush.messages, the longest a written record waits for its fsync. */
  flushMs: number;
  messageTimestampType: MessageTimestampType;
  /** message.timestamp.before.max.ms: a CreateTime batch whose first timestamp is older than now minus this is refused. */
  messageTimestampBeforeMaxMs: number;
  /** message.timestamp.after.max.ms: a CreateTime batch whose maxTimestamp is past now plus this is refused. */
  messageTimestampAfterMaxMs: number;
  /** retention.timestamp.type (Brook's own): what retention.ms measures from. */
  retentionTimestampType: RetentionTimestampType;
  /** max.message.bytes: the largest batch an append accepts. */
  maxMessageBytes: number;
  /**
   * max.decompression.ratio (Brook's own): the records of a compressed batch may decompress to
   * at most this many times maxMessageBytes; a batch past that is refused (decompression bombs).
   */
  maxDecompressionRatio: number;
}

export const defaultLogConfig: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
  flushMessages: 1,
  flushMs: Number.MAX_SAFE_INTEGER,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  messageTimestampAfterMaxMs: 60 * 60 * 1000,
  retentionTimestampType: 'append',
  maxMessageBytes: 1024 * 1024 + 12,
  maxDecompressionRatio: DEFAULT_DECOMPRESSION_RATIO_MAX,
});

/** How far the records of one batch of this log may decompress, for record/forEachRecord. */
export function decompressionLimitOf(config: LogConfig): DecompressionLimit {
  return {
    bytesMax: config.maxDecompressionRatio * config.maxMessageBytes,
    describe: `max.decompression.ratio ${config.maxDecompressionRatio} × max.message.bytes ${config.maxMessageBytes}`,
  };
}

export function isCompacted(config: LogConfig): boolean {
  return config.cleanupPolicy === 'compact' || config.cleanupPolicy === 'compact,delete';
}

export function isDeleteRetained(config: LogConfig): boolean {
  return config.cleanupPolicy === 'delete' || config.cleanupPolicy === 'compact,delete';
}

/** Durable acknowledgement: every append waits for the fsync that covers it. */
export function acknowledgesAfterFsync(config: LogConfig): boolean {
  return config.flushMessages <= 1;
}

export function validateLogConfig(config: LogConfig): LogConfig {
  const problems: string[] = [];
  const atLeast = (name: keyof LogConfig, minimum: number): void => {
    const value = config[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum)
      problems.push(`${name} must be >= ${minimum}`);
  };
  atLeast('segmentBytes', 14);
  atLeast('segmentMs', 1);
  atLeast('indexIntervalBytes', 0);
  atLeast('retentionMs', -1);
  atLeast('retentionBytes', -1);
  atLeast('deleteRetentionMs', 0);
  atLeast('minCompactionLagMs', 0);
  atLeast('maxCompactionLagMs', 1);
  atLeast('minCleanableDirtyRatio', 0);
  if (config.minCleanableDirtyRatio > 1) problems.push('minCleanableDirtyRatio must be <= 1');
  atLeast('flushMessages', 1);
  atLeast('flushMs', 0);
  atLeast('maxDecompressionRatio', 1);
  atLeast('maxMessageBytes', 0);
  atLeast('messageTimestampBeforeMaxMs', 0);
  atLeast('messageTimestampAfterMaxMs', 0);
  if (!['delete', 'compact', 'compact,delete'].includes(config.cleanupPolicy))
    problems.push('cleanupPolicy is unknown');
  if (!['CreateTime', 'LogAppendTime'].includes(config.messageTimestampType))
    problems.push('messageTimestampType is unknown');
  if (!['append', 'record'].includes(config.retentionTimestampType))
    problems.push('retentionTimestampType is unknown');
  if (problems.length > 0) {
    throw new StorageError(
      StorageErrorCode.INVALID_CONFIG,
      `invalid log config: ${problems.join('; ')}`,
      KafkaStorageErrorCode.UNKNOWN_SERVER_ERROR,
    );
  }
  return config;
}
