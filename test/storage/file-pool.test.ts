// The descriptor bound (src/storage/file-pool.ts): a log manager with far more segment files than
// its openFilesMax keeps the process's open descriptors near that bound, and every log still
// appends, rolls, reads and reopens cleanly, its files reopened on demand.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type FileIo, type LogFile, nodeFileIo } from '../../src/storage/file-io.js';
import { pooledFileIo } from '../../src/storage/file-pool.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

/**
 * Waits until the process holds at most `bound` descriptors more than `before`. The pool closes
 * an evicted descriptor without awaiting the close, so a count taken at once can still see
 * closes in flight (on a busy machine, dozens).
 */
async function settlesWithin(before: number, bound: number, what: string): Promise<void> {
  let count = 0;
  await waitFor(
    () => (count = openDescriptors() - before) <= bound,
    () => `at most ${bound} ${what}, not ${count}`,
    { timeoutMs: 5_000 },
  );
}

const LOG_COUNT = 120;
const OPEN_FILES_MAX = 20;

test('many logs keep open descriptors near openFilesMax and still append, roll, read and reopen', async (t) => {
  const directory = temporaryDirectory(t);
  const options = {
    directory,
    // Small segments, so appends roll and closed segments are reopened for reads.
    defaultConfig: { ...defaultLogConfig, segmentBytes: 600 },
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
    openFilesMax: OPEN_FILES_MAX,
    // One bound, busy or not, so the appends below close and reopen files all the time.
    openFilesBusyMax: OPEN_FILES_MAX,
  };
  const before = openDescriptors();
  const manager = await LogManager.open(options);
  const logs = [];
  for (let index = 0; index < LOG_COUNT; index++) logs.push(await manager.createLog('many', index));
  // Each log has a .log and an .appendtime file open for its active segment: 240 files.
  await settlesWithin(before, OPEN_FILES_MAX + 8, `descriptors for ${LOG_COUNT * 2} files`);

  for (let round = 0; round < 4; round++) {
    await Promise.all(
      logs.map(async (log, index) => {
        const batch = await makeBatch({
          seed: index * 10 + round,
          recordsCount: 3,
          valueBytes: 60,
        });
        await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
      }),
    );
  }
  for (const [index, log] of logs.entries()) {
    assert.equal(log.logEndOffset, 12, `log ${index}`);
    const read = await log.read(log.logStartOffset, {
      maxBytes: 1 << 20,
      maxOffset: log.logEndOffset,
    });
    assert.ok(read.byteLength > 0, `log ${index} serves its records`);
  }
  assert.ok(
    logs.every((log) => log.segmentInfos().length > 1),
    'every log rolled to new segments',
  );
  await settlesWithin(before, OPEN_FILES_MAX + 8, 'descriptors at rest');
  await manager.close();

  const reopened = await LogManager.open(options);
  assert.ok(openDescriptors() - before <= OPEN_FILES_MAX + 8, 'reopening stays within the bound');
  for (const { log } of reopened.allLogs()) {
    assert.equal(log.logEndOffset, 12);
    assert.ok(log.openedCleanly);
  }
  await reopened.close();
  assert.ok(openDescriptors() - before <= 2, 'closing releases every descriptor');
});

