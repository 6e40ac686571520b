// The /metrics answer gzipped without compressing 4 MB on every scrape. The exposition is a list
// of chunks, most of them kept from one scrape to the next (a block of unchanged series, a
// family's HELP and TYPE); each kept chunk is compressed once, on its own, and its compressed
// piece is kept as long as the chunk. A scrape of 10,000 partitions with traffic on a few
// compresses a few blocks and sends about an eighteenth of the bytes.
//
// The answer is one gzip member (RFC 1952), not one per chunk: some readers stop at the end of
// the first member (curl's --compressed does). That works because deflate data can be joined:
//
//   gzip header │ piece │ piece │ … │ piece │ final empty block │ CRC-32 │ length
//               └ each chunk's raw deflate, ended by a sync flush: byte-aligned, not final, and
//                 referring to nothing before it (it was compressed alone)
//
// The trailer's CRC-32 of the whole text is combined from each piece's CRC-32 and length (the
// CRC of a concatenation is the first CRC shifted by the second's length, xor the second CRC;
// the shift is one multiplication modulo the CRC polynomial by x^(8·length), kept per piece), so
// a scrape never reads the 4 MB of text it did not change. Text rendered anew on every scrape
// (the small families, a run between two kept chunks) is not compressed at all: it goes in
// stored blocks (deflate's uncompressed blocks, which may sit between compressed ones), a few
// KB sent as they are rather than a zlib stream set up and its buffers allocated for each run on
// every scrape (issue 13: a scrape's garbage moved produce p99).
//
// Chunks are never changed once handed out (scraped-gauges.ts): that is what makes a chunk's
// identity a sound key for its piece. Owned by the registry that renders the chunks, one scrape
// at a time.

import * as zlib from 'node:zlib';
import { constants, deflateRawSync } from 'node:zlib';

import type { EventLoopSlices } from './event-loop-slices.js';

/**
 * Speed over size: the text is repetitive enough that the fastest level already sends about an
 * eighteenth, and the level's cost is paid on every block that changed.
 */
const deflateOptions = {
  level: constants.Z_BEST_SPEED,
  finishFlush: constants.Z_SYNC_FLUSH,
} as const;

/** A chunk compressed alone, with what the trailer needs of it. */
interface Piece {
  readonly deflated: Buffer;
  readonly crc: number;
  /** x^(8·length) modulo the CRC polynomial: shifts a CRC past this piece's bytes. */
  readonly shift: number;
  readonly length: number;
}

/** ID1 ID2, CM deflate, no flags, no time, no extra flags, OS unknown. */
const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty block with BFINAL set (fixed Huffman, just its end-of-block code). */
const finalEmptyBlock = Buffer.from([0x03, 0x00]);

export class GzipMembers {
  private readonly pieces = new WeakMap<Buffer, Piece>();
  /** The parts of the last member: the next one's array starts that long (hundreds of pieces). */
  private partsLastScrape = 0;
  /** Where `joined` gathers a member's parts, scrape after scrape. */
  private readonly keptParts: Buffer[] = [];

  /**
   * The gzip member (in parts, to be sent in order) of the chunks' concatenation: a kept piece
   * for each chunk `kept` says is kept (compressed now if it has none yet), one piece per run of
   * the others. Pauses whenever `slices` says the event loop is due a turn (a first scrape
   * compresses everything).
   */
  async of(
    chunks: readonly Buffer[],
    kept: (chunk: Buffer) => boolean,
    slices: EventLoopSlices,
  ): Promise<Buffer[]> {
    const parts = new Array<Buffer>(this.partsLastScrape);
    parts.length = await this.member(chunks, kept, slices, parts);
    return parts;
  }

  /**
   * The same member as one buffer (what an HTTP answer sends): its parts gathered in an array
   * kept from scrape to scrape, then copied into a buffer of the member's length.
   */
  async joined(
    chunks: readonly Buffer[],
    kept: (chunk: Buffer) => boolean,
    slices: EventLoopSlices,
  ): Promise<Buffer> {
    const parts = this.keptParts;
    const count = await this.member(chunks, kept, slices, parts);
    let length = 0;
    for (let index = 0; index < count; index++) length += parts[index].length;
    const member = Buffer.allocUnsafe(length);
    let at = 0;
    for (let index = 0; index < count; index++) at += parts[index].copy(member, at);
    // The array keeps its places; the pieces made for this scrape alone are let go.
    parts.length = count;
    parts.fill(gzipHeader);
    return member;
  }

