// Opening one partition's directory: finishing or undoing what a crash interrupted, loading the
// segments (scanning from the recovery point after an unclean stop), cutting a torn or corrupt
// tail away, and the leader epochs and log start offset that fit what survived.

import type { FileIo } from './file-io.js';
import { LEADER_EPOCH_CHECKPOINT, LeaderEpochCache } from './leader-epoch-cache.js';
import type { LogConfig } from './log-config.js';
import { LogSegments } from './log-segments.js';
import { backgroundPacer } from './pacing.js';
import { Segment, parseSegmentBaseOffset, segmentFileName } from './segment.js';

export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';

export interface RecoveryOptions {
  directory: string;
  io: FileIo;
  clock: () => number;
  config: LogConfig;
  /** From recovery-point-offset-checkpoint: segments from the one holding it are scanned after an unclean stop. */
  recoveryPoint?: number;
  /** From log-start-offset-checkpoint. */
  logStartOffset?: number;
  /**
   * Set by an owner that keeps one clean-shutdown marker for all its logs (LogManager: one per
   * log directory): whether it found that marker. A marker of the log's own (an earlier
   * version's, or a log opened on its own) is still honoured and durably removed.
   */
  sharedCleanShutdown?: boolean;
  /**
   * From the owner's clean-shutdown marker: the log closed as one empty segment at this base
   * offset, with no append times and no leader epochs. It opens from that alone, reading nothing
   * in its directory (most logs of a broker with thousands of partitions are idle).
   */
  closedEmptyAt?: number;
}

/** A directory as recovery leaves it: whole batches only, all of them durable. */
export interface RecoveredLog {
  segments: LogSegments;
  leaderEpochCache: LeaderEpochCache;
  logStartOffset: number;
  logEndOffset: number;
  /** Whether the open found the clean-shutdown marker. */
  openedCleanly: boolean;
  /** Bytes scanned to find the end of the log. */
  recoveryScannedBytes: number;
  /** Bytes of a torn or corrupt tail cut away, and later segments deleted with it. */
  truncatedBytes: number;
  deletedSegments: number;
}

