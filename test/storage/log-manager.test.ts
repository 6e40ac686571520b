import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { LogManager, parseLogDirectoryName } from '../../src/storage/log-manager.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/storage/checkpoint.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { nodeFileIo, type FileIo } from '../../src/storage/file-io.js';
import { FaultyFileIo, hookedFileIo } from '../helpers/storage-faulty-io.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { makeBatch, nextOffsetAfter, stamped } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

test('log directory names split at the last dash, as Kafka names them', () => {
  assert.deepEqual(parseLogDirectoryName('orders-3'), { topic: 'orders', partition: 3 });
  assert.deepEqual(parseLogDirectoryName('my-topic.v2-10'), {
    topic: 'my-topic.v2',
    partition: 10,
  });
  assert.equal(parseLogDirectoryName('meta'), null);
});

test('checkpoint files use Kafka text format and malformed ones are ignored', () => {
  const encoded = encodeCheckpoint([
    { topic: 'a', partition: 0, offset: 5 },
    { topic: 'b-c', partition: 2, offset: 0 },
  ]);
  assert.equal(encoded.toString(), '0\n2\na 0 5\nb-c 2 0\n');
  assert.deepEqual(decodeCheckpoint(encoded), [
    { topic: 'a', partition: 0, offset: 5 },
    { topic: 'b-c', partition: 2, offset: 0 },
  ]);
  assert.equal(decodeCheckpoint(Buffer.from('0\n3\na 0 5\n')), null);
  assert.equal(decodeCheckpoint(Buffer.from('garbage')), null);
});

test('the manager reopens every partition with its topic config, and deletes logs durably', async (t) => {
  const directory = temporaryDirectory(t);
  const compacted: LogConfig = { ...defaultLogConfig, cleanupPolicy: 'compact', retentionMs: -1 };
  const options = {
    directory,
    defaultConfig: { ...defaultLogConfig, retentionMs: -1 },
    topicConfig: (topic: string) => (topic === '__consumer_offsets' ? compacted : undefined),
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  };
  const manager = await LogManager.open(options);
  for (const [topic, partition] of [
    ['orders', 0],
    ['orders', 1],
    ['__consumer_offsets', 7],
  ] as const) {
    const log = await manager.createLog(topic, partition);
    await log.append(await makeBatch({ seed: partition, recordsCount: 2, valueBytes: 10 }), {
      leaderEpoch: 0,
      origin: 'client',
    }).acknowledged;
  }
  assert.equal(manager.getLog('__consumer_offsets', 7)!.config.cleanupPolicy, 'compact');
  assert.equal(manager.describe().length, 3);
  await manager.close();
  assert.ok(!existsSync(join(directory, '.lock')), 'the lock is released on close');
  assert.equal(
    readFileSync(join(directory, 'recovery-point-offset-checkpoint'), 'utf8'),
    '0\n3\norders 0 2\norders 1 2\n__consumer_offsets 7 2\n',
  );

  const reopened = await LogManager.open(options);
  assert.deepEqual(
    reopened
      .allLogs()
      .map(({ topic, partition, log }) => [topic, partition, log.logEndOffset, log.openedCleanly])
      .sort(),
    [
      ['__consumer_offsets', 7, 2, true],
      ['orders', 0, 2, true],
      ['orders', 1, 2, true],
    ],
  );
  assert.equal(reopened.getLog('__consumer_offsets', 7)!.config.cleanupPolicy, 'compact');
  await reopened.deleteLog('orders', 1);
  assert.ok(!existsSync(join(directory, 'orders-1')));
  await reopened.close();
  const third = await LogManager.open(options);
  assert.equal(third.getLog('orders', 1), undefined);
  assert.equal(third.allLogs().length, 2);
  await third.close();
});

