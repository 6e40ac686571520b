// The /metrics answer gzipped without compressing 4 MB on every scrape. A gzip stream may be
// several gzip members one after another; a reader decompresses them into one text (RFC 1952,
// section 2.2; Go's gzip reader, which Prometheus scrapes with, and Node's both do). So each
// chunk the registry keeps from one scrape to the next (a block of unchanged series, a family's
// HELP and TYPE) is compressed on its own into a member, kept as long as the chunk; the text
// rendered anew on every scrape (prom-client's families) is compressed in runs, one member each: a scrape of 10,000 partitions with traffic on a few compresses a few blocks and
// sends about a tenth of the bytes, which is most of what a scrape costs the broker's kernel.
//
//   chunks (kept Buffers, reused by identity) ─► member kept for that Buffer? ─yes─► reused
//                                                                            └─no──► gzipSync
//
// A member is kept for as long as its chunk lives (a WeakMap keyed by the chunk), so a block
// rendered anew drops the old block's member with it. Chunks are never changed once handed out
// (scraped-gauges.ts), which is what makes identity a sound key.
//
// Owned by the registry that renders the chunks, one scrape at a time.

import { constants, gzipSync } from 'node:zlib';

import type { EventLoopSlices } from './event-loop-slices.js';

/**
 * Speed over size: the text is repetitive enough that the fastest level already sends about a
 * tenth, and the level's cost is paid on every block that changed.
 */
const gzipOptions = { level: constants.Z_BEST_SPEED, memLevel: 8 } as const;

export class GzipMembers {
  private readonly members = new WeakMap<Buffer, Buffer>();

  /**
   * One gzip stream of the chunks' concatenation: a member per kept chunk (reused while the
   * chunk lives), and one per run of chunks that are not (rendered anew each scrape: compressed
   * together, once). Pauses whenever `slices` says the event loop is due a turn (a first scrape
   * compresses everything).
   */
  async of(
    chunks: readonly Buffer[],
    kept: (chunk: Buffer) => boolean,
    slices: EventLoopSlices,
  ): Promise<Buffer[]> {
    const gzipped: Buffer[] = [];
    let fresh: Buffer[] = [];
    const compress = async (bytes: Buffer): Promise<Buffer> => {
      const member = gzipSync(bytes, gzipOptions);
      // Compressing a block is worth about as much as rendering its lines.
      if (slices.due(Math.ceil(bytes.length / 64))) await slices.next();
      return member;
    };
    for (const chunk of chunks) {
      if (!kept(chunk)) {
        fresh.push(chunk);
        continue;
      }
      if (fresh.length > 0) {
        gzipped.push(await compress(Buffer.concat(fresh)));
        fresh = [];
      }
      let member = this.members.get(chunk);
      if (member === undefined) {
        member = await compress(chunk);
        this.members.set(chunk, member);
      } else if (slices.due()) await slices.next();
      gzipped.push(member);
    }
    if (fresh.length > 0) gzipped.push(await compress(Buffer.concat(fresh)));
    return gzipped;
  }
}
