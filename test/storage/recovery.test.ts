import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  cpSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { PartitionLog, CLEAN_SHUTDOWN_FILE } from '../../src/storage/partition-log.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { StorageError } from '../../src/storage/errors.js';
import { makeBatch, stamped } from '../helpers/storage-batches.js';
import { readWholeLog } from '../helpers/storage-verify.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const config: LogConfig = {
  ...defaultLogConfig,
  retentionMs: -1,
  segmentBytes: 6000,
  indexIntervalBytes: 500,
};

/** Writes `count` batches of 2 records (offsets 0, 2, 4, ...), closes cleanly, returns the stamped bytes. */
async function writeLog(directory: string, count: number): Promise<Buffer[]> {
  const log = await PartitionLog.open({ directory, config });
  const batches = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      makeBatch({ seed: 10 + index, recordsCount: 2, valueBytes: 150 }),
    ),
  );
  const results = batches.map((batch) => log.append(batch, { leaderEpoch: 1, origin: 'client' }));
  await Promise.all(results.map((result) => result.acknowledged));
  await log.close();
  return batches.map((batch, index) => stamped(batch, index * 2, 1));
}

function segmentLogs(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => join(directory, name));
}

/** Makes the next open unclean, as a crash would. */
function forgetCleanShutdown(directory: string): void {
  unlinkSync(join(directory, CLEAN_SHUTDOWN_FILE));
}

async function reopenAndCheck(
  directory: string,
  expected: Buffer[],
  survivingBatches: number,
): Promise<PartitionLog> {
  const log = await PartitionLog.open({ directory, config });
  assert.equal(log.logEndOffset, survivingBatches * 2);
  const stored = await readWholeLog(log);
  assert.equal(stored.size, survivingBatches);
  for (let index = 0; index < survivingBatches; index++)
    assert.ok(stored.get(index * 2)!.equals(expected[index]));
  return log;
}

/** Which batch of the tail segment lies at a position, and how many batches come before that segment. */
function tailLayout(
  directory: string,
  batchBytes: number,
): { path: string; batchesBefore: number; batchesInTail: number } {
  const paths = segmentLogs(directory);
  const path = paths[paths.length - 1];
  const baseOffset = Number(path.slice(-24, -4));
  return { path, batchesBefore: baseOffset / 2, batchesInTail: statSync(path).size / batchBytes };
}

test('a torn batch at the tail (cut mid-batch) is truncated on restart', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const { path, batchesBefore, batchesInTail } = tailLayout(directory, expected[0].length);
  truncateSync(path, statSync(path).size - 30);
  forgetCleanShutdown(directory);
  const log = await reopenAndCheck(directory, expected, batchesBefore + batchesInTail - 1);
  assert.equal(
    statSync(path).size,
    (batchesInTail - 1) * expected[0].length,
    'the torn bytes are gone from the file',
  );
  assert.ok(log.recoveryScannedBytes > 0);
  await log.close();
});

test('garbage after the last batch is cut away on restart', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const { path, batchesBefore, batchesInTail } = tailLayout(directory, expected[0].length);
  appendFileSync(
    path,
    Buffer.from('this is not a record batch, just garbage that a crash left behind'),
  );
  forgetCleanShutdown(directory);
  const log = await reopenAndCheck(directory, expected, batchesBefore + batchesInTail);
  // The log takes appends right after the last good batch.
  const next = log.append(await makeBatch({ seed: 500, recordsCount: 1, valueBytes: 10 }), {
    leaderEpoch: 1,
    origin: 'client',
  });
  assert.equal(next.baseOffset, (batchesBefore + batchesInTail) * 2);
  await next.acknowledged;
  await log.close();
});

test('a flipped bit in the tail segment cuts the log at that batch', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const { path, batchesBefore, batchesInTail } = tailLayout(directory, expected[0].length);
  assert.ok(batchesInTail >= 3);
  const bytes = readFileSync(path);
  // Inside the records of the second batch of the tail segment.
  bytes[expected[0].length + 100] ^= 0x04;
  writeFileSync(path, bytes);
  forgetCleanShutdown(directory);
  const log = await reopenAndCheck(directory, expected, batchesBefore + 1);
  await log.close();
});

test('a torn tail is cut even when the clean-shutdown marker claims otherwise', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const { path, batchesBefore, batchesInTail } = tailLayout(directory, expected[0].length);
  truncateSync(path, statSync(path).size - 7);
  const log = await reopenAndCheck(directory, expected, batchesBefore + batchesInTail - 1);
  assert.equal(log.openedCleanly, true);
  await log.close();
});

test('a missing or corrupt index of an older segment is rebuilt', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const firstIndex = join(directory, '00000000000000000000.index');
  const original = readFileSync(firstIndex);
  assert.ok(original.length > 0);
  unlinkSync(firstIndex);
  const secondIndex = segmentLogs(directory)[1].replace(/\.log$/, '.index');
  writeFileSync(secondIndex, Buffer.from('garbage!'.repeat(3)));
  const log = await reopenAndCheck(directory, expected, 40);
  assert.ok(
    readFileSync(firstIndex).equals(original),
    'the rebuilt index equals the one written at roll',
  );
  assert.notEqual(readFileSync(secondIndex).toString(), 'garbage!'.repeat(3));
  // Reads through the rebuilt index land on the right batch.
  const { chunks } = await log.read(13, { maxBytes: 1, maxOffset: 80 });
  assert.ok(chunks[0].equals(expected[6]));
  await log.close();
});

