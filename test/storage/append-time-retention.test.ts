// Time retention measured from the broker's append (retention.timestamp.type = append, the
// default): producers' clocks cannot expire records early, the append times survive restarts and
// crashes (lost ones count as appended at recovery), and record time stays available on request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { OffsetOutOfRangeError } from '../../src/storage/errors.js';
import {
  APPEND_TIME_ENTRY_BYTES,
  appendTimeResolutionMs,
} from '../../src/storage/append-time-index.js';
import {
  BatchField,
  RecordError,
  RecordErrorCode,
  batchMaxTimestamp,
  hasValidCrc,
  updateBatchCrc,
  writeInt64,
} from '../../src/record/batch.js';
import { buildBatch } from '../../src/record/records.js';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { type FileIo, nodeFileIo } from '../../src/storage/file-io.js';
import { keyedBatch, makeBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

const HOUR_MS = 60 * 60 * 1000;
const START_MS = 1_800_000_000_000;
/** Timestamps a test suite or a backfill might use: far older than any retention.ms. */
const ANCIENT_MS = 1_000;

/** A controllable clock shared by a log and the test. */
function testClock(startMs: number): { now: number; clock: () => number } {
  const state = { now: startMs, clock: () => state.now };
  return state;
}

async function appendAncient(log: PartitionLog, seed: number, recordsCount = 2): Promise<void> {
  const batch = await makeBatch({ seed, recordsCount, valueBytes: 100, timestamp: ANCIENT_MS });
  await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
}

/** nodeFileIo, counting the writes to `.appendtime` files. */
function countingAppendTimeWrites(): { io: FileIo; writes: { count: number } } {
  const writes = { count: 0 };
  const io: FileIo = {
    ...nodeFileIo,
    async open(path, options) {
      const file = await nodeFileIo.open(path, options);
      if (!path.endsWith('.appendtime')) return file;
      return {
        path: file.path,
        write: (buffers, position) => {
          writes.count++;
          return file.write(buffers, position);
        },
        read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
        datasync: () => file.datasync(),
        truncate: (length) => file.truncate(length),
        size: () => file.size(),
        close: () => file.close(),
      };
    },
  };
  return { io, writes };
}

/** The end offsets (relative to the segment's base) the first segment's `.appendtime` holds. */
function appendTimeEnds(directory: string): number[] {
  const bytes = readFileSync(join(directory, `${'0'.repeat(20)}.appendtime`));
  const ends = [];
  for (let at = 0; at + APPEND_TIME_ENTRY_BYTES <= bytes.length; at += APPEND_TIME_ENTRY_BYTES)
    ends.push(bytes.readInt32BE(at + 8));
  return ends;
}

test('records stamped far in the past are kept until retention.ms after their append', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, retentionMs: HOUR_MS },
    clock: time.clock,
  });
  await appendAncient(log, 1);
  time.now += 10 * 60_000;
  await appendAncient(log, 2);
  // Exactly retention.ms after the first append: not yet older than the limit.
  await log.applyRetention(START_MS + HOUR_MS);
  assert.equal(log.logStartOffset, 0, 'a record was deleted within retention.ms of its append');
  // Past it, the first append expires, at its batch boundary, and the second stays.
  await log.applyRetention(START_MS + HOUR_MS + 1);
  assert.equal(log.logStartOffset, 2);
  await assert.rejects(log.read(1, { maxBytes: 100, maxOffset: 4 }), OffsetOutOfRangeError);
  await log.applyRetention(START_MS + 10 * 60_000 + HOUR_MS + 1);
  assert.equal(log.logStartOffset, 4);
  await log.close();
});

test('the expiry timer does not expire records stamped in the past', async (t) => {
  const directory = temporaryDirectory(t);
  // A short retention with the real clock: under record time the timer fires at once.
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, retentionMs: 400 },
  });
  const appendedAtMs = Date.now();
  await appendAncient(log, 1, 3);
  // The timer armed by the append has run by the time a second, later timer does.
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (Date.now() - appendedAtMs < 400)
    assert.equal(log.logStartOffset, 0, 'expired before retention.ms had passed since the append');
  await waitFor(() => log.logStartOffset >= 3, 'the timer to expire the batches', {
    timeoutMs: 5000,
    intervalMs: 10,
  });
  assert.equal(log.logStartOffset, 3, 'the timer expires them once retention.ms has passed');
  assert.ok(Date.now() - appendedAtMs >= 400);
  await log.close();
});

