import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchField,
  AttributeBit,
  batchSizeBytes,
  hasValidCrc,
  readInt64,
} from '../../src/record/batch.js';
import { decodeBatch } from '../../src/record/records.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { nodeFileIo, type FileIo } from '../../src/storage/file-io.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { keyedBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const config: LogConfig = {
  ...defaultLogConfig,
  cleanupPolicy: 'compact',
  retentionMs: -1,
  segmentBytes: 1200,
  deleteRetentionMs: DAY_MS,
  minCompactionLagMs: 0,
};

interface StoredRecord {
  offset: number;
  key: string | null;
  value: string | null;
  compression: number;
}

/** Every record the log serves, in order, with each batch's CRC checked. */
async function allRecords(log: PartitionLog): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { chunks } = await log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset });
    if (chunks.length === 0) break;
    for (const chunk of chunks) {
      for (let position = 0; position < chunk.length; position += batchSizeBytes(chunk, position)) {
        const size = batchSizeBytes(chunk, position);
        assert.ok(hasValidCrc(chunk, position, size));
        const batch = await decodeBatch(chunk.subarray(position, position + size));
        for (const record of batch.records) {
          records.push({
            offset: record.offset,
            key: record.key?.toString() ?? null,
            value: record.value?.toString() ?? null,
            compression: batch.compression,
          });
        }
        offset =
          readInt64(chunk, position) + chunk.readInt32BE(position + BatchField.lastOffsetDelta) + 1;
      }
    }
  }
  return records;
}

/** Key k<i mod 5> written 40 times with value v<i>; every 10th write of k0 is a tombstone at the end. */
async function writeHistory(log: PartitionLog, compression = 0): Promise<void> {
  for (let index = 0; index < 40; index++) {
    const batch = await keyedBatch(
      [{ key: `k${index % 5}`, value: `v${index}`, timestamp: 1_000 + index }],
      compression,
    );
    await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  }
  // Delete k0, then keep writing other keys so the tombstone lands in a closed segment.
  await log.append(await keyedBatch([{ key: 'k0', value: null, timestamp: 2_000 }], compression), {
    leaderEpoch: 0,
    origin: 'client',
  }).acknowledged;
  for (let index = 0; index < 12; index++) {
    const batch = await keyedBatch(
      [{ key: `k${1 + (index % 4)}`, value: `w${index}`, timestamp: 3_000 + index }],
      compression,
    );
    await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  }
}

test('compaction keeps the newest record per key in closed segments, with offsets unchanged', async (t) => {
  const directory = temporaryDirectory(t);
  let now = 10_000;
  const log = await PartitionLog.open({ directory, config, clock: () => now });
  await writeHistory(log);
  const before = await allRecords(log);
  const newestByKey = new Map(before.map((record) => [record.key, record.offset]));
  const activeBase = log.segmentInfos().at(-1)!.baseOffset;
  const result = await cleanLog(log, now);
  assert.ok(result.segmentsCleaned > 0 && result.recordsRemoved > 0);
  const after = await allRecords(log);
  for (const record of after) {
    const original = before.find((candidate) => candidate.offset === record.offset);
    assert.deepEqual(record, original, 'a kept record is unchanged, at its original offset');
    if (record.offset < activeBase)
      assert.equal(
        newestByKey.get(record.key),
        record.offset,
        `stale record for ${record.key} at ${record.offset} survived`,
      );
  }
  // The newest value of every key survives, and so (for now) does the tombstone.
  for (const [key, offset] of newestByKey)
    assert.ok(
      after.some((record) => record.key === key && record.offset === offset),
      `lost the newest ${key}`,
    );
  assert.ok(after.some((record) => record.key === 'k0' && record.value === null));
  assert.equal(log.logEndOffset, 53);
  // Tombstones go once delete.retention.ms has passed since the cleaning that first saw them:
  // that pass runs though nothing was written since, because a kept tombstone's horizon passed.
  now += DAY_MS + 1;
  await cleanLog(log, now);
  const final = await allRecords(log);
  assert.ok(!final.some((record) => record.key === 'k0'), 'the tombstone (and k0) should be gone');
  // Appends continue at the same offsets after compaction, and a reopen reads the same records.
  // Stamped with the test's clock: message.timestamp.after.max.ms refuses a record from its future.
  await log.append(await keyedBatch([{ key: 'k9', value: 'z', timestamp: now }]), {
    leaderEpoch: 0,
    origin: 'client',
  }).acknowledged;
  await log.close();
  const reopened = await PartitionLog.open({ directory, config, clock: () => now });
  assert.equal(reopened.logEndOffset, 54);
  assert.deepEqual((await allRecords(reopened)).slice(0, -1), final);
  await reopened.close();
});