test('corruption in an older segment is caught by the read-side CRC check and reported, never served', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const first = segmentLogs(directory)[0];
  const bytes = readFileSync(first);
  bytes[expected[0].length * 2 + 80] ^= 0xff;
  writeFileSync(first, bytes);
  const log = await PartitionLog.open({ directory, config });
  await assert.rejects(log.read(4, { maxBytes: 1, maxOffset: 80 }), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.equal(error.code, 'BROOK_CORRUPT_SEGMENT');
    assert.match(
      error.message,
      /00000000000000000000\.log at position \d+: batch fails its CRC-32C check/,
    );
    return true;
  });
  // A read that would run into the corrupt batch fails rather than serve it.
  await assert.rejects(log.read(0, { maxBytes: 1 << 20, maxOffset: 80 }), StorageError);
  // Batches before it and later segments are still served.
  assert.ok(
    (await log.read(0, { maxBytes: expected[0].length * 2, maxOffset: 80 })).chunks[0].equals(
      Buffer.concat(expected.slice(0, 2)),
    ),
  );
  assert.ok((await log.read(78, { maxBytes: 1, maxOffset: 80 })).chunks[0].equals(expected[39]));
  await log.close();
});

test('after an unclean stop only segments from the recovery point are scanned', async (t) => {
  const root = temporaryDirectory(t);
  const manager = await LogManager.open({
    directory: root,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  const log = await manager.createLog('orders', 0);
  const batches = await Promise.all(
    Array.from({ length: 60 }, (_, index) =>
      makeBatch({ seed: 10 + index, recordsCount: 2, valueBytes: 150 }),
    ),
  );
  await Promise.all(
    batches.map((batch) => log.append(batch, { leaderEpoch: 1, origin: 'client' }).acknowledged),
  );
  await manager.checkpoint();
  const checkpoint = readFileSync(join(root, 'recovery-point-offset-checkpoint'), 'utf8');
  assert.equal(checkpoint, '0\n1\norders 0 120\n');
  assert.equal(
    readFileSync(join(root, 'log-start-offset-checkpoint'), 'utf8'),
    '0\n1\norders 0 0\n',
  );
  // Simulate a crash: a copy of the directory as the running manager leaves it (no clean-shutdown
  // markers), opened by a second manager once the dead process's lock file is gone.
  const copy = `${root}-after-crash`;
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(root, copy, { recursive: true });
  unlinkSync(join(copy, '.lock'));
  const reopened = await LogManager.open({
    directory: copy,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  const recovered = reopened.getLog('orders', 0)!;
  assert.equal(recovered.openedCleanly, false);
  assert.equal(recovered.logEndOffset, 120);
  const lastSegment = recovered.segmentInfos().at(-1)!;
  assert.equal(
    recovered.recoveryScannedBytes,
    lastSegment.sizeBytes,
    'only the segment holding the recovery point was scanned',
  );
  assert.ok(recovered.recoveryScannedBytes < recovered.sizeInBytes);
  await readWholeLog(recovered);
  await reopened.close();
  await manager.close();
});

test('a torn older segment is reported on read, not silently skipped', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const first = segmentLogs(directory)[0];
  truncateSync(first, statSync(first).size - 20);
  const log = await PartitionLog.open({ directory, config });
  const firstSegment = log.segmentInfos()[0];
  const lastOffsetOfFirstSegment = log.segmentInfos()[1].baseOffset - 1;
  assert.equal(firstSegment.nextOffset, lastOffsetOfFirstSegment + 1);
  await assert.rejects(
    log.read(lastOffsetOfFirstSegment, { maxBytes: 1, maxOffset: 80 }),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.code, 'BROOK_CORRUPT_SEGMENT');
      return true;
    },
  );
  // Everything else is still served.
  assert.ok((await log.read(0, { maxBytes: 1, maxOffset: 80 })).chunks[0].equals(expected[0]));
  assert.ok(
    (await log.read(lastOffsetOfFirstSegment + 1, { maxBytes: 1, maxOffset: 80 })).chunks[0]
      .length > 0,
  );
  await log.close();
});

test('a batch whose offsets go backwards (outside the CRC) is reported, never served', async (t) => {
  const directory = temporaryDirectory(t);
  const expected = await writeLog(directory, 40);
  const first = segmentLogs(directory)[0];
  const bytes = readFileSync(first);
  // baseOffset is not covered by the CRC: rewrite batch 5's to 0 as a misdirected write might.
  bytes.writeBigInt64BE(0n, expected[0].length * 5);
  writeFileSync(first, bytes);
  const log = await PartitionLog.open({ directory, config });
  await assert.rejects(log.read(10, { maxBytes: 1, maxOffset: 80 }), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.equal(error.code, 'BROOK_CORRUPT_SEGMENT');
    assert.match(error.message, /do not follow/);
    return true;
  });
  await log.close();
});
