// Retention of one partition's log under cleanup.policy=delete: whole segments past
// retention.ms / retention.bytes are deleted, and exact expiry moves the log start offset past
// every leading batch older than retention.ms, even in the active segment, so no consumer reads
// an expired record. Age is measured from the broker's append (retention.timestamp.type =
// append, the default) or from the record timestamps (= record). See README "Time retention".
//
// Owned by one PartitionLog; every pass runs under the log's maintenance lock (the caller takes
// it for `apply`, the expiry timer takes it itself).

import { InvariantError, rethrowIfInvariant } from '../util/assert.js';
import { isDeleteRetained, type LogConfig } from './log-config.js';
import { MAX_TIMER_DELAY_MS } from './group-commit.js';
import type { LogSegments } from './log-segments.js';
import { backgroundPacer } from './pacing.js';
import type { Segment } from './segment.js';

/** What retention needs of its log. */
export interface RetentionTarget {
  readonly segments: LogSegments;
  readonly logStartOffset: number;
  /** Only durable records expire: a crash could give an undurable offset to another record. */
  readonly flushedOffset: number;
  /** Whether appends are queued but not yet written (so expiry has to look again soon). */
  hasUnwrittenAppends(): boolean;
  isClosed(): boolean;
  config(): LogConfig;
  clock(): number;
  /** Moves the log start offset forwards (persisting what depends on it). */
  advanceLogStartOffset(offset: number): Promise<void>;
  /** Deletes the closed segments wholly below the log start offset; returns how many. */
  deleteSegmentsBelowLogStart(): Promise<number>;
  /** Runs `operation` under the log's maintenance lock. */
  exclusive<T>(operation: () => Promise<T>): Promise<T>;
  onError(error: unknown): void;
}

