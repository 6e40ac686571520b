import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchField,
  batchBaseOffset,
  batchMaxTimestamp,
  readInt64,
} from '../../src/record/batch.js';
import { buildBatch, buildControlBatch, ControlRecordType } from '../../src/record/records.js';
import { RecordError } from '../../src/record/batch.js';
import {
  PartitionLog,
  CLEAN_SHUTDOWN_FILE,
  DEFERRED_FLUSH_MS,
} from '../../src/storage/partition-log.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { OffsetOutOfRangeError, StorageError } from '../../src/storage/errors.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { keyedBatch, makeBatch, stamped } from '../helpers/storage-batches.js';
import { readWholeLog } from '../helpers/storage-verify.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

const baseConfig: LogConfig = { ...defaultLogConfig, retentionMs: -1 };

async function appendAll(log: PartitionLog, batches: Buffer[], leaderEpoch = 1): Promise<number[]> {
  const results = batches.map((batch) => log.append(batch, { leaderEpoch, origin: 'client' }));
  await Promise.all(results.map((result) => result.acknowledged));
  return results.map((result) => result.baseOffset);
}

async function seeds(
  from: number,
  count: number,
  recordsCount = 2,
  valueBytes = 200,
): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      makeBatch({ seed: from + index, recordsCount, valueBytes }),
    ),
  );
}

function batchOffsets(chunks: Buffer[]): number[] {
  const offsets: number[] = [];
  for (const chunk of chunks) {
    for (
      let position = 0;
      position < chunk.length;
      position += 12 + chunk.readInt32BE(position + 8)
    ) {
      offsets.push(readInt64(chunk, position));
    }
  }
  return offsets;
}

test('appends get contiguous offsets, assigned before append returns, and are stamped in place', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: baseConfig });
  const first = log.append(await makeBatch({ seed: 1, recordsCount: 3, valueBytes: 10 }), {
    leaderEpoch: 7,
    origin: 'client',
  });
  const second = log.append(await makeBatch({ seed: 2, recordsCount: 2, valueBytes: 10 }), {
    leaderEpoch: 7,
    origin: 'client',
  });
  assert.deepEqual(
    [first.baseOffset, first.lastOffset, second.baseOffset, second.lastOffset],
    [0, 2, 3, 4],
  );
  assert.equal(log.logEndOffset, 5);
  assert.equal(first.logAppendTime, -1);
  await Promise.all([first.acknowledged, second.acknowledged]);
  assert.equal(log.flushedOffset, 5);
  const { chunks } = await log.read(0, { maxBytes: 1 << 20, maxOffset: 5 });
  assert.deepEqual(batchOffsets(chunks), [0, 3]);
  assert.equal(Buffer.concat(chunks).readInt32BE(BatchField.partitionLeaderEpoch), 7);
  await log.close();
});

test('a record set of several batches is appended whole, or not at all when one batch is bad', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: baseConfig });
  const good = await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 10 });
  const bad = await makeBatch({ seed: 2, recordsCount: 2, valueBytes: 10 });
  bad[bad.length - 1] ^= 1;
  assert.throws(
    () => log.append(Buffer.concat([good, bad]), { leaderEpoch: 0, origin: 'client' }),
    (error: unknown) => error instanceof RecordError && error.kafkaErrorCode === 2,
  );
  assert.equal(log.logEndOffset, 0);
  const result = log.append(
    Buffer.concat([good, await makeBatch({ seed: 3, recordsCount: 4, valueBytes: 10 })]),
    { leaderEpoch: 0, origin: 'client' },
  );
  assert.deepEqual([result.baseOffset, result.lastOffset], [0, 5]);
  await result.acknowledged;
  await log.close();
});

test('append refuses control batches from clients, oversize batches, and keyless records on compacted topics', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({
    directory,
    config: { ...baseConfig, maxMessageBytes: 2000 },
  });
  const marker = await buildControlBatch({
    type: ControlRecordType.ABORT,
    producerId: 1,
    producerEpoch: 0,
    coordinatorEpoch: 0,
    timestamp: 1,
  });
  assert.throws(
    () => log.append(marker, { leaderEpoch: 0, origin: 'client' }),
    (error: unknown) => (error as RecordError).kafkaErrorCode === 87,
  );
  const written = log.append(marker, { leaderEpoch: 0, origin: 'coordinator' });
  assert.equal(written.baseOffset, 0);
  assert.throws(
    () => log.append(makeBatchSync(3000), { leaderEpoch: 0, origin: 'client' }),
    (error: unknown) => (error as RecordError).kafkaErrorCode === 10,
  );
  log.updateConfig({ ...baseConfig, cleanupPolicy: 'compact' });
  for (const compression of [0, 1, 2, 3, 4]) {
    const keyless = await keyedBatch(
      [
        { key: 'a', value: '1' },
        { key: null, value: '2' },
      ],
      compression,
    );
    assert.throws(() => log.append(keyless, { leaderEpoch: 0, origin: 'client' }), /without a key/);
  }
  log.append(await keyedBatch([{ key: 'a', value: '1' }], 1), { leaderEpoch: 0, origin: 'client' });
  await log.close();
});

