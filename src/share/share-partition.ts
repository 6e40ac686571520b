// One source partition as one shared subscription sees it: a window of records between the start
// offset (every record below it is done) and the read position, each with its delivery state.
//
//   logStartOffset … startOffset ─────────── window ─────────── nextOffset … highWatermark
//                    (first not done)   available / acquired /     (read position)
//                                       delayed / dead-lettering
//
// Records enter the window when read from the log (whole batches are read as bytes; a batch whose
// every record is already done is skipped without decoding) and leave it from the front once
// done: acknowledged, dead-lettered or expired. The window holds at most `maxRecordLocks`
// records, so a consumer that never acknowledges stops reading ahead instead of growing memory.
//
// States (persisted ones marked *):
//
//   available* ──acquire──► acquired ──ack──► acknowledged*
//       ▲                     │  release / lock expiry
//       └──── (count < limit) ┘  (count ≥ limit or reject) ──► dead-lettering ──► archived*
//
// Acquired is persisted as available with its delivery count: a restart redelivers it, with a
// higher count, and never what was acknowledged. Everything here is synchronous except `fill`
// (reads the log) and the dead-letter append, which the subscription owns; both re-check
// `closed` after each await.

import type { Partition } from '../replica/partition.js';
import {
  BATCH_HEADER_BYTES,
  batchBaseOffset,
  batchLastOffset,
  batchSizeBytes,
  isControlBatch,
  isTransactionalBatch,
  readInt64,
  BatchField,
} from '../record/batch.js';
import { type DecodedBatch, type RecordHeader, decodeBatchSync } from '../record/records.js';
import { assert } from '../util/assert.js';

/**
 * What a share partition reads: the broker's replica of the partition (leader or follower; both
 * hold every record below the high watermark), or in cluster mode a partition this broker holds
 * no replica of, read from its leader (remote-source-partition.ts).
 */
export interface SourcePartition extends Pick<
  Partition,
  | 'partitionIndex'
  | 'highWatermark'
  | 'lastStableOffset'
  | 'logStartOffset'
  | 'read'
  | 'abortedTransactions'
> {
  /** Registers for high watermark and last stable offset moves. */
  onHighWatermarkAdvance(listener: () => void): () => void;
}

export type RecordState = 'available' | 'acquired' | 'acknowledged' | 'dead-lettering' | 'archived';

/** A record of the window. `key`, `value` and `headers` are dropped once it is done. */
export interface TrackedRecord {
  readonly partition: number;
  readonly offset: number;
  state: RecordState;
  deliveryCount: number;
  /** The consumer holding it while acquired. */
  consumerId: string | null;
  lockUntilMs: number;
  /** Not delivered before this time (deliver.at.ms / deliver.after.ms, or a nack's delay). */
  notBeforeMs: number;
  /** Never delivered from this time on (ttl.ms or the subscription's messageTtlMs). */
  expiresAtMs: number;
  /** Bumped on every state change, so a stale timer entry is recognised and ignored. */
  generation: number;
  /** Per-key ordering key (the key's bytes as latin1 text), null without a key. */
  readonly orderingKey: string | null;
  readonly timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
  lastError: string | null;
  /** The delivery sequence number to its consumer, for Last-Event-ID resume. */
  sendSequence: number;
  /** In the ready list. */
  queued: boolean;
}

/** The persisted state of one share partition: a record of __share_group_state. */
type PersistedState = 'available' | 'acknowledged' | 'archived';

export interface SharePartitionSnapshot {
  readonly startOffset: number;
  /**
   * [firstOffset, lastOffset, state, deliveryCount] runs of window records that are done or were
   * delivered: consecutive offsets in one state with one count share a run, so a snapshot stays
   * small however many records are in flight.
   */
  readonly records: ReadonlyArray<readonly [number, number, PersistedState, number]>;
  readonly acknowledged: number;
  readonly deadLettered: number;
  readonly expired: number;
}