test('a log deletion interrupted by a crash is finished on the next open', async (t) => {
  const directory = temporaryDirectory(t);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(directory, 'orders-0.1700000000000-delete'));
  writeFileSync(
    join(directory, 'orders-0.1700000000000-delete', '00000000000000000000.log'),
    'left over',
  );
  const manager = await LogManager.open({
    directory,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  assert.equal(manager.allLogs().length, 0);
  assert.ok(!existsSync(join(directory, 'orders-0.1700000000000-delete')));
  await manager.close();
});

/** nodeFileIo, counting the fsyncs it issues (file datasyncs, directory syncs, atomic writes). */
function countingFileIo(): { io: FileIo; fsyncs: () => number; reset: () => void } {
  let count = 0;
  const io: FileIo = {
    ...hookedFileIo({
      datasync: (file) => {
        count += 1;
        return file.datasync();
      },
    }),
    writeFileAtomic: (path, data) => {
      count += 2; // the file's and its directory's
      return nodeFileIo.writeFileAtomic(path, data);
    },
    syncDirectory: (directory) => {
      count += 1;
      return nodeFileIo.syncDirectory(directory);
    },
  };
  return { io, fsyncs: () => count, reset: () => (count = 0) };
}

const managerOptions = (directory: string, io?: FileIo) => ({
  directory,
  io,
  defaultConfig: { ...defaultLogConfig, retentionMs: -1 },
  retentionCheckIntervalMs: 0,
  checkpointIntervalMs: 0,
});

const logMarkers = (directory: string): string[] =>
  readdirSync(directory).filter((name) => existsSync(join(directory, name, '.clean-shutdown')));

test('a clean stop leaves one marker for the directory, and a clean open or stop fsyncs nothing per log', async (t) => {
  const directory = temporaryDirectory(t);
  const counting = countingFileIo();
  const logCount = 24;
  const manager = await LogManager.open(managerOptions(directory, counting.io));
  for (let partition = 0; partition < logCount; partition += 1) {
    const log = await manager.createLog('orders', partition);
    if (partition % 2 === 0) {
      await log.append(await makeBatch({ seed: partition, recordsCount: 2, valueBytes: 10 }), {
        leaderEpoch: 0,
        origin: 'client',
      }).acknowledged;
    }
  }
  await manager.close();
  assert.ok(existsSync(join(directory, '.clean-shutdown')), 'the directory is marked clean');
  assert.deepEqual(logMarkers(directory), [], 'no log has a marker of its own');

  // The marker's removal and the checkpoints: a constant, not one or two fsyncs per log.
  counting.reset();
  const reopened = await LogManager.open(managerOptions(directory, counting.io));
  assert.ok(reopened.allLogs().every(({ log }) => log.openedCleanly));
  assert.ok(!existsSync(join(directory, '.clean-shutdown')), 'an open removes the marker');
  assert.ok(
    counting.fsyncs() < logCount,
    `a clean open of ${logCount} logs issued ${counting.fsyncs()} fsyncs`,
  );
  assert.equal(reopened.getLog('orders', 0)!.logEndOffset, 2);
  assert.equal(reopened.getLog('orders', 1)!.logEndOffset, 0);

  // Nothing was written since the open: the checkpoints and the marker, nothing per log.
  counting.reset();
  await reopened.close();
  assert.ok(existsSync(join(directory, '.clean-shutdown')));
  assert.ok(
    counting.fsyncs() < logCount,
    `a clean stop of ${logCount} idle logs issued ${counting.fsyncs()} fsyncs`,
  );
});

test('one log failing at close leaves the directory unmarked, and every log recovers at the next open', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  const manager = await LogManager.open(managerOptions(directory, io));
  const healthy = await manager.createLog('orders', 0);
  const failing = await manager.createLog('orders', 1);
  await healthy.append(await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  }).acknowledged;
  io.inject({ operation: 'datasync', pathIncludes: 'orders-1/', errorCode: 'EIO', times: 1 });
  const doomed = failing.append(await makeBatch({ seed: 2, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 0,
    origin: 'client',
  });
  await assert.rejects(doomed.acknowledged);
  await manager.close();
  assert.ok(!existsSync(join(directory, '.clean-shutdown')));

  const reopened = await LogManager.open(managerOptions(directory));
  assert.deepEqual(
    reopened.allLogs().map(({ log }) => log.openedCleanly),
    [false, false],
  );
  assert.equal(reopened.getLog('orders', 0)!.logEndOffset, 1);
  await reopened.close();
});

test('a directory stopped with a marker per log (an earlier version) opens cleanly and keeps none', async (t) => {
  const directory = temporaryDirectory(t);
  const manager = await LogManager.open(managerOptions(directory));
  for (const partition of [0, 1]) await manager.createLog('orders', partition);
  await manager.close();
  // As the previous version left a clean stop: a marker in each log, none for the directory.
  unlinkSync(join(directory, '.clean-shutdown'));
  for (const partition of [0, 1])
    writeFileSync(join(directory, `orders-${partition}`, '.clean-shutdown'), '');

  const reopened = await LogManager.open(managerOptions(directory));
  assert.ok(reopened.allLogs().every(({ log }) => log.openedCleanly));
  assert.deepEqual(logMarkers(directory), [], 'the old markers are removed at open');
  await reopened.close();
  assert.ok(existsSync(join(directory, '.clean-shutdown')));
  assert.deepEqual(logMarkers(directory), []);
});

/** nodeFileIo, noting every path it opens, lists, reads or sizes. */
function recordingFileIo(): { io: FileIo; touched: string[] } {
  const touched: string[] = [];
  const io: FileIo = {
    ...nodeFileIo,
    open: (path, options) => {
      touched.push(path);
      return nodeFileIo.open(path, options);
    },
    readFile: (path) => {
      touched.push(path);
      return nodeFileIo.readFile(path);
    },
    fileSize: (path) => {
      touched.push(path);
      return nodeFileIo.fileSize(path);
    },
    readdir: (directory) => {
      touched.push(`${directory}/`);
      return nodeFileIo.readdir(directory);
    },
  };
  return { io, touched };
}