function makeBatchSync(valueBytes: number): Buffer {
  // A batch of one uncompressed record, built by hand so the test stays synchronous.
  const value = Buffer.alloc(valueBytes, 1);
  const record = Buffer.concat([
    Buffer.from([0, 0, 0, 1]),
    zigzag(valueBytes),
    value,
    Buffer.from([0]),
  ]);
  const body = Buffer.concat([zigzag(record.length), record]);
  const batch = Buffer.alloc(61 + body.length);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt8(2, 16);
  batch.writeInt32BE(0, 23);
  batch.writeInt32BE(-1, 43);
  batch.writeInt32BE(-1, 47);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(1, 57);
  body.copy(batch, 61);
  return batch;
}

function zigzag(value: number): Buffer {
  const bytes: number[] = [];
  let unsigned = (value << 1) ^ (value >> 31);
  while (unsigned >= 0x80) {
    bytes.push((unsigned & 0x7f) | 0x80);
    unsigned >>>= 7;
  }
  bytes.push(unsigned);
  return Buffer.from(bytes);
}

test('LogAppendTime stamps the broker clock into maxTimestamp and reports it', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({
    directory,
    config: { ...baseConfig, messageTimestampType: 'LogAppendTime' },
    clock: () => 42_000,
  });
  const result = log.append(await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 5 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  assert.equal(result.logAppendTime, 42_000);
  assert.equal(result.maxTimestamp, 42_000);
  await result.acknowledged;
  const { chunks } = await log.read(0, { maxBytes: 1000, maxOffset: 2 });
  assert.equal(batchMaxTimestamp(chunks[0]), 42_000);
  await log.close();
});

test('reads return whole batches: the one holding the offset, at least one over the limit, never past maxOffset', async (t) => {
  const directory = temporaryDirectory(t);
  // A tiny tail cache so the file path is exercised as well as the cache.
  for (const tailCacheBytes of [0, 1 << 20]) {
    const log = await PartitionLog.open({
      directory: join(directory, String(tailCacheBytes)),
      config: { ...baseConfig, indexIntervalBytes: 500 },
      tailCacheBytes,
    });
    const batches = await seeds(0, 20, 4, 100);
    await appendAll(log, batches);
    const size = batches[0].length;
    // Mid-batch offset: the batch holding it comes back whole.
    let result = await log.read(9, { maxBytes: size, maxOffset: 80 });
    assert.deepEqual(batchOffsets(result.chunks), [8]);
    assert.equal(result.byteLength, size);
    // A limit smaller than one batch still returns one whole batch...
    result = await log.read(9, { maxBytes: 10, maxOffset: 80 });
    assert.deepEqual(batchOffsets(result.chunks), [8]);
    // ...unless the caller says otherwise.
    result = await log.read(9, { maxBytes: 10, maxOffset: 80, minOneBatch: false });
    assert.equal(result.byteLength, 0);
    // The limit is respected in whole batches.
    result = await log.read(0, { maxBytes: size * 3 + 5, maxOffset: 80 });
    assert.deepEqual(batchOffsets(result.chunks), [0, 4, 8]);
    // The upper bound is exclusive and never crossed, even by a batch that straddles it.
    result = await log.read(0, { maxBytes: 1 << 20, maxOffset: 10 });
    assert.deepEqual(batchOffsets(result.chunks), [0, 4]);
    result = await log.read(10, { maxBytes: 1 << 20, maxOffset: 10 });
    assert.equal(result.byteLength, 0);
    // At the log end: empty; past it or before the start: OffsetOutOfRange.
    assert.equal((await log.read(80, { maxBytes: 100, maxOffset: 80 })).byteLength, 0);
    await assert.rejects(log.read(81, { maxBytes: 100, maxOffset: 100 }), OffsetOutOfRangeError);
    await assert.rejects(log.read(-1, { maxBytes: 100, maxOffset: 100 }), OffsetOutOfRangeError);
    // Bytes served are exactly the bytes appended.
    const whole = await readWholeLog(log);
    batches.forEach((batch, index) =>
      assert.ok(whole.get(index * 4)!.equals(stamped(batch, index * 4, 1))),
    );
    await log.close();
  }
});

