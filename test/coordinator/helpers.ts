// Test doubles for the group coordinator's ports: a manual clock and an in-memory offsets topic
// whose appends can be held back, to see that nothing is acknowledged before it is durable.

import type {
  CoordinatorClock,
  CoordinatorTimer,
  GroupCoordinatorPorts,
  OffsetsTopicStorage,
  PartitionOffsetsLookup,
} from '../../src/coordinator/group/ports.js';

interface ScheduledTimer {
  dueMs: number;
  sequence: number;
  callback: () => void;
  cancelled: boolean;
}

/** Time moves only when the test says so; due timers fire in order of due time. */
export class ManualClock implements CoordinatorClock {
  private nowMs = 1_000;
  private wallMs = 1_700_000_000_000;
  private sequence = 0;
  private timers: ScheduledTimer[] = [];

  monotonicNowMs(): number {
    return this.nowMs;
  }

  wallClockNowMs(): number {
    return this.wallMs;
  }

  setTimer(delayMs: number, callback: () => void): CoordinatorTimer {
    const timer: ScheduledTimer = {
      dueMs: this.nowMs + Math.max(0, delayMs),
      sequence: this.sequence++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Moves time forward, firing every timer that falls due on the way (including new ones). */
  advance(durationMs: number): void {
    const targetMs = this.nowMs + durationMs;
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      const due = this.timers
        .filter((timer) => timer.dueMs <= targetMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.sequence - b.sequence)[0];
      if (due === undefined) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      const stepMs = Math.max(0, due.dueMs - this.nowMs);
      this.nowMs += stepMs;
      this.wallMs += stepMs;
      due.callback();
    }
    this.wallMs += targetMs - this.nowMs;
    this.nowMs = targetMs;
  }

  /** Moves the wall clock alone (offset retention reads it). */
  advanceWallClock(durationMs: number): void {
    this.wallMs += durationMs;
  }
}

/** `__consumer_offsets` in memory. With `holdAppends`, appends settle only on `releaseAppends`. */
export class MemoryOffsetsTopic implements OffsetsTopicStorage {
  readonly batches = new Map<number, Buffer[]>();
  holdAppends = false;
  failAppends = false;
  private held: (() => void)[] = [];
  leaders: Set<number> | null = null;

  constructor(readonly partitionCount: number) {}

  isLeader(partition: number): boolean {
    return this.leaders === null || this.leaders.has(partition);
  }

  append(partition: number, batch: Buffer): Promise<void> {
    if (this.failAppends) return Promise.reject(new Error('injected append failure'));
    let list = this.batches.get(partition);
    if (list === undefined) {
      list = [];
      this.batches.set(partition, list);
    }
    list.push(Buffer.from(batch));
    if (!this.holdAppends) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }

  releaseAppends(): void {
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }

  get heldAppendCount(): number {
    return this.held.length;
  }

  async *readAll(partition: number): AsyncIterable<Buffer> {
    for (const batch of this.batches.get(partition) ?? []) yield batch;
  }
}

/** Topics with fixed log end offsets. */
export class FixedPartitions implements PartitionOffsetsLookup {
  constructor(private readonly topics: Record<string, number[]>) {}

  logEndOffset(topic: string, partition: number): number | undefined {
    return this.topics[topic]?.[partition];
  }

  logStartOffset(topic: string, partition: number): number | undefined {
    return this.topics[topic]?.[partition] === undefined ? undefined : 0;
  }
}

export function memoryPorts(
  offsetsTopic: OffsetsTopicStorage,
  clock: CoordinatorClock,
  partitions: PartitionOffsetsLookup = new FixedPartitions({ orders: Array(10).fill(100) }),
): GroupCoordinatorPorts {
  return {
    offsetsTopic,
    partitions,
    node: () => ({ nodeId: 1, host: '127.0.0.1', port: 9092 }),
    clock,
  };
}

/** Lets pending promise callbacks run (appends that settled, parked responses). */
export async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve));
}

/** A consumer protocol subscription (version 0) to `topics`. */
export function subscription(topics: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0])];
  const count = Buffer.alloc(4);
  count.writeInt32BE(topics.length);
  parts.push(count);
  for (const topic of topics) {
    const length = Buffer.alloc(2);
    length.writeInt16BE(Buffer.byteLength(topic));
    parts.push(length, Buffer.from(topic));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff])); // userData null
  return Buffer.concat(parts);
}
