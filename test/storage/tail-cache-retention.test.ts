// The tail cache of a leader's log keeps what its followers have yet to fetch past its budget,
// so replica fetches are served from the producers' buffers instead of the segment file; past
// its cap, for as long as something else (a produce waiting for the followers) holds them.
// A small append that came as a slice of a larger buffer is cached as a copy instead, so the
// cache holds its budget, not the buffers its appends arrived in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_TAIL_CACHE_BYTES, PartitionLog } from '../../src/storage/partition-log.js';
import { TAIL_CACHE_APPENDS_MAX } from '../../src/storage/segment-reader.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

/** Whether `chunk` is a view of `appended` (served from the tail cache), not a copy read from the file. */
function isViewOf(chunk: Buffer, appended: Buffer): boolean {
  return chunk.buffer === appended.buffer && chunk.byteOffset === appended.byteOffset;
}

async function appendOneByOne(log: PartitionLog, count: number): Promise<Buffer[]> {
  const appended: Buffer[] = [];
  for (let seed = 0; seed < count; seed++) {
    const batch = await makeBatch({ seed, recordsCount: 4, valueBytes: 2_000 });
    // One write (and eviction pass) per batch, as produce requests arriving apart get.
    await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
    appended.push(batch);
  }
  return appended;
}

test('a leader keeps the appends its followers have not fetched in the tail cache past its budget', async (t) => {
  const directory = temporaryDirectory(t);
  // A budget of one batch: without followers, everything but the newest is read from the file.
  const log = await PartitionLog.open({ directory, config: defaultLogConfig, tailCacheBytes: 1 });
  let replicatedOffset = 0;
  log.retainUnreplicatedTail(() => replicatedOffset);
  const appended = await appendOneByOne(log, 5);
  const everything = { maxBytes: 1 << 20, maxOffset: Number.MAX_SAFE_INTEGER, minOneBatch: true };
  let read = await log.read(0, everything);
  assert.equal(read.chunks.length, 5, 'one view per append');
  read.chunks.forEach((chunk, index) => assert.ok(isViewOf(chunk, appended[index])));

  // The followers fetched the first three batches (offsets 0-11): the next write evicts them.
  replicatedOffset = 12;
  const more = await appendOneByOne(log, 1);
  read = await log.read(0, everything);
  assert.ok(!isViewOf(read.chunks[0], appended[0]), 'replicated appends are read from the file');
  read = await log.read(12, everything);
  assert.ok(isViewOf(read.chunks[0], appended[3]));
  assert.ok(isViewOf(read.chunks.at(-1)!, more[0]));

  // No followers any more: only the budget counts.
  log.retainUnreplicatedTail(null);
  await appendOneByOne(log, 1);
  read = await log.read(12, everything);
  assert.ok(!isViewOf(read.chunks[0], appended[3]));
  await log.close();
});

test('past its cap a leader serves its followers the appends something else still holds, and holds none itself', async (t) => {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const directory = temporaryDirectory(t);
  // Budget and cap of one byte: every written append but the newest leaves the cache proper.
  const log = await PartitionLog.open({
    directory,
    config: defaultLogConfig,
    tailCacheBytes: 1,
    tailCacheUnreplicatedBytes: 1,
  });
  const replicatedOffset = 0;
  log.retainUnreplicatedTail(() => replicatedOffset);
  // As produce requests waiting for the high watermark do, the test holds the appended buffers.
  let appended: Buffer[] | null = await appendOneByOne(log, 5);
  const copies = appended.map((batch) => Buffer.from(batch));
  const everything = { maxBytes: 1 << 20, maxOffset: Number.MAX_SAFE_INTEGER, minOneBatch: true };
  let read = await log.read(0, everything);
  assert.equal(read.chunks.length, 5, 'one view per append');
  read.chunks.forEach((chunk, index) => assert.ok(isViewOf(chunk, appended![index])));
  read = await log.read(8, everything);
  assert.ok(isViewOf(read.chunks[0], appended[2]), 'a fetch from the middle starts at its batch');

  // Once nothing else holds them, the log does not keep them alive: they are read from the file.
  const memory = appended.slice(0, 4).map((batch) => new WeakRef(batch.buffer));
  appended = null;
  read = { chunks: [], byteLength: 0 };
  await waitFor(async () => {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
    return memory.every((reference) => reference.deref() === undefined);
  }, 'the appended buffers were collected');
  read = await log.read(0, everything);
  assert.ok(
    Buffer.concat(read.chunks).equals(Buffer.concat(copies)),
    'the same bytes, from the file',
  );
  await log.close();
});

