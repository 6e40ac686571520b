import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { OffsetOutOfRangeError } from '../../src/storage/errors.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { readWholeLog } from '../helpers/storage-verify.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

const HOUR_MS = 60 * 60 * 1000;

/** 30 batches of 2 records, batch i stamped at `start + i minutes`, small segments. */
async function fill(log: PartitionLog, start: number): Promise<void> {
  const batches = await Promise.all(
    Array.from({ length: 30 }, (_, index) =>
      makeBatch({
        seed: 10 + index,
        recordsCount: 2,
        valueBytes: 200,
        timestamp: start + index * 60_000,
      }),
    ),
  );
  await Promise.all(
    batches.map((batch) => log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged),
  );
}

test('retention.ms deletes whole segments older than the limit', async (t) => {
  const directory = temporaryDirectory(t);
  const start = 1_800_000_000_000;
  let now = start;
  // Record time: the batches carry timestamps a minute apart but are appended at one instant
  // (append-time retention is covered in append-time-retention.test.ts).
  const config: LogConfig = {
    ...defaultLogConfig,
    segmentBytes: 3000,
    retentionMs: HOUR_MS,
    retentionTimestampType: 'record',
  };
  const log = await PartitionLog.open({
    directory,
    config: { ...config, retentionMs: -1 },
    clock: () => now,
  });
  await fill(log, start);
  log.updateConfig(config);
  const segments = log.segmentInfos();
  assert.ok(segments.length >= 4);
  // Segment 1's newest batch just expired; segment 2's has not.
  now = segments[1].maxTimestamp + HOUR_MS + 1;
  const result = await log.applyRetention(now);
  assert.ok(result.deletedSegments >= 2);
  assert.ok(log.logStartOffset >= segments[2].baseOffset);
  assert.equal(log.segmentInfos()[0].baseOffset, segments[2].baseOffset);
  await assert.rejects(log.read(0, { maxBytes: 100, maxOffset: 60 }), OffsetOutOfRangeError);
  await log.close();
});

test('retention.bytes deletes the oldest segments while the log is over the limit', async (t) => {
  const directory = temporaryDirectory(t);
  const config: LogConfig = {
    ...defaultLogConfig,
    segmentBytes: 3000,
    retentionMs: -1,
    retentionBytes: 7000,
  };
  const log = await PartitionLog.open({ directory, config });
  await fill(log, Date.now());
  const sizeBefore = log.sizeInBytes;
  assert.ok(sizeBefore > 7000);
  await log.applyRetention();
  assert.ok(log.sizeInBytes <= 7000 + 3000, `log holds ${log.sizeInBytes} bytes`);
  assert.ok(log.sizeInBytes >= 7000, 'no more is deleted than needed');
  assert.equal(log.logStartOffset, log.segmentInfos()[0].baseOffset);
  await readWholeLog(log);
  await log.close();
});

test('exact expiry: the log start offset passes every expired batch, even inside the active segment', async (t) => {
  const directory = temporaryDirectory(t);
  const start = 1_800_000_000_000;
  let now = start;
  // One large segment: whole-segment retention alone would keep every record. Record time, as
  // the batches are appended at one instant.
  const config: LogConfig = {
    ...defaultLogConfig,
    retentionMs: HOUR_MS,
    retentionTimestampType: 'record',
  };
  const log = await PartitionLog.open({
    directory,
    config: { ...config, retentionMs: -1 },
    clock: () => now,
  });
  await fill(log, start);
  log.updateConfig(config);
  assert.equal(log.segmentInfos().length, 1);
  // Batches 0..9 (timestamps start..start+9min) are older than one hour at start + 69.5 min.
  now = start + HOUR_MS + 9 * 60_000 + 30_000;
  await log.applyRetention(now);
  assert.equal(log.logStartOffset, 20);
  await assert.rejects(log.read(19, { maxBytes: 100, maxOffset: 60 }), OffsetOutOfRangeError);
  const first = await log.read(20, { maxBytes: 1, maxOffset: 60 });
  assert.equal(
    first.chunks[0].readInt32BE(4),
    20,
    'the first served batch is the first unexpired one',
  );
  await log.close();
});

test('exact expiry runs on its own timer, without a retention pass', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, retentionMs: 150 },
  });
  const batch = await makeBatch({
    seed: 1,
    recordsCount: 3,
    valueBytes: 10,
    timestamp: Date.now(),
  });
  await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  assert.equal(log.logStartOffset, 0);
  await waitFor(() => log.logStartOffset >= 3, 'the timer to expire the batch', {
    timeoutMs: 5000,
    intervalMs: 10,
  });
  assert.equal(log.logStartOffset, 3, 'the expired batch was not expired by the timer');
  await log.close();
});

test('compact-only topics are not expired; compact,delete topics are', async (t) => {
  const directory = temporaryDirectory(t);
  const start = 1_800_000_000_000;
  const compactOnly = await PartitionLog.open({
    directory: join(directory, 'a'),
    config: { ...defaultLogConfig, retentionMs: -1 },
    clock: () => start,
  });
  await fill(compactOnly, start);
  compactOnly.updateConfig({ ...defaultLogConfig, retentionMs: HOUR_MS, cleanupPolicy: 'compact' });
  await compactOnly.applyRetention(start + 10 * HOUR_MS);
  assert.equal(compactOnly.logStartOffset, 0);
  compactOnly.updateConfig({
    ...defaultLogConfig,
    retentionMs: HOUR_MS,
    cleanupPolicy: 'compact,delete',
  });
  await compactOnly.applyRetention(start + 10 * HOUR_MS);
  assert.equal(compactOnly.logStartOffset, 60);
  await compactOnly.close();
});

test('the log start offset is checkpointed in Kafka format and survives a restart', async (t) => {
  const directory = temporaryDirectory(t);
  const config: LogConfig = { ...defaultLogConfig, retentionMs: -1, segmentBytes: 3000 };
  const manager = await LogManager.open({
    directory,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  const log = await manager.createLog('events', 2);
  await fill(log, Date.now());
  assert.equal(await log.deleteRecordsBefore(33), 33);
  assert.equal(
    readFileSync(join(directory, 'log-start-offset-checkpoint'), 'utf8'),
    '0\n1\nevents 2 33\n',
  );
  await manager.close();
  const reopened = await LogManager.open({
    directory,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  const again = reopened.getLog('events', 2)!;
  assert.equal(again.logStartOffset, 33);
  assert.equal(again.logEndOffset, 60);
  await assert.rejects(again.read(32, { maxBytes: 1, maxOffset: 60 }), OffsetOutOfRangeError);
  await reopened.deleteLog('events', 2);
  assert.equal(reopened.getLog('events', 2), undefined);
  assert.equal(readFileSync(join(directory, 'log-start-offset-checkpoint'), 'utf8'), '0\n0\n');
  await reopened.close();
});

test('the background scheduler applies retention without being asked', async (t) => {
  const directory = temporaryDirectory(t);
  const config: LogConfig = {
    ...defaultLogConfig,
    retentionMs: -1,
    segmentBytes: 3000,
    retentionBytes: 3000,
  };
  const manager = await LogManager.open({
    directory,
    defaultConfig: config,
    retentionCheckIntervalMs: 20,
    checkpointIntervalMs: 0,
  });
  const log = await manager.createLog('events', 0);
  await fill(log, Date.now());
  const deadline = Date.now() + 5000;
  while (log.logStartOffset === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(log.logStartOffset > 0);
  await manager.close();
});
