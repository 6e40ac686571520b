// The bound on every log's tail cache together (log.tail.cache.max.bytes): real logs on real files
// sharing one budget. Past it the logs written to least recently give up their cached appends,
// which are then read from the file, byte for byte the same; an append counts once written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { APPEND_OVERHEAD_BYTES, TailCacheBudget } from '../../src/storage/tail-cache-budget.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/** Whether `chunk` is a view of `appended` (served from the tail cache), not read from the file. */
function isViewOf(chunk: Buffer, appended: Buffer): boolean {
  return chunk.buffer === appended.buffer && chunk.byteOffset === appended.byteOffset;
}

const everything = { maxBytes: 1 << 20, maxOffset: Number.MAX_SAFE_INTEGER, minOneBatch: true };

/** An 8 KB batch, above the size the cache copies (so cached as the buffer appended). */
function batchOf(seed: number): Promise<Buffer> {
  return makeBatch({ seed, recordsCount: 4, valueBytes: 2_000 });
}

async function servedFrom(log: PartitionLog, appended: Buffer): Promise<'cache' | 'file'> {
  const read = await log.read(0, everything);
  assert.equal(read.chunks.length, 1);
  assert.ok(read.chunks[0].equals(appended), 'the bytes appended');
  return isViewOf(read.chunks[0], appended) ? 'cache' : 'file';
}

test('past the bound the logs written to least recently give up their tails first, and are read from their files', async (t) => {
  const directory = temporaryDirectory(t);
  const batches = await Promise.all([0, 1, 2, 3].map(batchOf));
  const batchBytes = batches[0].length;
  assert.ok(batches.every((batch) => batch.length === batchBytes));
  // Room for two appends, not three.
  const budget = new TailCacheBudget(2 * (batchBytes + APPEND_OVERHEAD_BYTES));
  const logs = await Promise.all(
    ['a', 'b', 'c'].map((name) =>
      PartitionLog.open({
        directory: join(directory, name),
        config: defaultLogConfig,
        tailCacheBudget: budget,
      }),
    ),
  );
  const [a, b, c] = logs;
  const origin = { leaderEpoch: 0, origin: 'client' } as const;

  await a.append(batches[0], origin).acknowledged;
  await b.append(batches[1], origin).acknowledged;
  assert.equal(await servedFrom(a, batches[0]), 'cache');
  assert.equal(await servedFrom(b, batches[1]), 'cache');
  assert.equal(budget.bytes, 2 * (batchBytes + APPEND_OVERHEAD_BYTES));

  // A third log's append: the log appended to least recently (a) gives its tail up.
  await c.append(batches[2], origin).acknowledged;
  assert.equal(await servedFrom(a, batches[0]), 'file');
  assert.equal(await servedFrom(b, batches[1]), 'cache');
  assert.equal(await servedFrom(c, batches[2]), 'cache');
  assert.ok(budget.bytes <= budget.bytesMax);

  // Appended to again, a is the most recent: now b is the one that gives up.
  await a.append(batches[3], origin).acknowledged;
  assert.equal(await servedFrom(b, batches[1]), 'file');
  assert.equal(await servedFrom(c, batches[2]), 'cache');
  const read = await a.read(4, everything);
  assert.ok(isViewOf(read.chunks[0], batches[3]), "a's new append is cached");
  assert.ok(budget.bytes <= budget.bytesMax);

  // Closing the logs releases what they held.
  await Promise.all(logs.map((log) => log.close()));
  assert.equal(budget.bytes, 0);
});

test('an append is charged once written: under a bound smaller than one, each is read from the file once written', async (t) => {
  const directory = temporaryDirectory(t);
  const batches = await Promise.all([0, 1].map(batchOf));
  const budget = new TailCacheBudget(100);
  const log = await PartitionLog.open({
    directory: join(directory, 'a'),
    config: defaultLogConfig,
    tailCacheBudget: budget,
  });
  const origin = { leaderEpoch: 0, origin: 'client' } as const;
  const first = log.append(batches[0], origin);
  const second = log.append(batches[1], origin);
  // Queued for the writer: not charged, nothing given up.
  assert.equal(budget.bytes, 0);
  await Promise.all([first.acknowledged, second.acknowledged]);
  // Written, charged and given up: read from the file, the same bytes.
  assert.equal(budget.bytes, 0);
  const read = await log.read(0, everything);
  assert.ok(Buffer.concat(read.chunks).equals(Buffer.concat(batches)));
  assert.ok(
    !read.chunks.some((chunk) => isViewOf(chunk, batches[0]) || isViewOf(chunk, batches[1])),
  );
  await log.close();
});