export interface SharePartitionOptions {
  readonly maxRecordLocks: number;
  readonly messageTtlMs: () => number | null;
  readonly orderingByKey: () => boolean;
  readonly now: () => number;
  /** A record's delivery time or expiry needs a timer. */
  readonly schedule: (dueMs: number, record: TrackedRecord) => void;
  /** The lock sweep is due at `dueMs`: the owner calls `sweepLocks(dueMs)` then. */
  readonly scheduleLockSweep: (dueMs: number) => void;
  /** Records became available (read, released, delay over): consumers may take them. */
  readonly onAvailable: () => void;
  /** A record expired: counted here; the subscription may dead-letter it. */
  readonly onExpired: (record: TrackedRecord) => void;
  readonly onChange: () => void;
}

const readChunkBytes = 1024 * 1024;
/** The headers of a record once it is done (its key, value and headers are dropped). */
const noHeaders: readonly RecordHeader[] = Object.freeze([]);

export class SharePartition {
  /**
   * The window, in offset order; done records are removed lazily from the front. A record is
   * found by its offset here (no map: one entry less to make and drop per record read).
   */
  private readonly order: TrackedRecord[] = [];
  private orderHead = 0;
  /** Available records whose time has come, kept sorted by offset. */
  private readonly ready: TrackedRecord[] = [];
  /** Unfinished records of each key in offset order (ordering: key). */
  private readonly unfinishedByKey = new Map<string, TrackedRecord[]>();
  /** States read from __share_group_state, applied as the log is read again. */
  private readonly restored = new Map<number, { state: string; deliveryCount: number }>();
  private nextOffset: number;
  /**
   * When the lock sweep is due: the earliest lock of an acquired record when it was armed
   * (Infinity: none armed). Locks expire by one sweep of the window, not a timer per record, so
   * what is scheduled stays one entry per partition however fast records are delivered, and an
   * acknowledged record is not kept alive by a timer until its lock time.
   */
  private lockSweepAtMs = Infinity;
  /**
   * The batch being read into the window, when the window filled before its end: the next fill
   * takes the rest from here instead of reading and decoding the batch again (a batch may hold
   * many times the window's free room).
   */
  private pending: { readonly batch: DecodedBatch; next: number } | null = null;
  private filling = false;
  private fillAgain = false;
  private closed = false;
  private unsubscribe: () => void;
  acknowledged = 0;
  deadLettered = 0;
  expired = 0;

  constructor(
    private sourceValue: SourcePartition,
    private readonly options: SharePartitionOptions,
    start: SharePartitionSnapshot | { startOffset: number },
  ) {
    this.nextOffset = start.startOffset;
    if ('records' in start) {
      for (const [firstOffset, lastOffset, state, deliveryCount] of start.records) {
        for (let offset = firstOffset; offset <= lastOffset; offset += 1)
          this.restored.set(offset, { state, deliveryCount });
      }
      this.acknowledged = start.acknowledged;
      this.deadLettered = start.deadLettered;
      this.expired = start.expired;
    }
    this.unsubscribe = sourceValue.onHighWatermarkAdvance(() => this.fill());
  }

  /** Where the partition's records are read: this broker's replica, or its leader's. */
  get source(): SourcePartition {
    return this.sourceValue;
  }

  /**
   * Reads from `source` from now on: the same partition in another place (a replica this broker
   * no longer holds, read from its leader instead). The window, the records read ahead and the
   * next offset stay; a read in flight from the old source that fails is read again here.
   */
  swapSource(source: SourcePartition): void {
    if (this.closed) return;
    assert(source.partitionIndex === this.partitionIndex, 'a source of another partition');
    this.unsubscribe();
    this.sourceValue = source;
    this.unsubscribe = source.onHighWatermarkAdvance(() => this.fill());
    this.fill();
  }

  get partitionIndex(): number {
    return this.source.partitionIndex;
  }

  /** Every record below this is done. */
  get startOffset(): number {
    this.trimFront();
    return this.orderHead < this.order.length ? this.order[this.orderHead].offset : this.nextOffset;
  }

  close(): void {
    this.closed = true;
    this.pending = null;
    this.unsubscribe();
  }

