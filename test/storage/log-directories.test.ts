// Every entry of log.dirs (storage/log-directories.ts): where new logs go, that a restart finds
// each log where it was, that a log in two directories stops the start, that a directory whose
// disk fails is the only one reported failed and takes no new log, and that one that cannot be
// opened at start is offline with its logs known from the placement record (log-placement.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogDirectories } from '../../src/storage/log-directories.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { StorageErrorCode } from '../../src/storage/errors.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { makeBatch } from '../helpers/storage-batches.js';
import type { LogFields, LoggerLike } from '../../src/util/logger.js';

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

/** Opens `first` and `second` with the second unlistable (EIO on its listing). */
async function openWithSecondUnlistable(
  io: FaultyFileIo,
  first: string,
  second: string,
  logger?: LoggerLike,
) {
  io.inject({ operation: 'readdir', pathIncludes: second, errorCode: 'EIO', times: Infinity });
  return LogDirectories.open({
    directories: [first, second],
    io,
    retentionCheckIntervalMs: 0,
    logger,
  });
}

/** A logger that keeps the error lines. */
function errorLines(): { lines: Array<[string, LogFields | undefined]>; logger: LoggerLike } {
  const lines: Array<[string, LogFields | undefined]> = [];
  const ignore = (): void => undefined;
  return {
    lines,
    logger: {
      info: ignore,
      warn: ignore,
      error: (message, fields) => lines.push([message, fields]),
    },
  };
}

/** Four logs with two records each: orders-0 and -2 in the first directory, -1 and -3 in the second. */
async function fourLogs(first: string, second: string, io: FaultyFileIo): Promise<void> {
  const directories = await LogDirectories.open({
    directories: [first, second],
    io,
    retentionCheckIntervalMs: 0,
  });
  for (let partition = 0; partition < 4; partition++)
    await appendOne(await directories.createLog('orders', partition), partition);
  assert.deepEqual(logsIn(second), ['orders-1', 'orders-3']);
  await directories.close();
}

test('a directory that cannot be opened at start is offline, and its logs are never created elsewhere', async (t) => {
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  await fourLogs(first, second, io);
  // Every directory holds the placement record.
  assert.ok(existsSync(join(first, 'log-placement.json')));
  assert.ok(existsSync(join(second, 'log-placement.json')));

  const { lines, logger } = errorLines();
  const directories = closeLater(await openWithSecondUnlistable(io, first, second, logger));
  // Logged once, at error level, with the reason.
  assert.equal(lines.length, 1);
  assert.match(lines[0]![0], /log directory offline/);
  assert.equal(lines[0]![1]?.directory, second);
  assert.match(String(lines[0]![1]?.error), /EIO/);
  assert.deepEqual(
    directories.states().map((state) => [state.directory, state.failed, state.logCount]),
    [
      [first, false, 2],
      [second, true, 2],
    ],
  );
  assert.equal(directories.directoryOf('orders', 1), second);
  // The broker asks for the log (a topic load, a produce): it gets the offline stand-in.
  const offline = await directories.createLog('orders', 1);
  assert.equal(offline.offline, true);
  assert.throws(
    () => offline.append(Buffer.alloc(0), { origin: 'client', leaderEpoch: 0 }),
    (error: Error & { code?: string }) => error.code === StorageErrorCode.LOG_OFFLINE,
  );
  // Found as a log found on disk is: a coordinator must not take it for one never written.
  assert.equal(directories.getLog('orders', 3)?.offline, true);
  // New logs go to the open directory only, and nothing is created for the offline ones.
  await directories.createLog('orders', 4);
  assert.equal(directories.directoryOf('orders', 4), first);
  assert.deepEqual(logsIn(first), ['orders-0', 'orders-2', 'orders-4']);
  assert.equal(directories.getLog('orders', 0)!.logEndOffset, 2);
  await directories.close();

  // Restored, the directory opens with its logs as they were.
  io.clearFaults();
  const restored = closeLater(
    await LogDirectories.open({ directories: [first, second], io, retentionCheckIntervalMs: 0 }),
  );
  for (const partition of [1, 3]) {
    assert.equal(restored.directoryOf('orders', partition), second);
    assert.equal(restored.getLog('orders', partition)!.offline, false);
    assert.equal(restored.getLog('orders', partition)!.logEndOffset, 2, `orders-${partition}`);
  }
  assert.deepEqual(logsIn(first), ['orders-0', 'orders-2', 'orders-4']);
  assert.deepEqual(logsIn(second), ['orders-1', 'orders-3']);
});

