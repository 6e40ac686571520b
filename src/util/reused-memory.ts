// Blocks of memory handed out again once nobody holds them: the buffers large produce requests
// are read into (server/request-frames.ts). A fresh buffer of a megabyte is a fresh mapping that
// the kernel faults in and zeroes page by page as the socket read fills it, and unmaps once the
// collector frees it; that cost a produce of 1 KiB records about half of the broker's CPU time
// (docs/BENCHMARKS.md, "Fresh pages for every frame"). A block taken again has its pages already.
//
// Reuse is sound only while no one reads a block's old contents after it is taken again, so
// every holder says when it lets go, and a block goes back to its free list only when the last
// one has:
//
//   take ──► frame (the connection holds it until the request's handler has settled)
//              └─ records appended to a log (each tail cache entry holds its block until it
//                 is written and no longer serves a view of it: tail cache reads copy out)
//   last release ──► free list ──► take
//
// A holder that never releases costs nothing but the reuse: the block is left to the collector.
// So every path that is not sure lets go by forgetting, and only the paths that are sure release.
// Under test, released blocks are overwritten (`poisonReleasedBlocks`), so a view read after its
// release shows up as corrupt records rather than passing by chance.
//
// Blocks come in five sizes, 128 KiB to 2 MiB; a request outside them is not served. The free
// lists together keep at most FREE_BYTES_MAX, and blocks not taken since the last trim
// (TRIM_INTERVAL_MS) go, so a burst's memory does not stay with an idle broker.

import { assert } from './assert.js';

const BLOCK_BYTES_MIN = 128 * 1024;
const BLOCK_BYTES_MAX = 2 * 1024 * 1024;
const FREE_BYTES_MAX = 16 * 1024 * 1024;
const TRIM_INTERVAL_MS = 1_000;
const POISON_BYTE = 0xdb;

export class ReusedBlock {
  /** Holders that have not let go; 0 once back on the free list. */
  private holds = 1;

  constructor(readonly memory: Buffer) {}

  /** Whether `view` lies in this block. */
  covers(view: Buffer): boolean {
    return view.buffer === this.memory.buffer;
  }

  hold(): void {
    assert(this.holds > 0, 'a released block cannot be held again');
    this.holds++;
  }

  release(): void {
    assert(this.holds > 0, 'a block was released more often than it was held');
    if (--this.holds === 0) freed(this);
  }

  /** Taken off the free list: the taker is its one holder. */
  retake(): void {
    this.holds = 1;
  }
}

const blocks = new WeakMap<ArrayBufferLike, ReusedBlock>();
/** Free blocks by size class: index 0 is BLOCK_BYTES_MIN, each next one twice the size. */
const free: ReusedBlock[][] = [];
let freeBytes = 0;
/** Blocks taken since the last trim: the free list keeps about that many. */
let takenSinceTrim = 0;
let trimTimer: NodeJS.Timeout | null = null;
let poison = false;
const figures = { blocksMade: 0, blocksRetaken: 0 };

/**
 * A view of `bytes` over a block, held once by the caller (release it with
 * `reusedBlockOf(view)!.release()`), or null when `bytes` is outside the sizes served.
 */
export function takeReused(bytes: number): Buffer | null {
  if (bytes < BLOCK_BYTES_MIN || bytes > BLOCK_BYTES_MAX) return null;
  const sizeClass = sizeClassOf(bytes);
  takenSinceTrim++;
  const block = free[sizeClass]?.pop();
  if (block !== undefined) {
    freeBytes -= block.memory.length;
    block.retake();
    figures.blocksRetaken++;
    return block.memory.subarray(0, bytes);
  }
  figures.blocksMade++;
  const memory = Buffer.allocUnsafeSlow(BLOCK_BYTES_MIN << sizeClass);
  blocks.set(memory.buffer, new ReusedBlock(memory));
  return memory.subarray(0, bytes);
}

/** The smallest size class whose blocks hold `bytes`. */
function sizeClassOf(bytes: number): number {
  let sizeClass = 0;
  while (BLOCK_BYTES_MIN << sizeClass < bytes) sizeClass++;
  return sizeClass;
}

/** The block `view` lies in, or null when it is ordinary memory. */
export function reusedBlockOf(view: Buffer): ReusedBlock | null {
  return blocks.get(view.buffer) ?? null;
}

/** Blocks made and taken again since the process started, and what the free lists hold. */
export function reusedMemoryFigures(): {
  blocksMade: number;
  blocksRetaken: number;
  freeBytes: number;
} {
  return { ...figures, freeBytes };
}

/** Tests: overwrite every block as it is released, so a read after release finds garbage. */
export function poisonReleasedBlocks(on: boolean): void {
  poison = on;
}

function freed(block: ReusedBlock): void {
  if (poison) block.memory.fill(POISON_BYTE);
  if (freeBytes + block.memory.length > FREE_BYTES_MAX) {
    blocks.delete(block.memory.buffer);
    return;
  }
  (free[sizeClassOf(block.memory.length)] ??= []).push(block);
  freeBytes += block.memory.length;
  if (trimTimer === null) {
    trimTimer = setTimeout(trim, TRIM_INTERVAL_MS);
    trimTimer.unref();
  }
}

/** Keeps as many free blocks as were taken since the last trim, the most recently freed. */
function trim(): void {
  trimTimer = null;
  let keep = takenSinceTrim;
  takenSinceTrim = 0;
  for (let sizeClass = free.length - 1; sizeClass >= 0; sizeClass--) {
    const list = free[sizeClass] ?? [];
    const kept = Math.min(keep, list.length);
    keep -= kept;
    for (const block of list.splice(0, list.length - kept)) {
      freeBytes -= block.memory.length;
      blocks.delete(block.memory.buffer);
    }
  }
  if (freeBytes > 0) {
    trimTimer = setTimeout(trim, TRIM_INTERVAL_MS);
    trimTimer.unref();
  }
}