  record(offset: number): TrackedRecord | undefined {
    const order = this.order;
    let low = this.orderHead;
    let high = order.length;
    if (low >= high) return undefined;
    // Offsets of the window are mostly consecutive: try where the offset would be without gaps.
    const guess = low + (offset - order[low].offset);
    if (guess >= low && guess < high && order[guess].offset === offset) return order[guess];
    while (low < high) {
      const middle = (low + high) >> 1;
      if (order[middle].offset < offset) low = middle + 1;
      else high = middle;
    }
    return low < order.length && order[low].offset === offset ? order[low] : undefined;
  }

  /** Records of the window, done ones included until trimmed. */
  *records(): Iterable<TrackedRecord> {
    for (let index = this.orderHead; index < this.order.length; index += 1) yield this.order[index];
  }

  stats(): { lag: number; inFlight: number; ready: number; delayed: number } {
    let inFlight = 0;
    let delayed = 0;
    let unfinished = 0;
    const nowMs = this.options.now();
    for (const record of this.records()) {
      if (record.state === 'acquired') inFlight += 1;
      if (record.state === 'available' && record.notBeforeMs > nowMs) delayed += 1;
      if (!isDone(record.state)) unfinished += 1;
    }
    const unread = Math.max(0, this.source.lastStableOffset - this.nextOffset);
    return { lag: unfinished + unread, inFlight, ready: this.ready.length + unread, delayed };
  }

  snapshot(): SharePartitionSnapshot {
    const records: Array<[number, number, PersistedState, number]> = [];
    const add = (offset: number, state: PersistedState, deliveryCount: number): void => {
      const last = records[records.length - 1];
      if (
        last !== undefined &&
        last[1] === offset - 1 &&
        last[2] === state &&
        last[3] === deliveryCount
      )
        last[1] = offset;
      else records.push([offset, offset, state, deliveryCount]);
    };
    // An index loop, not records(): this runs for every state write, over the whole window.
    for (let index = this.orderHead; index < this.order.length; index += 1) {
      const record = this.order[index];
      if (record.state === 'acknowledged' || record.state === 'archived') {
        add(record.offset, record.state, record.deliveryCount);
      } else if (record.deliveryCount > 0) {
        add(record.offset, 'available', record.deliveryCount);
      }
    }
    // States restored but not read back yet are still true (the map is in offset order).
    for (const [offset, { state, deliveryCount }] of this.restored) {
      if (offset >= this.nextOffset) add(offset, state as PersistedState, deliveryCount);
    }
    return {
      startOffset: this.startOffset,
      records,
      acknowledged: this.acknowledged,
      deadLettered: this.deadLettered,
      expired: this.expired,
    };
  }

  /**
   * Takes up to `max` records for `consumerId`, lowest offset first, holding each until
   * `lockUntilMs`. Expired records met on the way are expired, not delivered.
   */
  acquire(consumerId: string, max: number, lockUntilMs: number): TrackedRecord[] {
    const taken: TrackedRecord[] = [];
    const nowMs = this.options.now();
    const orderingByKey = this.options.orderingByKey();
    // One pass, rebuilding the ready list once: splicing each taken record out of its front
    // would make a large acquisition quadratic.
    const kept: TrackedRecord[] = [];
    for (const record of this.ready) {
      if (taken.length >= max) {
        kept.push(record);
        continue;
      }
      if (record.state !== 'available' || record.notBeforeMs > nowMs) continue;
      if (record.expiresAtMs <= nowMs) {
        this.expire(record);
        continue;
      }
      if (orderingByKey && record.orderingKey !== null) {
        const queue = this.unfinishedByKey.get(record.orderingKey);
        if (queue !== undefined && queue[0] !== record) {
          kept.push(record);
          continue;
        }
      }
      record.state = 'acquired';
      record.consumerId = consumerId;
      record.deliveryCount += 1;
      record.lockUntilMs = lockUntilMs;
      record.generation += 1;
      taken.push(record);
    }
    for (const record of this.ready) record.queued = false;
    this.ready.length = 0;
    for (const record of kept) {
      record.queued = true;
      this.ready.push(record);
    }
    if (taken.length > 0) {
      this.armLockSweep(lockUntilMs);
      this.options.onChange();
    }
    return taken;
  }