test('without the placement record an offline directory takes its partitions with it', async (t) => {
  // What the record prevents: a data directory from before it knows nothing of the offline one,
  // so its partitions are created anew, empty, on the open directory.
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  await fourLogs(first, second, io);
  rmSync(join(first, 'log-placement.json'));
  rmSync(join(second, 'log-placement.json'));
  const directories = closeLater(await openWithSecondUnlistable(io, first, second));
  assert.equal(directories.directoryOf('orders', 1), undefined);
  const recreated = await directories.createLog('orders', 1);
  assert.equal(recreated.offline, false);
  assert.equal(recreated.logEndOffset, 0);
  assert.deepEqual(logsIn(first), ['orders-0', 'orders-1', 'orders-2']);
});

test('a log deleted while its directory is offline is removed when the directory opens again', async (t) => {
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  await fourLogs(first, second, io);
  const directories = closeLater(await openWithSecondUnlistable(io, first, second));
  await directories.createLog('orders', 1);
  await directories.deleteLog('orders', 1);
  assert.equal(directories.directoryOf('orders', 1), undefined);
  // The topic created again meanwhile: the partition is offline until then, so the old data
  // never comes back under the new topic, and nothing is created on the open directory.
  const again = await directories.createLog('orders', 1);
  assert.equal(again.offline, true);
  assert.equal(directories.directoryOf('orders', 1), second);
  assert.deepEqual(logsIn(first), ['orders-0', 'orders-2']);
  await directories.close();

  io.clearFaults();
  const restored = closeLater(
    await LogDirectories.open({ directories: [first, second], io, retentionCheckIntervalMs: 0 }),
  );
  // The old log is gone; the new topic's partition starts afresh.
  assert.deepEqual(logsIn(second), ['orders-3']);
  assert.equal(restored.directoryOf('orders', 1), undefined);
  const created = await restored.createLog('orders', 1);
  assert.equal(created.offline, false);
  assert.equal(created.logEndOffset, 0);
});

test('the first directory, which holds the metadata, must open', async (t) => {
  const io = new FaultyFileIo();
  const { first, second } = scratch(t, io);
  await fourLogs(first, second, io);
  io.inject({ operation: 'readdir', pathIncludes: first, errorCode: 'EIO', times: Infinity });
  await assert.rejects(
    LogDirectories.open({ directories: [first, second], io, retentionCheckIntervalMs: 0 }),
    /EIO/,
  );
  assert.ok(!existsSync(join(second, '.lock')), 'the second directory is not left locked');
});

test('a directory another broker holds stops the start: it is not a failed disk', async (t) => {
  const { first, second } = scratch(t);
  const other = await LogManager.open({ directory: second, retentionCheckIntervalMs: 0 });
  try {
    await assert.rejects(
      LogDirectories.open({ directories: [first, second], retentionCheckIntervalMs: 0 }),
      (error: Error & { code?: string }) => error.code === StorageErrorCode.LOG_DIRECTORY_LOCKED,
    );
    assert.ok(!existsSync(join(first, '.lock')), 'the first directory is not left locked');
  } finally {
    await other.close();
  }
});

