// Per-partition state of idempotent and transactional producers: for each producer id its
// epoch, the metadata of its last five batches (for deduplicating retries), and the first offset
// of its open transaction. Only batch headers feed it; records are never decoded except the one
// record of a transaction marker.
//
// Owned by a Partition. `check` (pure) runs just before PartitionLog.append and `apply` just
// after it, both synchronously, so producer checks are serialised with offset assignment; nothing
// here may await between the two. An append that later fails (a write or fsync error) is undone
// with `revertFrom(baseOffset)`: every change is recorded with the offset that caused it until
// the append is acknowledged, so a failed batch never stays in the state.
//
//   entries: producerId ─► { producerEpoch, batches: [ ≤5 × {first,last}Sequence/{first,last}Offset ],
//                             currentTxnFirstOffset }
//   ongoing: producerId ─► first offset of its open transaction   (lastStableOffset = min(…, HW))

import type { AppendOrigin } from '../storage/log.js';
import { ErrorCode } from '../protocol/errors.js';
import { BrookError } from '../util/errors.js';

/** Kafka keeps the metadata of this many batches per producer for deduplication. */
export const PRODUCER_BATCHES_CACHED_MAX = 5;
const INT32_MAX = 0x7fffffff;

export interface BatchMetadata {
  firstSequence: number;
  lastSequence: number;
  firstOffset: number;
  lastOffset: number;
  /** For live appends: the batch's acknowledgement, which a duplicate of it must wait for too. */
  acknowledged?: Promise<void>;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first; at most PRODUCER_BATCHES_CACHED_MAX. */
  batches: BatchMetadata[];
  lastTimestamp: number;
  coordinatorEpoch: number;
  /** First offset of the producer's open transaction in this partition, or -1. */
  currentTxnFirstOffset: number;
}

/** One entry of the aborted-transaction index (Kafka's AbortedTxn). */
export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
  /** The offset of the ABORT marker. */
  lastOffset: number;
  lastStableOffset: number;
}

/** The header fields of one batch that producer state needs. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  isTransactional: boolean;
  isControl: boolean;
  maxTimestamp: number;
}

export const ControlType = { ABORT: 0, COMMIT: 1 } as const;

/** A produce refused by producer state; the code goes straight into the produce response. */
export class ProducerStateError extends BrookError {
  declare readonly code: 'BROOK_PRODUCER_REFUSED';
  declare readonly kafkaErrorCode: number;
  /** OUT_OF_ORDER_SEQUENCE_NUMBER because the batch starts past the next sequence (a gap). */
  readonly sequenceAhead: boolean;

  constructor(kafkaErrorCode: number, message: string, sequenceAhead = false) {
    super('BROOK_PRODUCER_REFUSED', message, { kafkaErrorCode });
    this.name = 'ProducerStateError';
    this.sequenceAhead = sequenceAhead;
  }
}

interface UndoRecord {
  /** The first offset of the append that made the change. */
  offset: number;
  producerId: number;
  previous: ProducerEntry | undefined;
  abortedLength: number;
}

/** The last sequence of a batch, wrapping at Int32 max as producers do. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence > INT32_MAX - lastOffsetDelta)
    return lastOffsetDelta - (INT32_MAX - baseSequence) - 1;
  return baseSequence + lastOffsetDelta;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === INT32_MAX);
}

function copyEntry(entry: ProducerEntry): ProducerEntry {
  return { ...entry, batches: entry.batches.slice() };
}

export type CheckResult = { duplicate: BatchMetadata } | null;

/** What a partition no producer wrote to has: one empty map for all of them, never written. */
const NO_ENTRIES: ReadonlyMap<number, ProducerEntry> = new Map();
const NO_ONGOING: ReadonlyMap<number, number> = new Map();

export class ProducerStateManager {
  // Made on the first producer's batch: most of a large broker's partitions never see an
  // idempotent producer, and two empty maps each are 6 MB of heap at 10,000 partitions.
  private entriesValue: Map<number, ProducerEntry> | null = null;
  private ongoingValue: Map<number, number> | null = null;

  get entries(): ReadonlyMap<number, ProducerEntry> {
    return this.entriesValue ?? NO_ENTRIES;
  }

  /** producerId → first offset of its open transaction. */
  get ongoing(): ReadonlyMap<number, number> {
    return this.ongoingValue ?? NO_ONGOING;
  }

  /** Ordered by lastOffset (markers are appended in offset order). */
  readonly aborted: AbortedTransaction[] = [];
  private undo: UndoRecord[] = [];

