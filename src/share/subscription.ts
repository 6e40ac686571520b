// One shared subscription: a topic read on behalf of many consumers that each take records, not
// partitions. It owns a SharePartition per source partition, the consumers attached to it (SSE
// streams, WebSockets, the webhook dispatcher), one timer index for lock expiry, delays and TTLs,
// and the write of its state to __share_group_state.
//
// Dispatch: whenever records may have become available or a consumer gained credits, one
// dispatch runs (coalesced to one per tick). It gives each attached consumer at most
// `maxInFlight - held` records, taking partitions round-robin, so a slow consumer holds at most
// its credits and the broker buffers nothing for it beyond the window.
//
// State writes: a change marks the subscription dirty; one write is in flight at a time and
// carries every partition's snapshot (a compacted key per partition), so writes group-commit
// with whatever else the log is flushing. `durable()` resolves once a write that started after
// the call is durable: an acknowledgement is answered only then.
//
// Across awaits (the state write, a dead-letter append) a record may have changed state; each
// continuation checks the record's `generation` or the subscription's `closed` first.

import type { SubscriptionDefinition } from './subscription-definition.js';
import {
  SharePartition,
  type SourcePartition,
  type SharePartitionSnapshot,
  type TrackedRecord,
} from './share-partition.js';
import { ShareError } from './share-errors.js';
import { TimerIndex } from './timer-index.js';
import { type Delivery, encodeDelivery, parseRecordId } from './delivery.js';

export type { Delivery };

/** Where a consumer's records go: an SSE stream, a WebSocket, the webhook dispatcher. */
export interface ConsumerSink {
  /** Credits: unacknowledged records it may hold (the subscription's maxInFlight at most). */
  readonly maxInFlight: number;
  /** False while the transport is backed up: no records are given to it until `resume`. */
  readonly writable: boolean;
  deliver(records: readonly Delivery[]): void;
}

interface ConsumerState {
  readonly id: string;
  sink: ConsumerSink | null;
  readonly held: Set<TrackedRecord>;
  sendSequence: number;
}

export type SettleOutcome = 'ok' | 'not-acquired' | 'not-holder' | 'settled' | 'unknown-record';

export interface SubscriptionStats {
  readonly available: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly acknowledged: number;
  readonly deadLettered: number;
  readonly expired: number;
  readonly lag: number;
  readonly consumers: number;
}

export interface SubscriptionPorts {
  readonly now: () => number;
  readonly maxRecordLocks: number;
  /** Appends the subscription's state records; resolves once durable. */
  writeState(snapshots: ReadonlyMap<number, SharePartitionSnapshot>): Promise<void>;
  /** Appends `record` to the dead-letter topic with its provenance headers; resolves once durable. */
  deadLetter(
    record: TrackedRecord,
    reason: 'rejected' | 'max-deliveries' | 'expired',
  ): Promise<void>;
  log(message: string, error: unknown): void;
}

const deadLetterRetryMs = 1000;

/**
 * What a timer entry stands for: a record's delay or TTL, or a partition's lock sweep. A record is
 * named by partition and offset, not held, so a record that is done meanwhile can be collected;
 * with the generation it had when scheduled, so an entry for a record that changed since is stale
 * and ignored.
 */
type TimerDue =
  | { readonly partition: number; readonly offset: number; readonly generation: number }
  | { readonly sweepPartition: number; readonly dueMs: number };

export class Subscription {
  private readonly partitions = new Map<number, SharePartition>();
  private readonly consumers = new Map<string, ConsumerState>();
  private readonly timers: TimerIndex<TimerDue>;
  private dispatchScheduled = false;
  private partitionCursor = 0;
  private closed = false;
  private writing: Promise<void> | null = null;
  private dirty = false;
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private definitionValue: SubscriptionDefinition;
  /** Pull consumers (ShareFetch long polls) waiting for records; told on every dispatch. */
  private readonly pullWaiters = new Set<() => void>();

  constructor(
    definition: SubscriptionDefinition,
    private readonly ports: SubscriptionPorts,
  ) {
    this.definitionValue = definition;
    this.timers = new TimerIndex((entries) => {
      for (const entry of entries) {
        if ('sweepPartition' in entry) this.sweepLocks(entry.sweepPartition, entry.dueMs);
        else this.onTimer(entry.partition, entry.offset, entry.generation);
      }
    }, ports.now);
  }

