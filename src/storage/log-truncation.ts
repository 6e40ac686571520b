// Cutting a log's segments back to an offset (a follower after a leader change): the batch
// holding the offset and everything after it go; the surviving segment's indexes and append
// times are rebuilt from what remains. The caller (PartitionLog.truncateTo) holds the
// maintenance lock with the pipeline paused, and moves the log's offsets afterwards.

import type { FileIo } from './file-io.js';
import type { LogSegments } from './log-segments.js';
import { backgroundPacer } from './pacing.js';

/**
 * Removes every batch holding an offset >= `offset`, which lies above the first segment's base
 * offset; returns the new log end offset.
 */
export async function truncateSegments(
  segments: LogSegments,
  offset: number,
  io: FileIo,
  indexIntervalBytes: number,
): Promise<number> {
  const index = segments.indexFor(offset);
  const removed = segments.takeFrom(index + 1);
  const segment = segments.active;
  let cutAt = segment.sizeBytes;
  let cutBaseOffset = offset;
  await segment.scan(
    segment.lookupPosition(offset),
    segment.sizeBytes,
    { verifyCrc: false },
    (batch) => {
      if (batch.lastOffset < offset) return true;
      cutAt = batch.position;
      cutBaseOffset = Math.min(offset, batch.baseOffset);
      return false;
    },
  );
  await segment.logFile.truncate(cutAt);
  await segment.logFile.datasync();
  // Rebuild the segment's indexes and timestamps from what remains.
  segment.resetIndexes();
  await segment.scan(0, cutAt, { verifyCrc: false, pause: backgroundPacer() }, (batch) => {
    segment.onBatch(batch, indexIntervalBytes);
  });
  segment.nextOffset = Math.max(segment.nextOffset, Math.min(cutBaseOffset, offset));
  if (segment.sizeBytes === 0)
    segment.nextOffset = Math.max(segment.baseOffset, Math.min(cutBaseOffset, offset));
  for (const old of removed) await segments.remove(old);
  await segment.appendTimes.truncateTo(io, segment.nextOffset);
  await segment.appendTimes.openForAppend(io, { empty: false });
  await io.unlink(segment.indexPath);
  await io.unlink(segment.timeIndexPath);
  await io.syncDirectory(segments.directory);
  return segment.nextOffset;
}
