// The transaction coordinator's state: transactional id → its newest metadata, as kept in the
// compacted `__transaction_state` (one record per id, a tombstone when the id expired). Loaded one
// partition at a time by replaying it (every partition this broker leads on start; in a cluster,
// a partition when this broker becomes its leader) and unloaded when the leadership goes;
// afterwards each change is appended here first and installed by the coordinator only once
// durable.
//
//   unknown ──loadPartition──► loading ──replayed──► loaded ──unloadPartition──► unknown
//                                 └──────────unloadPartition──────────────────────┘
//
// A transactional id is served only while its partition is loaded: COORDINATOR_LOAD_IN_PROGRESS
// while it loads, NOT_COORDINATOR when it is not loaded here (`readiness`). A load installs
// nothing if an unload overtook it (each load carries its own token), and an install for a
// partition that is not loaded is dropped, so an operation still in flight across an unload
// leaves nothing behind.
//
// Owned by the TransactionCoordinator, which runs the operations on one id one at a time; this
// module neither orders nor checks them. `append` builds and issues its batch in the turn it is
// called, so records land in the order the coordinator issued them.

import { ErrorCode } from '../../protocol/errors.js';
import { BATCH_HEADER_BYTES, batchSizeBytes } from '../../record/batch.js';
import { buildKeyValueBatch } from '../../record/key-value-batch.js';
import { decodeBatch } from '../../record/records.js';
import type { TransactionStateStorage } from './ports.js';
import {
  decodeTransactionKey,
  decodeTransactionValue,
  encodeTransactionKey,
  encodeTransactionValue,
  transactionStatePartitionFor,
  type TransactionMetadata,
} from './transaction-log.js';

/** A partition being loaded (with the token of that load), or loaded. */
type PartitionLoad = { state: 'loading'; token: object } | { state: 'loaded' };

export class TransactionStateCache {
  private readonly transactions = new Map<string, TransactionMetadata>();
  private readonly partitionLoads = new Map<number, PartitionLoad>();

  constructor(
    private readonly stateTopic: TransactionStateStorage,
    private readonly clock: () => number,
  ) {}

  partitionFor(transactionalId: string): number {
    return transactionStatePartitionFor(transactionalId, this.stateTopic.partitionCount);
  }

  /** Whether this broker leads the partition (always, on a single broker). */
  isLeader(partition: number): boolean {
    return this.stateTopic.isLeader?.(partition) ?? true;
  }

  /**
   * NONE when the id's partition is loaded here, COORDINATOR_LOAD_IN_PROGRESS while it loads,
   * NOT_COORDINATOR otherwise (another broker leads it, or it was unloaded).
   */
  readiness(transactionalId: string): number {
    const partition = this.partitionFor(transactionalId);
    if (!this.isLeader(partition)) return ErrorCode.NOT_COORDINATOR;
    const load = this.partitionLoads.get(partition);
    if (load === undefined) return ErrorCode.NOT_COORDINATOR;
    return load.state === 'loading' ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Whether some partition is loaded and none is loading. */
  get isLoaded(): boolean {
    for (const load of this.partitionLoads.values()) if (load.state !== 'loaded') return false;
    return this.partitionLoads.size > 0;
  }

  /** The partitions loading or loaded here. */
  knownPartitions(): number[] {
    return [...this.partitionLoads.keys()];
  }

  /**
   * Replays one partition (the newest record per id wins) and installs its transactions.
   * Resolves with them, or with null when the partition was already known here or an unload
   * overtook the load. Rejects when the partition cannot be read; it is then unknown again.
   */
  async loadPartition(partition: number): Promise<TransactionMetadata[] | null> {
    if (this.partitionLoads.has(partition)) return null;
    const token = {};
    this.partitionLoads.set(partition, { state: 'loading', token });
    const isCurrent = (): boolean => {
      const load = this.partitionLoads.get(partition);
      return load?.state === 'loading' && load.token === token;
    };
    const replayed = new Map<string, TransactionMetadata | null>();
    try {
      for await (const chunk of this.stateTopic.readAll(partition)) {
        for (
          let position = 0;
          position + BATCH_HEADER_BYTES <= chunk.length;
          position += batchSizeBytes(chunk, position)
        ) {
          const batch = await decodeBatch(chunk, position);
          if (batch.isControl) continue;
          for (const record of batch.records) {
            const transactionalId = record.key === null ? null : decodeTransactionKey(record.key);
            if (transactionalId === null) continue;
            replayed.set(
              transactionalId,
              record.value === null ? null : decodeTransactionValue(transactionalId, record.value),
            );
          }
        }
      }
    } catch (error) {
      if (isCurrent()) this.partitionLoads.delete(partition);
      throw error;
    }
    if (!isCurrent()) return null;
    const loaded: TransactionMetadata[] = [];
    for (const metadata of replayed.values()) {
      if (metadata === null) continue;
      this.transactions.set(metadata.transactionalId, metadata);
      loaded.push(metadata);
    }
    this.partitionLoads.set(partition, { state: 'loaded' });
    return loaded;
  }

  /** Forgets the partition and its transactions (on losing leadership). */
  unloadPartition(partition: number): void {
    this.partitionLoads.delete(partition);
    for (const transactionalId of [...this.transactions.keys()]) {
      if (this.partitionFor(transactionalId) === partition)
        this.transactions.delete(transactionalId);
    }
  }

  get(transactionalId: string): TransactionMetadata | undefined {
    return this.transactions.get(transactionalId);
  }

  /**
   * Installs metadata whose record is durable (or, for Complete*, issued; see the coordinator).
   * Dropped when its partition is not loaded here any more (unloaded while the record was on its
   * way): the partition's next load reads it from the log.
   */
  set(metadata: TransactionMetadata): void {
    if (this.partitionLoads.get(this.partitionFor(metadata.transactionalId))?.state !== 'loaded')
      return;
    this.transactions.set(metadata.transactionalId, metadata);
  }

  delete(transactionalId: string): void {
    this.transactions.delete(transactionalId);
  }

  all(): TransactionMetadata[] {
    return [...this.transactions.values()];
  }

  /** Appends the transaction's record; resolves once durable (or written, with `deferFlush`). */
  append(metadata: TransactionMetadata, options?: { deferFlush?: boolean }): Promise<void> {
    return this.appendRecord(metadata.transactionalId, encodeTransactionValue(metadata), options);
  }

  /** Appends the id's tombstone, after which a restart no longer knows it. */
  appendTombstone(transactionalId: string): Promise<void> {
    return this.appendRecord(transactionalId, null);
  }

  private appendRecord(
    transactionalId: string,
    value: Buffer | null,
    options?: { deferFlush?: boolean },
  ): Promise<void> {
    const partition = this.partitionFor(transactionalId);
    const batch = buildKeyValueBatch(
      [{ key: encodeTransactionKey(transactionalId), value }],
      this.clock(),
    );
    return this.stateTopic.append(partition, batch, options);
  }
}
