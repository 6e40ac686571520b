// Encoding of the Kafka wire format's primitives into a list of chunks.
//
// Small values go into a scratch buffer that grows by replacement; large byte values and every
// `records` value are appended by reference, so a Fetch response that carries megabytes of
// batches read from segment files copies none of them. `finish()` returns the chunks and their
// total length for one corked socket write.
//
//   chunks:  [ scratch[0..a) ][ records buffer ][ scratch[a..b) ][ records buffer ] ...
//
// A Writer belongs to whoever encodes one message; it is not shared across an `await`.

const scratchBytesInitial = 1024;
/** Byte values at least this long are appended by reference rather than copied. */
const referenceBytesMin = 512;

export interface WriterOptions {
  /** Reserve 4 bytes at the start that `finish()` fills with the length of what follows. */
  frameLength?: boolean;
  /** Bytes the first scratch buffer holds (it grows as needed). */
  scratchBytes?: number;
}

export interface WriterResult {
  chunks: Buffer[];
  byteLength: number;
}

export class Writer {
  private readonly chunks: Buffer[] = [];
  private scratch: Buffer;
  /** Where the scratch bytes not yet turned into a chunk start. */
  private chunkStart = 0;
  private position = 0;
  /** Bytes in `chunks`, not counting the pending scratch region. */
  private chunkedBytes = 0;
  private readonly frameLength: boolean;
  private readonly frameScratch: Buffer | null;

  constructor(options: WriterOptions = {}) {
    this.scratch = Buffer.allocUnsafe(options.scratchBytes ?? scratchBytesInitial);
    this.frameLength = options.frameLength === true;
    this.frameScratch = this.frameLength ? this.scratch : null;
    if (this.frameLength) this.position = 4;
  }

  /** Bytes written so far (including a reserved frame length). */
  get byteLength(): number {
    return this.chunkedBytes + this.position - this.chunkStart;
  }

  /** Makes room for `byteCount` more bytes in the scratch buffer. */
  private reserve(byteCount: number): void {
    if (this.position + byteCount <= this.scratch.length) return;
    this.flushScratch();
    const size = Math.max(this.scratch.length * 2, byteCount);
    this.scratch = Buffer.allocUnsafe(size);
    this.chunkStart = 0;
    this.position = 0;
  }

  private flushScratch(): void {
    if (this.position > this.chunkStart) {
      this.chunks.push(this.scratch.subarray(this.chunkStart, this.position));
      this.chunkedBytes += this.position - this.chunkStart;
      this.chunkStart = this.position;
    }
  }

  /** Appends `buffer` by reference: the caller must not change it until the chunks are written. */
  appendBuffer(buffer: Buffer): void {
    if (buffer.length === 0) return;
    if (buffer.length < referenceBytesMin) {
      this.reserve(buffer.length);
      buffer.copy(this.scratch, this.position);
      this.position += buffer.length;
      return;
    }
    this.flushScratch();
    this.chunks.push(buffer);
    this.chunkedBytes += buffer.length;
  }

  /** Appends every chunk another Writer produced (tagged fields are encoded this way). */
  appendChunks(chunks: readonly Buffer[]): void {
    for (const chunk of chunks) this.appendBuffer(chunk);
  }

  writeInt8(value: number): void {
    this.reserve(1);
    this.scratch.writeInt8(value, this.position);
    this.position += 1;
  }

  writeUint8(value: number): void {
    this.reserve(1);
    this.scratch[this.position++] = value;
  }

  writeBool(value: boolean): void {
    this.reserve(1);
    this.scratch[this.position++] = value ? 1 : 0;
  }

  writeInt16(value: number): void {
    this.reserve(2);
    this.scratch.writeInt16BE(value, this.position);
    this.position += 2;
  }

  writeUint16(value: number): void {
    this.reserve(2);
    this.scratch.writeUInt16BE(value, this.position);
    this.position += 2;
  }

  writeInt32(value: number): void {
    this.reserve(4);
    this.scratch.writeInt32BE(value, this.position);
    this.position += 4;
  }

  writeUint32(value: number): void {
    this.reserve(4);
    this.scratch.writeUInt32BE(value, this.position);
    this.position += 4;
  }

  writeInt64(value: bigint): void {
    this.reserve(8);
    // Offsets and timestamps fit in a double: writing two 32-bit halves computed with float
    // arithmetic is several times faster than Buffer's BigInt path, which remains the fallback.
    const number = Number(value);
    if (Number.isSafeInteger(number)) {
      const high = Math.floor(number / 0x100000000);
      this.scratch.writeInt32BE(high, this.position);
      this.scratch.writeUInt32BE(number - high * 0x100000000, this.position + 4);
    } else {
      this.scratch.writeBigInt64BE(value, this.position);
    }
    this.position += 8;
  }

  writeFloat64(value: number): void {
    this.reserve(8);
    this.scratch.writeDoubleBE(value, this.position);
    this.position += 8;
  }

