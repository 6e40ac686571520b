// What the group coordinator needs from the rest of the broker, and nothing more.
//
// The coordinator never imports the broker, the replica layer or storage: `broker.ts` implements
// these ports over the real partitions of the compacted internal topic `__consumer_offsets`
// (offsets.topic.num.partitions of them, default 50) and over the partitions of data topics. Tests
// implement them over PartitionLog files directly.

import type { LoggerLike } from '../../util/logger.js';

/** The internal topic that holds committed offsets and group metadata. */
export const OFFSETS_TOPIC_NAME = '__consumer_offsets';

/**
 * The partitions of `__consumer_offsets`, as the coordinator sees them.
 *
 * Ownership: the broker. The coordinator appends only to partitions it has loaded (which, in a
 * cluster, are the ones this broker leads).
 */
export interface OffsetsTopicStorage {
  /** offsets.topic.num.partitions; fixed for the life of the coordinator. */
  readonly partitionCount: number;

  /**
   * Appends one RecordBatch v2 (uncompressed, producerId -1, baseOffset 0 as built) to the
   * partition. Offsets are assigned in call order, synchronously, before the first `await`
   * inside (the storage contract), so two appends to the same partition land in the order they
   * were called. The promise settles when the batch is durable (covered by an fsync, and in a
   * cluster replicated to the ISR): the coordinator acknowledges a commit only then. It rejects
   * when the append failed or this broker is no longer the partition's leader.
   */
  append(partition: number, batch: Buffer): Promise<void>;

  /**
   * Every batch of the partition from its log start offset to its log end offset (or high
   * watermark in a cluster), in offset order, as raw RecordBatch v2 bytes. Used once per
   * partition when it is loaded.
   */
  readAll(partition: number): AsyncIterable<Buffer>;

  /**
   * Whether this broker leads the partition, so coordinates the groups that hash to it. On a
   * single broker every partition. Optional: absent means always true.
   */
  isLeader?(partition: number): boolean;

  /**
   * The broker leading the partition, for FindCoordinator in a cluster. Optional: absent means
   * this broker (`GroupCoordinatorPorts.node`) coordinates every partition.
   */
  leaderOf?(partition: number): CoordinatorNode | undefined;
}

/** Read-only lookups on data partitions, for lag and for validating commits. */
export interface PartitionOffsetsLookup {
  /**
   * The offset a consumer can read up to: the high watermark (on one broker with the default
   * flush policy, the flushed log end offset). `undefined` when the topic or partition does not
   * exist.
   */
  logEndOffset(topic: string, partition: number): number | undefined;

  /** The first offset still in the log. `undefined` when the topic or partition does not exist. */
  logStartOffset(topic: string, partition: number): number | undefined;

  /**
   * Whether the partition exists, for validating commits. Optional: absent means "logEndOffset
   * knows it". In a cluster the partition may live on other brokers only, where this broker
   * knows no offsets of it (its lag then shows as unknown).
   */
  exists?(topic: string, partition: number): boolean;
}

/** This broker as a coordinator, as clients should reach it (the advertised listener). */
export interface CoordinatorNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/**
 * Time for the coordinator. Session and rebalance timeouts use the monotonic clock; commit
 * timestamps and offset retention use the wall clock (they are written to disk and compared
 * across restarts). Tests inject a manual clock.
 */
export interface CoordinatorClock {
  /** Milliseconds on a monotonic clock (performance.now). */
  monotonicNowMs(): number;
  /** Milliseconds since the epoch (Date.now). */
  wallClockNowMs(): number;
  /** Runs `callback` once after `delayMs` on the monotonic clock; never keeps the process alive. */
  setTimer(delayMs: number, callback: () => void): CoordinatorTimer;
}

export interface CoordinatorTimer {
  cancel(): void;
}

/** Everything the coordinator is constructed with. */
export interface GroupCoordinatorPorts {
  readonly offsetsTopic: OffsetsTopicStorage;
  readonly partitions: PartitionOffsetsLookup;
  /** A function because the port is known only once the listener is bound (port 0 in tests). */
  readonly node: () => CoordinatorNode;
  /** Defaults to `systemClock`. */
  readonly clock?: CoordinatorClock;
  /**
   * The partitions for which an open transaction holds offsets of this group (TxnOffsetCommit
   * before EndTxn), for OffsetFetch's require_stable. Optional: absent means none. Called per
   * fetch, so the transaction coordinator may be wired in after the group coordinator.
   */
  readonly pendingTransactionalOffsets?: (
    groupId: string,
  ) => Iterable<{ topic: string; partition: number }>;
  /** Where rebalances are logged (one line when one starts, one when a generation begins). */
  readonly logger?: LoggerLike;
  /**
   * The type of the group named `groupId` that another coordinator keeps ('share' for a KIP-932
   * share group), or undefined. A group id names one group of one type at a time, as in Kafka:
   * while another coordinator owns the id and no classic group holds it, classic requests for it
   * are refused (JoinGroup INCONSISTENT_GROUP_PROTOCOL, offsets GROUP_ID_NOT_FOUND). Optional:
   * absent means no other group type exists.
   */
  readonly otherGroupType?: (groupId: string) => string | undefined;
}

/** The real clock: performance.now for timeouts, Date.now for timestamps, unref'd timers. */
export const systemClock: CoordinatorClock = {
  monotonicNowMs: () => performance.now(),
  wallClockNowMs: () => Date.now(),
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