  get name(): string {
    return this.definitionValue.name;
  }

  get definition(): SubscriptionDefinition {
    return this.definitionValue;
  }

  /** Limits and modes may change; the topic and start may not (the engine checks). */
  redefine(definition: SubscriptionDefinition): void {
    this.definitionValue = definition;
    this.scheduleDispatch();
  }

  /** Starts tracking a source partition from its persisted state or a start offset. */
  addPartition(
    source: SourcePartition,
    start: SharePartitionSnapshot | { startOffset: number },
  ): void {
    const sharePartition = new SharePartition(
      source,
      {
        maxRecordLocks: this.ports.maxRecordLocks,
        messageTtlMs: () => this.definitionValue.messageTtlMs,
        orderingByKey: () => this.definitionValue.ordering === 'key',
        now: this.ports.now,
        schedule: (dueMs, record) => this.scheduleRecord(dueMs, record),
        scheduleLockSweep: (dueMs) =>
          this.timers.add(dueMs, { sweepPartition: source.partitionIndex, dueMs }),
        onAvailable: () => this.scheduleDispatch(),
        onExpired: (record) => this.expire(record),
        onChange: () => this.markDirty(),
      },
      start,
    );
    this.partitions.set(source.partitionIndex, sharePartition);
    sharePartition.fill();
  }

  /**
   * Starts partition `index` over at `startOffset` (AlterShareGroupOffsets): its window and the
   * records read ahead are dropped, and reading starts again there; the counters stay. Refused
   * ('held') while a consumer holds one of its records. Records of the old window still waiting
   * on a timer or a dead-letter append are not in the new one, so what those continuations do
   * reaches nothing.
   */
  resetPartition(index: number, startOffset: number): 'ok' | 'unknown-partition' | 'held' {
    const current = this.partitions.get(index);
    if (current === undefined) return 'unknown-partition';
    for (const consumer of this.consumers.values())
      for (const record of consumer.held) if (record.partition === index) return 'held';
    current.close();
    const { acknowledged, deadLettered, expired } = current.snapshot();
    this.addPartition(current.source, {
      startOffset,
      records: [],
      acknowledged,
      deadLettered,
      expired,
    });
    this.markDirty();
    return 'ok';
  }

  /** The share-partition start offset: every record of `index` below it is done. */
  startOffsetOf(index: number): number | undefined {
    return this.partitions.get(index)?.startOffset;
  }

  hasPartition(index: number): boolean {
    return this.partitions.has(index);
  }

  /** Reads partition `index` from `source` from now on (SharePartition.swapSource). */
  swapSource(index: number, source: SourcePartition): void {
    this.partitions.get(index)?.swapSource(source);
  }

  /** Where partition `index` is read from: this broker's replica, or (cluster mode) its leader. */
  sourceOf(index: number): SourcePartition | undefined {
    return this.partitions.get(index)?.source;
  }

  stats(): SubscriptionStats {
    let available = 0;
    let inFlight = 0;
    let delayed = 0;
    let acknowledged = 0;
    let deadLettered = 0;
    let expired = 0;
    let lag = 0;
    for (const partition of this.partitions.values()) {
      const stats = partition.stats();
      available += stats.ready;
      inFlight += stats.inFlight;
      delayed += stats.delayed;
      lag += stats.lag;
      acknowledged += partition.acknowledged;
      deadLettered += partition.deadLettered;
      expired += partition.expired;
    }
    const consumers = [...this.consumers.values()].filter(
      (consumer) => consumer.sink !== null,
    ).length;
    return { available, inFlight, delayed, acknowledged, deadLettered, expired, lag, consumers };
  }

  snapshots(): Map<number, SharePartitionSnapshot> {
    const snapshots = new Map<number, SharePartitionSnapshot>();
    for (const [index, partition] of this.partitions) snapshots.set(index, partition.snapshot());
    return snapshots;
  }

