// A source partition a subscription reads from its leader on another broker (cluster mode, where
// the broker serving the subscription holds no replica of the partition). It looks to the share
// partition like a local replica (`SourcePartition`): offsets, whole batches as bytes, the aborted
// transactions of what was read, and a signal when the last stable offset moves.
//
//   watch loop: Fetch (read_committed, at the last stable offset, parked up to 500 ms) ─► offsets
//               moved? tell the share partition, which then reads
//   read(offset): Fetch (read_committed, answered at once) ─► whole batches below the bound
//
// The leader is the view's, asked again on every request, so the reader follows leadership moves;
// a refusal or a lost connection is retried after a backoff. A leader that is this broker (it
// came to lead a partition it was not a replica of when the subscription was loaded) is fetched
// from like any other, over its own inter-broker listener. Whole batches are passed on as bytes.
//
// Owned by the share engine's subscription, closed with it.

import type { KafkaConnection } from '../client/kafka-connection.js';
import {
  INTER_BROKER_RETRY_BACKOFF_MAX_MS,
  INTER_BROKER_RETRY_BACKOFF_MS,
  type InterBrokerConnector,
} from '../cluster/inter-broker-connection.js';
import { type ClusterView, NO_LEADER } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { FetchResponse, FetchResponsePartitionData } from '../protocol/generated/fetch.js';
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
import type { SourcePartition } from './share-partition.js';

/** Fetch v12: topic names, flexible; Brook serves 4-17. */
const FETCH_VERSION = 12;
const WATCH_WAIT_MS = 500;
const READ_COMMITTED = 1;

export interface RemoteSourceOptions {
  readonly topic: string;
  readonly partitionIndex: number;
  readonly brokerId: number;
  readonly view: ClusterView;
  readonly connector: InterBrokerConnector;
}

export class RemoteSourcePartition implements SourcePartition {
  highWatermark = 0;
  lastStableOffset = 0;
  logStartOffset = 0;
  readonly partitionIndex: number;
  /** The aborted transactions of the last read, each ended at its marker (or not in the read). */
  private aborted: AbortedTransaction[] = [];
  private readonly listeners = new Set<() => void>();
  private connection: { broker: number; open: Promise<KafkaConnection> } | null = null;
  private readBackoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
  private readAgain: NodeJS.Timeout | null = null;
  private closed = false;
  /** Resolves once the first answer gave the partition's offsets. */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(private readonly options: RemoteSourceOptions) {
    this.partitionIndex = options.partitionIndex;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    void this.watch();
  }

  close(): void {
    this.closed = true;
    if (this.readAgain !== null) clearTimeout(this.readAgain);
    this.listeners.clear();
    this.dropConnection();
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
    const answer = await this.fetch(offset, maxBytes, 0).catch(() => undefined);
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

  /** Parks a Fetch at the last stable offset until it moves, and tells the listeners. */
  private async watch(): Promise<void> {
    let backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
    while (!this.closed) {
      const offset = Math.max(this.lastStableOffset, this.logStartOffset);
      const answer = await this.fetch(offset, 1, WATCH_WAIT_MS).catch(() => undefined);
      if (this.closed) return;
      const usable =
        answer !== undefined &&
        (answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE);
      if (!usable) {
        await new Promise((resolve) => setTimeout(resolve, backoffMs).unref());
        backoffMs = Math.min(backoffMs * 2, INTER_BROKER_RETRY_BACKOFF_MAX_MS);
        continue;
      }
      backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
      this.markReady();
    }
  }

  /** One Fetch of the partition from its current leader; its answer's offsets are taken up. */
  private async fetch(
    offset: number,
    maxBytes: number,
    maxWaitMs: number,
  ): Promise<FetchResponsePartitionData | undefined> {
    const { topic, partitionIndex, view } = this.options;
    const leader = view.partitionState(topic, partitionIndex)?.leader ?? NO_LEADER;
    if (leader === NO_LEADER) return undefined;
    let response: FetchResponse;
    try {
      const connection = await this.connectionTo(leader);
      response = await connection.request<FetchResponse>(ApiKey.Fetch, FETCH_VERSION, {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes,
        isolationLevel: READ_COMMITTED,
        topics: [
          {
            topic,
            partitions: [
              {
                partition: partitionIndex,
                currentLeaderEpoch: -1,
                fetchOffset: BigInt(offset),
                logStartOffset: -1n,
                partitionMaxBytes: maxBytes,
              },
            ],
          },
        ],
      });
    } catch (error) {
      this.dropConnection();
      throw error;
    }
    const answer = response.responses[0]?.partitions[0];
    if (answer === undefined) return undefined;
    if (answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE)
      this.takeOffsets(answer);
    return answer;
  }

  private takeOffsets(answer: FetchResponsePartitionData): void {
    const highWatermark = Number(answer.highWatermark);
    const lastStableOffset = Number(answer.lastStableOffset);
    const logStartOffset = Number(answer.logStartOffset);
    // Offsets never go back here: a new leader's answer may lag the last one's for a moment.
    const moved = highWatermark > this.highWatermark || lastStableOffset > this.lastStableOffset;
    this.highWatermark = Math.max(this.highWatermark, highWatermark);
    if (lastStableOffset >= 0)
      this.lastStableOffset = Math.max(this.lastStableOffset, lastStableOffset);
    if (logStartOffset >= 0) this.logStartOffset = Math.max(this.logStartOffset, logStartOffset);
    if (moved) for (const listener of [...this.listeners]) listener();
  }

  private connectionTo(broker: number): Promise<KafkaConnection> {
    if (this.connection?.broker !== broker) {
      this.dropConnection();
      const clientId = `brook-share-${this.options.brokerId}`;
      this.connection = { broker, open: this.options.connector.open(broker, clientId) };
    }
    return this.connection.open;
  }

  private dropConnection(): void {
    this.connection?.open.then((open) => open.close()).catch(() => undefined);
    this.connection = null;
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