test('a small append that came as a slice of a larger buffer is cached as a copy, and does not keep that buffer alive', async (t) => {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: defaultLogConfig });
  const batch = await makeBatch({ seed: 3, recordsCount: 2, valueBytes: 100 });
  // As a small produce request's frame is: a slice of Node's 8 KiB pool, shared with whatever
  // else was allocated around it.
  let slab: Buffer | null = Buffer.allocUnsafeSlow(8 * 1024);
  batch.copy(slab, 1000);
  let slice: Buffer | null = slab.subarray(1000, 1000 + batch.length);
  const slabMemory = new WeakRef(slab.buffer);
  await log.append(slice, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  const expected = Buffer.from(slice);

  const everything = { maxBytes: 1 << 20, maxOffset: Number.MAX_SAFE_INTEGER, minOneBatch: true };
  let read = await log.read(0, everything);
  assert.equal(read.chunks.length, 1);
  assert.ok(!isViewOf(read.chunks[0], slice), 'cached as a copy');
  assert.ok(read.chunks[0].equals(expected), 'the same bytes');
  read = { chunks: [], byteLength: 0 };
  slab = null;
  slice = null;
  await waitFor(async () => {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
    return slabMemory.deref() === undefined;
  }, 'the slab the append came in was collected');
  read = await log.read(0, everything);
  assert.ok(read.chunks[0].equals(expected), 'still served, from the cached copy');

  // An append that is most of its buffer is kept as it came: no copy.
  const large = await makeBatch({ seed: 4, recordsCount: 4, valueBytes: 2_000 });
  await log.append(large, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  read = await log.read(2, everything);
  assert.ok(isViewOf(read.chunks[0], large));
  await log.close();
});

test('the tail cache keeps at most TAIL_CACHE_APPENDS_MAX appends, however far below its byte budget', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config: defaultLogConfig });
  const count = TAIL_CACHE_APPENDS_MAX + 77;
  const appended: Buffer[] = [];
  const acknowledged: Array<Promise<void>> = [];
  for (let seed = 0; seed < count; seed++) {
    // One record each, in a buffer of its own (so kept as it came, not copied).
    const batch = await makeBatch({ seed, recordsCount: 1, valueBytes: 10 });
    const own = Buffer.allocUnsafeSlow(batch.length);
    batch.copy(own);
    appended.push(own);
    acknowledged.push(log.append(own, { leaderEpoch: 0, origin: 'client' }).acknowledged);
  }
  await Promise.all(acknowledged);
  // Far below the 1 MiB budget; the count alone evicts.
  assert.ok(appended.reduce((sum, batch) => sum + batch.length, 0) < DEFAULT_TAIL_CACHE_BYTES / 4);
  const one = { maxBytes: 1, maxOffset: Number.MAX_SAFE_INTEGER, minOneBatch: true };
  const oldest = count - TAIL_CACHE_APPENDS_MAX;
  assert.ok(isViewOf((await log.read(oldest, one)).chunks[0], appended[oldest]), 'cached');
  const evicted = await log.read(oldest - 1, one);
  assert.ok(!isViewOf(evicted.chunks[0], appended[oldest - 1]), 'read from the file');
  assert.ok(evicted.chunks[0].equals(appended[oldest - 1]));
  await log.close();
});
