// One partition as this broker serves it: the log, its leader epoch, and the offsets readers may
// see. On one broker this broker leads every partition.
//
// High watermark: with the default flush policy (flush.messages = 1) a record becomes visible to
// consumers only once it is durable, so the high watermark is the log's flushed offset and no
// consumer ever reads a record a crash could take back. Under a looser policy records are
// acknowledged after the write, and the high watermark is the log end offset.
//
// Owned by the ReplicaManager. Readers that wait for data (long-poll fetches) register with
// `onHighWatermarkAdvance`; the partition wakes them from the log's own events, never by polling.

import type { AppendOrigin, AppendResult, PartitionLog, ReadResult } from '../storage/partition-log.js';

export type HighWatermarkListener = (partition: Partition) => void;

export class Partition {
  private readonly listeners = new Set<HighWatermarkListener>();
  private lastHighWatermark: number;

  constructor(
    readonly topic: string,
    readonly partitionIndex: number,
    readonly log: PartitionLog,
    readonly leaderEpoch = 0,
  ) {
    this.lastHighWatermark = this.highWatermark;
    const wake = (): void => this.notifyIfAdvanced();
    log.on('flush', wake);
    log.on('append', wake);
  }

  get highWatermark(): number {
    return this.log.config.flushMessages <= 1 ? this.log.flushedOffset : this.log.logEndOffset;
  }

  /** The end of what read_committed consumers see; the high watermark until transactions exist. */
  get lastStableOffset(): number {
    return this.highWatermark;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  /**
   * Appends a producer's record set. Validation and offset assignment happen synchronously; the
   * returned promise (`acknowledged`) settles under the topic's flush policy.
   */
  append(records: Buffer, origin: AppendOrigin): AppendResult {
    return this.log.append(records, { leaderEpoch: this.leaderEpoch, origin });
  }

  /** Whole batches from `offset`, never past `upperBound` (the high watermark or the LSO). */
  read(offset: number, maxBytes: number, upperBound: number, minOneBatch: boolean): Promise<ReadResult> {
    return this.log.read(offset, { maxBytes, maxOffset: upperBound, minOneBatch });
  }

  onHighWatermarkAdvance(listener: HighWatermarkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notifyIfAdvanced(): void {
    const highWatermark = this.highWatermark;
    if (highWatermark === this.lastHighWatermark) return;
    this.lastHighWatermark = highWatermark;
    for (const listener of [...this.listeners]) listener(this);
  }
}
