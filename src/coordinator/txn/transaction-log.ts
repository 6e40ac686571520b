// Records of `__transaction_state`: one per transactional id (the topic is compacted, the
// newest record per key wins). The key is Kafka's layout (int16 version 0, then the
// transactional id as an int16-length string); the value is Brook's own: int16 version, then JSON
// of the transaction's metadata, including the offsets a TxnOffsetCommit handed in, so a
// PrepareCommit found after a crash can still commit them.

import { assert } from '../../util/assert.js';

export type TransactionState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort'
  | 'Dead';

/**
 * Kafka's transaction state machine: the states each state may be entered from.
 *
 *   Empty ──► Ongoing ──► PrepareCommit ──► CompleteCommit ──┐
 *     ▲          │  └───► PrepareAbort  ──► CompleteAbort ───┤
 *     └──────────┴────────── (Ongoing and Empty again) ◄─────┘
 */
const validPreviousStates: Record<TransactionState, readonly TransactionState[]> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
};

export interface PendingOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
}

export interface TransactionMetadata {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The epoch before the last coordinator bump (a timeout abort), -1 when none. */
  lastProducerEpoch: number;
  transactionTimeoutMs: number;
  state: TransactionState;
  /** topic → partitions in the transaction. */
  partitions: Map<string, Set<number>>;
  /** group → offsets to commit with the transaction. */
  pendingOffsets: Map<string, PendingOffset[]>;
  groups: Set<string>;
  transactionStartTimeMs: number;
  lastUpdateTimeMs: number;
}

const KEY_VERSION = 0;
const VALUE_VERSION = 0;

export function encodeTransactionKey(transactionalId: string): Buffer {
  const id = Buffer.from(transactionalId, 'utf8');
  const key = Buffer.alloc(4 + id.length);
  key.writeInt16BE(KEY_VERSION, 0);
  key.writeInt16BE(id.length, 2);
  id.copy(key, 4);
  return key;
}

export function decodeTransactionKey(key: Buffer): string | null {
  if (key.length < 4 || key.readInt16BE(0) !== KEY_VERSION) return null;
  const length = key.readInt16BE(2);
  if (4 + length > key.length) return null;
  return key.toString('utf8', 4, 4 + length);
}

export function encodeTransactionValue(metadata: TransactionMetadata): Buffer {
  const json = JSON.stringify({
    producerId: metadata.producerId,
    producerEpoch: metadata.producerEpoch,
    lastProducerEpoch: metadata.lastProducerEpoch,
    transactionTimeoutMs: metadata.transactionTimeoutMs,
    state: metadata.state,
    partitions: [...metadata.partitions].map(([topic, partitions]) => [topic, [...partitions]]),
    groups: [...metadata.groups],
    pendingOffsets: [...metadata.pendingOffsets].map(([group, offsets]) => [
      group,
      offsets.map((entry) => [
        entry.topic,
        entry.partition,
        String(entry.offset),
        entry.leaderEpoch,
        entry.metadata,
      ]),
    ]),
    transactionStartTimeMs: metadata.transactionStartTimeMs,
    lastUpdateTimeMs: metadata.lastUpdateTimeMs,
  });
  const body = Buffer.from(json, 'utf8');
  const value = Buffer.alloc(2 + body.length);
  value.writeInt16BE(VALUE_VERSION, 0);
  body.copy(value, 2);
  return value;
}

export function decodeTransactionValue(
  transactionalId: string,
  value: Buffer,
): TransactionMetadata | null {
  if (value.length < 2 || value.readInt16BE(0) !== VALUE_VERSION) return null;
  const parsed = JSON.parse(value.toString('utf8', 2)) as {
    producerId: number;
    producerEpoch: number;
    lastProducerEpoch: number;
    transactionTimeoutMs: number;
    state: TransactionState;
    partitions: [string, number[]][];
    groups: string[];
    pendingOffsets: [string, [string, number, string, number, string][]][];
    transactionStartTimeMs: number;
    lastUpdateTimeMs: number;
  };
  return {
    transactionalId,
    producerId: parsed.producerId,
    producerEpoch: parsed.producerEpoch,
    lastProducerEpoch: parsed.lastProducerEpoch,
    transactionTimeoutMs: parsed.transactionTimeoutMs,
    state: parsed.state,
    partitions: new Map(
      parsed.partitions.map(([topic, partitions]) => [topic, new Set(partitions)]),
    ),
    groups: new Set(parsed.groups),
    pendingOffsets: new Map(
      parsed.pendingOffsets.map(([group, offsets]) => [
        group,
        offsets.map(([topic, partition, offset, leaderEpoch, metadata]) => ({
          topic,
          partition,
          offset: BigInt(offset),
          leaderEpoch,
          metadata,
        })),
      ]),
    ),
    transactionStartTimeMs: parsed.transactionStartTimeMs,
    lastUpdateTimeMs: parsed.lastUpdateTimeMs,
  };
}

/** Kafka's partitioner for `__transaction_state`: Java's String.hashCode, Utils.abs, modulo. */
export function transactionStatePartitionFor(
  transactionalId: string,
  partitionCount: number,
): number {
  let hash = 0;
  for (let index = 0; index < transactionalId.length; index++) {
    hash = (Math.imul(hash, 31) + transactionalId.charCodeAt(index)) | 0;
  }
  const positive = hash === -2147483648 ? 0 : Math.abs(hash);
  return positive % partitionCount;
}

/**
 * A copy of `current` in `state`: the one way a transaction's state changes (the coordinator
 * installs the copy once its record is durable). Refuses a transition the state machine lacks.
 */
export function transitionTransaction(
  current: TransactionMetadata,
  state: TransactionState,
): TransactionMetadata {
  assert(
    validPreviousStates[state].includes(current.state),
    `transaction ${current.transactionalId} cannot go from ${current.state} to ${state}`,
  );
  return { ...copyMetadata(current), state };
}

export function copyMetadata(metadata: TransactionMetadata): TransactionMetadata {
  return {
    ...metadata,
    partitions: new Map(
      [...metadata.partitions].map(([topic, partitions]) => [topic, new Set(partitions)]),
    ),
    groups: new Set(metadata.groups),
    pendingOffsets: new Map(
      [...metadata.pendingOffsets].map(([group, offsets]) => [group, offsets.slice()]),
    ),
  };
}
