// Bounded, synchronous, piece-by-piece decompression of a batch's records section, for every
// path that reads records out of a compressed batch (the produce-time checks, the log cleaner,
// timestamp lookups). A batch of a few kilobytes can decompress to gigabytes (a "bomb"), so:
//
// - nothing here ever holds the whole decompressed section: each codec hands out pieces of at
//   most PIECE_BYTES_MAX (a raw snappy block is the one exception, and it declares its size, so it
//   is refused before a byte is decompressed when that size passes the limit);
// - the caller names a limit, and the stream throws INVALID_RECORD as soon as the pieces it has
//   handed out pass it, so a bomb costs at most `limit` bytes of decompression work.
//
// Synchronous because `PartitionLog.append` validates in the turn that assigns offsets. Node's
// zlib has no public synchronous streaming API, so gzip drives the engine's handle the way
// zlib.gunzipSync does internally (writeSync + the shared write state), piece by piece; zstd uses
// zstd-napi's ZSTD_decompressStream binding; LZ4 frames are decoded here, block by block, with
// the 64 KiB history linked blocks need.

import { createRequire } from 'node:module';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { CompressionType, RecordError, RecordErrorCode } from './batch.js';

/** The most bytes one piece holds (an LZ4 block may reach 4 MiB, its format's largest). */
export const PIECE_BYTES_MAX = 4 * 1024 * 1024;
/** The output buffer gzip and zstd decompress into; each piece is a copy of what it filled. */
const OUTPUT_BYTES = 256 * 1024;
/** zstd frames whose window passes 2^ZSTD_WINDOW_LOG_MAX bytes are refused (the decoder would allocate it). */
const ZSTD_WINDOW_LOG_MAX = 24;

const requireNative = createRequire(import.meta.url);
let snappyModule: typeof import('snappy') | undefined;
const snappy = (): typeof import('snappy') =>
  (snappyModule ??= requireNative('snappy') as typeof import('snappy'));

interface ZstdStreamContext {
  setParameter(parameter: number, value: number): void;
  decompressStream(output: Uint8Array, input: Uint8Array): [number, number, number];
}
interface ZstdBinding {
  DCtx: new () => ZstdStreamContext;
  DParameter: { windowLogMax: number };
}
let zstdBindingModule: ZstdBinding | undefined;
const zstdBinding = (): ZstdBinding =>
  (zstdBindingModule ??= requireNative('zstd-napi/binding') as ZstdBinding);

/**
 * max.decompression.ratio's default: the records of a compressed batch may decompress to this
 * many times max.message.bytes. Generous for real data (text compresses 3-10x), small enough that
 * a bomb stops after tens of megabytes of work.
 */
export const DEFAULT_DECOMPRESSION_RATIO_MAX = 32;

/** What `decompressedPieces` needs to know about its limit: the bytes and how to name them. */
export interface DecompressionLimit {
  bytesMax: number;
  /** Says which settings set the limit, for the error message. */
  describe: string;
}

/** A limit for callers with no topic at hand (tests, tools): the bytes, named as such. */
export function decompressionLimit(bytesMax: number): DecompressionLimit {
  return { bytesMax, describe: `the limit of ${bytesMax} bytes` };
}

/**
 * The decompressed bytes of `data` (a batch's records section compressed with `codec`), in pieces
 * of at most PIECE_BYTES_MAX. Throws INVALID_RECORD once they pass `limit`, CORRUPT_MESSAGE when
 * the codec fails, UNSUPPORTED_COMPRESSION_TYPE for an unknown codec. Stopping the iteration
 * early (a caller that has read every record it needs) releases the codec's state.
 */
export function* decompressedPieces(
  codec: number,
  data: Buffer,
  limit: DecompressionLimit,
): Generator<Buffer, void, undefined> {
  let total = 0;
  const counted = (piece: Buffer): Buffer => {
    total += piece.length;
    if (total > limit.bytesMax) {
      throw new RecordError(
        RecordErrorCode.INVALID_RECORD,
        `compressed records decompress to more than ${limit.bytesMax} bytes (${limit.describe}); the batch is refused`,
      );
    }
    return piece;
  };
  const pieces = codecPieces(codec, data, limit);
  try {
    while (true) {
      let next: IteratorResult<Buffer, void>;
      try {
        next = pieces.next();
      } catch (error) {
        throw asCorruption(codec, error);
      }
      if (next.done === true) return;
      yield counted(next.value);
    }
  } finally {
    pieces.return();
  }
}

function codecPieces(
  codec: number,
  data: Buffer,
  limit: DecompressionLimit,
): Generator<Buffer, void, undefined> {
  switch (codec) {
    case CompressionType.none:
      return singlePiece(data);
    case CompressionType.gzip:
      return gunzipPieces(data);
    case CompressionType.snappy:
      return snappyPieces(data, limit);
    case CompressionType.lz4:
      return lz4FramePieces(data);
    case CompressionType.zstd:
      return zstdPieces(data);
    default:
      throw new RecordError(
        RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `unknown compression codec ${codec}`,
      );
  }
}

