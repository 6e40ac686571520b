// Batches of plain key/value records, the shape of every record a coordinator writes to its
// internal topic (`__consumer_offsets`, `__transaction_state`): uncompressed, no headers, every
// record stamped with the batch's timestamp, producerId -1 except for the offsets a transaction
// commits (TxnOffsetCommit), which the group coordinator writes as the producer's transactional
// batch so that the transaction's marker commits or drops them. Built and read with this folder's
// one RecordBatch v2 codec (records.ts); nothing here knows what the keys and values mean.
//
// Building is synchronous on purpose: a coordinator builds a batch and hands it to the log in the
// same turn, so two appends it issues land in the order it issued them.

import {
  AttributeBit,
  BATCH_HEADER_BYTES,
  BatchField,
  CURRENT_MAGIC,
  CompressionType,
  LOG_OVERHEAD_BYTES,
  RecordError,
  RecordErrorCode,
  hasValidCrc,
} from './batch.js';
import { buildUncompressedBatch, ControlRecordType, decodeBatchSync } from './records.js';
import { assert } from '../util/assert.js';

export interface KeyValueRecord {
  key: Buffer;
  /** null is a tombstone. */
  value: Buffer | null;
}

/** The producer whose transaction a key/value batch belongs to. */
export interface TransactionalProducer {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/**
 * One uncompressed RecordBatch v2 holding `records` in order, all stamped with `timestampMs`; with
 * `transaction`, a transactional batch of that producer (no sequence: a coordinator's append is
 * not checked for sequences, as in Kafka).
 */
export function buildKeyValueBatch(
  records: readonly KeyValueRecord[],
  timestampMs: number,
  transaction?: TransactionalProducer,
): Buffer {
  assert(records.length > 0, 'a key/value batch needs records');
  return buildUncompressedBatch({
    records: records.map((record) => ({ key: record.key, value: record.value })),
    baseTimestamp: timestampMs,
    ...(transaction === undefined
      ? {}
      : {
          isTransactional: true,
          producerId: transaction.producerId,
          producerEpoch: transaction.producerEpoch,
          baseSequence: -1,
        }),
  });
}

/** One batch of a coordinator's topic as its loader replays it. */
export type KeyValueBatch =
  | {
      readonly kind: 'records';
      /** The producer of a transactional batch; null for a coordinator's own records. */
      readonly transactionalProducerId: number | null;
      readonly records: readonly KeyValueRecord[];
    }
  | { readonly kind: 'marker'; readonly producerId: number; readonly committed: boolean };

/**
 * The key/value records of a chunk of log bytes holding whole batches, in offset order. Each
 * batch's length, magic and CRC are checked first. Control batches (transaction markers) and
 * transactional batches are skipped, and so are records without a key (they mean nothing to a
 * coordinator); a compressed batch is refused, since coordinators never write one and compaction
 * keeps batches as written. A malformed batch or record throws a RecordError (CORRUPT_MESSAGE).
 */
export function* readKeyValueRecords(bytes: Buffer): Generator<KeyValueRecord> {
  for (const batch of readKeyValueBatches(bytes)) {
    if (batch.kind === 'records' && batch.transactionalProducerId === null) yield* batch.records;
  }
}

/**
 * The batches of a chunk of log bytes holding whole batches, in offset order, checked as
 * readKeyValueRecords checks them: a coordinator's own records, transactional batches with their
 * producer, and transaction markers (COMMIT or ABORT, with the producer they end).
 */
export function* readKeyValueBatches(bytes: Buffer): Generator<KeyValueBatch> {
  let position = 0;
  while (position + BATCH_HEADER_BYTES <= bytes.length) {
    const batchLength = bytes.readInt32BE(position + BatchField.batchLength);
    const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
    if (
      batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES ||
      position + sizeBytes > bytes.length
    ) {
      throw corrupt(`batch at byte ${position} has a bad length ${batchLength}`);
    }
    const magic = bytes.readInt8(position + BatchField.magic);
    if (magic !== CURRENT_MAGIC) throw corrupt(`batch magic ${magic} is not ${CURRENT_MAGIC}`);
    if (!hasValidCrc(bytes, position, sizeBytes)) {
      throw corrupt(`batch at byte ${position} fails its CRC-32C`);
    }
    const attributes = bytes.readInt16BE(position + BatchField.attributes);
    const batchPosition = position;
    position += sizeBytes;
    if ((attributes & AttributeBit.compressionMask) !== CompressionType.none) {
      if ((attributes & AttributeBit.transactional) !== 0) continue; // not a coordinator's
      throw corrupt(`batch at byte ${batchPosition} is compressed; key/value batches never are`);
    }
    const decoded = decodeBatchSync(bytes, batchPosition);
    if ((attributes & AttributeBit.control) !== 0) {
      const key = decoded.records[0]?.key;
      if (key == null || key.length < 4) continue;
      const type = key.readInt16BE(2);
      if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) continue;
      yield {
        kind: 'marker',
        producerId: decoded.producerId,
        committed: type === ControlRecordType.COMMIT,
      };
      continue;
    }
    const records: KeyValueRecord[] = [];
    for (const record of decoded.records) {
      if (record.key !== null) records.push({ key: record.key, value: record.value });
    }
    yield {
      kind: 'records',
      transactionalProducerId:
        (attributes & AttributeBit.transactional) !== 0 ? decoded.producerId : null,
      records,
    };
  }
}

/** The producer and outcome of a transaction marker (one control batch); null for anything else. */
export function transactionMarkerOf(
  bytes: Buffer,
): { producerId: number; committed: boolean } | null {
  try {
    for (const batch of readKeyValueBatches(bytes)) {
      return batch.kind === 'marker'
        ? { producerId: batch.producerId, committed: batch.committed }
        : null;
    }
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
  }
  return null;
}

function corrupt(message: string): RecordError {
  return new RecordError(RecordErrorCode.CORRUPT_MESSAGE, message);
}
