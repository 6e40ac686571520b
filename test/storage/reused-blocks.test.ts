// An append whose records lie in a reused block (a large produce request's: util/reused-memory.ts)
// holds the block until it is written and nothing is served from it: a read copies the records
// out, and the block goes back to the free list only after the write, however early the read.
// Released blocks are poisoned here, so a block reused too early shows up as a corrupt file.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { defaultLogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { poisonReleasedBlocks, reusedBlockOf, takeReused } from '../../src/util/reused-memory.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

before(() => poisonReleasedBlocks(true));
after(() => poisonReleasedBlocks(false));

/** `batch` in a reused block, held once (as the connection that read the request holds it). */
function inReusedBlock(batch: Buffer): Buffer {
  const view = takeReused(batch.length);
  assert.ok(view !== null, `a batch of ${batch.length} bytes is within the reused sizes`);
  batch.copy(view);
  return view;
}

const everything = { maxBytes: 8 << 20, maxOffset: Number.MAX_SAFE_INTEGER, minOneBatch: true };

test('a read during the write gets a copy, and the block is not reused until the write is done', async (t) => {
  const directory = temporaryDirectory(t);
  const io = new FaultyFileIo();
  io.asyncWritesOnly = true;
  const releaseWrites = io.holdWrites('.log');
  const log = await PartitionLog.open({ directory, config: defaultLogConfig, io });
  const batch = await makeBatch({ seed: 1, recordsCount: 200, valueBytes: 1_500 });
  const records = inReusedBlock(batch);
  const block = reusedBlockOf(records)!;
  const appended = log.append(records, { leaderEpoch: 0, origin: 'client' });
  block.release(); // the request's handler settled
  const stamped = Buffer.from(records); // offsets and epoch are stamped in place by now

  // The writer has the block's view in hand, stopped at the gate; a consumer reads now.
  await waitFor(
    () => io.heldWrites > 0,
    () => 'the write to start',
  );
  const read = await log.read(0, everything);
  assert.equal(read.chunks.length, 1);
  assert.ok(!block.covers(read.chunks[0]), 'the read was served a copy, not the block');
  assert.deepEqual(read.chunks[0], stamped);

  // Still unwritten, so still held: a request of the same size gets another block.
  const other = takeReused(batch.length)!;
  assert.ok(!block.covers(other), 'a block the writer still reads from was not handed out again');
  reusedBlockOf(other)!.release();

  releaseWrites();
  await appended.acknowledged;
  const file = readFileSync(join(directory, `${'0'.repeat(20)}.log`));
  assert.deepEqual(file, stamped, 'the file holds the records, not the poison');
  assert.deepEqual((await log.read(0, everything)).chunks[0], stamped);

  // Written and no longer served from it: the block is free, and the next request takes it.
  const again = takeReused(batch.length)!;
  assert.ok(block.covers(again), 'the block went back to the free list');
  reusedBlockOf(again)!.release();
  await log.close();
});

test('an append never read holds its block until the tail cache lets it go', async (t) => {
  const directory = temporaryDirectory(t);
  // A budget of one append: the first leaves the cache once the second is written.
  const log = await PartitionLog.open({ directory, config: defaultLogConfig, tailCacheBytes: 1 });
  const batches = [
    await makeBatch({ seed: 2, recordsCount: 200, valueBytes: 1_500 }),
    await makeBatch({ seed: 3, recordsCount: 200, valueBytes: 1_500 }),
  ];
  const first = inReusedBlock(batches[0]);
  const block = reusedBlockOf(first)!;
  await Promise.all([log.append(first, { leaderEpoch: 0, origin: 'client' }).acknowledged]);
  block.release();
  const stamped = Buffer.from(first);

  // Written, and the newest append: the cache serves it, so the block stays taken.
  const other = takeReused(batches[0].length)!;
  assert.ok(!block.covers(other), 'the cache still holds the block');
  reusedBlockOf(other)!.release();

  const second = inReusedBlock(batches[1]);
  await log.append(second, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  reusedBlockOf(second)!.release();
  const read = await log.read(0, everything);
  const fromFile = Buffer.concat(read.chunks).subarray(0, stamped.length);
  assert.ok(!block.covers(read.chunks[0]), 'the first append is read from the file');
  assert.deepEqual(fromFile, stamped, 'the first append reads back intact');
  await log.close();
});