  /**
   * Attaches a consumer. With `resumeAfter` (an SSE Last-Event-ID) and records this consumer
   * still holds, the ones sent after that id are sent again, with the same delivery count.
   */
  attach(consumerId: string, sink: ConsumerSink, resumeAfter: string | null = null): () => void {
    let consumer = this.consumers.get(consumerId);
    if (consumer === undefined) {
      consumer = { id: consumerId, sink: null, held: new Set(), sendSequence: 0 };
      this.consumers.set(consumerId, consumer);
    }
    consumer.sink = sink;
    const attached = consumer;
    if (consumer.held.size > 0) {
      const threshold =
        resumeAfter === null ? 0 : (this.findRecord(resumeAfter)?.sendSequence ?? 0);
      const resend = [...consumer.held]
        .filter((record) => record.consumerId === consumerId && record.sendSequence > threshold)
        .sort((a, b) => a.sendSequence - b.sendSequence);
      if (resend.length > 0) sink.deliver(this.deliveries(resend));
    }
    this.scheduleDispatch();
    return () => {
      if (attached.sink === sink) attached.sink = null;
      // Held records stay held until acknowledged or their lock expires: the consumer may
      // come back (SSE reconnects) and acknowledge them.
      if (attached.held.size === 0 && attached.sink === null) this.consumers.delete(consumerId);
    };
  }

  /**
   * Pull acquisition (a Kafka share consumer's ShareFetch): up to `max` records of one source
   * partition for `consumerId`, lowest offset first, locked for the acknowledgement timeout.
   * The consumer needs no sink; its records count as held like a push consumer's.
   */
  acquireFor(consumerId: string, partitionIndex: number, max: number): TrackedRecord[] {
    const partition = this.partitions.get(partitionIndex);
    if (partition === undefined || max <= 0 || this.closed) return [];
    let consumer = this.consumers.get(consumerId);
    if (consumer === undefined) {
      consumer = { id: consumerId, sink: null, held: new Set(), sendSequence: 0 };
      this.consumers.set(consumerId, consumer);
    }
    const credits = Math.min(max, this.definitionValue.maxInFlight - consumer.held.size);
    if (credits <= 0) return [];
    const taken = partition.acquire(
      consumerId,
      credits,
      this.ports.now() + this.definitionValue.ackTimeoutMs,
    );
    for (const record of taken) {
      consumer.held.add(record);
      consumer.sendSequence += 1;
      record.sendSequence = consumer.sendSequence;
    }
    if (consumer.held.size === 0 && consumer.sink === null) this.consumers.delete(consumerId);
    return taken;
  }

  /** Calls `listener` once records may be available to pull; returns a cancel function. */
  whenAvailable(listener: () => void): () => void {
    this.pullWaiters.add(listener);
    return () => this.pullWaiters.delete(listener);
  }

  /** Extends the lock of a record `consumerId` holds by the acknowledgement timeout. */
  renew(partition: number, offset: number, consumerId: string | null): SettleOutcome {
    const found = this.held(partition, offset, consumerId);
    if (typeof found === 'string') return found;
    this.partitions
      .get(found.partition)
      ?.renew(found, this.ports.now() + this.definitionValue.ackTimeoutMs);
    return 'ok';
  }

  /**
   * Gives back every record `consumerId` holds (a share-group member left or timed out), or those
   * in `partitions` only (one of its share sessions closed).
   */
  releaseConsumer(consumerId: string, error: string, partitions?: ReadonlySet<number>): void {
    const consumer = this.consumers.get(consumerId);
    if (consumer === undefined) return;
    for (const record of [...consumer.held]) {
      if (record.state !== 'acquired' || record.consumerId !== consumerId) continue;
      if (partitions !== undefined && !partitions.has(record.partition)) continue;
      this.releaseHold(record);
      this.giveBack(record, 0, error);
    }
  }

  /** A consumer's transport drained: it may take records again. */
  resume(): void {
    this.scheduleDispatch();
  }

  acknowledge(partition: number, offset: number, consumerId: string | null): SettleOutcome {
    const found = this.held(partition, offset, consumerId);
    if (typeof found === 'string') return found;
    this.releaseHold(found);
    this.partitions.get(found.partition)?.acknowledge(found);
    return 'ok';
  }

