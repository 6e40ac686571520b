// A source partition a subscription reads from its leader on another broker (cluster mode, where
// the broker serving the subscription holds no replica of the partition). It looks to the share
// partition like a local replica (`SourcePartition`): offsets, whole batches as bytes, the aborted
// transactions of what was read, and a signal when the last stable offset moves.
//
//   watch: the pool's parked Fetch for every partition of that leader (read_committed, at the
//          last stable offset) ─► offsets moved? tell the share partition, which then reads
//   read(offset): Fetch (read_committed, answered at once) ─► whole batches below the bound
//
// Both go over the pooled connections to the leader (remote-fetch-pool.ts), shared by every
// remote source of this broker. The leader is the view's, asked again on every request, so the
// reader follows leadership moves; a failed read is tried again after a backoff. A leader that is
// this broker (it came to lead a partition it was not a replica of when the subscription was
// loaded) is fetched from like any other, over its own inter-broker listener. Whole batches are
// passed on as bytes.
//
// Owned by the share engine's subscription, closed with it.

import {
  INTER_BROKER_RETRY_BACKOFF_MAX_MS,
  INTER_BROKER_RETRY_BACKOFF_MS,
} from '../cluster/inter-broker-connection.js';
import { ErrorCode } from '../protocol/errors.js';
import type { FetchResponsePartitionData } from '../protocol/generated/fetch.js';
import {
  BATCH_HEADER_BYTES,
  BatchField,
  batchBaseOffset,
  batchLastOffset,
  batchSizeBytes,
  isControlBatch,
  readInt64,
} from '../record/batch.js';
import type { AbortedTransaction } from '../replica/producer-state.js';
import type { ReadResult } from '../storage/log.js';
import type { RemoteFetchPool, WatchedPartition } from './remote-fetch-pool.js';
import type { SourcePartition } from './share-partition.js';

export interface RemoteSourceOptions {
  readonly topic: string;
  readonly partitionIndex: number;
  /** This broker's pooled Fetches to other brokers. */
  readonly fetches: RemoteFetchPool;
}

export class RemoteSourcePartition implements SourcePartition, WatchedPartition {
  highWatermark = 0;
  lastStableOffset = 0;
  logStartOffset = 0;
  readonly topic: string;
  readonly partitionIndex: number;
  /** The aborted transactions of the last read, each ended at its marker (or not in the read). */
  private aborted: AbortedTransaction[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly unwatch: () => void;
  private readBackoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
  private readAgain: NodeJS.Timeout | null = null;
  private closed = false;
  /** Resolves once the first answer gave the partition's offsets. */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(private readonly options: RemoteSourceOptions) {
    this.topic = options.topic;
    this.partitionIndex = options.partitionIndex;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.unwatch = options.fetches.watch(this);
    // The offsets at once, rather than after the watch round under way (up to its 500 ms park).
    void options.fetches
      .read(this.topic, this.partitionIndex, 0, 1)
      .then((answer) => {
        const usable =
          answer !== undefined &&
          (answer.errorCode === ErrorCode.NONE ||
            answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE);
        if (usable && !this.closed) this.takeOffsets(answer);
      })
      .catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    if (this.readAgain !== null) clearTimeout(this.readAgain);
    this.listeners.clear();
    this.unwatch();
  }

  watchOffset(): number {
    return Math.max(this.lastStableOffset, this.logStartOffset);
  }

  onHighWatermarkAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async read(
    offset: number,
    maxBytes: number,
    upperBound: number,
    _minOneBatch: boolean,
  ): Promise<ReadResult> {
    const answer = await this.options.fetches
      .read(this.topic, this.partitionIndex, offset, maxBytes)
      .catch(() => undefined);
    if (
      answer !== undefined &&
      (answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE)
    )
      this.takeOffsets(answer);
    if (answer === undefined || answer.errorCode !== ErrorCode.NONE) {
      // No leader, a lost connection, a leader not ready: the share partition reads again after
      // a backoff, even if no new record comes to move the offsets.
      this.readAgainLater();
      return { chunks: [], byteLength: 0 };
    }
    this.readBackoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
    if (answer.records === null) return { chunks: [], byteLength: 0 };
    const records = answer.records;
    // Whole batches below the bound only (the leader's bound may have moved past ours, and the
    // last batch may be cut at maxBytes).
    let end = 0;
    for (let position = 0; position + BATCH_HEADER_BYTES <= records.length;) {
      const sizeBytes = batchSizeBytes(records, position);
      if (position + sizeBytes > records.length) break;
      if (batchBaseOffset(records, position) >= upperBound) break;
      position += sizeBytes;
      end = position;
    }
    const chunk = records.subarray(0, end);
    this.aborted = (answer.abortedTransactions ?? []).map(({ producerId, firstOffset }) => ({
      producerId: Number(producerId),
      firstOffset: Number(firstOffset),
      lastOffset: markerOffset(chunk, Number(producerId), Number(firstOffset)),
      lastStableOffset: this.lastStableOffset,
    }));
    return end === 0 ? { chunks: [], byteLength: 0 } : { chunks: [chunk], byteLength: end };
  }

  private readAgainLater(): void {
    if (this.readAgain !== null || this.closed) return;
    this.readAgain = setTimeout(() => {
      this.readAgain = null;
      for (const listener of [...this.listeners]) listener();
    }, this.readBackoffMs);
    this.readAgain.unref();
    this.readBackoffMs = Math.min(this.readBackoffMs * 2, INTER_BROKER_RETRY_BACKOFF_MAX_MS);
  }

  abortedTransactions(fetchOffset: number, upperBound: number): AbortedTransaction[] {
    return this.aborted.filter(
      (aborted) => aborted.firstOffset < upperBound && aborted.lastOffset >= fetchOffset,
    );
  }

  /** A leader's answer (the pool's watch, or a read): offsets that only move forwards. */
  takeOffsets(answer: FetchResponsePartitionData): void {
    const highWatermark = Number(answer.highWatermark);
    const lastStableOffset = Number(answer.lastStableOffset);
    const logStartOffset = Number(answer.logStartOffset);
    // Offsets never go back here: a new leader's answer may lag the last one's for a moment.
    const moved = highWatermark > this.highWatermark || lastStableOffset > this.lastStableOffset;
    this.highWatermark = Math.max(this.highWatermark, highWatermark);
    if (lastStableOffset >= 0)
      this.lastStableOffset = Math.max(this.lastStableOffset, lastStableOffset);
    if (logStartOffset >= 0) this.logStartOffset = Math.max(this.logStartOffset, logStartOffset);
    this.markReady();
    if (moved) for (const listener of [...this.listeners]) listener();
  }
}

/**
 * Where the aborted transaction of `producerId` that began at `firstOffset` ends in `chunk`: its
 * producer's first control batch (the ABORT marker) from there on; past the chunk when it is
 * not in it (every batch of that producer in the chunk is then the transaction's).
 */
function markerOffset(chunk: Buffer, producerId: number, firstOffset: number): number {
  for (let position = 0; position + BATCH_HEADER_BYTES <= chunk.length;) {
    const sizeBytes = batchSizeBytes(chunk, position);
    if (
      isControlBatch(chunk, position) &&
      readInt64(chunk, position + BatchField.producerId) === producerId &&
      batchBaseOffset(chunk, position) >= firstOffset
    )
      return batchLastOffset(chunk, position);
    position += sizeBytes;
  }
  return Number.MAX_SAFE_INTEGER;
}
