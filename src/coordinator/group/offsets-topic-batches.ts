// RecordBatch v2 building and reading for the coordinator's own records in `__consumer_offsets`.
//
// The coordinator writes small uncompressed batches (one per commit or group change) with
// producerId -1, and reads them back once when a partition loads. This is background work, not a
// data-topic hot path, so per-record encoding is fine here.

import { crc32c } from '@node-rs/crc32';
import { Reader } from '../../protocol/reader.js';
import { Writer } from '../../protocol/writer.js';

export interface KeyValueRecord {
  key: Buffer;
  /** null is a tombstone. */
  value: Buffer | null;
}

const batchHeaderBytes = 61;
const crcStart = 21;
const magicOffset = 16;
const attributesOffset = 21;
const compressionMask = 0x07;
const transactionalFlag = 0x10;
const controlFlag = 0x20;

/** One uncompressed RecordBatch v2 holding `records`, all stamped with `timestampMs`. */
export function buildOffsetsTopicBatch(
  records: readonly KeyValueRecord[],
  timestampMs: number,
): Buffer {
  if (records.length === 0) throw new Error('assertion: an offsets-topic batch needs records');
  const body = new Writer();
  records.forEach((record, index) => {
    const recordWriter = new Writer({ scratchBytes: 32 + record.key.length });
    recordWriter.writeInt8(0); // attributes
    recordWriter.writeVarlong(0n); // timestampDelta
    recordWriter.writeVarint(index); // offsetDelta
    recordWriter.writeVarint(record.key.length);
    recordWriter.appendBuffer(record.key);
    if (record.value === null) {
      recordWriter.writeVarint(-1);
    } else {
      recordWriter.writeVarint(record.value.length);
      recordWriter.appendBuffer(record.value);
    }
    recordWriter.writeVarint(0); // headers
    const encoded = recordWriter.finish();
    body.writeVarint(encoded.byteLength);
    body.appendChunks(encoded.chunks);
  });
  const recordsBytes = body.toBuffer();

  const batch = Buffer.alloc(batchHeaderBytes + recordsBytes.length);
  const timestamp = BigInt(timestampMs);
  batch.writeBigInt64BE(0n, 0); // baseOffset: assigned by the log
  batch.writeInt32BE(batch.length - 12, 8); // batchLength
  batch.writeInt32BE(-1, 12); // partitionLeaderEpoch: stamped by the log
  batch.writeInt8(2, magicOffset);
  batch.writeInt16BE(0, attributesOffset);
  batch.writeInt32BE(records.length - 1, 23); // lastOffsetDelta
  batch.writeBigInt64BE(timestamp, 27); // baseTimestamp
  batch.writeBigInt64BE(timestamp, 35); // maxTimestamp
  batch.writeBigInt64BE(-1n, 43); // producerId
  batch.writeInt16BE(-1, 51); // producerEpoch
  batch.writeInt32BE(-1, 53); // baseSequence
  batch.writeInt32BE(records.length, 57);
  recordsBytes.copy(batch, batchHeaderBytes);
  batch.writeUInt32BE(crc32c(batch.subarray(crcStart)), 17);
  return batch;
}

export class OffsetsTopicBatchError extends Error {
  readonly code = 'BROOK_OFFSETS_BATCH';
}

/**
 * The key/value records of a chunk of log bytes holding whole batches, in offset order. Control
 * batches (transaction markers) are skipped; compressed batches are refused, since this
 * coordinator never writes them and compaction keeps batches as written.
 */
export function* readOffsetsTopicRecords(bytes: Buffer): Generator<KeyValueRecord> {
  let position = 0;
  while (position + batchHeaderBytes <= bytes.length) {
    const batchLength = bytes.readInt32BE(position + 8);
    const batchEnd = position + 12 + batchLength;
    if (batchLength < batchHeaderBytes - 12 || batchEnd > bytes.length) {
      throw new OffsetsTopicBatchError(`batch at byte ${position} has a bad length ${batchLength}`);
    }
    const magic = bytes.readInt8(position + magicOffset);
    if (magic !== 2) throw new OffsetsTopicBatchError(`batch magic ${magic} is not 2`);
    const attributes = bytes.readInt16BE(position + attributesOffset);
    const batch = bytes.subarray(position, batchEnd);
    if (crc32c(batch.subarray(crcStart)) !== batch.readUInt32BE(17)) {
      throw new OffsetsTopicBatchError(`batch at byte ${position} fails its CRC-32C`);
    }
    position = batchEnd;
    if ((attributes & controlFlag) !== 0) continue;
    if ((attributes & transactionalFlag) !== 0) continue; // transactional offsets: not handled yet
    if ((attributes & compressionMask) !== 0) {
      throw new OffsetsTopicBatchError(
        'compressed batches in __consumer_offsets are not supported',
      );
    }
    const recordCount = batch.readInt32BE(57);
    const reader = new Reader(batch, batchHeaderBytes);
    for (let index = 0; index < recordCount; index++) {
      const length = reader.readVarint();
      const recordEnd = reader.offset + length;
      reader.readInt8(); // attributes
      reader.readVarlong(); // timestampDelta
      reader.readVarint(); // offsetDelta
      const keyLength = reader.readVarint();
      if (keyLength < 0) {
        reader.offset = recordEnd;
        continue; // a record without a key has no meaning here
      }
      reader.ensure(keyLength, 'record key');
      const key = batch.subarray(reader.offset, reader.offset + keyLength);
      reader.offset += keyLength;
      const valueLength = reader.readVarint();
      let value: Buffer | null = null;
      if (valueLength >= 0) {
        reader.ensure(valueLength, 'record value');
        value = batch.subarray(reader.offset, reader.offset + valueLength);
        reader.offset += valueLength;
      }
      reader.offset = recordEnd;
      yield { key, value };
    }
  }
}