test('compressed batches are recompressed with the same codec', async (t) => {
  for (const compression of [1, 2, 3, 4]) {
    const directory = temporaryDirectory(t);
    const log = await PartitionLog.open({ directory, config });
    await writeHistory(log, compression);
    const before = await allRecords(log);
    await cleanLog(log, 10_000);
    const after = await allRecords(log);
    assert.ok(after.length < before.length, `codec ${compression}: nothing was compacted`);
    assert.ok(
      after.every((record) => record.compression === compression),
      `codec ${compression} was not kept`,
    );
    await log.close();
  }
});

test('a pass runs only past min.cleanable.dirty.ratio or max.compaction.lag.ms', async (t) => {
  const directory = temporaryDirectory(t);
  let now = 10_000;
  const log = await PartitionLog.open({
    directory,
    config: { ...config, minCleanableDirtyRatio: 0.5 },
    clock: () => now,
  });
  const append = async (key: string, value: string) =>
    log.append(await keyedBatch([{ key, value, timestamp: now }]), {
      leaderEpoch: 0,
      origin: 'client',
    }).acknowledged;
  /** Writes `key` until the segment holding the first of those writes is full and closed. */
  const fillSegmentWith = async (key: string, value: string) => {
    const first = log.logEndOffset;
    while (log.segmentInfos().at(-1)!.baseOffset <= first) await append(key, value);
  };
  const values = async (key: string) =>
    (await allRecords(log)).filter((record) => record.key === key).map((record) => record.value);

  // A large clean part: distinct keys, compacted once (the first pass finds everything dirty).
  for (let index = 0; index < 60; index++) await append(`d${index}`, 'first');
  await cleanLog(log, now);
  assert.equal(log.cleanerCheckpoint, log.segmentInfos().at(-1)!.baseOffset);

  // One small dirty segment of d0 duplicates: far below half the log, so the pass is skipped.
  await fillSegmentWith('d0', 'second');
  const skipped = await cleanLog(log, now);
  assert.equal(skipped.segmentsCleaned, 0);
  assert.ok(
    (await values('d0')).includes('first'),
    'the old d0 stays while the log is clean enough',
  );

  // Left dirty longer than max.compaction.lag.ms, it is compacted whatever the ratio.
  log.updateConfig({ ...log.config, maxCompactionLagMs: 60_000 });
  now += 60_001;
  const overdue = await cleanLog(log, now);
  assert.ok(overdue.segmentsCleaned > 0);
  assert.ok(!(await values('d0')).includes('first'), 'the old d0 went once overdue');
  // That pass read only the dirty part for its keys: every other key keeps its one clean value.
  const records = await allRecords(log);
  for (let index = 1; index < 60; index++)
    assert.deepEqual(
      records.filter((record) => record.key === `d${index}`).map((record) => record.value),
      ['first'],
      `d${index}`,
    );

  // A lower ratio makes a small dirty part enough.
  log.updateConfig({ ...log.config, maxCompactionLagMs: Number.MAX_SAFE_INTEGER });
  await fillSegmentWith('d1', 'second');
  assert.equal((await cleanLog(log, now)).segmentsCleaned, 0);
  log.updateConfig({ ...log.config, minCleanableDirtyRatio: 0.1 });
  assert.ok((await cleanLog(log, now)).segmentsCleaned > 0);
  assert.ok(!(await values('d1')).includes('first'));
  await log.close();
});

