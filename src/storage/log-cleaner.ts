// Log compaction (cleanup.policy=compact): keeps the newest record per key in closed segments.
//
// A pass reads the dirty part of the log (what no earlier pass compacted) to learn each key's
// newest offset there, then rewrites each closed segment older than min.compaction.lag.ms into
// `<base>.log.cleaned` (offsets kept, gaps allowed), fsyncs it and swaps it in (`swapSegment`:
// `.cleaned` -> `.swap` is the commit point, so a crash at any moment leaves either the old
// segment or the new one; log-recovery.ts completes a committed swap on open). Tombstones are kept for delete.retention.ms
// after the first pass that sees them (Kafka's delete horizon, stored in the batch's
// baseTimestamp with attribute bit 6), then dropped. Segments are cleaned one by one and keep
// their base offsets; small cleaned segments are not merged.
//
// A pass runs only when it is worth it: the dirty part (the compactable segments at or above the
// cleanerCheckpoint, i.e. not compacted by an earlier pass) must be at least
// min.cleanable.dirty.ratio of the compactable part, or its oldest segment older than
// max.compaction.lag.ms, or a tombstone an earlier pass kept must have passed its delete horizon.
//
// Transactions (the log's TransactionView): records at or above the last stable offset may still
// be aborted, so they neither shadow older records nor get cleaned (cleaning stops at the segment
// holding that offset); records of aborted transactions shadow nothing and are removed. Control
// batches are kept, so the aborted-transaction index stays true.

// Owned by one PartitionLog, which runs every pass under its maintenance lock (the writer keeps
// appending to the active segment meanwhile; the cleaner only reads that one).

import { assert } from '../util/assert.js';
import { RecordError, RecordErrorCode } from '../record/batch.js';
import {
  buildBatch,
  decodeBatchHeader,
  decodeBatchSync,
  forEachRecord,
  type BatchHeader,
  type DecodedBatch,
} from '../record/records.js';
import type { FileIo, LogFile } from './file-io.js';
import type { TransactionView } from './log.js';
import { decompressionLimitOf, isCompacted, type LogConfig } from './log-config.js';
import { backgroundPacer } from './pacing.js';
import type { PartitionLog } from './partition-log.js';
import { Segment, segmentFileName } from './segment.js';

export interface CleanResult {
  segmentsCleaned: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
}

/** Output is written in pieces of this size at most, so memory stays bounded. */
const CLEANER_WRITE_BYTES = 1024 * 1024;

/**
 * What the cleaner sees and changes of its log: the segments to read, the one operation that
 * changes the log (putting a cleaned segment in place of its original), and nothing of the
 * append path.
 */
export interface CompactionTarget {
  readonly directory: string;
  readonly config: LogConfig;
  readonly logStartOffset: number;
  /** The file seam of the log's directory: the cleaned files go through it too. */
  readonly io: FileIo;
  readonly transactionView: TransactionView | null;
  /** Closed segments, oldest first: the ones a pass may rewrite. */
  closedSegments(): Segment[];
  /** The active segment: read for its keys, never rewritten. */
  activeSegment(): Segment;
  /** Puts `cleaned` (same base offset, opened from the swapped-in files) in place of `old`. */
  replaceSegment(old: Segment, cleaned: Segment): void;
}

/** Runs a compaction pass of `log` under its maintenance lock (see PartitionLog.compact). */
export function cleanLog(log: PartitionLog, now: number): Promise<CleanResult> {
  return log.compact(now);
}

export class LogCleaner {
  /**
   * Compaction's first dirty offset: segments below it were compacted by an earlier pass (the
   * dirty ratio reads it). The log manager keeps it in cleaner-offset-checkpoint and hands it
   * back on open (`restore`); a log it does not list starts all dirty.
   */
  private cleanerCheckpointValue = 0;
  /**
   * The earliest delete horizon of the tombstones the last pass kept: once it has passed, a pass
   * runs whatever the dirty ratio, to drop them. Checkpointed beside the offset.
   */
  private tombstoneHorizonMs = Number.POSITIVE_INFINITY;

  constructor(private readonly log: CompactionTarget) {}

  get cleanerCheckpoint(): number {
    return this.cleanerCheckpointValue;
  }

  get tombstoneHorizon(): number {
    return this.tombstoneHorizonMs;
  }

  /** The state an earlier life of the log checkpointed; called once, before any pass. */
  restore(state: { cleanerCheckpoint: number; tombstoneHorizonMs?: number }): void {
    this.cleanerCheckpointValue = Math.max(0, state.cleanerCheckpoint);
    this.tombstoneHorizonMs = state.tombstoneHorizonMs ?? Number.POSITIVE_INFINITY;
  }

  /** Truncation: what is written from `offset` on has never been compacted. */
  markDirtyFrom(offset: number): void {
    this.cleanerCheckpointValue = Math.min(this.cleanerCheckpointValue, offset);
  }

