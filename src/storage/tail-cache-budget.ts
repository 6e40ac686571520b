// The bound on the tail caches of all partitions together (log.tail.cache.max.bytes). Each
// partition's cache (segment-reader.ts's TailCache) keeps up to its own budget, 1 MiB; without a
// bound on their sum, memory grew with the partition count and stayed: a broker whose thousand
// partitions each took one produce of 256 KiB held 250 MB more until it restarted.
//
// Over the bound, the caches of the partitions written to least recently give up their appends
// first, oldest first; a consumer or follower behind them reads the segment file (from the page
// cache, most often) instead.
//
// An append is charged once written (before, the writer needs it, and the request memory
// counts it: server/request-memory.ts), with its record bytes and APPEND_OVERHEAD_BYTES for the
// objects that describe it, so ten thousand partitions of small appends are bounded as well as a
// few of large ones. Every cache in the order holds a charged append, so each one the bound
// visits gives something up.
//
//   written to least recently ─► [cache] ─ [cache] ─ ... ─ [cache] ◄─ written to last
//                                 gives up first

/** What an append costs beside its record bytes: its bookkeeping (spans, offsets, promise). */
export const APPEND_OVERHEAD_BYTES = 512;

/** A cache under the budget. */
export interface BudgetedCache {
  /** Drops its charged appends, oldest first, while the budget is over its bound. */
  giveUp(): void;
}

/** A cache's place in the budget's order; the cache holds it, the budget links it. */
export interface BudgetLink {
  readonly cache: BudgetedCache;
  previous: BudgetLink | null;
  next: BudgetLink | null;
  linked: boolean;
}

export class TailCacheBudget {
  private chargedBytes = 0;
  /** The cache written to least recently (gives up first). */
  private head: BudgetLink | null = null;
  private tail: BudgetLink | null = null;

  /** `bytesMax`: the bound, in bytes as charged (record bytes plus overhead per append). */
  constructor(readonly bytesMax: number) {}

  /** What the caches hold, as charged. */
  get bytes(): number {
    return this.chargedBytes;
  }

  get isOver(): boolean {
    return this.chargedBytes > this.bytesMax;
  }

  linkFor(cache: BudgetedCache): BudgetLink {
    return { cache, previous: null, next: null, linked: false };
  }

  /** `link`'s cache charges a written append of `recordBytes`: it is now the one written to last. */
  took(link: BudgetLink, recordBytes: number): void {
    this.chargedBytes += recordBytes + APPEND_OVERHEAD_BYTES;
    if (this.tail === link) return;
    if (link.linked) this.unlink(link);
    link.previous = this.tail;
    link.next = null;
    if (this.tail === null) this.head = link;
    else this.tail.next = link;
    this.tail = link;
    link.linked = true;
  }

  /** `link`'s cache dropped a charged append of `recordBytes`; `emptied`: it holds none now. */
  dropped(link: BudgetLink, recordBytes: number, emptied: boolean): void {
    this.chargedBytes -= recordBytes + APPEND_OVERHEAD_BYTES;
    if (emptied && link.linked) this.unlink(link);
  }

  /** Over the bound, the caches written to least recently give up appends until it is met. */
  enforce(): void {
    let link = this.head;
    while (link !== null && this.chargedBytes > this.bytesMax) {
      // Read before giving up: a cache that gives up all it held leaves the order.
      const next = link.next;
      link.cache.giveUp();
      link = next;
    }
  }

  private unlink(link: BudgetLink): void {
    if (link.previous === null) this.head = link.next;
    else link.previous.next = link.next;
    if (link.next === null) this.tail = link.previous;
    else link.next.previous = link.previous;
    link.previous = link.next = null;
    link.linked = false;
  }
}
