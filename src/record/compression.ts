// The four codecs Kafka producers use inside a RecordBatch, for background work only (compaction,
// coordinators, tests): the produce and fetch paths store and serve compressed bytes untouched.
//
// Kafka's snappy is not the snappy frame format: it is the xerial snappy-java stream, an 8-byte
// magic, two int32 versions, then [int32 length][raw snappy block] chunks. LZ4 is the LZ4 frame
// format. gzip comes with Node; the others are native packages.

import { gunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { CompressionType, RecordError, RecordErrorCode } from './batch.js';

// The native codecs load on first use: most brokers never decompress anything (the produce and
// fetch paths pass compressed bytes through), and loading all three costs about 14 MB of memory.
const requireNative = createRequire(import.meta.url);
let snappyModule: typeof import('snappy') | undefined;
let lz4Module: typeof import('lz4-napi') | undefined;
let zstdModule: typeof import('zstd-napi') | undefined;
const snappy = (): typeof import('snappy') =>
  (snappyModule ??= requireNative('snappy') as typeof import('snappy'));
const lz4 = (): typeof import('lz4-napi') =>
  (lz4Module ??= requireNative('lz4-napi') as typeof import('lz4-napi'));
const zstd = (): typeof import('zstd-napi') =>
  (zstdModule ??= requireNative('zstd-napi') as typeof import('zstd-napi'));

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00: xerial snappy-java's stream header. */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size; each chunk is compressed on its own. */
const XERIAL_CHUNK_BYTES = 32 * 1024;

export async function compress(codec: number, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case CompressionType.none:
      return data;
    case CompressionType.gzip:
      return gzipAsync(data);
    case CompressionType.snappy:
      return xerialSnappyCompress(data);
    case CompressionType.lz4:
      return lz4().compressFrame(data);
    case CompressionType.zstd:
      return zstd().compress(data);
    default:
      throw unsupported(codec);
  }
}

export async function decompress(codec: number, data: Buffer): Promise<Buffer> {
  try {
    switch (codec) {
      case CompressionType.none:
        return data;
      case CompressionType.gzip:
        return await gunzipAsync(data);
      case CompressionType.snappy:
        return await xerialSnappyDecompress(data);
      case CompressionType.lz4:
        return await lz4().decompressFrame(data);
      case CompressionType.zstd:
        return zstd().decompress(data);
      default:
        throw unsupported(codec);
    }
  } catch (error) {
    throw asDecompressionError(codec, error);
  }
}

/** Synchronous decompression, for the one hot-path check that needs records: keys on compacted topics. */
export function decompressSync(codec: number, data: Buffer): Buffer {
  try {
    switch (codec) {
      case CompressionType.none:
        return data;
      case CompressionType.gzip:
        return gunzipSync(data);
      case CompressionType.snappy:
        return xerialSnappyDecompressSync(data);
      case CompressionType.lz4:
        return lz4().decompressFrameSync(data);
      case CompressionType.zstd:
        return zstd().decompress(data);
      default:
        throw unsupported(codec);
    }
  } catch (error) {
    throw asDecompressionError(codec, error);
  }
}

/** A codec's own failure as CORRUPT_MESSAGE; a RecordError (unknown codec) passes through. */
function asDecompressionError(codec: number, error: unknown): RecordError {
  if (error instanceof RecordError) return error;
  return new RecordError(
    RecordErrorCode.CORRUPT_MESSAGE,
    `cannot decompress codec ${codec}: ${(error as Error).message}`,
  );
}

function unsupported(codec: number): RecordError {
  return new RecordError(
    RecordErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    `unknown compression codec ${codec}`,
  );
}

export async function xerialSnappyCompress(data: Buffer): Promise<Buffer> {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  const parts: Buffer[] = [header];
  for (let start = 0; start < data.length; start += XERIAL_CHUNK_BYTES) {
    const block = await snappy().compress(data.subarray(start, start + XERIAL_CHUNK_BYTES));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function isXerialFramed(data: Buffer): boolean {
  return (
    data.length >= XERIAL_HEADER_BYTES && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)
  );
}

function xerialBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let position = XERIAL_HEADER_BYTES;
  while (position < data.length) {
    if (position + 4 > data.length) throw new Error('truncated xerial chunk length');
    const length = data.readInt32BE(position);
    position += 4;
    if (length < 0 || position + length > data.length)
      throw new Error(`xerial chunk of ${length} bytes overruns the data`);
    blocks.push(data.subarray(position, position + length));
    position += length;
  }
  return blocks;
}

/** Accepts both the xerial stream Kafka's Java producer writes and a plain snappy block. */
export async function xerialSnappyDecompress(data: Buffer): Promise<Buffer> {
  if (!isXerialFramed(data)) return (await snappy().uncompress(data, { asBuffer: true })) as Buffer;
  const parts: Buffer[] = [];
  for (const block of xerialBlocks(data))
    parts.push((await snappy().uncompress(block, { asBuffer: true })) as Buffer);
  return Buffer.concat(parts);
}

export function xerialSnappyDecompressSync(data: Buffer): Buffer {
  if (!isXerialFramed(data)) return snappy().uncompressSync(data, { asBuffer: true }) as Buffer;
  return Buffer.concat(
    xerialBlocks(data).map((block) => snappy().uncompressSync(block, { asBuffer: true }) as Buffer),
  );
}