  /** One pass; the caller holds the log's maintenance lock. */
  async clean(now: number): Promise<CleanResult> {
    const log = this.log;
    const result: CleanResult = {
      segmentsCleaned: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRemoved: 0,
    };
    const config = log.config;
    if (!isCompacted(config)) return result;
    const pause = backgroundPacer();
    const closed = log.closedSegments();
    if (closed.length === 0) return result;
    const stableEnd = log.transactionView?.lastStableOffset() ?? Number.POSITIVE_INFINITY;
    const isAborted = abortedBatchTest(log.transactionView, log.logStartOffset, stableEnd);

    // The compactable segments: closed, older than min.compaction.lag.ms, wholly below the last
    // stable offset.
    const active = log.activeSegment();
    const lagCutoff = now - config.minCompactionLagMs;
    const cleanable: Segment[] = [];
    for (const [index, segment] of closed.entries()) {
      if (segment.maxTimestamp > lagCutoff) break;
      if ((closed[index + 1] ?? active).baseOffset > stableEnd) break;
      cleanable.push(segment);
    }
    if (cleanable.length === 0 || !this.worthCleaning(cleanable, now)) return result;

    // Phase 1: the newest offset of every key in the dirty part (from cleanerCheckpoint, the
    // active segment included) up to the last stable offset. The clean part needs no reading: an
    // earlier pass left each key at most once there, so a clean record is stale only if the
    // dirty part has its key.
    const newestOffsetByKey = new Map<string, number>();
    const limit = decompressionLimitOf(config);
    for (const segment of [...closed, active]) {
      if (segment.baseOffset < this.cleanerCheckpointValue) continue;
      if (segment.baseOffset >= stableEnd) break;
      await readBatches(segment, pause, (batch, raw) => {
        if (batch.isControl || batch.baseOffset + batch.lastOffsetDelta >= stableEnd) return;
        if (isAborted(batch)) return;
        withinDecompressionLimit(() =>
          forEachRecord(raw, 0, limit, (record) => {
            if (record.key !== null)
              newestOffsetByKey.set(record.key.toString('latin1'), record.offset);
          }),
        );
      });
    }

    // Phase 2: rewrite the compactable segments, oldest first.
    const horizon = { earliestMs: Number.POSITIVE_INFINITY };
    for (const segment of cleanable) {
      const outcome = await cleanSegment(
        log,
        segment,
        newestOffsetByKey,
        isAborted,
        horizon,
        now,
        pause,
      );
      if (!outcome) continue;
      result.segmentsCleaned++;
      result.bytesBefore += outcome.bytesBefore;
      result.bytesAfter += outcome.bytesAfter;
      result.recordsRemoved += outcome.recordsRemoved;
    }
    this.cleanerCheckpointValue = (closed[cleanable.length] ?? active).baseOffset;
    this.tombstoneHorizonMs = horizon.earliestMs;
    return result;
  }

  /** min.cleanable.dirty.ratio and max.compaction.lag.ms over the compactable segments. */
  private worthCleaning(cleanable: readonly Segment[], now: number): boolean {
    const config = this.log.config;
    if (this.tombstoneHorizonMs <= now) return true;
    const dirty = cleanable.filter((segment) => segment.baseOffset >= this.cleanerCheckpointValue);
    if (dirty.length > 0) {
      // When the oldest dirty record arrived: its segment's first append, or failing that (a
      // segment reopened without it) its newest record, which errs towards compacting later.
      const since = dirty[0].rollStartMs >= 0 ? dirty[0].rollStartMs : dirty[0].maxTimestamp;
      if (now - since > config.maxCompactionLagMs) return true;
    }
    const bytes = (segments: readonly Segment[]): number =>
      segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
    const total = bytes(cleanable);
    return total > 0 && bytes(dirty) / total >= config.minCleanableDirtyRatio;
  }
}

type BatchTest = (batch: BatchHeader) => boolean;

/** Whether a batch belongs to an aborted transaction, from the aborted transactions below `stableEnd`. */
function abortedBatchTest(
  view: TransactionView | null,
  logStartOffset: number,
  stableEnd: number,
): BatchTest {
  if (view === null) return () => false;
  // Per producer, its aborted transactions in marker order: they never overlap, so both their
  // first and last offsets increase.
  const byProducer = new Map<number, Array<{ firstOffset: number; lastOffset: number }>>();
  for (const aborted of view.abortedTransactions(logStartOffset, stableEnd)) {
    let ranges = byProducer.get(aborted.producerId);
    if (ranges === undefined) byProducer.set(aborted.producerId, (ranges = []));
    ranges.push(aborted);
  }
  return (batch) => {
    if (!batch.isTransactional) return false;
    const ranges = byProducer.get(batch.producerId);
    if (ranges === undefined) return false;
    let low = 0;
    let high = ranges.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ranges[middle].lastOffset < batch.baseOffset) low = middle + 1;
      else high = middle;
    }
    return low < ranges.length && ranges[low].firstOffset <= batch.baseOffset;
  };
}

