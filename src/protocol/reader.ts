// Decoding of the Kafka wire format's primitives from one frame body.
//
// A Reader walks a Buffer between `offset` and `end`. Every length taken off the wire (strings,
// bytes, records, array counts, tagged-field sizes) is checked against the bytes that remain
// before anything is allocated or sliced, so a frame that claims two gigabytes costs nothing.
// Bytes, records and strings are zero-copy views of the frame; uuids are copied (16 bytes) so a
// stored topic id never keeps a whole request frame alive.

import { BrookError } from '../util/errors.js';

/** Thrown for any frame that does not follow the protocol: the message says what and where. */
export class ProtocolDecodeError extends BrookError {
  declare readonly code: 'BROOK_PROTOCOL_DECODE';
  /** The byte offset in the frame at which the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super('BROOK_PROTOCOL_DECODE', `${message} at byte ${offset}`);
    this.name = 'ProtocolDecodeError';
    this.offset = offset;
  }
}

/** Unsigned varints that encode a 32-bit value take at most 5 bytes; 64-bit ones at most 10. */
const varintBytesMax = 5;
const varlongBytesMax = 10;

export class Reader {
  readonly buffer: Buffer;
  offset: number;
  readonly end: number;

  constructor(buffer: Buffer, offset = 0, end = buffer.length) {
    if (offset < 0 || end > buffer.length || offset > end) {
      throw new RangeError(
        `reader bounds [${offset}, ${end}) outside a ${buffer.length}-byte buffer`,
      );
    }
    this.buffer = buffer;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless `byteCount` more bytes are available, naming what was being read. */
  ensure(byteCount: number, what: string): void {
    if (byteCount > this.end - this.offset) {
      throw new ProtocolDecodeError(
        `${what} needs ${byteCount} bytes but only ${this.end - this.offset} remain`,
        this.offset,
      );
    }
  }

  skip(byteCount: number, what = 'skipped field'): void {
    this.ensure(byteCount, what);
    this.offset += byteCount;
  }

  readInt8(): number {
    this.ensure(1, 'int8');
    return this.buffer.readInt8(this.offset++);
  }

  readUint8(): number {
    this.ensure(1, 'uint8');
    return this.buffer[this.offset++];
  }

  readBool(): boolean {
    this.ensure(1, 'bool');
    return this.buffer[this.offset++] !== 0;
  }

  readInt16(): number {
    this.ensure(2, 'int16');
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  readUint16(): number {
    this.ensure(2, 'uint16');
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  readInt32(): number {
    this.ensure(4, 'int32');
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  readUint32(): number {
    this.ensure(4, 'uint32');
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  readInt64(): bigint {
    this.ensure(8, 'int64');
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  readFloat64(): number {
    this.ensure(8, 'float64');
    const value = this.buffer.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }

  /** An unsigned LEB128 varint of at most 32 bits (compact lengths, tags, tagged sizes). */
  readUnsignedVarint(): number {
    const buffer = this.buffer;
    const start = this.offset;
    // Most varints (compact lengths of short strings, tag counts) are one byte.
    if (start < this.end && buffer[start] < 0x80) {
      this.offset = start + 1;
      return buffer[start];
    }
    let value = 0;
    let position = start;
    for (let index = 0; index < varintBytesMax; index++) {
      if (position >= this.end) {
        throw new ProtocolDecodeError('varint is truncated', start);
      }
      const byte = buffer[position++];
      if (index === varintBytesMax - 1) {
        if (byte > 0x0f) throw new ProtocolDecodeError('varint does not fit in 32 bits', start);
        // The fifth byte carries bits 28-31: multiply, since a shift would go negative.
        this.offset = position;
        return value + byte * 0x10000000;
      }
      value |= (byte & 0x7f) << (7 * index);
      if (byte < 0x80) {
        this.offset = position;
        return value;
      }
    }
    throw new ProtocolDecodeError(`varint is longer than ${varintBytesMax} bytes`, start);
  }

  /** A zigzag-encoded signed 32-bit varint (record fields). */
  readVarint(): number {
    const unsigned = this.readUnsignedVarint();
    // Zigzag: 0, -1, 1, -2, ... ; `unsigned` is below 2^32 so the arithmetic stays exact.
    return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
  }

  /** A zigzag-encoded signed 64-bit varint, as a bigint. */
  readVarlong(): bigint {
    const buffer = this.buffer;
    const start = this.offset;
    let value = 0n;
    for (let index = 0; index < varlongBytesMax; index++) {
      if (this.offset >= this.end) {
        throw new ProtocolDecodeError('varlong is truncated', start);
      }
      const byte = buffer[this.offset++];
      if (index === varlongBytesMax - 1 && byte > 0x01) {
        throw new ProtocolDecodeError('varlong does not fit in 64 bits', start);
      }
      value |= BigInt(byte & 0x7f) << BigInt(7 * index);
      if (byte < 0x80) return (value >> 1n) ^ -(value & 1n);
    }
    throw new ProtocolDecodeError(`varlong is longer than ${varlongBytesMax} bytes`, start);
  }

  // Strings. Classic ones carry an int16 length (-1 for null); compact ones an unsigned varint of
  // length + 1 (0 for null).

  private readStringBody(length: number, start: number, what: string): string {
    if (length > this.end - this.offset) {
      throw new ProtocolDecodeError(
        `${what} of ${length} bytes exceeds the ${this.end - this.offset} bytes remaining`,
        start,
      );
    }
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  readString(): string {
    const start = this.offset;
    const length = this.readInt16();
    if (length < 0) throw new ProtocolDecodeError(`string length ${length} is negative`, start);
    return this.readStringBody(length, start, 'string');
  }

  readNullableString(): string | null {
    const start = this.offset;
    const length = this.readInt16();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolDecodeError(`string length ${length} is invalid`, start);
    return this.readStringBody(length, start, 'string');
  }

  readCompactString(): string {
    const start = this.offset;
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) throw new ProtocolDecodeError('non-nullable string is null', start);
    return this.readStringBody(lengthPlusOne - 1, start, 'compact string');
  }

  readCompactNullableString(): string | null {
    const start = this.offset;
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.readStringBody(lengthPlusOne - 1, start, 'compact string');
  }

  // Bytes (and records, which are bytes on the wire): zero-copy views of the frame.

  private readBytesBody(length: number, start: number, what: string): Buffer {
    if (length > this.end - this.offset) {
      throw new ProtocolDecodeError(
        `${what} of ${length} bytes exceeds the ${this.end - this.offset} bytes remaining`,
        start,
      );
    }
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  readBytes(): Buffer {
    const start = this.offset;
    const length = this.readInt32();
    if (length < 0) throw new ProtocolDecodeError(`bytes length ${length} is negative`, start);
    return this.readBytesBody(length, start, 'bytes');
  }

  readNullableBytes(): Buffer | null {
    const start = this.offset;
    const length = this.readInt32();
    if (length === -1) return null;
    if (length < 0) throw new ProtocolDecodeError(`bytes length ${length} is invalid`, start);
    return this.readBytesBody(length, start, 'bytes');
  }

  readCompactBytes(): Buffer {
    const start = this.offset;
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) throw new ProtocolDecodeError('non-nullable bytes are null', start);
    return this.readBytesBody(lengthPlusOne - 1, start, 'compact bytes');
  }

  readCompactNullableBytes(): Buffer | null {
    const start = this.offset;
    const lengthPlusOne = this.readUnsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.readBytesBody(lengthPlusOne - 1, start, 'compact bytes');
  }

  /** A uuid as a fresh 16-byte Buffer. */
  readUuid(): Buffer {
    this.ensure(16, 'uuid');
    const value = Buffer.allocUnsafe(16);
    this.buffer.copy(value, 0, this.offset, this.offset + 16);
    this.offset += 16;
    return value;
  }

  // Array counts. Every element of every array the protocol defines takes at least one byte, and
  // callers that know more pass `elementBytesMin` (4 for int32, 16 for uuid...). A count that
  // cannot fit in what remains is refused before an array of that size is created.

  private checkCount(count: number, elementBytesMin: number, start: number): void {
    const bytesMin = count * (elementBytesMin > 1 ? elementBytesMin : 1);
    if (bytesMin > this.end - this.offset) {
      throw new ProtocolDecodeError(
        `array of ${count} elements needs at least ${bytesMin} bytes but only ${this.end - this.offset} remain`,
        start,
      );
    }
  }

  /** A classic int32 array count; -1 (null) is refused. */
  readArrayCount(elementBytesMin = 1): number {
    const start = this.offset;
    const count = this.readInt32();
    if (count < 0) throw new ProtocolDecodeError(`array count ${count} is negative`, start);
    this.checkCount(count, elementBytesMin, start);
    return count;
  }

  /** A classic int32 array count; returns -1 for null. */
  readNullableArrayCount(elementBytesMin = 1): number {
    const start = this.offset;
    const count = this.readInt32();
    if (count === -1) return -1;
    if (count < 0) throw new ProtocolDecodeError(`array count ${count} is invalid`, start);
    this.checkCount(count, elementBytesMin, start);
    return count;
  }

  /** A compact array count (unsigned varint of count + 1); null is refused. */
  readCompactArrayCount(elementBytesMin = 1): number {
    const start = this.offset;
    const countPlusOne = this.readUnsignedVarint();
    if (countPlusOne === 0) throw new ProtocolDecodeError('non-nullable array is null', start);
    this.checkCount(countPlusOne - 1, elementBytesMin, start);
    return countPlusOne - 1;
  }

  /** A compact array count; returns -1 for null. */
  readCompactNullableArrayCount(elementBytesMin = 1): number {
    const start = this.offset;
    const countPlusOne = this.readUnsignedVarint();
    if (countPlusOne === 0) return -1;
    this.checkCount(countPlusOne - 1, elementBytesMin, start);
    return countPlusOne - 1;
  }

  /** A classic array whose elements `readElement` decodes. */
  readArray<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] {
    const count = this.readArrayCount(elementBytesMin);
    const values = new Array<T>(count);
    for (let index = 0; index < count; index++) values[index] = readElement(this);
    return values;
  }

  readNullableArray<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] | null {
    const count = this.readNullableArrayCount(elementBytesMin);
    if (count === -1) return null;
    const values = new Array<T>(count);
    for (let index = 0; index < count; index++) values[index] = readElement(this);
    return values;
  }

  readCompactArray<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] {
    const count = this.readCompactArrayCount(elementBytesMin);
    const values = new Array<T>(count);
    for (let index = 0; index < count; index++) values[index] = readElement(this);
    return values;
  }

  readCompactNullableArray<T>(readElement: (reader: Reader) => T, elementBytesMin = 1): T[] | null {
    const count = this.readCompactNullableArrayCount(elementBytesMin);
    if (count === -1) return null;
    const values = new Array<T>(count);
    for (let index = 0; index < count; index++) values[index] = readElement(this);
    return values;
  }

  /**
   * A tagged-field section: an unsigned varint count, then (tag, size, bytes) per field. Each
   * field whose tag `readTag` knows is decoded by it from a Reader bounded to that field's bytes
   * (it returns false for a tag it does not know); unknown tags are skipped. The whole field must
   * be consumed by the decoder, or the frame is refused.
   */
  readTaggedFields(readTag?: (tag: number, reader: Reader) => boolean): void {
    // Almost every section is empty: one zero byte.
    if (this.offset < this.end && this.buffer[this.offset] === 0) {
      this.offset++;
      return;
    }
    const start = this.offset;
    const count = this.readUnsignedVarint();
    // A field takes at least two bytes (tag and size).
    this.checkCount(count, 2, start);
    let previousTag = -1;
    for (let index = 0; index < count; index++) {
      const tagStart = this.offset;
      const tag = this.readUnsignedVarint();
      if (tag <= previousTag) {
        throw new ProtocolDecodeError(`tagged field ${tag} is out of order or repeated`, tagStart);
      }
      previousTag = tag;
      const size = this.readUnsignedVarint();
      this.ensure(size, `tagged field ${tag}`);
      const fieldEnd = this.offset + size;
      if (readTag !== undefined) {
        const fieldReader = new Reader(this.buffer, this.offset, fieldEnd);
        if (readTag(tag, fieldReader) && fieldReader.offset !== fieldEnd) {
          throw new ProtocolDecodeError(
            `tagged field ${tag} has ${fieldEnd - fieldReader.offset} bytes left over`,
            fieldReader.offset,
          );
        }
      }
      this.offset = fieldEnd;
    }
  }
}
