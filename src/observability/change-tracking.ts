// What a scrape re-reads: only the partitions and groups whose figures moved since the last one.
//
// Each partition and group shows a change stamp (util/change-stamp.ts) that moves whenever a
// figure it exposes moves; drawing one is an increment on the produce path, once per batch. A
// scrape walks the items comparing stamps (an integer each, no figure read, nothing allocated) and
// reads the figures of the few whose stamp moved; the gauge families then set those series' values
// in place and render again only the blocks holding them (scraped-gauges.ts).
//
//   scrape:  partitions ─► stamps moved? ─► their figures ─► partition series ─┐
//                                  └─► partitions moved ─► groups reading them ─┤
//            groups ─► stamps moved? ─────────────────────────────────────────────► lag, members
//
// A group's lag on a partition also moves when the partition's end moves, with no stamp of the
// group's moving: the group walk keeps which groups have lag on which partition (built when it
// reads a group's figures) and re-reads the groups reading a partition the partition walk saw
// move. Anything that adds or removes series (an item came or went or changed place, a group's
// state or its partitions changed, the partitions came or went) makes the scrape walk everything,
// as it did before tracking; that is rare next to offsets moving.
//
// Owned by BrokerMetrics; used by one scrape at a time (the registry's scrapes are serialized).

/**
 * When more than this share of the items moved, a scrape walks them all instead: the walk lets
 * the event loop turn every few milliseconds, while reading what moved is done in one piece, so
 * that piece stays a fraction of a walk.
 */
export const movedShareWalked = 1 / 8;

/** Items whose figures a scrape keeps, each with a stamp that moves when its figures move. */
export interface TrackedSource<Item, Figures> {
  /** The items, in the same order walk after walk (the order their series are exposed in). */
  items(): Iterable<Item>;
  /** Moves whenever `figures(item)` would move; never shown by another item. */
  stamp(item: Item): number;
  figures(item: Item): Figures;
}

/** The items of a tracked source as the last walk met them, in order, with their stamps. */
export class StampedWalk<Item, Figures> {
  private readonly walked: Item[] = [];
  private readonly stamps: number[] = [];

  constructor(private readonly source: TrackedSource<Item, Figures>) {}

  /** Every item's figures, in order; the stamps are kept for `movedPlaces`. */
  *all(): Generator<Figures> {
    let place = 0;
    for (const item of this.source.items()) {
      this.walked[place] = item;
      yield this.read(place);
      place++;
    }
    this.walked.length = place;
    this.stamps.length = place;
  }

  /**
   * Where the items whose stamp moved since they were last read are, or null when an item came,
   * went or changed place (the caller then walks `all`). Reads no figures.
   */
  movedPlaces(): number[] | null {
    const moved: number[] = [];
    let place = 0;
    for (const item of this.source.items()) {
      if (place >= this.walked.length || this.walked[place] !== item) return null;
      if (this.source.stamp(item) !== this.stamps[place]) moved.push(place);
      place++;
    }
    return place === this.walked.length ? moved : null;
  }

  /** How many items the last walk met. */
  get size(): number {
    return this.walked.length;
  }

  /** The figures of the item at `place`, keeping its stamp (read first: a move after is seen next time). */
  read(place: number): Figures {
    const item = this.walked[place];
    this.stamps[place] = this.source.stamp(item);
    return this.source.figures(item);
  }
}

/** What the metrics read of a partition and of a group (metrics.ts' snapshots, narrowed). */
export interface PartitionFigures {
  readonly topic: string;
  readonly partition: number;
}

export interface GroupFiguresRead {
  readonly state: string;
  readonly lag: ReadonlyArray<{ readonly topic: string; readonly partition: number }>;
}

/** A key for one partition (topic names cannot hold a NUL). */
function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The partition walk: which partitions moved, for the partition series and for the groups'
 * lag. Partitions that moved are remembered until the group walk takes them.
 */