  /** An unsigned varint of a value in [0, 2^32). */
  writeUnsignedVarint(value: number): void {
    if (!(value >= 0 && value <= 0xffffffff) || !Number.isInteger(value)) {
      throw new RangeError(`unsigned varint ${value} is outside [0, 2^32)`);
    }
    this.reserve(5);
    const scratch = this.scratch;
    let position = this.position;
    while (value >= 0x80) {
      scratch[position++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    scratch[position++] = value;
    this.position = position;
  }

  /** A zigzag signed varint of a 32-bit value. */
  writeVarint(value: number): void {
    if (!(value >= -0x80000000 && value <= 0x7fffffff) || !Number.isInteger(value)) {
      throw new RangeError(`varint ${value} is outside the int32 range`);
    }
    this.writeUnsignedVarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** A zigzag signed varint of a 64-bit value. */
  writeVarlong(value: bigint): void {
    let unsigned = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    this.reserve(10);
    const scratch = this.scratch;
    let position = this.position;
    while (unsigned >= 0x80n) {
      scratch[position++] = Number(unsigned & 0x7fn) | 0x80;
      unsigned >>= 7n;
    }
    scratch[position++] = Number(unsigned);
    this.position = position;
  }

  // Strings are written as UTF-8 straight into the scratch buffer when their byte length is known
  // cheaply; `Buffer.byteLength` is what it costs to learn the length prefix first.

  private writeStringBody(value: string, byteLength: number): void {
    this.reserve(byteLength);
    if (byteLength === value.length && byteLength < 64) {
      // ASCII and short: a loop is faster than the native call.
      const scratch = this.scratch;
      let position = this.position;
      for (let index = 0; index < byteLength; index++)
        scratch[position++] = value.charCodeAt(index);
      this.position = position;
      return;
    }
    this.position += this.scratch.write(value, this.position, byteLength, 'utf8');
  }

  writeString(value: string): void {
    const byteLength = Buffer.byteLength(value, 'utf8');
    if (byteLength > 0x7fff) throw new RangeError(`string of ${byteLength} bytes is too long`);
    this.writeInt16(byteLength);
    this.writeStringBody(value, byteLength);
  }

  writeNullableString(value: string | null): void {
    if (value === null) this.writeInt16(-1);
    else this.writeString(value);
  }

  writeCompactString(value: string): void {
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.writeUnsignedVarint(byteLength + 1);
    this.writeStringBody(value, byteLength);
  }

  writeCompactNullableString(value: string | null): void {
    if (value === null) this.writeUnsignedVarint(0);
    else this.writeCompactString(value);
  }

  writeBytes(value: Buffer): void {
    this.writeInt32(value.length);
    this.appendBuffer(value);
  }

  writeNullableBytes(value: Buffer | null): void {
    if (value === null) this.writeInt32(-1);
    else this.writeBytes(value);
  }

  writeCompactBytes(value: Buffer): void {
    this.writeUnsignedVarint(value.length + 1);
    this.appendBuffer(value);
  }

  writeCompactNullableBytes(value: Buffer | null): void {
    if (value === null) this.writeUnsignedVarint(0);
    else this.writeCompactBytes(value);
  }

  /**
   * `records`: nullable bytes whose value may be several buffers (whole batches read from a log),
   * all appended by reference.
   */
  writeRecords(value: Buffer | readonly Buffer[] | null, compact: boolean): void {
    if (value === null) {
      if (compact) this.writeUnsignedVarint(0);
      else this.writeInt32(-1);
      return;
    }
    if (Buffer.isBuffer(value)) {
      if (compact) this.writeUnsignedVarint(value.length + 1);
      else this.writeInt32(value.length);
      this.appendRecordsBuffer(value);
      return;
    }
    let byteLength = 0;
    for (const buffer of value as readonly Buffer[]) byteLength += buffer.length;
    if (compact) this.writeUnsignedVarint(byteLength + 1);
    else this.writeInt32(byteLength);
    for (const buffer of value as readonly Buffer[]) this.appendRecordsBuffer(buffer);
  }

  private appendRecordsBuffer(buffer: Buffer): void {
    if (buffer.length === 0) return;
    this.flushScratch();
    this.chunks.push(buffer);
    this.chunkedBytes += buffer.length;
  }

  writeUuid(value: Buffer): void {
    if (value.length !== 16) throw new RangeError(`uuid has ${value.length} bytes, not 16`);
    this.reserve(16);
    value.copy(this.scratch, this.position);
    this.position += 16;
  }

  writeArrayCount(count: number): void {
    this.writeInt32(count);
  }

  writeCompactArrayCount(count: number): void {
    this.writeUnsignedVarint(count + 1);
  }

  /** An empty tagged-field section. */
  writeEmptyTaggedFields(): void {
    this.reserve(1);
    this.scratch[this.position++] = 0;
  }

  /**
   * A tagged field's header and bytes; the caller writes the section's count first and the fields
   * in increasing tag order.
   */
  writeTaggedField(tag: number, value: WriterResult): void {
    this.writeUnsignedVarint(tag);
    this.writeUnsignedVarint(value.byteLength);
    this.appendChunks(value.chunks);
  }

  /** The chunks written, in order, and their total length. The Writer must not be used after. */
  finish(): WriterResult {
    this.flushScratch();
    const byteLength = this.chunkedBytes;
    if (this.frameScratch !== null) this.frameScratch.writeInt32BE(byteLength - 4, 0);
    return { chunks: this.chunks, byteLength };
  }

  /** The bytes written, concatenated (for tests and small messages). */
  toBuffer(): Buffer {
    const { chunks, byteLength } = this.finish();
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, byteLength);
  }
}
