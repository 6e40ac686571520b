import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { StorageError } from '../../src/storage/errors.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { makeBatch, stamped } from '../helpers/storage-batches.js';
import { readWholeLog } from '../helpers/storage-verify.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';
import { withTimeout } from '../helpers/clients.js';

const config: LogConfig = { ...defaultLogConfig, retentionMs: -1 };

/** Each append settles within a bound (a refusal, never a hang), refused as a failed log. */
async function assertRefusedWithin(appends: ReadonlyArray<{ acknowledged: Promise<void> }>) {
  const settled = await withTimeout(
    Promise.allSettled(appends.map((append) => append.acknowledged)),
    10_000,
    'the appends settling',
  );
  for (const outcome of settled) {
    assert.equal(outcome.status, 'rejected');
    assert.ok(isStorageError('BROOK_STORAGE_FAILED')(outcome.reason));
  }
}

function isStorageError(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.kafkaErrorCode, 56);
    return true;
  };
}

test('EIO on fsync: nothing it covered is acknowledged, and the error is sticky', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config, io });
  const good = log.append(await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await good.acknowledged;
  io.inject({ operation: 'datasync', pathIncludes: '.log', errorCode: 'EIO', times: 1 });
  const doomed = await Promise.all(
    [2, 3, 4].map((seed) => makeBatch({ seed, recordsCount: 1, valueBytes: 10 })),
  );
  const results = doomed.map((batch) => log.append(batch, { leaderEpoch: 0, origin: 'client' }));
  for (const result of results)
    await assert.rejects(result.acknowledged, isStorageError('BROOK_STORAGE_FAILED'));
  assert.equal(log.flushedOffset, 1, 'the flushed offset never passes a failed fsync');
  assert.ok(log.error);
  // Sticky: later appends are refused at once, even though fsync would now succeed.
  assert.throws(
    () => log.append(doomed[0], { leaderEpoch: 0, origin: 'client' }),
    isStorageError('BROOK_STORAGE_FAILED'),
  );
  await assert.rejects(log.waitForFlush(4), isStorageError('BROOK_STORAGE_FAILED'));
  await log.close();
  // No clean-shutdown marker after a failure: the next open recovers from disk.
  const reopened = await PartitionLog.open({ directory, config });
  assert.equal(reopened.openedCleanly, false);
  await readWholeLog(reopened);
  await reopened.close();
});

test('a failed append nobody awaits is no unhandled rejection; one awaited later still fails', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config, io });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  io.inject({ operation: 'datasync', pathIncludes: '.log', errorCode: 'EIO', times: 1 });
  const [first, second] = await Promise.all(
    [1, 2].map((seed) => makeBatch({ seed, recordsCount: 1, valueBytes: 10 })),
  );
  // The first append's acknowledgement is never awaited nor given a handler by its caller.
  log.append(first, { leaderEpoch: 0, origin: 'client' });
  const awaitedLater = log.append(second, { leaderEpoch: 0, origin: 'client' });
  await assert.rejects(log.waitForFlush(2), isStorageError('BROOK_STORAGE_FAILED'));
  // Node reports a rejection without a handler once the microtasks of its turn have run.
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(unhandled, []);
  await assert.rejects(awaitedLater.acknowledged, isStorageError('BROOK_STORAGE_FAILED'));
  await log.close();
});

test('EIO on write: the append is refused, the log refuses more and reports why', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config, io });
  io.inject({ operation: 'write', pathIncludes: '.log', errorCode: 'EIO', times: 1 });
  const result = log.append(await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await assert.rejects(result.acknowledged, isStorageError('BROOK_STORAGE_FAILED'));
  assert.equal(io.syncWriteCount, 1, 'the failed write was the event loop one');
  assert.match(log.error!.message, /EIO/);
  assert.throws(
    () => log.append(Buffer.alloc(0), { leaderEpoch: 0, origin: 'client' }),
    StorageError,
  );
  await log.close();
});