test('segments roll by segment.bytes and segment.ms, with Kafka file names and a sparse index', async (t) => {
  const directory = temporaryDirectory(t);
  let now = 1_000_000;
  // The clock starts in 1970, before the batches' timestamps: lift message.timestamp.after.max.ms.
  const config = {
    ...baseConfig,
    segmentBytes: 4000,
    indexIntervalBytes: 600,
    segmentMs: 60_000,
    messageTimestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
  };
  const log = await PartitionLog.open({ directory, config, clock: () => now });
  const batches = await seeds(0, 30, 1, 300);
  await appendAll(log, batches);
  const infos = log.segmentInfos();
  assert.ok(infos.length >= 3, `expected rolls, got ${infos.length} segment(s)`);
  for (const info of infos) assert.ok(info.sizeBytes <= 4000);
  for (let index = 1; index < infos.length; index++)
    assert.equal(infos[index].baseOffset, infos[index - 1].nextOffset);
  const names = readdirSync(directory);
  assert.ok(names.includes('00000000000000000000.log'));
  assert.ok(names.includes(`${String(infos[1].baseOffset).padStart(20, '0')}.log`));
  // A closed segment's index is on disk: sparse entries of (relative offset, position).
  const index = readFileSync(join(directory, '00000000000000000000.index'));
  assert.ok(index.length > 0 && index.length % 8 === 0);
  const entries = index.length / 8;
  assert.ok(entries < infos[0].nextOffset, 'the index is sparse');
  const log0 = readFileSync(join(directory, '00000000000000000000.log'));
  for (let entry = 0; entry < entries; entry++) {
    const relativeOffset = index.readInt32BE(entry * 8);
    const position = index.readInt32BE(entry * 8 + 4);
    assert.equal(
      batchBaseOffset(log0, position),
      relativeOffset,
      'each entry points at the batch holding its offset',
    );
  }
  assert.ok(readFileSync(join(directory, '00000000000000000000.timeindex')).length % 12 === 0);
  // segment.ms: an old active segment rolls at the next append.
  const segmentsBefore = log.segmentInfos().length;
  now += 60_001;
  await appendAll(log, await seeds(100, 1));
  assert.equal(log.segmentInfos().length, segmentsBefore + 1);
  await log.close();
});

test('group commit: many concurrent appends share few fsyncs, and none is acknowledged before its fsync', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  io.datasyncDelayMs = 20;
  const log = await PartitionLog.open({ directory, config: baseConfig, io });
  const syncsBefore = io.datasyncCount;
  const batches = await seeds(0, 200, 1, 100);
  let acknowledgedBeforeFlush = 0;
  const results = batches.map((batch) => log.append(batch, { leaderEpoch: 0, origin: 'client' }));
  await Promise.all(
    results.map((result) =>
      result.acknowledged.then(() => {
        if (log.flushedOffset <= result.lastOffset) acknowledgedBeforeFlush++;
      }),
    ),
  );
  assert.equal(acknowledgedBeforeFlush, 0);
  const syncs = io.datasyncCount - syncsBefore;
  assert.ok(syncs >= 1 && syncs <= 10, `200 appends took ${syncs} fsyncs`);
  await log.close();
});

test('appends made while an fsync runs are covered by the next one; at most one fsync is in flight', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  let inFlight = 0;
  let maxInFlight = 0;
  const open = io.open.bind(io);
  io.open = async (path, options) => {
    const file = await open(path, options);
    const datasync = file.datasync.bind(file);
    file.datasync = async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await datasync();
      } finally {
        inFlight--;
      }
    };
    return file;
  };
  io.datasyncDelayMs = 10;
  const log = await PartitionLog.open({ directory, config: baseConfig, io });
  const pending: Array<Promise<void>> = [];
  for (let wave = 0; wave < 5; wave++) {
    for (const batch of await seeds(wave * 10, 10, 1, 50))
      pending.push(log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  assert.equal(maxInFlight, 1);
  assert.equal(log.flushedOffset, 50);
  await log.close();
});

