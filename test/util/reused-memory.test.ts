// Reused blocks (src/util/reused-memory.ts): a block is handed out again only after its last
// holder let go, poisoned on release under test, and only for the sizes it serves.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InvariantError } from '../../src/util/assert.js';
import {
  poisonReleasedBlocks,
  reusedBlockOf,
  reusedMemoryFigures,
  takeReused,
} from '../../src/util/reused-memory.js';

const KiB = 1024;

test('a block is taken again only once every holder has released it', () => {
  const first = takeReused(600 * KiB)!;
  const block = reusedBlockOf(first)!;
  assert.equal(first.length, 600 * KiB);
  block.hold(); // a tail cache entry
  block.release(); // the connection
  const second = takeReused(700 * KiB)!;
  assert.ok(!block.covers(second), 'a held block is not handed out');
  reusedBlockOf(second)!.release();
  block.release(); // the entry
  const retakenBefore = reusedMemoryFigures().blocksRetaken;
  const third = takeReused(1000 * KiB)!;
  assert.ok(block.covers(third), 'the block released last is taken first');
  assert.equal(reusedMemoryFigures().blocksRetaken, retakenBefore + 1, 'from the free list');
  reusedBlockOf(third)!.release();
});

test('released blocks are poisoned under test, and a release too many is a broken invariant', () => {
  poisonReleasedBlocks(true);
  try {
    const view = takeReused(300 * KiB)!;
    view.fill(7);
    const block = reusedBlockOf(view)!;
    block.release();
    assert.ok(
      view.every((byte) => byte === 0xdb),
      'a view read after release finds the poison',
    );
    assert.throws(() => block.release(), InvariantError);
    assert.throws(() => block.hold(), InvariantError);
  } finally {
    poisonReleasedBlocks(false);
  }
});

test('small and oversized requests get no block; ordinary buffers are no block', () => {
  assert.equal(takeReused(64 * KiB), null);
  assert.equal(takeReused(3 * 1024 * KiB), null);
  assert.equal(reusedBlockOf(Buffer.alloc(512 * KiB)), null);
  const view = takeReused(2 * 1024 * KiB)!;
  assert.equal(view.length, 2 * 1024 * KiB);
  reusedBlockOf(view)!.release();
});