  /** Holds an acquired record for `lockUntilMs` more (a share consumer's renew acknowledgement). */
  renew(record: TrackedRecord, lockUntilMs: number): void {
    assert(
      record.state === 'acquired',
      `renewing record ${record.offset} in state ${record.state}`,
    );
    record.lockUntilMs = lockUntilMs;
    record.generation += 1;
    this.armLockSweep(lockUntilMs);
  }

  /**
   * The lock sweep armed for `dueMs` came due: answers the acquired records whose lock passed
   * (the subscription gives them back) and arms the next sweep for the earliest lock left. A
   * sweep superseded by an earlier one does nothing.
   */
  sweepLocks(dueMs: number): TrackedRecord[] {
    if (this.closed || dueMs !== this.lockSweepAtMs) return [];
    this.lockSweepAtMs = Infinity;
    const nowMs = this.options.now();
    const expired: TrackedRecord[] = [];
    let nextMs = Infinity;
    // Acquired records are never done, so all of them are in the window.
    for (let index = this.orderHead; index < this.order.length; index += 1) {
      const record = this.order[index];
      if (record.state !== 'acquired') continue;
      if (record.lockUntilMs <= nowMs) expired.push(record);
      else if (record.lockUntilMs < nextMs) nextMs = record.lockUntilMs;
    }
    if (nextMs !== Infinity) this.armLockSweep(nextMs);
    return expired;
  }

  private armLockSweep(lockUntilMs: number): void {
    if (lockUntilMs >= this.lockSweepAtMs) return;
    this.lockSweepAtMs = lockUntilMs;
    this.options.scheduleLockSweep(lockUntilMs);
  }

  /** Marks an acquired record acknowledged. */
  acknowledge(record: TrackedRecord): void {
    this.acknowledgeAll([record]);
  }

  /** Marks acquired records acknowledged (a range of an ack): one trim of the window for all. */
  acknowledgeAll(records: readonly TrackedRecord[]): void {
    if (records.length === 0) return;
    for (const record of records) {
      // The message only when it fails: building it per record costs a string each.
      if (record.state !== 'acquired')
        assert(false, `acknowledging record ${record.offset} in state ${record.state}`);
      this.settle(record, 'acknowledged');
    }
    this.acknowledged += records.length;
    this.afterSettle();
    this.options.onChange();
  }

  /** Makes an acquired (or dead-lettering, after a failed append) record available again. */
  release(record: TrackedRecord, notBeforeMs: number): void {
    record.state = 'available';
    record.consumerId = null;
    record.generation += 1;
    record.notBeforeMs = Math.max(record.notBeforeMs, notBeforeMs);
    this.makeReady(record);
    this.options.onChange();
  }

  /** The record is on its way to the dead-letter topic: neither available nor done. */
  markDeadLettering(record: TrackedRecord, error: string | null): void {
    record.state = 'dead-lettering';
    record.consumerId = null;
    record.generation += 1;
    if (error !== null) record.lastError = error;
  }

  /** The dead-letter append is durable (or the record expired without one). */
  archive(record: TrackedRecord, counter: 'deadLettered' | 'expired'): void {
    this.finish(record, 'archived');
    this[counter] += 1;
    this.options.onChange();
  }

  /** A timer came due for `record`: a delay ended or a TTL passed. */
  onTimer(record: TrackedRecord, generation: number): void {
    if (record.generation !== generation || this.closed) return;
    const nowMs = this.options.now();
    if (record.state === 'available') {
      if (record.expiresAtMs <= nowMs) this.expire(record);
      else this.makeReady(record);
    }
  }

  /** Reads from the log into the window until it is full or the log is read up to its end. */
  fill(): void {
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    this.filling = true;
    this.fillOnce()
      .catch(() => undefined)
      .finally(() => {
        this.filling = false;
        if (this.fillAgain && !this.closed) {
          this.fillAgain = false;
          this.fill();
        }
      });
  }