/** The paths under `directory` this process holds a descriptor of. */
function heldPaths(directory: string): string[] {
  const held: string[] = [];
  for (const descriptor of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${descriptor}`);
      if (target.startsWith(directory)) held.push(target);
    } catch {
      // Closed between the listing and the look.
    }
  }
  return held;
}

test('files in use stay open up to the busy bound, and those unused go back to the rest bound', async (t) => {
  const directory = temporaryDirectory(t);
  const io = pooledFileIo(nodeFileIo, { openFilesMax: 10, busyMax: 40, restIdleMs: 300 });
  const paths = Array.from({ length: 60 }, (_, index) => join(directory, `${index}.log`));
  const files = [];
  for (const path of paths) files.push(await io.open(path, { create: true, deferred: true }));
  for (const [index, file] of files.slice(0, 30).entries()) {
    await file.write([Buffer.from(`file ${index} `)], 0);
    await file.datasync();
  }
  assert.equal(io.openFileCount(), 30, 'under the busy bound, no fsynced file was closed');
  for (const [index, file] of files.slice(30).entries()) {
    await file.write([Buffer.from(`file ${30 + index} `)], 0);
    await file.datasync();
  }
  assert.equal(io.openFileCount(), 40, 'past the busy bound, the least recently used went');
  await waitFor(
    () => heldPaths(directory).length <= 40,
    () => `at most 40 descriptors held, not ${heldPaths(directory).length}`,
    { timeoutMs: 5_000 },
  );

  // Files 0 to 4 stay in use; the rest go unused, and go back to the rest bound.
  const recent = files.slice(0, 5);
  const buffer = Buffer.alloc(16);
  await waitFor(
    async () => {
      for (const file of recent) await file.read(buffer, 0, 16, 0);
      return io.openFileCount() <= 10;
    },
    () => `the rest bound of 10, not ${io.openFileCount()}`,
    { timeoutMs: 10_000 },
  );
  await waitFor(
    () => heldPaths(directory).length <= 10,
    () => `at most 10 descriptors held, not ${heldPaths(directory).length}`,
    { timeoutMs: 5_000 },
  );
  const held = heldPaths(directory);
  for (const path of paths.slice(0, 5)) assert.ok(held.includes(path), `${path} in use stays`);

  // A file the sweep closed reopens at its next use, where it was.
  await files[59].write([Buffer.from('again')], 8);
  await files[59].datasync();
  assert.equal(readFileSync(paths[59], 'utf8'), 'file 59 again');
  for (const file of files) await file.close();
  assert.equal(io.openFileCount(), 0);
});

test('only idle files are closed, the longest idle first, whatever the dirty and busy ones hold', async (t) => {
  const directory = temporaryDirectory(t);
  const io = pooledFileIo(nodeFileIo, { openFilesMax: 5, busyMax: 20 });
  const paths = Array.from({ length: 40 }, (_, index) => join(directory, `${index}.log`));
  const files = [];
  for (const path of paths) files.push(await io.open(path, { create: true, deferred: true }));
  // Files 0-14 written and not fsynced: dirty, never closed (their fsync must see any error).
  for (const [index, file] of files.slice(0, 15).entries())
    await file.write([Buffer.from(`dirty ${index}`)], 0);
  // Files 15-39 fsynced in order: idle. Past 20 open, the longest idle go first.
  for (const [index, file] of files.slice(15).entries()) {
    await file.write([Buffer.from(`clean ${15 + index}`)], 0);
    await file.datasync();
  }
  assert.equal(io.openFileCount(), 20);
  await waitFor(
    () => heldPaths(directory).length <= 20,
    () => `at most 20 descriptors held, not ${heldPaths(directory).length}`,
    { timeoutMs: 5_000 },
  );
  const held = new Set(heldPaths(directory));
  const expected = [...paths.slice(0, 15), ...paths.slice(35)];
  assert.deepEqual([...held].sort(), expected.sort(), 'the dirty files and the five newest idle');

  // Used again, file 35 is the newest idle: file 20 reopening for a read closes 36, the oldest.
  await files[35].read(Buffer.alloc(4), 0, 4, 0);
  await files[20].read(Buffer.alloc(4), 0, 4, 0);
  await waitFor(
    () => !heldPaths(directory).includes(paths[36]),
    () => `${paths[36]} closed; held ${heldPaths(directory).length}`,
    { timeoutMs: 5_000 },
  );
  assert.ok(heldPaths(directory).includes(paths[35]), 'a file used again is not the oldest idle');
  for (const file of files) await file.close();
  assert.equal(io.openFileCount(), 0);
});

test('a file opened deferred gets a descriptor at its first operation, created then if asked', async (t) => {
  const directory = temporaryDirectory(t);
  const io = pooledFileIo(nodeFileIo, { openFilesMax: 10 });
  writeFileSync(join(directory, 'listed.log'), 'twelve bytes');
  const listed = await io.open(join(directory, 'listed.log'), { create: false, deferred: true });
  const missing = await io.open(join(directory, 'new.appendtime'), {
    create: true,
    bestEffort: true,
    deferred: true,
  });
  assert.equal(io.openFileCount(), 0, 'no descriptor before a first operation');
  assert.ok(!existsSync(join(directory, 'new.appendtime')), 'nothing created yet');

  const buffer = Buffer.alloc(12);
  assert.equal(await listed.read(buffer, 0, 12, 0), 12);
  assert.equal(buffer.toString(), 'twelve bytes');
  assert.equal(io.openFileCount(), 1);
  await missing.write([Buffer.from('entry')], 0);
  assert.equal(readFileSync(join(directory, 'new.appendtime'), 'utf8'), 'entry');
  assert.equal(io.openFileCount(), 2);
  await listed.close();
  await missing.close();
  assert.equal(io.openFileCount(), 0);
});

test('writeSync writes only through a descriptor at hand, and never opens one', async (t) => {
  const directory = temporaryDirectory(t);
  const io = pooledFileIo(nodeFileIo, { openFilesMax: 10 });
  const path = join(directory, 'segment.log');
  const file = await io.open(path, { create: true, deferred: true });
  assert.equal(file.writeSync!([Buffer.from('early')], 0), false, 'no descriptor yet');
  assert.equal(io.openFileCount(), 0);
  assert.ok(!existsSync(path), 'nothing created by a refused writeSync');
  await file.write([Buffer.from('first ')], 0);
  assert.equal(file.writeSync!([Buffer.from('second '), Buffer.from('third')], 6), true);
  assert.equal(readFileSync(path, 'utf8'), 'first second third');
  await file.datasync();
  await file.close();
  assert.equal(io.openFileCount(), 0);
});

/**
 * `nodeFileIo` in a process whose descriptor table holds `descriptorsMax` files: an open past
 * that fails with EMFILE, as open(2) does. Counts the refusals.
 */
function descriptorTable(descriptorsMax: number): { io: FileIo; refused: () => number } {
  let open = 0;
  let refused = 0;
  const io: FileIo = {
    ...nodeFileIo,
    async open(path, options) {
      if (open >= descriptorsMax) {
        refused++;
        throw Object.assign(new Error(`EMFILE: too many open files, open '${path}'`), {
          code: 'EMFILE',
        });
      }
      open++;
      let file: LogFile;
      try {
        file = await nodeFileIo.open(path, options);
      } catch (error) {
        open--;
        throw error;
      }
      return {
        ...file,
        path: file.path,
        write: (buffers, position) => file.write(buffers, position),
        read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
        datasync: () => file.datasync(),
        truncate: (length) => file.truncate(length),
        size: () => file.size(),
        async close() {
          await file.close();
          open--;
        },
      };
    },
  };
  return { io, refused: () => refused };
}

test('out of descriptors, logs appended together wait for one instead of failing', async (t) => {
  const directory = temporaryDirectory(t);
  // Far fewer descriptors than the logs' files, and a pool bound that does not see it coming:
  // only the process's EMFILE says so.
  const table = descriptorTable(24);
  const manager = await LogManager.open({
    directory,
    io: table.io,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
    openFilesMax: 1000,
  });
  const logs = [];
  for (let index = 0; index < 40; index++) logs.push(await manager.createLog('spread', index));
  for (let round = 0; round < 2; round++) {
    const appended: PromiseSettledResult<void>[] = await Promise.allSettled(
      logs.map(async (log, index) => {
        const batch = await makeBatch({
          seed: round * 100 + index,
          recordsCount: 2,
          valueBytes: 40,
        });
        await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
      }),
    );
    const failed = appended.filter((result) => result.status === 'rejected');
    assert.deepEqual(failed, [], `round ${round}: no append fails for want of a descriptor`);
  }
  assert.ok(table.refused() > 0, 'the descriptor table ran out (the test exercised the wait)');
  for (const [index, log] of logs.entries()) {
    assert.equal(log.logEndOffset, 4, `log ${index}`);
    assert.equal(log.error, null, `log ${index} has no storage error`);
  }
  await manager.close();
});