  /**
   * Acknowledges offsets `firstOffset` to `lastOffset` of a partition (an ack range): each as
   * `acknowledge` would, with one trim of the window and one state change for the range. Answers
   * how many were acknowledged and the outcome of each that was not.
   */
  acknowledgeRange(
    partitionIndex: number,
    firstOffset: number,
    lastOffset: number,
    consumerId: string | null,
  ): { acknowledged: number; refused: Array<[number, Exclude<SettleOutcome, 'ok'>]> } {
    const refused: Array<[number, Exclude<SettleOutcome, 'ok'>]> = [];
    const records: TrackedRecord[] = [];
    for (let offset = firstOffset; offset <= lastOffset; offset += 1) {
      const found = this.held(partitionIndex, offset, consumerId);
      if (typeof found === 'string') refused.push([offset, found]);
      else {
        this.releaseHold(found);
        records.push(found);
      }
    }
    this.partitions.get(partitionIndex)?.acknowledgeAll(records);
    return { acknowledged: records.length, refused };
  }

  /** Gives the record back; with `delayMs` (a nack) it is not redelivered before then. */
  release(
    partition: number,
    offset: number,
    consumerId: string | null,
    delayMs = 0,
    error: string | null = null,
  ): SettleOutcome {
    const found = this.held(partition, offset, consumerId);
    if (typeof found === 'string') return found;
    this.releaseHold(found);
    if (error !== null) found.lastError = error;
    this.giveBack(found, this.ports.now() + delayMs, error);
    return 'ok';
  }

  /** The consumer cannot process the record: it goes to the dead-letter topic now. */
  reject(
    partition: number,
    offset: number,
    consumerId: string | null,
    reason: string | null,
  ): SettleOutcome {
    const found = this.held(partition, offset, consumerId);
    if (typeof found === 'string') return found;
    this.releaseHold(found);
    this.sendToDeadLetter(found, 'rejected', reason ?? 'rejected by the consumer');
    return 'ok';
  }

