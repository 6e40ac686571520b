// The /metrics answer gzipped without compressing 4 MB on every scrape. A gzip stream may be
// several gzip members one after another; a reader decompresses them into one text (RFC 1952,
// section 2.2; Go's gzip reader, which Prometheus scrapes with, and Node's both do). So each
// chunk of the exposition is compressed on its own into a member, and a chunk the registry keeps
// from one scrape to the next (a block of unchanged series, a family's HELP and TYPE) keeps its
// member too: a scrape of 10,000 partitions with traffic on a few compresses a few blocks and
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
   * One gzip member per chunk, together one gzip stream of the chunks' concatenation. Pauses
   * whenever `slices` says the event loop is due a turn (a first scrape compresses everything).
   */
  async of(chunks: readonly Buffer[], slices: EventLoopSlices): Promise<Buffer[]> {
    const gzipped: Buffer[] = [];
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      let member = this.members.get(chunk);
      if (member === undefined) {
        member = gzipSync(chunk, gzipOptions);
        this.members.set(chunk, member);
        // A block's compression is worth about as much as rendering its lines.
        if (slices.due(Math.ceil(chunk.length / 64))) await slices.next();
      } else if (slices.due()) await slices.next();
      gzipped.push(member);
    }
    return gzipped;
  }
}