test('whole segments are deleted by their last append, not their record timestamps', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, retentionMs: HOUR_MS, segmentBytes: 700 },
    clock: time.clock,
  });
  for (let seed = 0; seed < 8; seed++) {
    await appendAncient(log, seed);
    time.now += 60_000;
  }
  const segments = log.segmentInfos();
  assert.ok(segments.length >= 4, `${segments.length} segments`);
  // The first two segments' last appends are older than an hour; the third's is not.
  const thirdLastAppendMs = START_MS + ((segments[3].baseOffset - 2) / 2) * 60_000;
  await log.applyRetention(thirdLastAppendMs + HOUR_MS);
  assert.equal(log.segmentInfos()[0].baseOffset, segments[2].baseOffset);
  assert.equal(log.logStartOffset, segments[3].baseOffset - 2);
  await log.close();
});

test('append times survive a clean restart', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const config: LogConfig = { ...defaultLogConfig, retentionMs: HOUR_MS, segmentBytes: 700 };
  const log = await PartitionLog.open({ directory, config, clock: time.clock });
  for (let seed = 0; seed < 6; seed++) {
    await appendAncient(log, seed);
    time.now += 60_000;
  }
  await log.close();
  // Reopened much later: only what was appended more than an hour before expires.
  time.now = START_MS + HOUR_MS + 2 * 60_000 + 1;
  const reopened = await PartitionLog.open({ directory, config, clock: time.clock });
  await reopened.applyRetention();
  assert.equal(reopened.logStartOffset, 6, 'the appends at minutes 0, 1 and 2 expired, no more');
  await reopened.close();
});

test('after a crash, batches whose append time was lost count as appended at recovery', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const config: LogConfig = { ...defaultLogConfig, retentionMs: HOUR_MS };
  const log = await PartitionLog.open({ directory, config, clock: time.clock });
  for (let seed = 0; seed < 4; seed++) {
    await appendAncient(log, seed);
    time.now += 60_000;
  }
  // The process dies without closing; then the last entry of the append-time file is damaged
  // (as by a torn write): one byte of its CRC flipped.
  const appendTimePath = join(directory, `${'0'.repeat(20)}.appendtime`);
  const entries = readFileSync(appendTimePath);
  assert.equal(entries.length, 4 * APPEND_TIME_ENTRY_BYTES, 'one entry per append');
  entries[entries.length - 1] ^= 0xff;
  writeFileSync(appendTimePath, entries);
  const recoveredAtMs = START_MS + 30 * 60_000;
  time.now = recoveredAtMs;
  const reopened = await PartitionLog.open({ directory, config, clock: time.clock });
  assert.equal(reopened.openedCleanly, false);
  // The three intact entries keep their times (minutes 0..2); the fourth batch is dated at recovery.
  await reopened.applyRetention(START_MS + 2 * 60_000 + HOUR_MS + 1);
  assert.equal(reopened.logStartOffset, 6);
  await reopened.applyRetention(recoveredAtMs + HOUR_MS);
  assert.equal(reopened.logStartOffset, 6, 'the batch of the lost entry was deleted early');
  await reopened.applyRetention(recoveredAtMs + HOUR_MS + 1);
  assert.equal(reopened.logStartOffset, 8);
  await reopened.close();
});

test('a log from before append times were kept counts its batches as appended at the open, once', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const config: LogConfig = { ...defaultLogConfig, retentionMs: HOUR_MS };
  const log = await PartitionLog.open({ directory, config, clock: time.clock });
  await appendAncient(log, 1);
  await log.close();
  rmSync(join(directory, `${'0'.repeat(20)}.appendtime`));
  time.now = START_MS + 5 * HOUR_MS;
  const upgraded = await PartitionLog.open({ directory, config, clock: time.clock });
  await upgraded.close();
  // A second restart does not move the recovery time forwards again.
  time.now = START_MS + 7 * HOUR_MS;
  const again = await PartitionLog.open({ directory, config, clock: time.clock });
  await again.applyRetention(START_MS + 6 * HOUR_MS);
  assert.equal(again.logStartOffset, 0);
  await again.applyRetention(START_MS + 6 * HOUR_MS + 1);
  assert.equal(again.logStartOffset, 2);
  await again.close();
});