test('EIO on a write also refuses the appends before it still waiting for their fsync', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config, io });
  const [x, y, z] = await Promise.all(
    [1, 2, 3].map((seed) => makeBatch({ seed, recordsCount: 1, valueBytes: 10 })),
  );
  io.datasyncDelayMs = 100;
  const syncsBefore = io.datasyncCount;
  const first = log.append(x, { leaderEpoch: 0, origin: 'client' });
  await waitFor(() => io.datasyncCount > syncsBefore, "the first append's fsync");
  // Written while that fsync runs, so only the next one would cover it.
  const writesBefore = io.writeCount;
  const second = log.append(y, { leaderEpoch: 0, origin: 'client' });
  await waitFor(() => io.writeCount > writesBefore, 'the second append written');
  io.inject({ operation: 'write', pathIncludes: '.log', errorCode: 'EIO', times: 1 });
  const third = log.append(z, { leaderEpoch: 0, origin: 'client' });
  await first.acknowledged;
  // The log is failed, so no fsync will cover the second: it is refused, not left waiting.
  await assertRefusedWithin([second, third]);
  assert.equal(log.flushedOffset, 1);
  await log.close();
});

test('small groups are written on the event loop; large ones and a looser flush policy are not', async (t) => {
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory: temporaryDirectory(t), config, io });
  const small = await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 100 });
  await log.append(small, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  assert.equal(io.syncWriteCount, 1, 'a small group goes through writeSync');
  const writesBefore = io.writeCount;
  const large = await makeBatch({ seed: 2, recordsCount: 1, valueBytes: 70 * 1024 });
  await log.append(large, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  assert.equal(io.syncWriteCount, 1, 'a group over 64 KiB goes through the thread pool');
  assert.ok(io.writeCount > writesBefore);
  await log.close();

  const looseIo = new FaultyFileIo();
  const loose = await PartitionLog.open({
    directory: temporaryDirectory(t),
    config: { ...config, flushMessages: 1000 },
    io: looseIo,
  });
  await loose.append(small, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  await loose.flush();
  assert.equal(looseIo.syncWriteCount, 0, 'flush.messages > 1 keeps the asynchronous write');
  assert.ok(looseIo.writeCount > 0);
  await loose.close();
});

test('a slow write on the event loop sends the next groups through the thread pool for a while', async (t) => {
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory: temporaryDirectory(t), config, io });
  const append = async (seed: number): Promise<void> =>
    log.append(await makeBatch({ seed, recordsCount: 1, valueBytes: 50 }), {
      leaderEpoch: 0,
      origin: 'client',
    }).acknowledged;
  io.writeSyncDelayMs = 5;
  await append(1);
  assert.equal(io.syncWriteCount, 1);
  io.writeSyncDelayMs = 0;
  const writesBefore = io.writeCount;
  await append(2);
  assert.equal(io.syncWriteCount, 1, 'after a slow one, the next group goes through the pool');
  assert.equal(io.writeCount, writesBefore + 1);
  // The back-off ends: small groups are written on the event loop again.
  let seed = 3;
  await waitFor(
    async () => {
      await append(seed++);
      return io.syncWriteCount > 1;
    },
    'a write on the event loop again',
    { intervalMs: 100 },
  );
  await log.close();
});

test('a slow write on the event loop sends every log of its directory through the thread pool', async (t) => {
  const io = new FaultyFileIo();
  const manager = await LogManager.open({
    directory: temporaryDirectory(t),
    io,
    retentionCheckIntervalMs: 0,
  });
  try {
    const first = await manager.createLog('events', 0, config);
    const second = await manager.createLog('events', 1, config);
    const small = (seed: number) => makeBatch({ seed, recordsCount: 1, valueBytes: 50 });
    io.writeSyncDelayMs = 5;
    await first.append(await small(1), { leaderEpoch: 0, origin: 'client' }).acknowledged;
    assert.equal(io.syncWriteCount, 1);
    io.writeSyncDelayMs = 0;
    // The other log's file system is the same one: its next small group waits in the pool.
    await second.append(await small(2), { leaderEpoch: 0, origin: 'client' }).acknowledged;
    assert.equal(io.syncWriteCount, 1, "the directory's other log backed off too");

    // A log opened on its own keeps a back-off of its own.
    const alone = await PartitionLog.open({ directory: temporaryDirectory(t), config, io });
    await alone.append(await small(3), { leaderEpoch: 0, origin: 'client' }).acknowledged;
    assert.equal(io.syncWriteCount, 2, 'a log outside the directory wrote on the event loop');
    await alone.close();
  } finally {
    await manager.close();
  }
});