  private async fillOnce(): Promise<void> {
    let added = false;
    // Retention may have removed records the subscription never saw: they are gone for it too.
    if (this.nextOffset < this.source.logStartOffset) this.nextOffset = this.source.logStartOffset;
    reading: while (!this.closed && this.windowSize() < this.options.maxRecordLocks) {
      if (this.pending !== null) {
        added = this.takePending() || added;
        continue;
      }
      const upperBound = this.source.lastStableOffset;
      if (this.nextOffset >= upperBound) break;
      const { chunks } = await this.source.read(this.nextOffset, readChunkBytes, upperBound, true);
      if (this.closed || chunks.length === 0) break;
      for (const chunk of chunks) {
        for (let position = 0; position + BATCH_HEADER_BYTES <= chunk.length;) {
          const sizeBytes = batchSizeBytes(chunk, position);
          const lastOffset = batchLastOffset(chunk, position);
          position += sizeBytes;
          if (lastOffset < this.nextOffset) continue;
          if (this.skipBatch(chunk, position - sizeBytes, lastOffset)) {
            this.nextOffset = lastOffset + 1;
            continue;
          }
          this.pending = {
            batch: decodeBatchSync(chunk.subarray(position - sizeBytes, position)),
            next: 0,
          };
          added = this.takePending() || added;
          // The window filled inside this batch: the rest of it waits in `pending`.
          if (this.pending !== null) continue reading;
        }
      }
    }
    for (const offset of this.restored.keys())
      if (offset < this.nextOffset) this.restored.delete(offset);
    if (added) this.options.onAvailable();
  }

  /**
   * Tracks records of the pending batch until the window is full or the batch is done; true
   * when one became ready. Records are tracked, not copied: they remain views of the read chunk.
   */
  private takePending(): boolean {
    const pending = this.pending;
    assert(pending !== null, 'no batch is pending');
    const { batch } = pending;
    let added = false;
    while (pending.next < batch.records.length) {
      if (this.windowSize() >= this.options.maxRecordLocks) return added;
      const decoded = batch.records[pending.next];
      pending.next += 1;
      if (decoded.offset < this.nextOffset) continue;
      const timestamp = batch.isLogAppendTime ? batch.maxTimestamp : decoded.timestamp;
      added = this.track(decoded.offset, timestamp, decoded) || added;
      this.nextOffset = decoded.offset + 1;
    }
    // Offsets compacted away at the batch's end are passed over too.
    this.nextOffset = Math.max(this.nextOffset, batch.baseOffset + batch.lastOffsetDelta + 1);
    this.pending = null;
    return added;
  }

  /** A batch to pass over as bytes: a marker, aborted, or every record already done. */
  private skipBatch(chunk: Buffer, position: number, lastOffset: number): boolean {
    if (isControlBatch(chunk, position)) return true;
    const baseOffset = batchBaseOffset(chunk, position);
    if (isTransactionalBatch(chunk, position)) {
      const producerId = readInt64(chunk, position + BatchField.producerId);
      const aborted = this.source
        .abortedTransactions(baseOffset, lastOffset + 1)
        .some(
          (txn) =>
            txn.producerId === producerId &&
            txn.firstOffset <= lastOffset &&
            txn.lastOffset >= baseOffset,
        );
      if (aborted) return true;
    }
    if (this.restored.size === 0) return false;
    for (let offset = Math.max(baseOffset, this.nextOffset); offset <= lastOffset; offset += 1) {
      const state = this.restored.get(offset)?.state;
      if (state !== 'acknowledged' && state !== 'archived') return false;
    }
    return true;
  }

  private track(
    offset: number,
    timestamp: number,
    decoded: { key: Buffer | null; value: Buffer | null; headers: RecordHeader[] },
  ): boolean {
    const restored = this.restored.get(offset);
    if (restored !== undefined) this.restored.delete(offset);
    if (restored?.state === 'acknowledged' || restored?.state === 'archived') return false;
    const record: TrackedRecord = {
      partition: this.partitionIndex,
      offset,
      state: 'available',
      deliveryCount: restored?.deliveryCount ?? 0,
      consumerId: null,
      lockUntilMs: 0,
      notBeforeMs: deliveryTimeOf(decoded.headers, timestamp),
      expiresAtMs: expiryOf(decoded.headers, timestamp, this.options.messageTtlMs()),
      generation: 0,
      orderingKey: decoded.key === null ? null : decoded.key.toString('latin1'),
      timestamp,
      key: decoded.key,
      value: decoded.value,
      headers: decoded.headers,
      lastError: null,
      sendSequence: 0,
      queued: false,
    };
    this.order.push(record);
    if (record.orderingKey !== null) {
      const queue = this.unfinishedByKey.get(record.orderingKey);
      if (queue === undefined) this.unfinishedByKey.set(record.orderingKey, [record]);
      else queue.push(record);
    }
    const nowMs = this.options.now();
    if (record.expiresAtMs <= nowMs) {
      this.expire(record);
      return false;
    }
    if (record.expiresAtMs !== Infinity) this.options.schedule(record.expiresAtMs, record);
    return this.makeReady(record);
  }

