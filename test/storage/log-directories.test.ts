// Every entry of log.dirs (storage/log-directories.ts): where new logs go, that a restart finds
// each log where it was, that a log in two directories stops the start, and that a directory
// whose disk fails is the only one reported failed and takes no new log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogDirectories } from '../../src/storage/log-directories.js';
import { StorageErrorCode } from '../../src/storage/errors.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { makeBatch } from '../helpers/storage-batches.js';

/**
 * A scratch directory holding `first` and `second`; the directories given to `closeLater` are
 * closed (faults cleared first) before it is removed.
 */
function scratch(t: { after(cleanup: () => Promise<void>): void }, io?: FaultyFileIo) {
  const parent = mkdtempSync(join(tmpdir(), 'brook-jbod-'));
  const opened: LogDirectories[] = [];
  t.after(async () => {
    io?.clearFaults();
    for (const directories of opened) await directories.close().catch(() => undefined);
    rmSync(parent, { recursive: true, force: true });
  });
  return {
    first: join(parent, 'first'),
    second: join(parent, 'second'),
    closeLater: (directories: LogDirectories) => (opened.push(directories), directories),
  };
}

/** The `<topic>-<partition>` directories in `directory`, sorted. */
function logsIn(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => /-\d+$/.test(name))
    .sort();
}

async function appendOne(log: PartitionLog, seed: number): Promise<void> {
  await log.append(await makeBatch({ seed, recordsCount: 2, valueBytes: 10 }), {
    origin: 'client',
    leaderEpoch: 0,
  }).acknowledged;
}

test('a new log goes to the directory holding the fewest, ties to the first listed', async (t) => {
  const { first, second, closeLater } = scratch(t);
  const directories = closeLater(
    await LogDirectories.open({
      directories: [first, second],
      retentionCheckIntervalMs: 0,
    }),
  );
  for (let partition = 0; partition < 3; partition++)
    await directories.createLog('orders', partition);
  assert.deepEqual(logsIn(first), ['orders-0', 'orders-2']);
  assert.deepEqual(logsIn(second), ['orders-1']);
  assert.equal(directories.directoryOf('orders', 1), second);

  // Creates in flight at once are counted as they are placed, so they spread too.
  await Promise.all([0, 1, 2, 3, 4].map((partition) => directories.createLog('audit', partition)));
  assert.deepEqual(logsIn(first), ['audit-1', 'audit-3', 'orders-0', 'orders-2']);
  assert.deepEqual(logsIn(second), ['audit-0', 'audit-2', 'audit-4', 'orders-1']);
  // A deleted log frees its place: the next new one goes where it was.
  const wasIn = directories.directoryOf('orders', 0)!;
  await directories.deleteLog('orders', 0);
  await directories.createLog('payments', 0);
  assert.equal(directories.directoryOf('payments', 0), wasIn);
  assert.deepEqual(
    directories.states().map((state) => [state.directory, state.failed, state.logCount]),
    [
      [first, false, 4],
      [second, false, 4],
    ],
  );
});

test('a restart finds each log where it was, and new logs fill the emptier directory', async (t) => {
  const { first, second, closeLater } = scratch(t);
  // Three logs in the first directory alone (a broker that had one directory), with data.
  const before = await LogDirectories.open({ directories: [first], retentionCheckIntervalMs: 0 });
  for (let partition = 0; partition < 3; partition++)
    await appendOne(await before.createLog('orders', partition), partition);
  await before.close();

  const after = closeLater(
    await LogDirectories.open({
      directories: [first, second],
      retentionCheckIntervalMs: 0,
    }),
  );
  for (let partition = 0; partition < 3; partition++) {
    assert.equal(after.directoryOf('orders', partition), first);
    assert.equal(after.getLog('orders', partition)!.logEndOffset, 2, `orders-${partition}`);
  }
  for (let partition = 0; partition < 4; partition++) await after.createLog('events', partition);
  // Three new logs go to the empty second directory before the fourth ties to the first.
  assert.deepEqual(logsIn(second), ['events-0', 'events-1', 'events-2']);
  assert.deepEqual(logsIn(first), ['events-3', 'orders-0', 'orders-1', 'orders-2']);
  assert.equal(after.allLogs().length, 7);
});

test('a log found in two directories stops the start before either directory is opened', async (t) => {
  const { first, second, closeLater } = scratch(t);
  const directories = closeLater(
    await LogDirectories.open({
      directories: [first, second],
      retentionCheckIntervalMs: 0,
    }),
  );
  await directories.createLog('orders', 0);
  await directories.close();
  cpSync(join(first, 'orders-0'), join(second, 'orders-0'), { recursive: true });

  await assert.rejects(
    LogDirectories.open({ directories: [first, second], retentionCheckIntervalMs: 0 }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, StorageErrorCode.DUPLICATE_LOG);
      assert.match(error.message, new RegExp(`orders-0 is in two log directories, ${first} and`));
      return true;
    },
  );
  assert.ok(!existsSync(join(first, '.lock')) && !existsSync(join(second, '.lock')));
  // Removing the stale copy is the way out.
  rmSync(join(second, 'orders-0'), { recursive: true });
  const reopened = closeLater(
    await LogDirectories.open({
      directories: [first, second],
      retentionCheckIntervalMs: 0,
    }),
  );
  assert.equal(reopened.directoryOf('orders', 0), first);
});

test('a directory whose disk fails is the only one reported failed, and takes no new log', async (t) => {
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  const directories = closeLater(
    await LogDirectories.open({
      directories: [first, second],
      io,
      retentionCheckIntervalMs: 0,
    }),
  );
  const healthy = await directories.createLog('orders', 0);
  const failing = await directories.createLog('orders', 1);
  assert.equal(directories.directoryOf('orders', 1), second);

  io.inject({ operation: 'write', pathIncludes: `${second}/`, errorCode: 'EIO', times: Infinity });
  await assert.rejects(appendOne(failing, 1));
  await assert.rejects(appendOne(failing, 2), /refuses appends/);
  await appendOne(healthy, 3);
  assert.deepEqual(
    directories.states().map((state) => [state.directory, state.failed]),
    [
      [first, false],
      [second, true],
    ],
  );
  // The second directory holds fewer logs, but it failed: new logs go to the first.
  await directories.createLog('orders', 2);
  await directories.createLog('orders', 3);
  assert.equal(directories.directoryOf('orders', 2), first);
  assert.equal(directories.directoryOf('orders', 3), first);
});