test('EIO on a write through the thread pool is refused and sticky as on the event loop', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  io.asyncWritesOnly = true;
  const log = await PartitionLog.open({ directory, config, io });
  io.inject({ operation: 'write', pathIncludes: '.log', errorCode: 'EIO', times: 1 });
  const result = log.append(await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await assert.rejects(result.acknowledged, isStorageError('BROOK_STORAGE_FAILED'));
  assert.equal(io.syncWriteCount, 0);
  assert.match(log.error!.message, /EIO/);
  await log.close();
});

test('an injected ENOSPC refuses the appends it hit, cuts back, and the log works again', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config, io });
  await log.append(await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  }).acknowledged;
  io.inject({ operation: 'write', pathIncludes: '.log', errorCode: 'ENOSPC', times: 1 });
  const refused = log.append(await makeBatch({ seed: 2, recordsCount: 2, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await assert.rejects(refused.acknowledged, isStorageError('BROOK_STORAGE_FULL'));
  await waitFor(() => log.error === null, 'the log to cut back and clear its error', {
    timeoutMs: 5000,
    intervalMs: 2,
  });
  assert.equal(log.error, null, 'a full disk is not a sticky failure once the log has cut back');
  assert.equal(log.logEndOffset, 2);
  const retried = log.append(await makeBatch({ seed: 3, recordsCount: 2, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  assert.equal(retried.baseOffset, 2);
  await retried.acknowledged;
  await log.close();
});

function mountTmpfs(directory: string, size: string): boolean {
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', directory]);
  return result.status === 0;
}

test('ENOSPC on a real full filesystem leaves no partial batch, and appends work again once space is freed', async (t) => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'brook-small-disk-'));
  let mounted = false;
  t.after(() => {
    if (mounted) spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  mounted = mountTmpfs(mountPoint, '2m');
  if (!mounted) {
    t.skip('cannot mount a tmpfs here (needs root); ENOSPC is still covered by injection above');
    return;
  }
  const filler = join(mountPoint, 'filler');
  writeFileSync(filler, Buffer.alloc(1536 * 1024, 1));
  const logDirectory = join(mountPoint, 'orders-0');
  const log = await PartitionLog.open({
    directory: logDirectory,
    config: { ...config, segmentBytes: 8 * 1024 * 1024 },
  });
  const acknowledged: Array<{ offset: number; bytes: Buffer }> = [];
  let failure: unknown = null;
  for (let seed = 0; seed < 200 && failure === null; seed++) {
    const batch = await makeBatch({ seed, recordsCount: 4, valueBytes: 4000 });
    let result;
    try {
      result = log.append(batch, { leaderEpoch: 0, origin: 'client' });
    } catch (error) {
      failure = error;
      break;
    }
    try {
      await result.acknowledged;
      acknowledged.push({ offset: result.baseOffset, bytes: stamped(batch, result.baseOffset, 0) });
    } catch (error) {
      failure = error;
    }
  }
  assert.ok(failure, 'the small filesystem never filled up');
  assert.equal((failure as StorageError).code, 'BROOK_STORAGE_FULL');
  const deadline = Date.now() + 5000;
  while (log.error && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  const expectedBytes = acknowledged.reduce((total, entry) => total + entry.bytes.length, 0);
  assert.equal(
    statSync(join(logDirectory, '00000000000000000000.log')).size,
    expectedBytes,
    'no partial batch is left in the file',
  );
  unlinkSync(filler);
  const after = await makeBatch({ seed: 999, recordsCount: 4, valueBytes: 4000 });
  const retried = log.append(after, { leaderEpoch: 0, origin: 'client' });
  assert.equal(retried.baseOffset, acknowledged.length * 4);
  await retried.acknowledged;
  acknowledged.push({ offset: retried.baseOffset, bytes: stamped(after, retried.baseOffset, 0) });
  await log.close();
  const reopened = await PartitionLog.open({ directory: logDirectory, config });
  const stored = await readWholeLog(reopened);
  assert.equal(stored.size, acknowledged.length);
  for (const entry of acknowledged) assert.ok(stored.get(entry.offset)!.equals(entry.bytes));
  await reopened.close();
});

test('a slow fsync delays acknowledgements but never reorders or loses them', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  io.datasyncDelayMs = 30;
  const log = await PartitionLog.open({ directory, config, io });
  const order: number[] = [];
  const batches = await Promise.all(
    Array.from({ length: 50 }, (_, seed) => makeBatch({ seed, recordsCount: 1, valueBytes: 20 })),
  );
  await Promise.all(
    batches.map((batch) => {
      const result = log.append(batch, { leaderEpoch: 0, origin: 'client' });
      return result.acknowledged.then(() => order.push(result.baseOffset));
    }),
  );
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
  assert.equal(order.length, 50);
  await log.close();
});

test('a second broker on the same log directory gets a clear error with a stable code', async (t) => {
  const directory = temporaryDirectory(t);
  const manager = await LogManager.open({
    directory,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  await assert.rejects(
    LogManager.open({ directory, retentionCheckIntervalMs: 0 }),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.code, 'BROOK_LOG_DIRECTORY_LOCKED');
      assert.match(error.message, /in use/);
      return true;
    },
  );
  // Another process is refused as well.
  const script = `
    import { LogManager } from ${JSON.stringify(new URL('../../src/storage/log-manager.ts', import.meta.url).pathname)};
    try { await LogManager.open({ directory: ${JSON.stringify(directory)}, retentionCheckIntervalMs: 0 }); console.log('opened'); }
    catch (error) { console.log(error.code); }
  `;
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8' },
  );
  assert.equal(output.trim(), 'BROOK_LOG_DIRECTORY_LOCKED');
  await manager.close();
  // A lock left by a process that died is taken over.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  writeFileSync(join(directory, '.lock'), `${dead.stdout}\n`);
  const second = await LogManager.open({
    directory,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  assert.equal(readFileSync(join(directory, '.lock'), 'utf8').trim(), String(process.pid));
  await second.close();
});

test('a roll waits for the flusher: one fsync of a segment at a time', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config: { ...config, segmentBytes: 1000 }, io });
  // The flusher's fsync of the first segment is still running when the second append, which
  // does not fit, rolls it.
  io.datasyncDelayMs = 100;
  const [first, second] = await Promise.all(
    [1, 2].map((seed) => makeBatch({ seed, recordsCount: 2, valueBytes: 300 })),
  );
  const syncsBefore = io.datasyncCount;
  const appends = [log.append(first, { leaderEpoch: 0, origin: 'client' })];
  await waitFor(() => io.datasyncCount > syncsBefore, "the flusher's fsync");
  appends.push(log.append(second, { leaderEpoch: 0, origin: 'client' }));
  for (const append of appends) await append.acknowledged;
  assert.equal(log.segmentCount, 2, 'the second append rolled the log');
  assert.equal(io.datasyncOverlapMax, 1, 'no two fsyncs of one file at once');
  await log.close();
});

test('an fsync failure while a roll waits for it refuses every append not yet acknowledged', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config: { ...config, segmentBytes: 1000 }, io });
  await log.append(await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  }).acknowledged;
  io.datasyncDelayMs = 30;
  io.inject({ operation: 'datasync', pathIncludes: '.log', errorCode: 'EIO', times: 1 });
  const batches = await Promise.all(
    [2, 3].map((seed) => makeBatch({ seed, recordsCount: 2, valueBytes: 300 })),
  );
  const results = batches.map((batch) => log.append(batch, { leaderEpoch: 0, origin: 'client' }));
  await assertRefusedWithin(results);
  assert.equal(log.flushedOffset, 1);
  await log.close();
});