const append = (log: PartitionLog, batch: Buffer) =>
  log.append(batch, { leaderEpoch: 0, origin: 'client' });

/** Every batch from the log start to the log end (a read may stop at a segment or cache edge). */
async function readAll(log: PartitionLog): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = await log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset });
    assert.ok(read.byteLength > 0, `nothing read at offset ${offset}`);
    chunks.push(...read.chunks);
    offset = nextOffsetAfter(Buffer.concat(read.chunks));
  }
  return Buffer.concat(chunks);
}

test('after a clean stop, idle logs open without touching their directories and append and read on first use', async (t) => {
  const directory = temporaryDirectory(t);
  const manager = await LogManager.open(managerOptions(directory));
  const first = await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 10 });
  await append(await manager.createLog('orders', 0), first).acknowledged;
  for (const partition of [1, 2, 3]) await manager.createLog('orders', partition);
  await manager.close();
  assert.deepEqual(
    decodeCheckpoint(readFileSync(join(directory, '.clean-shutdown'))),
    [1, 2, 3].map((partition) => ({ topic: 'orders', partition, offset: 0 })),
    'the marker lists the logs that closed empty',
  );

  const recording = recordingFileIo();
  const reopened = await LogManager.open(managerOptions(directory, recording.io));
  const idle = (partition: number) =>
    recording.touched.filter((path) => path.includes(`/orders-${partition}/`));
  for (const partition of [1, 2, 3]) assert.deepEqual(idle(partition), [], `orders-${partition}`);
  assert.ok(reopened.allLogs().every(({ log }) => log.openedCleanly));

  // The log with records reads them back and appends after them.
  const orders0 = reopened.getLog('orders', 0)!;
  assert.deepEqual(await readAll(orders0), stamped(first, 0, 0));
  const second = await makeBatch({ seed: 2, recordsCount: 3, valueBytes: 10 });
  assert.equal(append(orders0, second).baseOffset, 2);
  // An idle log's files open at its first append, which lands at offset 0.
  const orders2 = reopened.getLog('orders', 2)!;
  const third = await makeBatch({ seed: 3, recordsCount: 4, valueBytes: 10 });
  const appended = append(orders2, third);
  assert.equal(appended.baseOffset, 0);
  await appended.acknowledged;
  assert.ok(
    idle(2).some((path) => path.endsWith('.log')),
    'the segment opened on first use',
  );
  assert.deepEqual(await readAll(orders2), stamped(third, 0, 0));
  await reopened.close();
  assert.deepEqual(
    decodeCheckpoint(readFileSync(join(directory, '.clean-shutdown')))!.map(
      (entry) => entry.partition,
    ),
    [1, 3],
  );

  const afterAppends = await LogManager.open(managerOptions(directory));
  assert.equal(afterAppends.getLog('orders', 0)!.logEndOffset, 5);
  assert.equal(afterAppends.getLog('orders', 2)!.logEndOffset, 4);
  assert.deepEqual(await readAll(afterAppends.getLog('orders', 2)!), stamped(third, 0, 0));
  assert.equal(afterAppends.getLog('orders', 3)!.logEndOffset, 0);
  await afterAppends.close();
});

test('an unclean stop after a start from the marker still cuts the torn tail of a log that started empty', async (t) => {
  const directory = temporaryDirectory(t);
  const manager = await LogManager.open(managerOptions(directory));
  for (const partition of [0, 1]) await manager.createLog('orders', partition);
  await manager.close();

  const started = await LogManager.open(managerOptions(directory));
  const kept = await makeBatch({ seed: 4, recordsCount: 3, valueBytes: 20 });
  await append(started.getLog('orders', 0)!, kept).acknowledged;
  await started.close();
  // As a crash would leave it: no marker, and half of a batch whose write was cut short.
  unlinkSync(join(directory, '.clean-shutdown'));
  const segmentPath = join(directory, 'orders-0', '00000000000000000000.log');
  const torn = await makeBatch({ seed: 5, recordsCount: 3, valueBytes: 20 });
  appendFileSync(segmentPath, torn.subarray(0, torn.length >> 1));

  const recovered = await LogManager.open(managerOptions(directory));
  const log = recovered.getLog('orders', 0)!;
  assert.equal(log.openedCleanly, false);
  assert.equal(log.recoveryTruncated.bytes, torn.length >> 1);
  assert.equal(statSync(segmentPath).size, kept.length);
  assert.equal(log.logEndOffset, 3);
  const next = await makeBatch({ seed: 6, recordsCount: 1, valueBytes: 20 });
  await append(log, next).acknowledged;
  assert.deepEqual(await readAll(log), Buffer.concat([stamped(kept, 0, 0), stamped(next, 3, 0)]));
  assert.equal(recovered.getLog('orders', 1)!.logEndOffset, 0);
  await recovered.close();
});