function asCorruption(codec: number, error: unknown): RecordError {
  if (error instanceof RecordError) return error;
  return new RecordError(
    RecordErrorCode.CORRUPT_MESSAGE,
    `cannot decompress codec ${codec}: ${(error as Error).message}`,
  );
}

function* singlePiece(data: Buffer): Generator<Buffer, void, undefined> {
  yield data;
}

// ───────────────────────────── gzip ─────────────────────────────

/** The engine handle zlib.gunzipSync drives: not in Node's typings, stable across Node 18–22. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inputOffset: number,
    inputLength: number,
    output: Buffer,
    outputOffset: number,
    outputLength: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

function* gunzipPieces(data: Buffer): Generator<Buffer, void, undefined> {
  const engine = createGunzip();
  const internals = engine as unknown as { _handle: ZlibHandle; _writeState: Uint32Array };
  const handle = internals._handle;
  // [availableOutputAfter, availableInputAfter], written by every writeSync.
  const writeState = internals._writeState;
  let failure: Error | null = null;
  handle.onerror = (message, _errno, code) => {
    failure = new Error(`${message}${code === undefined ? '' : ` (${code})`}`);
  };
  const output = Buffer.allocUnsafe(OUTPUT_BYTES);
  try {
    let inputOffset = 0;
    let inputLength = data.length;
    while (true) {
      handle.writeSync(
        zlibConstants.Z_FINISH,
        data,
        inputOffset,
        inputLength,
        output,
        0,
        output.length,
      );
      if (failure !== null) throw failure;
      const [outputLeft, inputLeft] = writeState;
      const written = output.length - outputLeft;
      inputOffset += inputLength - inputLeft;
      inputLength = inputLeft;
      if (written > 0) yield Buffer.from(output.subarray(0, written));
      // A full output buffer means more may be pending; otherwise the stream has ended.
      if (outputLeft !== 0) return;
    }
  } finally {
    engine.close();
  }
}

// ───────────────────────────── zstd ─────────────────────────────

function* zstdPieces(data: Buffer): Generator<Buffer, void, undefined> {
  const binding = zstdBinding();
  const context = new binding.DCtx();
  context.setParameter(binding.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  const output = Buffer.allocUnsafe(OUTPUT_BYTES);
  let input = data;
  let frameOpen = true;
  while (true) {
    const [hint, produced, consumed] = context.decompressStream(output, input);
    input = input.subarray(consumed);
    frameOpen = hint !== 0;
    if (produced > 0) yield Buffer.from(output.subarray(0, produced));
    if (produced === output.length) continue; // more may be buffered in the decoder
    if (input.length === 0) break;
    if (produced === 0 && consumed === 0) throw new Error('zstd decoder made no progress');
  }
  if (frameOpen) throw new Error('truncated zstd frame');
}

// ───────────────────────────── snappy ─────────────────────────────

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

/** The uncompressed length a raw snappy block declares in its leading varint. */
function snappyDeclaredLength(block: Buffer): number {
  let length = 0;
  for (let index = 0; index < 5; index++) {
    if (index >= block.length) throw new Error('truncated snappy length');
    const byte = block[index];
    length += (byte & 0x7f) * 2 ** (7 * index);
    if ((byte & 0x80) === 0) return length;
  }
  throw new Error('snappy length longer than 5 bytes');
}

function* snappyPieces(
  data: Buffer,
  limit: DecompressionLimit,
): Generator<Buffer, void, undefined> {
  const isXerial =
    data.length >= XERIAL_HEADER_BYTES &&
    data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
  const block = (bytes: Buffer): Buffer => {
    // Checked before decompressing: a raw block is decompressed whole.
    const declared = snappyDeclaredLength(bytes);
    if (declared > limit.bytesMax || (isXerial && declared > PIECE_BYTES_MAX)) {
      throw new RecordError(
        RecordErrorCode.INVALID_RECORD,
        `a snappy block declares ${declared} bytes, more than ${isXerial ? PIECE_BYTES_MAX : limit.bytesMax} (${limit.describe}); the batch is refused`,
      );
    }
    return snappy().uncompressSync(bytes, { asBuffer: true }) as Buffer;
  };
  if (!isXerial) {
    yield block(data);
    return;
  }
  let position = XERIAL_HEADER_BYTES;
  while (position < data.length) {
    if (position + 4 > data.length) throw new Error('truncated xerial chunk length');
    const length = data.readInt32BE(position);
    position += 4;
    if (length < 0 || position + length > data.length)
      throw new Error(`xerial chunk of ${length} bytes overruns the data`);
    yield block(data.subarray(position, position + length));
    position += length;
  }
}