export class PartitionTracker<Item, Figures extends PartitionFigures> {
  private readonly walk: StampedWalk<Item, Figures>;
  /** Partitions moved since the group walk last asked; null: any (a full walk ran). */
  private moved: Set<string> | null = null;

  constructor(source: TrackedSource<Item, Figures>) {
    this.walk = new StampedWalk(source);
  }

  /** Every partition's figures. */
  *all(): Generator<Figures> {
    this.moved = null;
    yield* this.walk.all();
  }

  /**
   * The figures of the partitions that moved, or null when partitions came or went, or so many
   * moved that a walk is the better way (`movedShareWalked`).
   */
  changed(): Figures[] | null {
    const places = this.walk.movedPlaces();
    if (places === null || places.length > this.walk.size * movedShareWalked) return null;
    const figures = places.map((place) => this.walk.read(place));
    if (this.moved !== null)
      for (const { topic, partition } of figures) this.moved.add(partitionKey(topic, partition));
    return figures;
  }

  /** The partitions moved since the last call, or null when any may have (then all are read). */
  takeMoved(): ReadonlySet<string> | null {
    const moved = this.moved;
    this.moved = new Set();
    return moved;
  }
}

/**
 * The group walk: the groups whose own stamp moved and those with lag on a partition that
 * moved. Keeps each group's last figures (state and partitions: what names its series) and,
 * per partition, the groups with lag on it.
 */
export class GroupTracker<Item, Figures extends GroupFiguresRead> {
  private readonly walk: StampedWalk<Item, Figures>;
  private readonly kept: Figures[] = [];
  /** partition key ─► places of the groups with lag on it. */
  private readonly readers = new Map<string, number[]>();

  constructor(
    source: TrackedSource<Item, Figures>,
    private readonly partitions: { takeMoved(): ReadonlySet<string> | null },
  ) {
    this.walk = new StampedWalk(source);
  }

  /** Every group's figures, in order. */
  *all(): Generator<Figures> {
    this.partitions.takeMoved();
    this.readers.clear();
    let place = 0;
    for (const figures of this.walk.all()) {
      this.keep(place, figures);
      yield figures;
      place++;
    }
    this.kept.length = place;
  }

  /**
   * The figures of the groups that moved, with their places, or null when their series would
   * change (a group came or went, changed state or partitions; partitions came or went) or so
   * many moved that a walk is the better way (`movedShareWalked`).
   */
  changed(): Array<{ readonly place: number; readonly figures: Figures }> | null {
    const movedPartitions = this.partitions.takeMoved();
    if (movedPartitions === null) return null;
    const places = this.walk.movedPlaces();
    if (places === null) return null;
    const stale = new Set(places);
    for (const key of movedPartitions)
      for (const place of this.readers.get(key) ?? []) stale.add(place);
    if (stale.size > this.walk.size * movedShareWalked) return null;
    const changed: Array<{ place: number; figures: Figures }> = [];
    for (const place of stale) {
      const figures = this.walk.read(place);
      if (!sameSeries(this.kept[place], figures)) return null;
      this.kept[place] = figures;
      changed.push({ place, figures });
    }
    return changed;
  }

  private keep(place: number, figures: Figures): void {
    this.kept[place] = figures;
    for (const { topic, partition } of figures.lag) {
      const key = partitionKey(topic, partition);
      const readers = this.readers.get(key);
      if (readers === undefined) this.readers.set(key, [place]);
      else readers.push(place);
    }
  }
}

/** Whether two reads of a group name the same series: the same state and lag partitions. */
function sameSeries(kept: GroupFiguresRead, read: GroupFiguresRead): boolean {
  if (kept.state !== read.state || kept.lag.length !== read.lag.length) return false;
  for (let index = 0; index < kept.lag.length; index++) {
    const before = kept.lag[index];
    const now = read.lag[index];
    if (before.topic !== now.topic || before.partition !== now.partition) return false;
  }
  return true;
}