/**
 * Runs `decode` and returns its result, or null when the batch's records decompress past
 * max.decompression.ratio (a batch that came in by replication, or before the topic's limit was
 * lowered): the cleaner then keeps that batch as it is rather than stopping.
 */
function withinDecompressionLimit<T>(decode: () => T): T | null {
  try {
    return decode();
  } catch (error) {
    if (error instanceof RecordError && error.kafkaErrorCode === RecordErrorCode.INVALID_RECORD)
      return null;
    throw error;
  }
}

/** Visits each batch of `segment` (CRC checked) with its header and bytes; records are the visitor's to decode. */
async function readBatches(
  segment: Segment,
  pause: () => Promise<void>,
  visit: (batch: BatchHeader, raw: Buffer) => void | Promise<void>,
): Promise<void> {
  segment.readers++;
  try {
    const scan = await segment.scan(
      0,
      segment.sizeBytes,
      { verifyCrc: true, pause },
      async (batch) => {
        const raw = batch.buffer.subarray(
          batch.offsetInBuffer,
          batch.offsetInBuffer + batch.sizeBytes,
        );
        await visit(decodeBatchHeader(raw), raw);
        await pause();
      },
    );
    if (scan.problem !== null) {
      throw new Error(
        `compaction stopped: ${segment.logPath} at position ${scan.validBytes}: ${scan.problem}`,
      );
    }
  } finally {
    segment.releaseReader();
  }
}

async function cleanSegment(
  log: CompactionTarget,
  segment: Segment,
  newestOffsetByKey: Map<string, number>,
  isAborted: BatchTest,
  /** Lowered to the delete horizon of every batch kept with tombstones. */
  horizon: { earliestMs: number },
  now: number,
  pause: () => Promise<void>,
): Promise<{ bytesBefore: number; bytesAfter: number; recordsRemoved: number } | null> {
  const io = log.io;
  const config = log.config;
  const stem = `${segment.directory}/${segmentFileName(segment.baseOffset, '.log').slice(0, 20)}`;
  const cleanedFile: LogFile = await io.open(`${stem}.log.cleaned`, { create: true });
  await cleanedFile.truncate(0);
  const cleaned = new Segment(segment.directory, segment.baseOffset, cleanedFile);
  let changed = false;
  let recordsRemoved = 0;
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let position = 0;

  const writeOut = async (): Promise<void> => {
    if (buffered.length === 0) return;
    await cleanedFile.write(buffered, position - bufferedBytes);
    buffered = [];
    bufferedBytes = 0;
  };
  const emit = async (bytes: Buffer, batch: BatchHeader): Promise<void> => {
    cleaned.onBatch(
      {
        position,
        sizeBytes: bytes.length,
        lastOffset: batch.baseOffset + batch.lastOffsetDelta,
        maxTimestamp: batch.maxTimestamp,
      },
      config.indexIntervalBytes,
    );
    buffered.push(bytes);
    bufferedBytes += bytes.length;
    position += bytes.length;
    if (bufferedBytes >= CLEANER_WRITE_BYTES) await writeOut();
  };

  try {
    const limit = decompressionLimitOf(config);
    await readBatches(segment, pause, async (header, raw) => {
      if (header.isControl) {
        await emit(raw, header);
        return;
      }
      if (isAborted(header)) {
        recordsRemoved += header.recordsCount;
        changed = true;
        return;
      }
      // The kept records are rebuilt into one batch, so this batch's records are held together:
      // at most max.decompression.ratio × max.message.bytes of them.
      const batch: DecodedBatch | null = withinDecompressionLimit(() =>
        decodeBatchSync(raw, 0, limit),
      );
      if (batch === null) {
        await emit(raw, header);
        return;
      }
      const horizonPassed = batch.hasDeleteHorizon && now >= batch.baseTimestamp;
      const kept = batch.records.filter((record) => {
        if (record.key === null) return true;
        const newest = newestOffsetByKey.get(record.key.toString('latin1'));
        if (newest !== undefined && newest !== record.offset) return false;
        return !(record.value === null && horizonPassed);
      });
      const hasTombstones = kept.some((record) => record.value === null);
      const needsHorizon = hasTombstones && !batch.hasDeleteHorizon;
      recordsRemoved += batch.records.length - kept.length;
      if (kept.length === batch.records.length && !needsHorizon) {
        if (hasTombstones) horizon.earliestMs = Math.min(horizon.earliestMs, batch.baseTimestamp);
        await emit(raw, batch);
        return;
      }
      changed = true;
      if (kept.length === 0) return;
      const deleteHorizonMs = hasTombstones
        ? batch.hasDeleteHorizon
          ? batch.baseTimestamp
          : now + config.deleteRetentionMs
        : undefined;
      if (deleteHorizonMs !== undefined)
        horizon.earliestMs = Math.min(horizon.earliestMs, deleteHorizonMs);
      const rebuilt = await buildBatch({
        records: kept.map((record) => ({
          key: record.key,
          value: record.value,
          headers: record.headers,
          timestamp: record.timestamp,
          offsetDelta: record.offsetDelta,
        })),
        baseOffset: batch.baseOffset,
        partitionLeaderEpoch: batch.partitionLeaderEpoch,
        compression: batch.compression,
        logAppendTime: batch.isLogAppendTime,
        isTransactional: batch.isTransactional,
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
        lastOffsetDelta: batch.lastOffsetDelta,
        maxTimestamp: batch.maxTimestamp,
        baseTimestamp: hasTombstones ? undefined : kept[0].timestamp,
        deleteHorizonMs,
      });
      await emit(rebuilt, batch);
    });
    await writeOut();
    if (!changed) {
      await cleanedFile.close();
      await io.unlink(`${stem}.log.cleaned`);
      return null;
    }
    cleaned.maybeAppendTimeIndexEntry();
    await cleanedFile.datasync();
    await cleanedFile.close();
    await writeDurably(io, `${stem}.index.cleaned`, cleaned.encodeOffsetIndex());
    await writeDurably(io, `${stem}.timeindex.cleaned`, cleaned.encodeTimeIndex());
    const bytesBefore = segment.sizeBytes;
    await swapSegment(log, segment);
    return { bytesBefore, bytesAfter: position, recordsRemoved };
  } catch (error) {
    await cleanedFile.close().catch(() => undefined);
    for (const suffix of ['.log.cleaned', '.index.cleaned', '.timeindex.cleaned'])
      await io.unlink(`${stem}${suffix}`);
    throw error;
  }
}