// ───────────────────────────── LZ4 frame ─────────────────────────────
//
// magic u32le 0x184D2204 | FLG | BD | [content size u64le] | [dictionary id u32le] | header checksum
// then blocks: size u32le (high bit: stored uncompressed) | data | [block checksum u32le]
// ended by a zero size, then [content checksum u32le]. Checksums are not verified: the batch CRC
// already covers the compressed bytes.

const LZ4_MAGIC = 0x184d2204;
const LZ4_HISTORY_BYTES = 64 * 1024;
const LZ4_BLOCK_BYTES_MAX: Record<number, number> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};

function* lz4FramePieces(data: Buffer): Generator<Buffer, void, undefined> {
  if (data.length < 7 || data.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('not an LZ4 frame');
  const flags = data[4];
  if (flags >> 6 !== 1) throw new Error(`LZ4 frame version ${flags >> 6}`);
  const blocksIndependent = (flags & 0x20) !== 0;
  const hasBlockChecksum = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const hasDictionary = (flags & 0x01) !== 0;
  if (hasDictionary) throw new Error('LZ4 frames with a dictionary are not supported');
  const blockBytesMax = LZ4_BLOCK_BYTES_MAX[(data[5] >> 4) & 0x7];
  if (blockBytesMax === undefined) throw new Error(`LZ4 block size code ${(data[5] >> 4) & 0x7}`);
  let position = 6 + (hasContentSize ? 8 : 0) + 1;
  // The window: history the next block may copy from, then the block being decoded.
  const window = Buffer.allocUnsafe(LZ4_HISTORY_BYTES + blockBytesMax);
  let history = 0;
  while (true) {
    if (position + 4 > data.length) throw new Error('truncated LZ4 frame');
    const word = data.readUInt32LE(position);
    position += 4;
    if (word === 0) return;
    const stored = (word & 0x80000000) !== 0;
    const size = word & 0x7fffffff;
    if (position + size > data.length) throw new Error('LZ4 block overruns the frame');
    const block = data.subarray(position, position + size);
    position += size + (hasBlockChecksum ? 4 : 0);
    if (blocksIndependent) history = 0;
    let end: number;
    if (stored) {
      if (size > blockBytesMax) throw new Error('stored LZ4 block larger than the frame allows');
      block.copy(window, history);
      end = history + size;
    } else {
      end = lz4DecodeBlock(block, window, history, history + blockBytesMax);
    }
    yield Buffer.from(window.subarray(history, end));
    // Keep the last 64 KiB as the next block's history.
    const keep = Math.min(end, LZ4_HISTORY_BYTES);
    window.copy(window, 0, end - keep, end);
    history = keep;
  }
}

/** Decodes one LZ4 block into `output` from `start`; returns the end. Never writes past `limit`. */
function lz4DecodeBlock(input: Buffer, output: Buffer, start: number, limit: number): number {
  let inputPosition = 0;
  let outputPosition = start;
  const extendedLength = (length: number): number => {
    let byte: number;
    do {
      if (inputPosition >= input.length) throw new Error('truncated LZ4 length');
      byte = input[inputPosition++];
      length += byte;
    } while (byte === 255);
    return length;
  };
  while (inputPosition < input.length) {
    const token = input[inputPosition++];
    let literalLength = token >> 4;
    if (literalLength === 15) literalLength = extendedLength(literalLength);
    if (inputPosition + literalLength > input.length) throw new Error('LZ4 literals overrun');
    if (outputPosition + literalLength > limit) throw new Error('LZ4 block larger than declared');
    input.copy(output, outputPosition, inputPosition, inputPosition + literalLength);
    inputPosition += literalLength;
    outputPosition += literalLength;
    if (inputPosition >= input.length) break; // the last sequence has literals only
    if (inputPosition + 2 > input.length) throw new Error('truncated LZ4 offset');
    const offset = input[inputPosition] | (input[inputPosition + 1] << 8);
    inputPosition += 2;
    if (offset === 0 || offset > outputPosition)
      throw new Error(`LZ4 offset ${offset} out of range`);
    let matchLength = token & 0x0f;
    if (matchLength === 15) matchLength = extendedLength(matchLength);
    matchLength += 4;
    if (outputPosition + matchLength > limit) throw new Error('LZ4 block larger than declared');
    let from = outputPosition - offset;
    if (offset >= matchLength) {
      output.copy(output, outputPosition, from, from + matchLength);
      outputPosition += matchLength;
    } else {
      // Overlapping copy (a run): byte by byte, as the format defines it.
      for (let index = 0; index < matchLength; index++) output[outputPosition++] = output[from++];
    }
  }
  return outputPosition;
}