test('a deferFlush append is acknowledged once written and made durable by the next fsync, or by the timer', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config: baseConfig, io });
  const [first, second, third] = await seeds(0, 3, 1, 50);
  const syncsBefore = io.datasyncCount;
  const deferred = log.append(first, { leaderEpoch: 0, origin: 'client', deferFlush: true });
  await deferred.acknowledged;
  assert.equal(log.flushedOffset, 0, 'acknowledged before any fsync');
  assert.equal(io.datasyncCount, syncsBefore, 'and it asked for none');

  // The next ordinary append's fsync covers both, and is the only one.
  const ordinary = log.append(second, { leaderEpoch: 0, origin: 'client' });
  await ordinary.acknowledged;
  assert.equal(log.flushedOffset, 2);
  assert.equal(io.datasyncCount, syncsBefore + 1);

  // Alone, a deferred append is flushed by the timer, within DEFERRED_FLUSH_MS.
  log.append(third, { leaderEpoch: 0, origin: 'client', deferFlush: true });
  await waitFor(() => log.flushedOffset >= 3, 'the timer to flush the deferred append', {
    timeoutMs: DEFERRED_FLUSH_MS + 5_000,
    intervalMs: 20,
  });
  assert.equal(log.flushedOffset, 3);
  await log.close();
});

test('waitForFlush resolves once the offset is durable; events announce appends and flushes', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({
    directory,
    config: { ...baseConfig, flushMessages: 1000, flushMs: 60_000 },
  });
  const appended: number[] = [];
  const flushed: number[] = [];
  log.on('append', (offset: number) => appended.push(offset));
  log.on('flush', (offset: number) => flushed.push(offset));
  const result = log.append(await makeBatch({ seed: 1, recordsCount: 3, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  // Looser policy: acknowledged after the write, durable later.
  await result.acknowledged;
  assert.deepEqual(appended, [3]);
  await log.waitForFlush(3);
  assert.ok(log.flushedOffset >= 3);
  assert.deepEqual(flushed, [3]);
  await log.close();
});

test('flush.ms fsyncs written appends in the background under a looser flush.messages', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({
    directory,
    config: { ...baseConfig, flushMessages: 1_000_000, flushMs: 30 },
  });
  const result = log.append(await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await result.acknowledged;
  await waitFor(() => log.flushedOffset >= 1, 'the append to be flushed', {
    timeoutMs: 5000,
    intervalMs: 5,
  });
  assert.equal(log.flushedOffset, 1);
  await log.close();
});

test('a clean reopen does not scan, keeps every offset and timestamp lookup', async (t) => {
  const directory = temporaryDirectory(t);
  const config = { ...baseConfig, segmentBytes: 3000, indexIntervalBytes: 400 };
  const log = await PartitionLog.open({ directory, config });
  const batches = await Promise.all(
    Array.from({ length: 40 }, (_, index) =>
      makeBatch({ seed: index, recordsCount: 2, valueBytes: 100, timestamp: 10_000 + index * 10 }),
    ),
  );
  await appendAll(log, batches);
  const before = await readWholeLog(log);
  await log.close();
  assert.ok(existsSync(join(directory, CLEAN_SHUTDOWN_FILE)));
  const reopened = await PartitionLog.open({ directory, config });
  assert.equal(reopened.openedCleanly, true);
  assert.equal(reopened.recoveryScannedBytes, 0);
  assert.ok(
    !existsSync(join(directory, CLEAN_SHUTDOWN_FILE)),
    'the marker is removed before appends resume',
  );
  assert.equal(reopened.logEndOffset, 80);
  const after = await readWholeLog(reopened);
  assert.deepEqual([...after.keys()], [...before.keys()]);
  for (const [offset, batch] of before) assert.ok(after.get(offset)!.equals(batch));
  assert.deepEqual(await reopened.offsetForTimestamp(10_155), { offset: 32, timestamp: 10_160 });
  assert.deepEqual(await reopened.offsetForTimestamp(0), { offset: 0, timestamp: 10_000 });
  assert.equal(await reopened.offsetForTimestamp(99_999), null);
  assert.deepEqual(reopened.maxTimestampOffset(), { offset: 79, timestamp: 10_390 });
  await reopened.close();
});

test('offsetForTimestamp finds the first record at or after T inside a batch', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: baseConfig });
  const batch = await buildBatch({
    records: [100, 200, 300, 150].map((timestamp) => ({
      key: null,
      value: Buffer.from('v'),
      timestamp,
    })),
    compression: 3,
  });
  await appendAll(log, [batch]);
  assert.deepEqual(await log.offsetForTimestamp(150), { offset: 1, timestamp: 200 });
  assert.deepEqual(await log.offsetForTimestamp(300), { offset: 2, timestamp: 300 });
  assert.equal(await log.offsetForTimestamp(301), null);
  await log.close();
});