  /** Puts an available record in the ready list, or schedules it for when its delay ends. */
  private makeReady(record: TrackedRecord): boolean {
    if (record.notBeforeMs > this.options.now()) {
      this.options.schedule(record.notBeforeMs, record);
      return false;
    }
    if (record.queued) return true;
    record.queued = true;
    // Records are read in offset order, so most land at the end.
    const last = this.ready[this.ready.length - 1];
    if (last === undefined || last.offset < record.offset) {
      this.ready.push(record);
      this.options.onAvailable();
      return true;
    }
    let low = 0;
    let high = this.ready.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.ready[middle].offset < record.offset) low = middle + 1;
      else high = middle;
    }
    this.ready.splice(low, 0, record);
    this.options.onAvailable();
    return true;
  }

  private expire(record: TrackedRecord): void {
    record.lastError = 'expired';
    this.options.onExpired(record);
  }

  private finish(record: TrackedRecord, state: 'acknowledged' | 'archived'): void {
    this.settle(record, state);
    this.afterSettle();
  }

  /** The record is done; `afterSettle` then trims the window. */
  private settle(record: TrackedRecord, state: 'acknowledged' | 'archived'): void {
    record.state = state;
    record.consumerId = null;
    record.generation += 1;
    record.key = null;
    record.value = null;
    record.headers = noHeaders;
    if (record.orderingKey !== null) {
      const queue = this.unfinishedByKey.get(record.orderingKey);
      if (queue !== undefined) {
        const index = queue.indexOf(record);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0) this.unfinishedByKey.delete(record.orderingKey);
        // The key's next record may go now.
        else if (queue[0].state === 'available') this.options.onAvailable();
      }
    }
  }

  private afterSettle(): void {
    const wasFull = this.windowSize() >= this.options.maxRecordLocks;
    this.trimFront();
    if (wasFull) this.fill();
  }

  private windowSize(): number {
    return this.order.length - this.orderHead;
  }

  private trimFront(): void {
    while (this.orderHead < this.order.length && isDone(this.order[this.orderHead].state))
      this.orderHead += 1;
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }
}

function isDone(state: RecordState): boolean {
  return state === 'acknowledged' || state === 'archived';
}

/** A header's value as a whole number of milliseconds, or null when absent or not a number. */
function numericHeader(headers: readonly RecordHeader[], name: string): number | null {
  for (let index = headers.length - 1; index >= 0; index -= 1) {
    const header = headers[index];
    if (header.key !== name || header.value === null) continue;
    const value = Number(header.value.toString('utf8').trim());
    return Number.isFinite(value) ? value : null;
  }
  return null;
}

/** deliver.at.ms (epoch ms) or deliver.after.ms (after the record's timestamp); the later wins. */
function deliveryTimeOf(headers: readonly RecordHeader[], timestamp: number): number {
  if (headers.length === 0) return 0;
  const at = numericHeader(headers, 'deliver.at.ms') ?? 0;
  const after = numericHeader(headers, 'deliver.after.ms');
  return Math.max(at, after === null ? 0 : timestamp + after);
}

/** ttl.ms after the record's timestamp, else the subscription's message TTL, else never. */
function expiryOf(
  headers: readonly RecordHeader[],
  timestamp: number,
  messageTtlMs: number | null,
): number {
  const ttlMs = (headers.length > 0 ? numericHeader(headers, 'ttl.ms') : null) ?? messageTtlMs;
  return ttlMs === null || ttlMs <= 0 ? Infinity : timestamp + ttlMs;
}