test('retention.timestamp.type=record expires by the records timestamps', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, retentionMs: HOUR_MS, retentionTimestampType: 'record' },
    clock: time.clock,
  });
  await appendAncient(log, 1);
  const fresh = await makeBatch({ seed: 2, recordsCount: 2, valueBytes: 10, timestamp: START_MS });
  await log.append(fresh, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  await log.applyRetention(START_MS);
  assert.equal(log.logStartOffset, 2, 'the record-time batch from 1970 expires at once');
  await log.close();
});

test('a batch whose header says maxTimestamp -1 is kept and stored with a repaired header', async (t) => {
  const directory = temporaryDirectory(t);
  for (const retentionTimestampType of ['append', 'record'] as const) {
    const log = await PartitionLog.open({
      directory: join(directory, retentionTimestampType),
      config: { ...defaultLogConfig, retentionTimestampType },
    });
    const nowMs = Date.now();
    const batch = await buildBatch({
      records: [0, 1, 2].map((deltaMs) => ({
        key: null,
        value: Buffer.from('sarama'),
        timestamp: nowMs + deltaMs,
      })),
    });
    writeInt64(batch, BatchField.maxTimestamp, -1);
    updateBatchCrc(batch);
    const appended = log.append(batch, { leaderEpoch: 0, origin: 'client' });
    assert.equal(appended.maxTimestamp, nowMs + 2);
    await appended.acknowledged;
    await log.applyRetention();
    assert.equal(log.logStartOffset, 0, `${retentionTimestampType}: expired on arrival`);
    assert.deepEqual(log.maxTimestampOffset(), { offset: 2, timestamp: nowMs + 2 });
    await log.close();
    const reopened = await PartitionLog.open({
      directory: join(directory, retentionTimestampType),
      config: { ...defaultLogConfig, retentionTimestampType },
    });
    const stored = (await reopened.read(0, { maxBytes: 1 << 20, maxOffset: 3 })).chunks[0];
    assert.equal(batchMaxTimestamp(stored), nowMs + 2, 'the stored header is repaired');
    assert.ok(hasValidCrc(stored, 0, stored.length));
    await reopened.close();
  }
});

function assertInvalidTimestamp(action: () => unknown, setting: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof RecordError, String(error));
    assert.equal(error.kafkaErrorCode, RecordErrorCode.INVALID_TIMESTAMP);
    assert.match(error.message, setting);
    return true;
  });
}

test('message.timestamp.before/after.max.ms refuse CreateTime batches outside them', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, messageTimestampBeforeMaxMs: HOUR_MS },
    clock: time.clock,
  });
  const at = (seed: number, timestamp: number): Promise<Buffer> =>
    makeBatch({ seed, recordsCount: 1, valueBytes: 10, timestamp });
  // The default after.max.ms is one hour (Kafka 4.0's).
  const future = await at(1, START_MS + HOUR_MS + 1);
  assertInvalidTimestamp(
    () => log.append(future, { leaderEpoch: 0, origin: 'client' }),
    /message\.timestamp\.after\.max\.ms/,
  );
  const old = await at(2, START_MS - HOUR_MS - 1);
  assertInvalidTimestamp(
    () => log.append(old, { leaderEpoch: 0, origin: 'client' }),
    /message\.timestamp\.before\.max\.ms/,
  );
  assert.equal(log.logEndOffset, 0, 'nothing refused was appended');
  await log.append(await at(3, START_MS + HOUR_MS), { leaderEpoch: 0, origin: 'client' })
    .acknowledged;
  await log.append(await at(4, START_MS - HOUR_MS), { leaderEpoch: 0, origin: 'client' })
    .acknowledged;
  // Replicated batches were checked by their leader; LogAppendTime replaces the timestamps.
  const replicated = await at(5, START_MS + 10 * HOUR_MS);
  writeInt64(replicated, BatchField.baseOffset, 2);
  await log.append(replicated, { leaderEpoch: 0, origin: 'replication' }).acknowledged;
  log.updateConfig({ ...log.config, messageTimestampType: 'LogAppendTime' });
  await log.append(await at(6, START_MS + 10 * HOUR_MS), { leaderEpoch: 0, origin: 'client' })
    .acknowledged;
  assert.equal(log.logEndOffset, 4);
  await log.close();
});