test('directories are known by their identity: a moved one keeps its logs, online or offline', async (t) => {
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  await fourLogs(first, second, io);
  // Listed in the other order: each directory's own copy of the record says which it is.
  const reordered = await LogDirectories.open({
    directories: [second, first],
    io,
    retentionCheckIntervalMs: 0,
  });
  assert.equal(reordered.directoryOf('orders', 1), second);
  await reordered.close();
  // Mounted elsewhere, and failing there: its logs are still its own, offline.
  const moved = join(first, '..', 'moved');
  renameSync(second, moved);
  io.inject({ operation: 'readdir', pathIncludes: moved, errorCode: 'EIO', times: Infinity });
  const directories = closeLater(
    await LogDirectories.open({ directories: [first, moved], io, retentionCheckIntervalMs: 0 }),
  );
  assert.equal(directories.directoryOf('orders', 1), moved);
  assert.equal(directories.getLog('orders', 3)?.offline, true);
  await directories.createLog('orders', 1);
  assert.deepEqual(logsIn(first), ['orders-0', 'orders-2']);
});

test('a directory missing where the record places logs is an unmounted disk: offline, not created', async (t) => {
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  await fourLogs(first, second, io);
  const away = `${second}.away`;
  renameSync(second, away);
  const directories = closeLater(
    await LogDirectories.open({ directories: [first, second], io, retentionCheckIntervalMs: 0 }),
  );
  assert.ok(!existsSync(second), 'the missing directory is not created');
  assert.deepEqual(
    directories.states().map((state) => [state.failed, state.logCount]),
    [
      [false, 2],
      [true, 2],
    ],
  );
  assert.equal(directories.getLog('orders', 1)?.offline, true);
  await directories.close();

  renameSync(away, second);
  const mounted = closeLater(
    await LogDirectories.open({ directories: [first, second], io, retentionCheckIntervalMs: 0 }),
  );
  assert.equal(mounted.getLog('orders', 1)!.logEndOffset, 2);
});

test('a copy of the placement record that cannot be written is reported once; the others keep the placement', async (t) => {
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  const { lines, logger } = errorLines();
  const directories = await LogDirectories.open({
    directories: [first, second],
    io,
    retentionCheckIntervalMs: 0,
    logger,
  });
  const copy = join(second, 'log-placement.json');
  io.inject({ operation: 'write', pathIncludes: copy, errorCode: 'EIO', times: Infinity });
  for (let partition = 0; partition < 4; partition++)
    await appendOne(await directories.createLog('orders', partition), partition);
  assert.deepEqual(
    lines.map(([message, fields]) => [message, fields?.directory]),
    [['could not write the placement record to a log directory', second]],
  );
  io.clearFaults();
  await directories.close();

  // The second directory's copy is stale; the first's places orders-1 and orders-3 there.
  const offline = closeLater(await openWithSecondUnlistable(io, first, second));
  assert.equal(offline.getLog('orders', 3)?.offline, true);
  assert.deepEqual(logsIn(first), ['orders-0', 'orders-2']);
});

test('the newest copy of the placement record wins over a stale one', async (t) => {
  const io = new FaultyFileIo();
  const { first, second, closeLater } = scratch(t, io);
  const third = join(first, '..', 'third');
  const all = [first, second, third];
  const directories = await LogDirectories.open({
    directories: all,
    io,
    retentionCheckIntervalMs: 0,
  });
  for (let partition = 0; partition < 3; partition++)
    await directories.createLog('orders', partition);
  // The first directory's copy stops at orders-0..2; the others learn of orders-3..5.
  const copy = join(first, 'log-placement.json');
  io.inject({ operation: 'write', pathIncludes: copy, errorCode: 'EIO', times: Infinity });
  for (let partition = 3; partition < 6; partition++)
    await directories.createLog('orders', partition);
  assert.equal(directories.directoryOf('orders', 5), third);
  io.clearFaults();
  await directories.close();

  io.inject({ operation: 'readdir', pathIncludes: third, errorCode: 'EIO', times: Infinity });
  const offline = closeLater(
    await LogDirectories.open({ directories: all, io, retentionCheckIntervalMs: 0 }),
  );
  assert.equal(offline.getLog('orders', 2)?.offline, true);
  assert.equal(offline.getLog('orders', 5)?.offline, true, 'known from the newer copies');
});