  /** The first offset of the earliest open transaction, or Infinity. */
  firstUnstableOffset(): number {
    let first = Infinity;
    for (const offset of this.ongoing.values()) if (offset < first) first = offset;
    return first;
  }

  /**
   * Checks a client batch against the producer's state (pure). Returns the original batch for a
   * retry of one already appended, null to append, or throws the error to answer with.
   * `pending` holds the entries as earlier batches of the same record set will leave them.
   * A coordinator's batch (the group coordinator writing a transaction's offsets) carries no
   * sequence: only its epoch is checked, so a fenced producer's offsets are refused.
   */
  check(
    batch: ProducerBatch,
    pending: Map<number, { producerEpoch: number; lastSequence: number }>,
    origin: AppendOrigin = 'client',
  ): CheckResult {
    const { producerId, producerEpoch, baseSequence } = batch;
    const lastSequence = lastSequenceOf(baseSequence, batch.lastOffsetDelta);
    const entry = this.entries.get(producerId);
    const earlier = pending.get(producerId);
    const currentEpoch = earlier?.producerEpoch ?? entry?.producerEpoch;
    if (currentEpoch === undefined) return null; // a producer this partition has not seen: any sequence
    if (producerEpoch < currentEpoch) {
      throw new ProducerStateError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `producer ${producerId} epoch ${producerEpoch} is older than the current epoch ${currentEpoch}`,
      );
    }
    if (origin === 'coordinator') return null;
    if (producerEpoch > currentEpoch) {
      if (baseSequence !== 0) {
        throw new ProducerStateError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${producerId} starts epoch ${producerEpoch} at sequence ${baseSequence}, not 0`,
        );
      }
      return null;
    }
    if (earlier === undefined && entry !== undefined) {
      const duplicate = entry.batches.find(
        (cached) => cached.firstSequence === baseSequence && cached.lastSequence === lastSequence,
      );
      if (duplicate !== undefined) return { duplicate };
    }
    const currentLastSequence = earlier?.lastSequence ?? entry?.batches.at(-1)?.lastSequence ?? -1;
    if (!inSequence(currentLastSequence, baseSequence)) {
      throw new ProducerStateError(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `producer ${producerId} epoch ${producerEpoch}: sequence ${baseSequence} does not follow ${currentLastSequence}`,
        baseSequence > currentLastSequence + 1,
      );
    }
    if (!batch.isTransactional && entry !== undefined && entry.currentTxnFirstOffset >= 0) {
      throw new ProducerStateError(
        ErrorCode.INVALID_TXN_STATE,
        `producer ${producerId} wrote a non-transactional batch while its transaction is open`,
      );
    }
    return null;
  }

  /**
   * Checks a transaction marker from the coordinator (pure). `coordinatorEpoch` is the marker's
   * (its control record's): one older than the last marker this partition took for the producer
   * comes from a coordinator that has since been replaced (its `__transaction_state` partition
   * moved), and is refused as Kafka refuses it, so a zombie coordinator cannot end a transaction.
   * Followers and recovery take markers as the leader wrote them and never call this.
   */
  checkMarker(batch: ProducerBatch, coordinatorEpoch: number): void {
    const entry = this.entries.get(batch.producerId);
    if (entry === undefined) return;
    if (batch.producerEpoch < entry.producerEpoch) {
      throw new ProducerStateError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `marker for producer ${batch.producerId} has epoch ${batch.producerEpoch}, older than ${entry.producerEpoch}`,
      );
    }
    if (coordinatorEpoch < entry.coordinatorEpoch) {
      throw new ProducerStateError(
        ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        `marker for producer ${batch.producerId} has coordinator epoch ${coordinatorEpoch}, older than ${entry.coordinatorEpoch} of the last marker written`,
      );
    }
  }

  private entryForChange(
    producerId: number,
    firstOffset: number,
    tracked: boolean,
  ): ProducerEntry | undefined {
    const entry = this.entries.get(producerId);
    if (tracked) {
      this.undo.push({
        offset: firstOffset,
        producerId,
        previous: entry === undefined ? undefined : copyEntry(entry),
        abortedLength: this.aborted.length,
      });
    }
    return entry;
  }

  /** Records an appended data batch. `acknowledged` is given for live appends, absent on replay. */
  apply(
    batch: ProducerBatch,
    firstOffset: number,
    lastOffset: number,
    acknowledged?: Promise<void>,
  ): void {
    const { producerId } = batch;
    let entry = this.entryForChange(producerId, firstOffset, acknowledged !== undefined);
    if (entry === undefined) {
      entry = {
        producerId,
        producerEpoch: batch.producerEpoch,
        batches: [],
        lastTimestamp: -1,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: -1,
      };
      (this.entriesValue ??= new Map()).set(producerId, entry);
    }
    if (entry.producerEpoch !== batch.producerEpoch) {
      entry.producerEpoch = batch.producerEpoch;
      entry.batches = [];
    }
    entry.batches.push({
      firstSequence: batch.baseSequence,
      lastSequence: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta),
      firstOffset,
      lastOffset,
      acknowledged,
    });
    if (entry.batches.length > PRODUCER_BATCHES_CACHED_MAX) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, batch.maxTimestamp);
    if (batch.isTransactional && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = firstOffset;
      (this.ongoingValue ??= new Map()).set(producerId, firstOffset);
    }
  }

  /**
   * Records a COMMIT or ABORT marker at `offset`: the producer's open transaction ends; an
   * aborted one enters the aborted-transaction index. Returns the new index entry, if any.
   */
  applyMarker(
    batch: ProducerBatch,
    type: number,
    coordinatorEpoch: number,
    offset: number,
    highWatermark: number,
    tracked: boolean,
  ): AbortedTransaction | null {
    const { producerId } = batch;
    let entry = this.entryForChange(producerId, offset, tracked);
    if (entry === undefined) {
      entry = {
        producerId,
        producerEpoch: batch.producerEpoch,
        batches: [],
        lastTimestamp: -1,
        coordinatorEpoch,
        currentTxnFirstOffset: -1,
      };
      (this.entriesValue ??= new Map()).set(producerId, entry);
    }
    if (entry.producerEpoch !== batch.producerEpoch) {
      entry.producerEpoch = batch.producerEpoch;
      entry.batches = [];
    }
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastTimestamp = Math.max(entry.lastTimestamp, batch.maxTimestamp);
    const firstOffset = entry.currentTxnFirstOffset;
    if (firstOffset < 0) return null;
    entry.currentTxnFirstOffset = -1;
    this.ongoingValue?.delete(producerId);
    if (type !== ControlType.ABORT) return null;
    const aborted: AbortedTransaction = {
      producerId,
      firstOffset,
      lastOffset: offset,
      lastStableOffset: Math.min(this.firstUnstableOffset(), highWatermark),
    };
    this.aborted.push(aborted);
    return aborted;
  }

  /** The appends up to `lastOffset` are acknowledged: their changes can no longer be undone. */
  acknowledge(lastOffset: number): void {
    let drop = 0;
    while (drop < this.undo.length && this.undo[drop].offset <= lastOffset) drop += 1;
    if (drop > 0) this.undo.splice(0, drop);
    // Cached batches keep their (now settled) acknowledgement: a duplicate awaits it at no cost.
  }

  /** Undoes every change made by appends from `offset` on (their write or fsync failed). */
  revertFrom(offset: number): void {
    while (this.undo.length > 0 && this.undo[this.undo.length - 1].offset >= offset) {
      const record = this.undo.pop()!;
      this.restore((this.entriesValue ??= new Map()), record);
      this.aborted.length = Math.min(this.aborted.length, record.abortedLength);
    }
  }

  private restore(entries: Map<number, ProducerEntry>, record: UndoRecord): void {
    if (record.previous === undefined) {
      entries.delete(record.producerId);
      if (entries === this.entriesValue) this.ongoingValue?.delete(record.producerId);
      return;
    }
    entries.set(record.producerId, record.previous);
    if (entries !== this.entriesValue) return;
    if (record.previous.currentTxnFirstOffset >= 0) {
      (this.ongoingValue ??= new Map()).set(
        record.producerId,
        record.previous.currentTxnFirstOffset,
      );
    } else {
      this.ongoingValue?.delete(record.producerId);
    }
  }

  /**
   * The entries as they stood before the append at `offset` (everything below it), for a
   * snapshot that must describe exactly the durable prefix of the log.
   */
  entriesBefore(offset: number): ProducerEntry[] {
    const entries = new Map(this.entries);
    for (let index = this.undo.length - 1; index >= 0; index -= 1) {
      const record = this.undo[index];
      if (record.offset < offset) break;
      this.restore(entries, record);
    }
    return [...entries.values()];
  }

  /**
   * Forgets producers idle for `expirationMs` (by their last batch's timestamp, as Kafka does)
   * with no open transaction. A producer with unacknowledged appends is kept, so no undo record
   * ever refers to a forgotten entry; others expire even while the partition is busy (a flush
   * always finds the appends it covers still unacknowledged). Returns how many were removed.
   */
  removeExpired(nowMs: number, expirationMs: number): number {
    const unacknowledged = new Set(this.undo.map((record) => record.producerId));
    let removed = 0;
    for (const [producerId, entry] of this.entries) {
      if (unacknowledged.has(producerId)) continue;
      if (entry.currentTxnFirstOffset < 0 && nowMs - entry.lastTimestamp >= expirationMs) {
        this.entriesValue?.delete(producerId);
        removed += 1;
      }
    }
    return removed;
  }

  /** Replaces the state with a snapshot's entries (recovery). */
  load(entries: readonly ProducerEntry[], aborted: readonly AbortedTransaction[]): void {
    this.entriesValue?.clear();
    this.ongoingValue?.clear();
    this.undo = [];
    this.aborted.length = 0;
    this.aborted.push(...aborted);
    for (const entry of entries) {
      (this.entriesValue ??= new Map()).set(entry.producerId, copyEntry(entry));
      if (entry.currentTxnFirstOffset >= 0)
        (this.ongoingValue ??= new Map()).set(entry.producerId, entry.currentTxnFirstOffset);
    }
  }

  /** Aborted transactions overlapping [fetchOffset, upperBound), oldest first. */
  abortedTransactions(fetchOffset: number, upperBound: number): AbortedTransaction[] {
    const result: AbortedTransaction[] = [];
    let low = 0;
    let high = this.aborted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.aborted[middle].lastOffset < fetchOffset) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < this.aborted.length; index += 1) {
      const aborted = this.aborted[index];
      if (aborted.firstOffset < upperBound) result.push(aborted);
    }
    return result;
  }
}

// ───────────────────────────── snapshot format ─────────────────────────────
//
// `<20-digit offset>.snapshot` in the partition directory: the producer entries as they stood
// with every batch below `offset` applied. A version, then JSON, then a CRC-32C of both.

export const SNAPSHOT_SUFFIX = '.snapshot';
const SNAPSHOT_VERSION = 1;

export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}${SNAPSHOT_SUFFIX}`;
}

export function parseSnapshotOffset(name: string): number | null {
  const match = /^(\d{20})\.snapshot$/.exec(name);
  return match ? Number(match[1]) : null;
}

export function encodeSnapshot(
  offset: number,
  entries: readonly ProducerEntry[],
  crc: (data: Buffer) => number,
): Buffer {
  const body = Buffer.from(
    JSON.stringify({
      offset,
      producers: entries.map((entry) => ({
        producerId: entry.producerId,
        producerEpoch: entry.producerEpoch,
        lastTimestamp: entry.lastTimestamp,
        coordinatorEpoch: entry.coordinatorEpoch,
        currentTxnFirstOffset: entry.currentTxnFirstOffset,
        batches: entry.batches.map((batch) => [
          batch.firstSequence,
          batch.lastSequence,
          batch.firstOffset,
          batch.lastOffset,
        ]),
      })),
    }),
    'utf8',
  );
  const data = Buffer.alloc(2 + body.length + 4);
  data.writeInt16BE(SNAPSHOT_VERSION, 0);
  body.copy(data, 2);
  data.writeUInt32BE(crc(data.subarray(0, 2 + body.length)) >>> 0, 2 + body.length);
  return data;
}

/** The snapshot's entries, or null when the file is torn, corrupt or of another version. */
export function decodeSnapshot(
  data: Buffer,
  crc: (data: Buffer) => number,
): { offset: number; entries: ProducerEntry[] } | null {
  if (data.length < 6 || data.readInt16BE(0) !== SNAPSHOT_VERSION) return null;
  const end = data.length - 4;
  if (crc(data.subarray(0, end)) >>> 0 !== data.readUInt32BE(end)) return null;
  try {
    const parsed = JSON.parse(data.subarray(2, end).toString('utf8')) as {
      offset: number;
      producers: Array<Omit<ProducerEntry, 'batches'> & { batches: number[][] }>;
    };
    return {
      offset: parsed.offset,
      entries: parsed.producers.map((producer) => ({
        ...producer,
        batches: producer.batches.map(([firstSequence, lastSequence, firstOffset, lastOffset]) => ({
          firstSequence,
          lastSequence,
          firstOffset,
          lastOffset,
        })),
      })),
    };
  } catch {
    return null;
  }
}