test('compaction and truncation keep the append times of what remains', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  const config: LogConfig = {
    ...defaultLogConfig,
    cleanupPolicy: 'compact,delete',
    minCleanableDirtyRatio: 0,
    retentionMs: HOUR_MS,
    segmentBytes: 400,
  };
  const log = await PartitionLog.open({ directory, config, clock: time.clock });
  // One record a minute, all stamped in 1970: offset m at minute m. Minute 3 rewrites minute 1's
  // key, so compaction removes offset 1.
  for (let minute = 0; minute < 12; minute++) {
    const key = minute === 1 || minute === 3 ? 'rewritten' : `k${minute}`;
    const batch = await keyedBatch([{ key, value: `v${minute}`, timestamp: ANCIENT_MS }]);
    await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
    time.now += 60_000;
  }
  assert.ok(log.segmentInfos().length >= 3);
  const result = await cleanLog(log, time.now);
  assert.equal(result.recordsRemoved, 1);
  await log.applyRetention(START_MS + 4 * 60_000 + HOUR_MS);
  assert.equal(log.logStartOffset, 4, 'minutes 0..3 expire, minute 4 stays');
  await log.truncateTo(8);
  await log.close();
  const reopened = await PartitionLog.open({ directory, config, clock: time.clock });
  assert.equal(reopened.logEndOffset, 8);
  await reopened.applyRetention(START_MS + 7 * 60_000 + HOUR_MS);
  assert.equal(reopened.logStartOffset, 7);
  await reopened.applyRetention(START_MS + 7 * 60_000 + HOUR_MS + 1);
  assert.equal(reopened.logStartOffset, 8);
  await reopened.close();
});

test('an append time entry is written when it starts; its moved end waits for a later write', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  // retention.ms of an hour: one entry per 360 ms of appends.
  const config: LogConfig = { ...defaultLogConfig, retentionMs: HOUR_MS };
  const { io, writes } = countingAppendTimeWrites();
  const endsInFile = (): number[] => appendTimeEnds(directory);
  const log = await PartitionLog.open({ directory, config, clock: time.clock, io });
  await appendAncient(log, 1);
  assert.deepEqual(endsInFile(), [2], 'a new entry is written beside the fsync that follows it');
  const writesAfterFirst = writes.count;
  // Same clock: the entry only moves its end, acknowledged (fsynced) without a write of its own.
  await appendAncient(log, 2);
  await appendAncient(log, 3);
  assert.equal(writes.count, writesAfterFirst, 'no append time write for a moved end');
  assert.deepEqual(endsInFile(), [2]);
  // A step later a new entry starts: written at once, with the moved end of the one before.
  time.now += 60_000;
  await appendAncient(log, 4);
  assert.deepEqual(endsInFile(), [6, 8]);
  await log.close();
  assert.deepEqual(endsInFile(), [6, 8], 'close writes what is left');
});

test('a moved end waits a resolution step for its write, not a second', async (t) => {
  const directory = temporaryDirectory(t);
  const time = testClock(START_MS);
  // The default retention.ms (7 days): a step of about a minute.
  const stepMs = appendTimeResolutionMs(defaultLogConfig.retentionMs);
  assert.ok(stepMs > 10_000);
  const { io, writes } = countingAppendTimeWrites();
  const log = await PartitionLog.open({
    directory,
    config: defaultLogConfig,
    clock: time.clock,
    io,
  });
  await appendAncient(log, 1);
  assert.deepEqual(appendTimeEnds(directory), [2]);
  const writesAfterFirst = writes.count;
  // Seconds apart, within the step: each moves the entry's end, none writes it (a log of ten
  // thousand taking a batch every few seconds would pay a file operation per fsync).
  for (const [seed, atMs] of [
    [2, 2_000],
    [3, 10_000],
    [4, stepMs - 1_000],
  ]) {
    time.now = START_MS + atMs;
    await appendAncient(log, seed);
  }
  assert.equal(writes.count, writesAfterFirst, 'no write for ends moved within the step');
  assert.deepEqual(appendTimeEnds(directory), [2]);
  // A step after the last write, the next fsync writes the moved end (and the entry it starts).
  time.now = START_MS + stepMs;
  await appendAncient(log, 5);
  assert.deepEqual(appendTimeEnds(directory), [8, 10]);
  await log.close();
});