test('truncateTo removes the batch holding the offset and everything after, across segments', async (t) => {
  const directory = temporaryDirectory(t);
  const config = { ...baseConfig, segmentBytes: 2000 };
  const log = await PartitionLog.open({ directory, config });
  await appendAll(log, await seeds(0, 30, 2, 100));
  assert.equal(log.logEndOffset, 60);
  await log.truncateTo(31);
  assert.equal(log.logEndOffset, 30);
  assert.ok(log.flushedOffset <= 30);
  const whole = await readWholeLog(log);
  assert.equal(Math.max(...whole.keys()), 28);
  const next = log.append(await makeBatch({ seed: 99, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 2,
    origin: 'client',
  });
  assert.equal(next.baseOffset, 30);
  await next.acknowledged;
  await log.close();
  const reopened = await PartitionLog.open({ directory, config });
  assert.equal(reopened.logEndOffset, 31);
  await readWholeLog(reopened);
  await reopened.truncateTo(0);
  assert.equal(reopened.logEndOffset, 0);
  assert.equal(reopened.logStartOffset, 0);
  await reopened.close();
});

test('deleteRecordsBefore advances the log start offset and deletes segments wholly below it', async (t) => {
  const directory = temporaryDirectory(t);
  const config = { ...baseConfig, segmentBytes: 2000 };
  const log = await PartitionLog.open({ directory, config });
  await appendAll(log, await seeds(0, 30, 2, 100));
  const segmentsBefore = log.segmentInfos().length;
  assert.equal(await log.deleteRecordsBefore(25), 25);
  assert.equal(log.logStartOffset, 25);
  assert.ok(log.segmentInfos().length < segmentsBefore);
  assert.ok(log.segmentInfos()[0].baseOffset <= 25);
  await assert.rejects(log.read(24, { maxBytes: 100, maxOffset: 60 }), OffsetOutOfRangeError);
  // The batch holding the new start comes back whole; the client skips what is before it.
  assert.deepEqual(batchOffsets((await log.read(25, { maxBytes: 1, maxOffset: 60 })).chunks), [24]);
  await assert.rejects(log.deleteRecordsBefore(61), OffsetOutOfRangeError);
  assert.equal(await log.deleteRecordsBefore(10), 25, 'the start offset never moves back');
  await log.close();
});

test('replication appends keep the leader offsets and may skip compacted gaps', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: baseConfig });
  const first = stamped(await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 10 }), 0, 4);
  const second = stamped(await makeBatch({ seed: 2, recordsCount: 2, valueBytes: 10 }), 10, 4);
  const result = log.append(Buffer.concat([first, second]), {
    leaderEpoch: 9,
    origin: 'replication',
  });
  assert.deepEqual([result.baseOffset, result.lastOffset], [0, 11]);
  await result.acknowledged;
  const { chunks } = await log.read(0, { maxBytes: 1 << 20, maxOffset: 12 });
  assert.deepEqual(batchOffsets(chunks), [0, 10]);
  assert.equal(Buffer.concat(chunks).readInt32BE(BatchField.partitionLeaderEpoch), 4);
  assert.throws(
    () => log.append(first, { leaderEpoch: 9, origin: 'replication' }),
    /below the log end offset/,
  );
  await log.close();
});

test('a closed log refuses appends with a storage error that has a stable code', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: baseConfig });
  await log.close();
  assert.throws(
    () => log.append(makeBatchSync(10), { leaderEpoch: 0, origin: 'client' }),
    (error: unknown) => error instanceof StorageError && error.code === 'BROOK_LOG_CLOSED',
  );
});

test('a batch larger than the read window comes back whole, from active and closed segments', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({
    directory,
    config: { ...baseConfig, segmentBytes: 120_000, indexIntervalBytes: 100 },
    tailCacheBytes: 0,
  });
  const big = await Promise.all(
    [1, 2, 3].map((seed) => makeBatch({ seed, recordsCount: 5, valueBytes: 10_000 })),
  );
  await appendAll(log, big);
  await appendAll(log, await seeds(10, 3, 1, 100));
  assert.ok(log.segmentInfos().length >= 2, 'the big batches fill a closed segment');
  for (const [offset, index] of [
    [2, 0],
    [7, 1],
    [12, 2],
  ] as const) {
    const result = await log.read(offset, { maxBytes: 100, maxOffset: log.logEndOffset });
    assert.equal(result.chunks.length, 1);
    assert.ok(result.chunks[0].equals(stamped(big[index], index * 5, 1)));
  }
  await log.close();
});

test('closing a log settles every waiter: flushed ones resolve, the rest are refused', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: baseConfig });
  const result = log.append(await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  const beyondTheEnd = assert.rejects(
    log.waitForFlush(100),
    (error: unknown) => error instanceof StorageError && error.code === 'BROOK_LOG_CLOSED',
  );
  await log.close();
  await result.acknowledged;
  await beyondTheEnd;
});