export class LogRetention {
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly log: RetentionTarget) {}

  /** One pass; the caller holds the maintenance lock. */
  async apply(now: number): Promise<{ deletedSegments: number; logStartOffset: number }> {
    const { log } = this;
    const segments = log.segments;
    const config = log.config();
    let deletedSegments = 0;
    if (!isDeleteRetained(config) || log.isClosed())
      return { deletedSegments, logStartOffset: log.logStartOffset };
    if (config.retentionMs >= 0) {
      const cutoff = now - config.retentionMs;
      while (
        segments.count > 1 &&
        this.segmentRetentionTime(segments.first) < cutoff &&
        segments.first.nextOffset <= log.flushedOffset
      ) {
        await log.advanceLogStartOffset(segments.at(1).baseOffset);
        deletedSegments += await log.deleteSegmentsBelowLogStart();
      }
    }
    if (config.retentionBytes >= 0) {
      let excess = segments.sizeInBytes - config.retentionBytes;
      while (segments.count > 1 && excess - segments.first.sizeBytes >= 0) {
        excess -= segments.first.sizeBytes;
        await log.advanceLogStartOffset(segments.at(1).baseOffset);
        deletedSegments += await log.deleteSegmentsBelowLogStart();
      }
    }
    if (config.retentionMs >= 0) await this.expireRecords(now);
    return { deletedSegments, logStartOffset: log.logStartOffset };
  }

  /**
   * The time a whole segment's age counts from: its last append, or under record time its
   * largest record timestamp. A segment whose records carry no timestamp at all (-1) falls back
   * to its last append, so a missing timestamp never reads as "older than any cutoff".
   */
  private segmentRetentionTime(segment: Segment): number {
    // Compaction can empty a segment: it holds nothing to keep.
    if (segment.isEmpty) return -1;
    if (this.log.config().retentionTimestampType === 'record' && segment.maxTimestamp >= 0)
      return segment.maxTimestamp;
    const appendTimeMs = segment.appendTimes.maxAppendTimeMs;
    return appendTimeMs >= 0 ? appendTimeMs : Number.POSITIVE_INFINITY;
  }

  /** Moves the log start offset past leading batches older than retention.ms, only ever to a batch boundary. */
  private async expireRecords(now: number): Promise<void> {
    const { log } = this;
    const config = log.config();
    const retentionMs = config.retentionMs;
    if (retentionMs < 0 || !isDeleteRetained(config)) return;
    const cutoff = now - retentionMs;
    const expiry =
      config.retentionTimestampType === 'append'
        ? this.expiredByAppendTime(cutoff)
        : await this.expiredByRecordTime(cutoff);
    let nextExpiryMs = Infinity;
    if (expiry.blockingTimeMs !== null)
      nextExpiryMs =
        expiry.blockingTimeMs < cutoff ? now + 100 : expiry.blockingTimeMs + retentionMs + 1;
    if (expiry.newStart > log.logStartOffset) {
      await log.advanceLogStartOffset(expiry.newStart);
      await log.deleteSegmentsBelowLogStart();
    }
    if (nextExpiryMs === Infinity && log.hasUnwrittenAppends()) nextExpiryMs = now + 100;
    if (nextExpiryMs !== Infinity) this.armExpiryTimer(Math.max(0, nextExpiryMs - now));
  }

  /**
   * Where the log may start when everything appended before `cutoff` (and durable) expires, and
   * the time that stopped the walk (null when nothing durable is left to expire). Reads only the
   * segments' append-time entries, never the log.
   */
  private expiredByAppendTime(cutoff: number): { newStart: number; blockingTimeMs: number | null } {
    let newStart = this.log.logStartOffset;
    for (const segment of this.log.segments) {
      if (segment.nextOffset <= newStart || segment.isEmpty) continue;
      const walk = segment.appendTimes.walkExpired(newStart, cutoff, this.log.flushedOffset);
      newStart = Math.max(newStart, walk.endOffset);
      if (walk.blockingAppendTimeMs !== null)
        return { newStart, blockingTimeMs: walk.blockingAppendTimeMs };
    }
    return { newStart, blockingTimeMs: null };
  }

  /** As expiredByAppendTime, by each batch's maxTimestamp (its append time when it has none). */
  private async expiredByRecordTime(
    cutoff: number,
  ): Promise<{ newStart: number; blockingTimeMs: number | null }> {
    let newStart = this.log.logStartOffset;
    let blockingTimeMs: number | null = null;
    const pause = backgroundPacer();
    for (const segment of this.log.segments.snapshot()) {
      if (segment.nextOffset <= newStart || segment.isEmpty) continue;
      segment.readers++;
      try {
        await segment.scan(
          segment.lookupPosition(newStart),
          segment.sizeBytes,
          { verifyCrc: false, pause },
          (batch) => {
            if (batch.lastOffset < newStart) return true;
            const batchTimeMs =
              batch.maxTimestamp >= 0
                ? batch.maxTimestamp
                : (segment.appendTimes.appendTimeOf(batch.lastOffset) ?? cutoff);
            if (batchTimeMs < cutoff && batch.lastOffset < this.log.flushedOffset) {
              newStart = batch.lastOffset + 1;
              return true;
            }
            blockingTimeMs = batchTimeMs;
            return false;
          },
        );
      } finally {
        segment.releaseReader();
      }
      if (blockingTimeMs !== null) break;
    }
    return { newStart, blockingTimeMs };
  }

  /** Runs exact expiry (under the maintenance lock) after `delayMs`, replacing any earlier timer. */
  armExpiryTimer(delayMs: number): void {
    const config = this.log.config();
    if (this.log.isClosed() || config.retentionMs < 0 || !isDeleteRetained(config)) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = null;
        void this.log
          .exclusive(() => this.expireRecords(this.log.clock()))
          .catch((error: unknown) => {
            // A broken invariant is a bug, not an error for listeners: it stops the process.
            if (error instanceof InvariantError) rethrowIfInvariant(error);
            else this.log.onError(error);
          });
      },
      Math.min(delayMs, MAX_TIMER_DELAY_MS),
    );
    this.expiryTimer.unref();
  }

  /** Arms the timer unless one is already armed (an append may make something expire later). */
  armExpiryTimerIfIdle(): void {
    if (this.expiryTimer === null) this.armExpiryTimer(0);
  }

  stop(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }
}
