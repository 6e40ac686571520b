// Per-record decoding and building of RecordBatch v2. Only background work (compaction, index
// rebuilding by timestamp), coordinators (control batches, internal topics) and tests use this;
// the produce and fetch paths never touch individual records.
//
// A record inside the (possibly compressed) records section, varints zigzag-encoded:
//   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
//   | keyLength varint | key | valueLength varint | value
//   | headersCount varint | (headerKeyLength varint | headerKey | headerValueLength varint | headerValue)*

import {
  AttributeBit,
  BATCH_HEADER_BYTES,
  BatchField,
  CURRENT_MAGIC,
  CompressionType,
  LOG_OVERHEAD_BYTES,
  RecordError,
  RecordErrorCode,
  readInt64,
  updateBatchCrc,
  writeInt64,
} from './batch.js';
import { compress } from './compression.js';
import {
  DEFAULT_DECOMPRESSION_RATIO_MAX,
  decompressedPieces,
  type DecompressionLimit,
} from './decompression-stream.js';
import { assert } from '../util/assert.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** baseOffset + offsetDelta. */
  offset: number;
  /** baseTimestamp + timestampDelta (for CreateTime; the batch's maxTimestamp rules under LogAppendTime). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  compression: number;
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizon: boolean;
  isLogAppendTime: boolean;
}

export interface DecodedBatch extends BatchHeader {
  records: DecodedRecord[];
}

export function decodeBatchHeader(buffer: Buffer, position = 0): BatchHeader {
  const attributes = buffer.readInt16BE(position + BatchField.attributes);
  return {
    baseOffset: readInt64(buffer, position + BatchField.baseOffset),
    batchLength: buffer.readInt32BE(position + BatchField.batchLength),
    partitionLeaderEpoch: buffer.readInt32BE(position + BatchField.partitionLeaderEpoch),
    magic: buffer.readInt8(position + BatchField.magic),
    crc: buffer.readUInt32BE(position + BatchField.crc),
    attributes,
    lastOffsetDelta: buffer.readInt32BE(position + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64(buffer, position + BatchField.baseTimestamp),
    maxTimestamp: readInt64(buffer, position + BatchField.maxTimestamp),
    producerId: readInt64(buffer, position + BatchField.producerId),
    producerEpoch: buffer.readInt16BE(position + BatchField.producerEpoch),
    baseSequence: buffer.readInt32BE(position + BatchField.baseSequence),
    recordsCount: buffer.readInt32BE(position + BatchField.recordsCount),
    compression: attributes & AttributeBit.compressionMask,
    isTransactional: (attributes & AttributeBit.transactional) !== 0,
    isControl: (attributes & AttributeBit.control) !== 0,
    hasDeleteHorizon: (attributes & AttributeBit.deleteHorizon) !== 0,
    isLogAppendTime: (attributes & AttributeBit.logAppendTime) !== 0,
  };
}

/** A cursor over zigzag varints; every length is checked against what remains. */
class VarintReader {
  position: number;

  constructor(
    private readonly buffer: Buffer,
    position: number,
    readonly end: number,
  ) {
    this.position = position;
  }

  private fail(what: string): never {
    throw new RecordError(
      RecordErrorCode.CORRUPT_MESSAGE,
      `record decoding failed: ${what} at byte ${this.position}`,
    );
  }

  varlong(): number {
    let unsigned = 0n;
    let shift = 0n;
    while (true) {
      if (this.position >= this.end) this.fail('truncated varint');
      const byte = this.buffer[this.position++];
      unsigned |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) this.fail('varint longer than 10 bytes');
    }
    return Number((unsigned >> 1n) ^ -(unsigned & 1n));
  }

  varint(): number {
    let unsigned = 0;
    let shift = 0;
    while (true) {
      if (this.position >= this.end) this.fail('truncated varint');
      const byte = this.buffer[this.position++];
      unsigned |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) this.fail('varint longer than 5 bytes');
    }
    return (unsigned >>> 1) ^ -(unsigned & 1);
  }

  int8(): number {
    if (this.position >= this.end) this.fail('truncated record');
    return this.buffer.readInt8(this.position++);
  }

  bytes(length: number): Buffer {
    if (length < 0 || this.position + length > this.end)
      this.fail(`field of ${length} bytes overruns the record`);
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  nullableBytes(): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    return this.bytes(length);
  }
}

