// An append between `PartitionLog.append()` and its acknowledgement, and the FIFO that holds
// appends on their way through the group-commit pipeline and the tail cache.

import type { BatchSpan } from '../record/batch.js';
import type { ReusedBlock } from '../util/reused-memory.js';

export interface PendingAppend {
  records: Buffer;
  spans: BatchSpan[];
  /** Assigned last offset of each batch, parallel to spans. */
  lastOffsets: number[];
  maxTimestamps: number[];
  /** When append() took it: what time retention measures from by default. */
  appendTimeMs: number;
  baseOffset: number;
  /** The offset after the append's last batch. */
  nextOffset: number;
  recordsCount: number;
  deferFlush: boolean;
  written: boolean;
  settled: boolean;
  /**
   * The reused block `records` lies in (a large produce request's: util/reused-memory.ts), held
   * by the tail cache until the append is written and no longer served from it; else null.
   */
  reused: ReusedBlock | null;
  /** What append() returned as its acknowledgement; null once settled. */
  acknowledged: Promise<void> | null;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A FIFO with O(1) removal at the head and indexed access, for the pending and cached appends. */
export class AppendQueue {
  private items: PendingAppend[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(index: number): PendingAppend {
    return this.items[this.head + index];
  }

  push(item: PendingAppend): void {
    this.items.push(item);
  }

  shift(): PendingAppend | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    // Drop the slot's reference now: a shifted append holds a whole request's bytes, and up
    // to a thousand of them would otherwise stay alive until the array is compacted.
    (this.items as Array<PendingAppend | undefined>)[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  pop(): PendingAppend | undefined {
    if (this.length === 0) return undefined;
    return this.items.pop();
  }

  takeAll(): PendingAppend[] {
    const taken = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return taken;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export function settle(item: PendingAppend): void {
  if (item.settled) return;
  item.settled = true;
  item.resolve();
  forgetPromise(item);
}

export function rejectItem(item: PendingAppend, error: Error): void {
  if (item.settled) return;
  item.settled = true;
  // A caller that never awaits the acknowledgement must not crash the process on rejection. The
  // handler is attached here, not at the append, so that the appends that succeed (nearly all)
  // do not each pay for a derived promise.
  item.acknowledged?.catch(noop);
  item.reject(error);
  forgetPromise(item);
}

/**
 * A settled append stays in the tail cache for a while (up to TAIL_CACHE_APPENDS_MAX appends), long
 * enough to be promoted to the old generation; its acknowledgement promise and the functions that
 * settle it need not go along, to die there as garbage.
 */
function forgetPromise(item: PendingAppend): void {
  item.acknowledged = null;
  item.resolve = noop;
  item.reject = noop;
}

function noop(): void {}