export async function recoverLog(options: RecoveryOptions): Promise<RecoveredLog> {
  if (options.sharedCleanShutdown === true && options.closedEmptyAt !== undefined)
    return openClosedEmpty(options, options.closedEmptyAt);
  const { io, directory, config } = options;
  // Batches whose append time a crash lost count as appended now: kept longer, never less.
  const recoveryTimeMs = options.clock();
  const segments = new LogSegments(directory, io, options.clock);
  let recoveryScannedBytes = 0;
  let truncatedBytes = 0;
  let deletedSegments = 0;
  const names = await completeInterruptedOperations(io, directory);
  // Files the listing does not show are not read: at ten thousand partitions, opening files that
  // are not there (a new log has no indexes and no leader epochs) was a third of a clean start.
  const listed = new Set(names);
  const readListed = (name: string): Promise<Buffer | null> =>
    listed.has(name) ? io.readFile(`${directory}/${name}`) : Promise.resolve(null);
  const ownMarker = names.includes(CLEAN_SHUTDOWN_FILE);
  const openedCleanly = ownMarker || options.sharedCleanShutdown === true;
  if (ownMarker) {
    // Removed before any append so a crash from here on is recognised as unclean.
    await io.unlink(`${directory}/${CLEAN_SHUTDOWN_FILE}`);
    await io.syncDirectory(directory);
  }
  const baseOffsets = names
    .map(parseSegmentBaseOffset)
    .filter((value): value is number => value !== null)
    .sort((a, b) => a - b);

  // After an unclean stop, scan from the segment holding the recovery point; the roll protocol
  // (old segment and its indexes fsynced before the next segment exists) makes the last segment
  // enough when no recovery point is known.
  let scanFrom = Infinity;
  if (!openedCleanly && baseOffsets.length > 0) {
    scanFrom = baseOffsets[baseOffsets.length - 1];
    if (options.recoveryPoint !== undefined) {
      const holding = baseOffsets.filter((baseOffset) => baseOffset <= options.recoveryPoint!);
      if (holding.length > 0) scanFrom = holding[holding.length - 1];
    }
  }

  const pause = backgroundPacer();
  for (let index = 0; index < baseOffsets.length; index++) {
    const baseOffset = baseOffsets[index];
    // Listed, so it exists: the pool gives it a descriptor at its first read or write, and an idle
    // log's segments hold none (its length needs none either).
    const logPath = `${directory}/${segmentFileName(baseOffset, '.log')}`;
    const logFile = await io.open(logPath, { create: false, deferred: true });
    const segment = new Segment(directory, baseOffset, logFile);
    // Gone since the listing: the file's own error (opening it) says so.
    const fileBytes = (await io.fileSize(logPath)) ?? (await logFile.size());
    const isLast = index === baseOffsets.length - 1;
    let corruptionFound = false;
    let indexesLoaded =
      baseOffset < scanFrom &&
      segment.loadIndexes(
        await readListed(segmentFileName(baseOffset, '.index')),
        await readListed(segmentFileName(baseOffset, '.timeindex')),
        fileBytes,
      );
    if (indexesLoaded) {
      // Trusted indexes: only the bytes after the last index entry are read, to find the end.
      const result = await segment.scan(
        segment.lastIndexedPosition(),
        fileBytes,
        { verifyCrc: isLast, pause },
        (batch) => {
          segment.onBatch(batch, config.indexIntervalBytes);
        },
      );
      if (result.problem !== null && isLast) {
        // The tail of the active segment is damaged even though it was closed cleanly:
        // recover it as after a crash.
        indexesLoaded = false;
      } else if (result.problem !== null) {
        // Damage inside an older segment is not cut away silently: the range stays in place
        // so that reads of it fail loudly (read-side checks) instead of skipping records.
        segment.sizeBytes = fileBytes;
        if (index + 1 < baseOffsets.length) segment.nextOffset = baseOffsets[index + 1];
      }
    }
    if (!indexesLoaded) {
      segment.resetIndexes();
      const result = await segment.scan(0, fileBytes, { verifyCrc: true, pause }, (batch) => {
        segment.onBatch(batch, config.indexIntervalBytes);
      });
      recoveryScannedBytes += result.validBytes;
      segment.sizeBytes = result.validBytes;
      corruptionFound = result.problem !== null;
    }
    segment.rollStartMs = initialRollStart(segment, options.clock());
    await segment.appendTimes.load(io, segment.nextOffset, recoveryTimeMs);
    segments.push(segment);
    if (segment.sizeBytes < fileBytes) {
      // Cut the torn or corrupt tail away, and everything after it: nothing past the first bad
      // batch can be trusted to be contiguous.
      truncatedBytes += fileBytes - segment.sizeBytes;
      await logFile.truncate(segment.sizeBytes);
      await logFile.datasync();
      if (corruptionFound || isLast) {
        for (const later of baseOffsets.slice(index + 1)) {
          await segments.deleteFiles(later);
          deletedSegments += 1;
        }
        await segment.writeIndexFiles(io);
        break;
      }
    }
    if (
      !indexesLoaded &&
      fileBytes === 0 &&
      !listed.has(segmentFileName(baseOffset, '.index')) &&
      !listed.has(segmentFileName(baseOffset, '.timeindex'))
    ) {
      // An empty segment without index files (a new log's) is already what an index write would
      // leave: no fsyncs for it, which at ten thousand idle partitions is most of a recovery.
      segment.markIndexesPersistedEmpty();
    }
    if (!indexesLoaded) await segment.writeIndexFiles(io);
  }

  if (segments.count === 0) {
    const baseOffset = Math.max(0, options.logStartOffset ?? 0);
    segments.push(await segments.create(baseOffset));
  } else {
    // Whatever the previous process left in the page cache becomes durable before it counts.
    // After a clean close it already is: the close synced every file before the marker was
    // written, and at ten thousand partitions this fsync was half of a clean start's.
    if (!openedCleanly) await segments.active.logFile.datasync();
    // `load` left the file in place (read or rewritten): no descriptor until the first append.
    await segments.active.appendTimes.openForAppend(io, { empty: false, deferred: true });
  }
  const logEndOffset = segments.active.nextOffset;
  const logStartOffset = Math.min(
    Math.max(options.logStartOffset ?? 0, segments.first.baseOffset),
    logEndOffset,
  );
  segments.checkOrder();
  const leaderEpochCache = await LeaderEpochCache.load(io, directory, {
    exists: listed.has(LEADER_EPOCH_CHECKPOINT),
  });
  leaderEpochCache.truncateFromEnd(logEndOffset);
  leaderEpochCache.truncateFromStart(logStartOffset);
  await leaderEpochCache.persist();
  return {
    segments,
    leaderEpochCache,
    logStartOffset,
    logEndOffset,
    openedCleanly,
    recoveryScannedBytes,
    truncatedBytes,
    deletedSegments,
  };
}