  /** Writes the member's parts into `parts` from its start; how many there are. */
  private async member(
    chunks: readonly Buffer[],
    kept: (chunk: Buffer) => boolean,
    slices: EventLoopSlices,
    parts: Buffer[],
  ): Promise<number> {
    let partCount = 0;
    parts[partCount++] = gzipHeader;
    // Signed, so it stays a small integer (an unsigned one past 2^31 is a heap number each time).
    let crc = 0;
    let length = 0;
    const add = (piece: Piece): void => {
      parts[partCount++] = piece.deflated;
      crc = multiplyModP(piece.shift, crc) ^ piece.crc;
      length += piece.length;
    };
    const compress = async (bytes: Buffer): Promise<Piece> => {
      const piece = {
        deflated: deflateRawSync(bytes, deflateOptions),
        crc: crc32(bytes),
        shift: shiftByBytes(bytes.length),
        length: bytes.length,
      };
      // Compressing a block is worth about as much as rendering its lines.
      if (slices.due(Math.ceil(bytes.length / 64))) await slices.next();
      return piece;
    };
    const storedPiece = (bytes: Buffer): Piece => ({
      deflated: storedBlocks(bytes),
      crc: crc32(bytes),
      shift: shiftByBytes(bytes.length),
      length: bytes.length,
    });
    let fresh: Buffer[] = [];
    for (let index = 0; index < chunks.length; index++) {
      const chunk = chunks[index];
      if (chunk.length === 0) continue;
      if (!kept(chunk)) {
        fresh.push(chunk);
        continue;
      }
      if (fresh.length > 0) {
        add(storedPiece(joined(fresh)));
        fresh = [];
      }
      let piece = this.pieces.get(chunk);
      if (piece === undefined) {
        piece = await compress(chunk);
        this.pieces.set(chunk, piece);
      } else if (slices.due()) await slices.next();
      add(piece);
    }
    if (fresh.length > 0) add(storedPiece(joined(fresh)));
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(length % 2 ** 32, 4);
    parts[partCount++] = finalEmptyBlock;
    parts[partCount++] = trailer;
    this.partsLastScrape = partCount;
    return partCount;
  }
}

/** Longest data of one stored block (its length field has 16 bits). */
const storedBlockBytesMax = 0xffff;

/**
 * `bytes` as deflate stored blocks, not final: each a byte with BFINAL 0 and BTYPE 00 (the stream
 * is byte-aligned after the sync flush that ends every piece, so its padding bits are the rest
 * of that byte), LEN and its complement NLEN, little-endian, then the bytes. Ends byte-aligned.
 */
export function storedBlocks(bytes: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(bytes.length / storedBlockBytesMax));
  const out = Buffer.allocUnsafe(bytes.length + 5 * blocks);
  let at = 0;
  for (let start = 0; start < bytes.length || at === 0; start += storedBlockBytesMax) {
    const length = Math.min(storedBlockBytesMax, bytes.length - start);
    out[at] = 0;
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(~length & 0xffff, at + 3);
    bytes.copy(out, at + 5, start, start + length);
    at += 5 + length;
  }
  return out;
}

/** The chunks as one buffer: a single chunk as it is (the registry joins its fresh text itself). */
function joined(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

// CRC-32 arithmetic (the gzip CRC: reflected, polynomial 0xEDB88320). A CRC register is a
// polynomial over GF(2) with x^0 in its top bit; multiplying two modulo the polynomial is a
// shift-and-xor loop, and x^(2^k) for every k is kept, so x^n is at most 32 multiplications.

const polynomial = 0xedb88320;

/** The product as a signed 32-bit integer (the same bits as the unsigned one). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= b;
    b = (b & 1) !== 0 ? (b >>> 1) ^ polynomial : b >>> 1;
  }
  return product;
}

/** x^(2^k) modulo the polynomial, for k = 0 … 63. */
const powersOfTwo: number[] = (() => {
  const powers: number[] = [];
  let power = 0x40000000; // x^1
  for (let k = 0; k < 64; k++) {
    powers.push(power);
    power = multiplyModP(power, power);
  }
  return powers;
})();

/** x^(8·bytes) modulo the polynomial: what shifts a CRC past `bytes` zero bytes. */
function shiftByBytes(bytes: number): number {
  let shift = 0x80000000; // x^0
  let k = 3; // 8·bytes = bytes · 2^3
  for (let remaining = bytes; remaining > 0; remaining = Math.floor(remaining / 2), k++)
    if (remaining % 2 === 1) shift = multiplyModP(powersOfTwo[k], shift);
  return shift;
}

/** zlib's CRC-32 where Node has it (20.15 and later), else a table, byte by byte. */
// Read from the namespace: a named import of an export the running Node lacks fails to link.
const nativeCrc32 = (zlib as { crc32?: (bytes: Buffer) => number }).crc32;
const crc32: (bytes: Buffer) => number =
  nativeCrc32 === undefined ? tableCrc32 : (bytes) => nativeCrc32(bytes);

let crcTable: Uint32Array | undefined;

/** CRC-32 without zlib's (Node before 20.15); exported for tests. */
export function tableCrc32(bytes: Buffer): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, byte) => {
    let value = byte;
    for (let bit = 0; bit < 8; bit++)
      value = (value & 1) !== 0 ? (value >>> 1) ^ polynomial : value >>> 1;
    return value;
  });
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** For tests: the CRC of a concatenation from its parts' CRCs (what `of` does per piece). */
export function combineCrc32(first: number, second: number, secondLength: number): number {
  return (multiplyModP(shiftByBytes(secondLength), first) ^ second) >>> 0;
}