test('a failure while rolling a segment is sticky and nothing after it is acknowledged', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({ directory, config: { ...config, segmentBytes: 1000 }, io });
  const first = log.append(await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 300 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await first.acknowledged;
  // The next append does not fit: the roll writes the closed segment's index and fails.
  io.inject({ operation: 'write', pathIncludes: '.index', errorCode: 'EIO', times: 1 });
  const second = log.append(await makeBatch({ seed: 2, recordsCount: 2, valueBytes: 300 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await assert.rejects(second.acknowledged, isStorageError('BROOK_STORAGE_FAILED'));
  assert.equal(log.flushedOffset, 2);
  assert.throws(
    () => log.append(Buffer.alloc(1), { leaderEpoch: 0, origin: 'client' }),
    isStorageError('BROOK_STORAGE_FAILED'),
  );
  await log.close();
  const reopened = await PartitionLog.open({
    directory,
    config: { ...config, segmentBytes: 1000 },
  });
  const stored = await readWholeLog(reopened);
  assert.ok(stored.has(0));
  const endBefore = reopened.logEndOffset;
  const next = reopened.append(await makeBatch({ seed: 3, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  assert.equal(
    next.baseOffset,
    endBefore,
    'the reopened log appends right after what it recovered',
  );
  await next.acknowledged;
  await reopened.close();
});