async function writeDurably(io: FileIo, path: string, data: Buffer): Promise<void> {
  const file = await io.open(path, { create: true });
  try {
    await file.truncate(0);
    if (data.length > 0) await file.write([data], 0);
    await file.datasync();
  } finally {
    await file.close();
  }
}

/**
 * Swaps the cleaned segment in for `old`. The caller has written and fsynced
 * `<base>.log.cleaned` (+ indexes). The `.log.swap` rename is the commit point: a crash before
 * it leaves the old segment; a crash after it is completed on open (log-recovery.ts).
 */
async function swapSegment(log: CompactionTarget, old: Segment): Promise<void> {
  assert(
    log.closedSegments().includes(old),
    `only a closed, live segment is swapped (segment ${old.baseOffset})`,
  );
  const { io, directory } = log;
  const stem = `${directory}/${segmentFileName(old.baseOffset, '.log').slice(0, 20)}`;
  await io.rename(`${stem}.index.cleaned`, `${stem}.index.swap`);
  await io.rename(`${stem}.timeindex.cleaned`, `${stem}.timeindex.swap`);
  await io.rename(`${stem}.log.cleaned`, `${stem}.log.swap`);
  await io.syncDirectory(directory);
  // Committed. Replace the old files under their names.
  for (const suffix of ['.log', '.index', '.timeindex']) {
    if (await io.exists(`${stem}${suffix}`))
      await io.rename(`${stem}${suffix}`, `${stem}${suffix}.deleted`);
  }
  await io.rename(`${stem}.index.swap`, `${stem}.index`);
  await io.rename(`${stem}.timeindex.swap`, `${stem}.timeindex`);
  await io.rename(`${stem}.log.swap`, `${stem}.log`);
  await io.syncDirectory(directory);
  const logFile = await io.open(`${stem}.log`, { create: false });
  const segment = new Segment(directory, old.baseOffset, logFile);
  const fileBytes = await logFile.size();
  segment.loadIndexes(
    await io.readFile(`${stem}.index`),
    await io.readFile(`${stem}.timeindex`),
    fileBytes,
  );
  await segment.scan(segment.lastIndexedPosition(), fileBytes, { verifyCrc: false }, (batch) => {
    segment.onBatch(batch, log.config.indexIntervalBytes);
  });
  // Offsets are kept, so the segment still ends where the next one begins.
  segment.nextOffset = Math.max(segment.nextOffset, old.nextOffset);
  segment.rollStartMs = old.rollStartMs;
  // Compaction keeps offsets, so the old segment's append times (and their file) still hold.
  segment.appendTimes.adopt(old.appendTimes);
  log.replaceSegment(old, segment);
  await old.closeWhenIdle();
  for (const suffix of ['.log', '.index', '.timeindex'])
    await io.unlink(`${stem}${suffix}.deleted`);
}
