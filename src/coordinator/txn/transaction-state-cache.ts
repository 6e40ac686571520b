// The transaction coordinator's state: transactional id → its newest metadata, as kept in the
// compacted `__transaction_state` (one record per id, a tombstone when the id expired). Rebuilt
// once on start by replaying every partition; afterwards each change is appended here first and
// installed by the coordinator only once durable.
//
// Owned by the TransactionCoordinator, which runs the operations on one id one at a time; this
// module neither orders nor checks them. `append` builds and issues its batch in the turn it is
// called, so records land in the order the coordinator issued them.

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

export class TransactionStateCache {
  private readonly transactions = new Map<string, TransactionMetadata>();
  private loaded = false;

  constructor(
    private readonly stateTopic: TransactionStateStorage,
    private readonly clock: () => number,
  ) {}

  /** Whether start-up replay has finished (until then the coordinator answers LOAD_IN_PROGRESS). */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Replays every partition of the state topic: the newest record per id wins. */
  async load(): Promise<void> {
    for (let partition = 0; partition < this.stateTopic.partitionCount; partition += 1) {
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
            const metadata =
              record.value === null ? null : decodeTransactionValue(transactionalId, record.value);
            if (metadata === null) this.transactions.delete(transactionalId);
            else this.transactions.set(transactionalId, metadata);
          }
        }
      }
    }
    this.loaded = true;
  }

  get(transactionalId: string): TransactionMetadata | undefined {
    return this.transactions.get(transactionalId);
  }

  /** Installs metadata whose record is durable (or, for Complete*, issued; see the coordinator). */
  set(metadata: TransactionMetadata): void {
    this.transactions.set(metadata.transactionalId, metadata);
  }

  delete(transactionalId: string): void {
    this.transactions.delete(transactionalId);
  }

  all(): TransactionMetadata[] {
    return [...this.transactions.values()];
  }

  /** The partitions for which an unfinished transaction holds offsets of `groupId`. */
  pendingOffsetPartitions(groupId: string): { topic: string; partition: number }[] {
    const partitions: { topic: string; partition: number }[] = [];
    for (const metadata of this.transactions.values()) {
      if (metadata.state !== 'Ongoing' && metadata.state !== 'PrepareCommit') continue;
      for (const entry of metadata.pendingOffsets.get(groupId) ?? []) {
        partitions.push({ topic: entry.topic, partition: entry.partition });
      }
    }
    return partitions;
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
    const partition = transactionStatePartitionFor(transactionalId, this.stateTopic.partitionCount);
    const batch = buildKeyValueBatch(
      [{ key: encodeTransactionKey(transactionalId), value }],
      this.clock(),
    );
    return this.stateTopic.append(partition, batch, options);
  }
}
