// The contract of one partition's log, as the layers above use it. PartitionLog (files, group
// commit) is the implementation; the interface names nothing of segments or files so that a
// memory implementation could satisfy it and the same storage tests could run against both.

import type { LogConfig } from './log-config.js';
import type { StorageError } from './errors.js';
import type { EpochEntry } from './leader-epoch-cache.js';

export type AppendOrigin = 'client' | 'coordinator' | 'replication';

export interface AppendOptions {
  leaderEpoch: number;
  origin: AppendOrigin;
  /** The broker's clock for LogAppendTime; defaults to the log's clock. */
  now?: number;
  /**
   * Acknowledge once written, without asking for an fsync of its own: the log's next fsync covers
   * it, at the latest DEFERRED_FLUSH_MS later. For records whose loss in a crash is harmless
   * because an earlier durable record stands in for them (a transaction's Complete* after its
   * Prepare*), so the next append that does need an fsync is not queued behind this one's.
   */
  deferFlush?: boolean;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The time stamped into the batches under LogAppendTime, else -1. */
  logAppendTime: number;
  maxTimestamp: number;
  /** Settles per the flush policy (after the covering fsync by default); rejects on write/fsync failure. */
  acknowledged: Promise<void>;
}

export interface ReadOptions {
  maxBytes: number;
  /** Exclusive upper bound: no batch whose last offset reaches it is returned. */
  maxOffset: number;
  /** Return the first batch even when it alone is larger than maxBytes (KIP-74). Default true. */
  minOneBatch?: boolean;
}

export interface ReadResult {
  chunks: Buffer[];
  byteLength: number;
}

export interface SegmentInfo {
  baseOffset: number;
  nextOffset: number;
  sizeBytes: number;
  maxTimestamp: number;
  path: string;
}

/**
 * What compaction must know of a partition's transactions; the storage layer has no producer
 * state of its own, so `src/replica/partition.ts` installs one on its log.
 */
export interface TransactionView {
  /** Records at or above it may belong to an open transaction: the cleaner neither removes nor counts them. */
  lastStableOffset(): number;
  /** Aborted transactions overlapping [from, to), ordered by their marker's offset. */
  abortedTransactions(
    from: number,
    to: number,
  ): ReadonlyArray<{ producerId: number; firstOffset: number; lastOffset: number }>;
}

/** The events a log emits to the layer above (listeners must not throw). */
export interface LogEvents {
  /** The log end offset after an append was queued. */
  append: [logEndOffset: number];
  /** Everything below the offset survived an fsync. */
  flush: [flushedOffset: number];
  logStartOffset: [logStartOffset: number];
  /** A write, fsync or read failure (the sticky error, or a corrupt batch). */
  error: [error: Error];
}

/**
 * One partition's log. Offsets are assigned synchronously by `append`; everything else may
 * await. Reads never see an offset outside [logStartOffset, logEndOffset].
 */
export interface Log {
  readonly directory: string;
  readonly config: LogConfig;
  readonly logStartOffset: number;
  /** The offset the next append gets (includes appends not yet written). */
  readonly logEndOffset: number;
  /** Everything below it survived an fsync. */
  readonly flushedOffset: number;
  /** Everything below it needs no scan after a crash (recovery-point-offset-checkpoint). */
  readonly recoveryPoint: number;
  readonly sizeInBytes: number;
  /** The error that made the log refuse appends, if any. */
  readonly error: StorageError | null;
  readonly latestLeaderEpoch: number;
  /** The base offset of the segment appends go to now (moves when the log rolls). */
  readonly activeSegmentBaseOffset: number;

  updateConfig(config: LogConfig): void;
  /** Installs the view of the partition's transactions that compaction consults. */
  useTransactionView(view: TransactionView): void;

  append(records: Buffer, options: AppendOptions): AppendResult;
  /** A follower's append of the leader's batches, first offset == logEndOffset (no offsets assigned). */
  appendAsFollower(records: Buffer): AppendResult;
  waitForFlush(offset: number): Promise<void>;
  flush(): Promise<void>;

  read(offset: number, options: ReadOptions): Promise<ReadResult>;
  segmentInfos(): SegmentInfo[];
  segmentBaseOffsetOf(offset: number): number;
  offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null>;
  maxTimestampOffset(): { offset: number; timestamp: number };

  leaderEpochs(): EpochEntry[];
  endOffsetForLeaderEpoch(leaderEpoch: number): { leaderEpoch: number; endOffset: number };
  assignLeaderEpoch(leaderEpoch: number): Promise<void>;

  truncateTo(offset: number): Promise<void>;
  deleteRecordsBefore(offset: number): Promise<number>;
  applyRetention(now?: number): Promise<{ deletedSegments: number; logStartOffset: number }>;

  on<Event extends keyof LogEvents>(
    event: Event,
    listener: (...values: LogEvents[Event]) => void,
  ): unknown;
  close(): Promise<void>;
  delete(): Promise<void>;
}