/** Decodes the record `reader` spans (its length varint already read); `index` names it in errors. */
function decodeRecord(reader: VarintReader, header: BatchHeader, index: number): DecodedRecord {
  const end = reader.end;
  const attributes = reader.int8();
  const timestampDelta = reader.varlong();
  const offsetDelta = reader.varint();
  const key = reader.nullableBytes();
  const value = reader.nullableBytes();
  const headersCount = reader.varint();
  if (headersCount < 0)
    throw new RecordError(
      RecordErrorCode.CORRUPT_MESSAGE,
      `record ${index} has ${headersCount} headers`,
    );
  const headers: RecordHeader[] = [];
  for (let headerIndex = 0; headerIndex < headersCount; headerIndex++) {
    const keyLength = reader.varint();
    const headerKey = reader.bytes(keyLength).toString('utf8');
    headers.push({ key: headerKey, value: reader.nullableBytes() });
  }
  if (reader.position !== end) {
    throw new RecordError(
      RecordErrorCode.CORRUPT_MESSAGE,
      `record ${index} has ${end - reader.position} stray bytes`,
    );
  }
  return {
    attributes,
    timestampDelta,
    offsetDelta,
    offset: header.baseOffset + offsetDelta,
    timestamp: header.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

/**
 * The zigzag varint at `position` and its size in bytes, or null when `buffer` ends inside it
 * (the next piece holds the rest).
 */
function peekVarint(buffer: Buffer, position: number): { value: number; bytes: number } | null {
  let unsigned = 0;
  for (let index = 0; index < 5; index++) {
    if (position + index >= buffer.length) return null;
    const byte = buffer[position + index];
    unsigned |= (byte & 0x7f) << (7 * index);
    if ((byte & 0x80) === 0) return { value: (unsigned >>> 1) ^ -(unsigned & 1), bytes: index + 1 };
  }
  throw new RecordError(
    RecordErrorCode.CORRUPT_MESSAGE,
    'record length varint longer than 5 bytes',
  );
}

function recordsSection(buffer: Buffer, position: number, header: BatchHeader): Buffer {
  const end = position + LOG_OVERHEAD_BYTES + header.batchLength;
  if (end > buffer.length)
    throw new RecordError(RecordErrorCode.CORRUPT_MESSAGE, 'batch overruns the buffer');
  return buffer.subarray(position + BATCH_HEADER_BYTES, end);
}

/**
 * How far the records of a compressed batch may decompress when the caller has no topic at hand
 * (coordinators, tools): what a topic with default settings allows.
 */
/** max.message.bytes' default (Kafka's 1 MiB plus the 12 bytes of log overhead). */
const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + 12;

export const DEFAULT_DECOMPRESSION_LIMIT: DecompressionLimit = {
  bytesMax: DEFAULT_DECOMPRESSION_RATIO_MAX * DEFAULT_MAX_MESSAGE_BYTES,
  describe: `max.decompression.ratio ${DEFAULT_DECOMPRESSION_RATIO_MAX} × max.message.bytes ${DEFAULT_MAX_MESSAGE_BYTES}`,
};

/**
 * Calls `visit` with each record of the batch at `position`, in order, until it returns false;
 * returns the batch header. The records section is decompressed piece by piece
 * (decompression-stream.ts): what is held at once is one piece plus the record that straddles
 * pieces, never the whole section, and a batch whose records would decompress past `limit` is
 * refused with INVALID_RECORD. A record's key, value and header values are views of a piece:
 * copy them to keep them past the call. Throws CORRUPT_MESSAGE when the records do not match the
 * batch's recordsCount or overrun it.
 */
export function forEachRecord(
  buffer: Buffer,
  position: number,
  limit: DecompressionLimit,
  visit: (record: DecodedRecord, index: number) => boolean | void,
): BatchHeader {
  const header = decodeBatchHeader(buffer, position);
  if (header.recordsCount <= 0) return header;
  const pieces = decompressedPieces(
    header.compression,
    recordsSection(buffer, position, header),
    limit,
  );
  // Bytes not yet consumed: the tail of earlier pieces, concatenated only once a record fits.
  let parts: Buffer[] = [];
  let partsBytes = 0;
  let bytesNeeded = 1;
  let index = 0;
  try {
    for (const piece of pieces) {
      parts.push(piece);
      partsBytes += piece.length;
      if (partsBytes < bytesNeeded) continue;
      const body = parts.length === 1 ? parts[0] : Buffer.concat(parts, partsBytes);
      let offset = 0;
      while (index < header.recordsCount) {
        const length = peekVarint(body, offset);
        if (length === null) {
          bytesNeeded = body.length - offset + 1;
          break;
        }
        if (length.value < 0 || length.value > limit.bytesMax) {
          throw new RecordError(
            RecordErrorCode.CORRUPT_MESSAGE,
            `record ${index} declares ${length.value} bytes`,
          );
        }
        const end = offset + length.bytes + length.value;
        if (end > body.length) {
          bytesNeeded = end - offset;
          break;
        }
        const record = decodeRecord(
          new VarintReader(body, offset + length.bytes, end),
          header,
          index,
        );
        offset = end;
        index++;
        if (visit(record, index - 1) === false) return header;
      }
      if (index === header.recordsCount) return header;
      parts = offset < body.length ? [body.subarray(offset)] : [];
      partsBytes = body.length - offset;
    }
  } finally {
    pieces.return();
  }
  throw new RecordError(
    RecordErrorCode.CORRUPT_MESSAGE,
    partsBytes > 0
      ? `record ${index} declares bytes past the batch end`
      : `batch declares ${header.recordsCount} records but holds ${index}`,
  );
}

/**
 * Decodes the batch at `position` with all its records. The records together are held in
 * memory, so `limit` bounds what this costs; a caller that can look at one record at a time
 * uses forEachRecord.
 */
export function decodeBatchSync(
  buffer: Buffer,
  position = 0,
  limit: DecompressionLimit = DEFAULT_DECOMPRESSION_LIMIT,
): DecodedBatch {
  const records: DecodedRecord[] = [];
  const header = forEachRecord(buffer, position, limit, (record) => {
    records.push(record);
  });
  return { ...header, records };
}

/** decodeBatchSync for callers that await (it never waits; kept for their signatures). */
export async function decodeBatch(
  buffer: Buffer,
  position = 0,
  limit: DecompressionLimit = DEFAULT_DECOMPRESSION_LIMIT,
): Promise<DecodedBatch> {
  return decodeBatchSync(buffer, position, limit);
}

/**
 * The largest record timestamp of the batch at `position` (baseTimestamp + timestampDelta over
 * its records), or -1 when it holds none. Compressed records are decompressed piece by piece,
 * within `limit`. Throws CORRUPT_MESSAGE when a record overruns the batch.
 */
export function recordsMaxTimestamp(
  buffer: Buffer,
  position = 0,
  limit: DecompressionLimit = DEFAULT_DECOMPRESSION_LIMIT,
): number {
  let maxTimestamp = -1;
  forEachRecord(buffer, position, limit, (record) => {
    maxTimestamp = Math.max(maxTimestamp, record.timestamp);
  });
  return maxTimestamp;
}

/** Collects the bytes of records being built; grows by doubling. */
class VarintWriter {
  private buffer = Buffer.allocUnsafe(256);
  length = 0;

  private ensure(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  varlong(value: number): void {
    let unsigned = (BigInt(value) << 1n) ^ (BigInt(value) >> 63n);
    unsigned = BigInt.asUintN(64, unsigned);
    this.ensure(10);
    while (unsigned >= 0x80n) {
      this.buffer[this.length++] = Number(unsigned & 0x7fn) | 0x80;
      unsigned >>= 7n;
    }
    this.buffer[this.length++] = Number(unsigned);
  }

  varint(value: number): void {
    let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
    this.ensure(5);
    while (unsigned >= 0x80) {
      this.buffer[this.length++] = (unsigned & 0x7f) | 0x80;
      unsigned >>>= 7;
    }
    this.buffer[this.length++] = unsigned;
  }

  int8(value: number): void {
    this.ensure(1);
    this.buffer.writeInt8(value, this.length++);
  }

  bytes(value: Buffer): void {
    this.ensure(value.length);
    value.copy(this.buffer, this.length);
    this.length += value.length;
  }

  nullableBytes(value: Buffer | null): void {
    if (value === null) {
      this.varint(-1);
      return;
    }
    this.varint(value.length);
    this.bytes(value);
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Absolute timestamp; defaults to the batch's base timestamp. */
  timestamp?: number;
  /** Defaults to the record's index in the batch; compaction keeps the original deltas. */
  offsetDelta?: number;
}

export interface BuildBatchOptions {
  records: RecordInput[];
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: number;
  logAppendTime?: boolean;
  isTransactional?: boolean;
  isControl?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Defaults to the first record's timestamp, or now. */
  baseTimestamp?: number;
  /** Sets the delete-horizon bit; the horizon then takes baseTimestamp's place. */
  deleteHorizonMs?: number;
  /** Defaults to the last record's offsetDelta; compaction keeps the original. */
  lastOffsetDelta?: number;
  /** Defaults to the largest record timestamp. */
  maxTimestamp?: number;
}

function encodeRecordsSection(records: RecordInput[], baseTimestamp: number): Buffer {
  const writer = new VarintWriter();
  const body = new VarintWriter();
  records.forEach((record, index) => {
    body.length = 0;
    body.int8(0);
    body.varlong((record.timestamp ?? baseTimestamp) - baseTimestamp);
    body.varint(record.offsetDelta ?? index);
    body.nullableBytes(record.key);
    body.nullableBytes(record.value);
    const headers = record.headers ?? [];
    body.varint(headers.length);
    for (const header of headers) {
      const key = Buffer.from(header.key, 'utf8');
      body.varint(key.length);
      body.bytes(key);
      body.nullableBytes(header.value);
    }
    const encoded = body.toBuffer();
    writer.varint(encoded.length);
    writer.bytes(encoded);
  });
  return writer.toBuffer();
}

/** Builds a whole RecordBatch v2 with a valid CRC. */
export async function buildBatch(options: BuildBatchOptions): Promise<Buffer> {
  const compression = options.compression ?? CompressionType.none;
  const baseTimestamp = batchBaseTimestampOf(options);
  const body = await compress(compression, encodeRecordsSection(options.records, baseTimestamp));
  return assembleBatch(options, compression, baseTimestamp, body);
}

/**
 * buildBatch for an uncompressed batch, without awaiting: a coordinator builds its record and
 * hands it to the log in the same turn, so appends keep the order in which they were issued.
 */
export function buildUncompressedBatch(options: BuildBatchOptions): Buffer {
  const compression = options.compression ?? CompressionType.none;
  assert(
    compression === CompressionType.none,
    `buildUncompressedBatch was asked for compression ${compression}`,
  );
  const baseTimestamp = batchBaseTimestampOf(options);
  const body = encodeRecordsSection(options.records, baseTimestamp);
  return assembleBatch(options, compression, baseTimestamp, body);
}

/** The timestamp the records' deltas count from (the delete horizon when one is set). */
function batchBaseTimestampOf(options: BuildBatchOptions): number {
  const firstTimestamp = options.records[0]?.timestamp ?? options.baseTimestamp ?? Date.now();
  return options.deleteHorizonMs ?? options.baseTimestamp ?? firstTimestamp;
}

function assembleBatch(
  options: BuildBatchOptions,
  compression: number,
  baseTimestamp: number,
  body: Buffer,
): Buffer {
  const { records } = options;
  const timestamps = records
    .map((record) => record.timestamp)
    .filter((value): value is number => value !== undefined);
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + body.length);
  let attributes = compression;
  if (options.logAppendTime) attributes |= AttributeBit.logAppendTime;
  if (options.isTransactional) attributes |= AttributeBit.transactional;
  if (options.isControl) attributes |= AttributeBit.control;
  if (options.deleteHorizonMs !== undefined) attributes |= AttributeBit.deleteHorizon;
  const lastRecord = records[records.length - 1];
  const lastOffsetDelta =
    options.lastOffsetDelta ?? (lastRecord ? (lastRecord.offsetDelta ?? records.length - 1) : 0);
  const maxTimestamp =
    options.maxTimestamp ??
    (timestamps.length > 0 ? Math.max(...timestamps) : records.length > 0 ? baseTimestamp : -1);
  writeInt64(batch, BatchField.baseOffset, options.baseOffset ?? 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD_BYTES, BatchField.batchLength);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(CURRENT_MAGIC, BatchField.magic);
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeInt32BE(lastOffsetDelta, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, records.length > 0 ? baseTimestamp : -1);
  writeInt64(batch, BatchField.maxTimestamp, maxTimestamp);
  writeInt64(batch, BatchField.producerId, options.producerId ?? -1);
  batch.writeInt16BE(options.producerEpoch ?? -1, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? -1, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordsCount);
  body.copy(batch, BATCH_HEADER_BYTES);
  updateBatchCrc(batch);
  return batch;
}

export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;
export type ControlRecordType = (typeof ControlRecordType)[keyof typeof ControlRecordType];

export interface ControlBatchOptions {
  type: ControlRecordType;
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  timestamp: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

/** A transaction marker: a transactional control batch holding exactly one record. */
export async function buildControlBatch(options: ControlBatchOptions): Promise<Buffer> {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(options.type, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(options.coordinatorEpoch, 2);
  return buildBatch({
    records: [{ key, value, timestamp: options.timestamp }],
    baseOffset: options.baseOffset,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    isTransactional: true,
    isControl: true,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: -1,
  });
}

export interface ControlRecord {
  version: number;
  type: number;
  coordinatorEpoch: number;
}

export function decodeControlRecord(record: {
  key: Buffer | null;
  value: Buffer | null;
}): ControlRecord {
  if (!record.key || record.key.length < 4) {
    throw new RecordError(RecordErrorCode.CORRUPT_MESSAGE, 'a control record needs a 4-byte key');
  }
  const coordinatorEpoch =
    record.value && record.value.length >= 6 ? record.value.readInt32BE(2) : -1;
  return { version: record.key.readInt16BE(0), type: record.key.readInt16BE(2), coordinatorEpoch };
}