  /** Resolves once every state change made before the call is durable. */
  durable(): Promise<void> {
    if (!this.dirty && this.writing === null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.markDirty();
    });
  }

  close(): void {
    this.closed = true;
    this.timers.close();
    for (const partition of this.partitions.values()) partition.close();
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(
        new ShareError(
          'subscription-unavailable',
          `subscription ${this.name} closed here (deleted, or moved to another broker of the cluster) before its state was written`,
        ),
      );
    }
  }

  // ───────────────────────────── records ─────────────────────────────

  private findRecord(id: string): TrackedRecord | undefined {
    const parsed = parseRecordId(id);
    if (parsed === null) return undefined;
    return this.partitions.get(parsed.partition)?.record(parsed.offset);
  }

  private held(
    partitionIndex: number,
    offset: number,
    consumerId: string | null,
  ): TrackedRecord | Exclude<SettleOutcome, 'ok'> {
    const partition = this.partitions.get(partitionIndex);
    const record = partition?.record(offset);
    if (record === undefined) {
      if (partition !== undefined && offset < partition.startOffset) return 'settled';
      return 'unknown-record';
    }
    if (record.state === 'acknowledged' || record.state === 'archived') return 'settled';
    if (record.state !== 'acquired') return 'not-acquired';
    if (consumerId !== null && record.consumerId !== consumerId) return 'not-holder';
    return record;
  }

  private releaseHold(record: TrackedRecord): void {
    if (record.consumerId === null) return;
    const consumer = this.consumers.get(record.consumerId);
    if (consumer === undefined) return;
    consumer.held.delete(record);
    if (consumer.held.size === 0 && consumer.sink === null) this.consumers.delete(consumer.id);
    this.scheduleDispatch();
  }

  /** Released, or its lock expired: available again, or dead-lettered past the limit. */
  private giveBack(record: TrackedRecord, notBeforeMs: number, error: string | null): void {
    if (record.deliveryCount >= this.definitionValue.maxDeliveries) {
      this.sendToDeadLetter(record, 'max-deliveries', error ?? record.lastError);
      return;
    }
    this.partitions.get(record.partition)?.release(record, notBeforeMs);
  }

  private scheduleRecord(dueMs: number, record: TrackedRecord): void {
    this.timers.add(dueMs, {
      partition: record.partition,
      offset: record.offset,
      generation: record.generation,
    });
  }

  private onTimer(partitionIndex: number, offset: number, generation: number): void {
    const partition = this.partitions.get(partitionIndex);
    const record = partition?.record(offset);
    if (record === undefined) return;
    // An expired record whose dead-letter append failed is never offered again: only the append
    // is tried again (sendToDeadLetter scheduled this timer).
    if (record.state === 'dead-lettering') {
      if (record.generation === generation) this.sendToDeadLetter(record, 'expired', 'expired');
      return;
    }
    partition?.onTimer(record, generation);
  }

  private sweepLocks(partitionIndex: number, dueMs: number): void {
    const expired = this.partitions.get(partitionIndex)?.sweepLocks(dueMs) ?? [];
    for (const record of expired) {
      this.releaseHold(record);
      this.giveBack(record, 0, 'the acknowledgement timeout passed');
    }
  }

  private expire(record: TrackedRecord): void {
    if (this.definitionValue.deadLetterExpired) {
      this.sendToDeadLetter(record, 'expired', 'expired');
      return;
    }
    this.partitions.get(record.partition)?.archive(record, 'expired');
  }

  private sendToDeadLetter(
    record: TrackedRecord,
    reason: 'rejected' | 'max-deliveries' | 'expired',
    error: string | null,
  ): void {
    const partition = this.partitions.get(record.partition);
    if (partition === undefined) return;
    partition.markDeadLettering(record, error);
    const generation = record.generation;
    this.ports.deadLetter(record, reason).then(
      () => {
        if (this.closed || record.generation !== generation) return;
        partition.archive(record, reason === 'expired' ? 'expired' : 'deadLettered');
      },
      (failure: unknown) => {
        if (this.closed || record.generation !== generation) return;
        this.ports.log(`subscription ${this.name}: dead-letter append failed; retrying`, failure);
        // Available again after a pause; the next give-back tries the dead-letter topic again.
        if (reason === 'expired') this.scheduleRecord(this.ports.now() + deadLetterRetryMs, record);
        else partition.release(record, this.ports.now() + deadLetterRetryMs);
      },
    );
  }

  // ───────────────────────────── dispatch ─────────────────────────────

  private scheduleDispatch(): void {
    if (this.dispatchScheduled || this.closed) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      if (!this.closed) this.dispatch();
    });
  }

  private dispatch(): void {
    for (const listener of [...this.pullWaiters]) listener();
    const partitions = [...this.partitions.values()];
    if (partitions.length === 0) return;
    const lockUntilMs = this.ports.now() + this.definitionValue.ackTimeoutMs;
    for (const consumer of this.consumers.values()) {
      const sink = consumer.sink;
      if (sink === null || !sink.writable) continue;
      const credits =
        Math.min(sink.maxInFlight, this.definitionValue.maxInFlight) - consumer.held.size;
      if (credits <= 0) continue;
      const taken: TrackedRecord[] = [];
      // Round-robin over partitions, a share of the credits each, until none give more.
      for (let round = 0; taken.length < credits && round < partitions.length; round += 1) {
        const partition = partitions[this.partitionCursor % partitions.length];
        this.partitionCursor += 1;
        const got = partition.acquire(consumer.id, credits - taken.length, lockUntilMs);
        taken.push(...got);
        if (got.length > 0) round = -1;
      }
      if (taken.length === 0) continue;
      for (const record of taken) {
        consumer.held.add(record);
        consumer.sendSequence += 1;
        record.sendSequence = consumer.sendSequence;
      }
      sink.deliver(this.deliveries(taken));
    }
  }

  private deliveries(records: readonly TrackedRecord[]): Delivery[] {
    const { topic, valueEncoding } = this.definitionValue;
    const topicJson = JSON.stringify(topic);
    const deliveries: Delivery[] = new Array<Delivery>(records.length);
    for (let index = 0; index < records.length; index += 1)
      deliveries[index] = encodeDelivery(records[index], topicJson, valueEncoding);
    return deliveries;
  }

  // ───────────────────────────── state ─────────────────────────────

  private markDirty(): void {
    this.dirty = true;
    if (this.writing === null && !this.closed) this.writing = this.write();
  }

  private async write(): Promise<void> {
    // One tick of changes per write: acknowledgements of one HTTP request land together.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.dirty && !this.closed) {
      this.dirty = false;
      const waiters = this.waiters.splice(0);
      try {
        await this.ports.writeState(this.snapshots());
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        this.ports.log(`subscription ${this.name}: state write failed`, error);
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.writing = null;
  }
}