test('min.compaction.lag.ms keeps young segments uncompacted', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({
    directory,
    config: { ...config, minCompactionLagMs: DAY_MS },
  });
  await writeHistory(log);
  const result = await cleanLog(log, 10_000);
  assert.equal(result.segmentsCleaned, 0);
  await log.close();
});

test('a crash after the swap commit point is completed on the next open', async (t) => {
  const directory = temporaryDirectory(t);
  // The process "dies" at the first step after the second swap's commit point (the `.log.swap`
  // rename): when the old segment's files are being renamed away.
  let crashArmed = false;
  let swaps = 0;
  const io: FileIo = {
    ...nodeFileIo,
    rename: async (from, to) => {
      if (crashArmed && to.endsWith('.log.deleted') && ++swaps === 2)
        throw new Error('simulated crash right after the commit point');
      await nodeFileIo.rename(from, to);
    },
  };
  const log = await PartitionLog.open({ directory, config, io });
  await writeHistory(log);
  // Learn what a complete compaction gives, on a copy made with the same history.
  const reference = await PartitionLog.open({ directory: `${directory}-reference`, config });
  t.after(() => rmSync(`${directory}-reference`, { recursive: true, force: true }));
  await writeHistory(reference);
  await cleanLog(reference, 10_000);
  const expected = await allRecords(reference);
  await reference.close();

  crashArmed = true;
  await assert.rejects(cleanLog(log, 10_000), /simulated crash/);
  const names = readdirSync(directory);
  assert.ok(
    names.some((name) => name.endsWith('.log.swap')),
    'the crash left a committed swap behind',
  );
  // The process "dies" here: the log object is abandoned and the directory reopened.
  const reopened = await PartitionLog.open({ directory, config });
  assert.ok(
    !readdirSync(directory).some((name) => /\.(swap|cleaned|deleted)$/.test(name)),
    'leftovers are cleaned up',
  );
  const firstTwoSegments = reopened.segmentInfos()[2].baseOffset;
  const recovered = await allRecords(reopened);
  assert.deepEqual(
    recovered.filter((record) => record.offset < firstTwoSegments),
    expected.filter((record) => record.offset < firstTwoSegments),
    'the first two segments are compacted exactly as a clean run compacts them',
  );
  // Finishing the compaction gives the same log as a run that never crashed.
  await cleanLog(reopened, 10_000);
  assert.deepEqual(await allRecords(reopened), expected);
  await reopened.close();
});

test('a crash before the swap commit point leaves the old segment and discards the cleaned files', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config });
  await writeHistory(log);
  const before = await allRecords(log);
  await log.close();
  // What a crash can leave before `.log.swap` exists: cleaned files, and index swaps without their log.
  writeFileSync(
    join(directory, '00000000000000000000.log.cleaned'),
    Buffer.from('half-written cleaned segment'),
  );
  writeFileSync(join(directory, '00000000000000000000.index.swap'), Buffer.alloc(8));
  writeFileSync(join(directory, '00000000000000000000.timeindex.cleaned'), Buffer.alloc(12));
  const reopened = await PartitionLog.open({ directory, config });
  assert.ok(!existsSync(join(directory, '00000000000000000000.log.cleaned')));
  assert.ok(!existsSync(join(directory, '00000000000000000000.index.swap')));
  assert.deepEqual(await allRecords(reopened), before);
  await reopened.close();
});

test('control batches survive compaction untouched', async (t) => {
  const directory = temporaryDirectory(t);
  const { buildControlBatch, ControlRecordType } = await import('../../src/record/records.js');
  const log = await PartitionLog.open({ directory, config });
  const marker = await buildControlBatch({
    type: ControlRecordType.COMMIT,
    producerId: 4,
    producerEpoch: 0,
    coordinatorEpoch: 1,
    timestamp: 1_000,
  });
  await log.append(marker, { leaderEpoch: 0, origin: 'coordinator' }).acknowledged;
  await writeHistory(log);
  await cleanLog(log, 10_000);
  const { chunks } = await log.read(0, { maxBytes: 1, maxOffset: 1 });
  assert.ok((chunks[0].readInt16BE(BatchField.attributes) & AttributeBit.control) !== 0);
  await log.close();
});