/**
 * A log the clean-shutdown marker says closed empty: the state recovery would rebuild is known,
 * so nothing is listed or read, and its two files (`.log`, `.appendtime`) get a descriptor at the
 * first append. What the marker vouches for was true when it was written; nothing has written
 * to the directory since (it is locked, and the marker is removed before any log opens).
 */
async function openClosedEmpty(
  options: RecoveryOptions,
  baseOffset: number,
): Promise<RecoveredLog> {
  const { io, directory } = options;
  const segments = new LogSegments(directory, io, options.clock);
  const logFile = await io.open(`${directory}/${segmentFileName(baseOffset, '.log')}`, {
    create: false,
    deferred: true,
  });
  const segment = new Segment(directory, baseOffset, logFile);
  segment.markIndexesPersistedEmpty();
  segment.rollStartMs = options.clock();
  await segment.appendTimes.openForAppend(io, { empty: false, deferred: true });
  segments.push(segment);
  const leaderEpochCache = await LeaderEpochCache.load(io, directory, { exists: false });
  return {
    segments,
    leaderEpochCache,
    logStartOffset: baseOffset,
    logEndOffset: baseOffset,
    openedCleanly: true,
    recoveryScannedBytes: 0,
    truncatedBytes: 0,
    deletedSegments: 0,
  };
}

function initialRollStart(segment: Segment, now: number): number {
  return segment.maxTimestamp > 0 && segment.maxTimestamp <= now
    ? Math.min(segment.maxTimestamp, now)
    : now;
}

/**
 * Finishes or undoes what a crash interrupted: a compaction swap whose `.log.swap` exists is
 * completed (the swap file is the commit point, see log-cleaner.ts); `.cleaned` files and
 * leftovers are removed. Creates the directory if it does not exist (a new log). Returns the
 * directory's names as it leaves them (read once when there was nothing to do, as in almost every
 * open).
 */
async function completeInterruptedOperations(io: FileIo, directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await io.readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await io.mkdir(directory);
    return [];
  }
  let changed = false;
  for (const name of names) {
    if (name.endsWith('.cleaned') || name.endsWith('.deleted') || name.endsWith('.tmp')) {
      await io.unlink(`${directory}/${name}`);
      changed = true;
    }
  }
  for (const name of names) {
    const match = /^(\d{20})\.log\.swap$/.exec(name);
    if (!match) continue;
    const stem = `${directory}/${match[1]}`;
    await io.unlink(`${stem}.index`);
    await io.unlink(`${stem}.timeindex`);
    for (const suffix of ['.index', '.timeindex']) {
      if (names.includes(`${match[1]}${suffix}.swap`))
        await io.rename(`${stem}${suffix}.swap`, `${stem}${suffix}`);
    }
    await io.rename(`${stem}.log.swap`, `${stem}.log`);
    changed = true;
  }
  for (const name of changed ? await io.readdir(directory) : names) {
    // Index swap files without their log swap belong to a swap that never reached its commit point.
    if (name.endsWith('.index.swap') || name.endsWith('.timeindex.swap')) {
      await io.unlink(`${directory}/${name}`);
      changed = true;
    }
  }
  if (!changed) return names;
  await io.syncDirectory(directory);
  return await io.readdir(directory);
}
