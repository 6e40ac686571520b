// What the transaction coordinator needs from the rest of the broker, and nothing more.
//
// The coordinator never imports the broker, the replica layer or storage: `broker.ts` implements
// these ports over the partitions of the compacted internal topic `__transaction_state`
// (src/replica/internal-topic.ts) and over the data partitions that receive markers. Tests
// implement them in memory.

import type { TransactionMarkers } from '../../cluster/marker-sender.js';
import type { PendingOffset } from './transaction-log.js';

export type { TransactionMarkers } from '../../cluster/marker-sender.js';

/** The internal topic that holds one record per transactional id. */
export const TRANSACTION_STATE_TOPIC_NAME = '__transaction_state';

/**
 * The partitions of `__transaction_state`, as the coordinator sees them.
 *
 * Ownership: the broker. Offsets are assigned in call order, synchronously, before the first
 * `await` inside `append` (the storage contract), so state records land in the order the
 * coordinator issued them.
 */
export interface TransactionStateStorage {
  /** transaction.state.log.num.partitions; fixed for the life of the coordinator. */
  readonly partitionCount: number;
  /** Resolves once durable; with `deferFlush`, once written (the partition's next fsync covers it). */
  append(partition: number, batch: Buffer, options?: { deferFlush?: boolean }): Promise<void>;
  /**
   * Every batch of the partition, in offset order, as raw RecordBatch v2 bytes (read when the
   * partition is loaded).
   */
  readAll(partition: number): AsyncIterable<Buffer>;
  /**
   * Whether this broker leads the partition, so coordinates the ids that hash to it. Optional:
   * absent means every partition (a single broker).
   */
  isLeader?(partition: number): boolean;
  /**
   * The broker leading the partition, for FindCoordinator in a cluster; undefined when it has
   * none. Optional: absent means this broker (`TransactionCoordinatorPorts.node`).
   */
  leaderOf?(partition: number): CoordinatorNode | undefined;
}

/** A broker as clients reach it (its advertised listener). */
export interface CoordinatorNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** Everything the coordinator is constructed with. */
export interface TransactionCoordinatorPorts {
  readonly stateTopic: TransactionStateStorage;
  readonly producerIds: { generate(): Promise<number> };
  partitionExists(topic: string, partition: number): boolean;
  /**
   * Writes a transaction's marker into each of its partitions (in a cluster, on each partition's
   * leader, retrying while leaders move) and resolves once every one is acknowledged; rejects
   * when one cannot be written, or once `signal` aborts.
   */
  writeMarkers(markers: TransactionMarkers, signal: AbortSignal): Promise<void>;
  /**
   * The coordinator epoch of a `__transaction_state` partition as it is loaded (its leader epoch,
   * in a cluster), carried by the markers. Optional: absent means 0 (a single broker).
   */
  coordinatorEpoch?(partition: number): number;
  /**
   * The `__consumer_offsets` partition of a group (Kafka's hash of the group id), which
   * AddOffsetsToTxn adds to the transaction.
   */
  offsetsPartitionOf(groupId: string): { topic: string; partition: number };
  /**
   * Makes a committed transaction's offsets visible to the group; resolves with an error code.
   * Only for offsets held in a transaction's state record, which Brook wrote before TxnOffsetCommit
   * went to `__consumer_offsets` as a transactional batch.
   */
  commitOffsets(groupId: string, offsets: readonly PendingOffset[]): Promise<number>;
  /**
   * This broker, for FindCoordinator where the state topic names no leader (a single broker).
   * Optional for tests that never ask.
   */
  readonly node?: () => CoordinatorNode;
  /** Wall-clock milliseconds; defaults to Date.now. */
  readonly clock?: () => number;
}
