// What a scrape re-reads: only the partitions and groups whose figures moved since the last one.
//
// Each partition and group owns a change mark (util/change-set.ts) that registers in the scrape's
// set the first time one of its figures moves after a scrape; on the produce path that is one
// branch per batch and a push per scrape interval. A scrape drains the set (nothing per idle item:
// what tracking costs an idle scrape is the same at 10 or 10,000 partitions) and reads the
// figures of the items it names; the gauge families then set those series' values in place and
// render again only the blocks holding them (scraped-gauges.ts).
//
//   change:  partition appends ─► its mark registers ─► partition set ─┐
//            group commits     ─► its mark registers ─► group set ─────┤
//   scrape:  partition set ─► their figures ─► partition series        │
//                         └─► partitions moved ─► groups reading them ─┤
//            group set ───────────────────────────────────────────────► lag, members
//
// A group's lag on a partition also moves when the partition's end moves, with no mark of the
// group's registering: the group tracker keeps which groups have lag on which partition (built
// when it reads a group's figures) and re-reads the groups reading a partition that moved.
// Anything that adds or removes series makes the scrape walk everything, as it did before
// tracking: an item came or went or changed place (the source's `layout` moved: checked once per
// scrape), a group's state or its partitions changed (seen when its figures are read), or the
// partitions came or went. A walk drains the set first and then tracks each item's mark as it
// meets it, so a change during a walk (the scrape is sliced) is read again by the next scrape; a
// mark drained from an item the last walk did not meet (it went) is untracked and skipped.
//
// Owned by BrokerMetrics; used by one scrape at a time (the registry's scrapes are serialized).

import { ChangeSet, type ChangeMark } from '../util/change-set.js';

/**
 * When more than this share of the items moved, a scrape walks them all instead: the walk lets
 * the event loop turn every few milliseconds, while reading what moved is done in one piece, so
 * that piece stays a fraction of a walk.
 */
export const movedShareWalked = 1 / 8;

/** Items whose figures a scrape keeps, each with a mark that registers when its figures move. */
export interface TrackedSource<Item, Figures> {
  /** The items, in the same order walk after walk while `layout()` stays the same. */
  items(): Iterable<Item>;
  /**
   * A value that changes (`!==`) whenever an item comes or goes or changes place, or the
   * figures of items move without their marks registering; read once per scrape.
   */
  layout(): unknown;
  /** The item's mark: registers whenever `figures(item)` moves, once the reader tracks it. */
  changes(item: Item): ChangeMark;
  figures(item: Item): Figures;
}

/** The items of a tracked source as the last walk met them, in order, and their drained marks. */
export class DrainedWalk<Item, Figures> {
  private readonly set = new ChangeSet();
  private readonly walked: Item[] = [];
  private walkCount = 0;
  /** The source's layout when the last walk began; `walkCount` 0: never walked. */
  private layoutWalked: unknown;

  constructor(private readonly source: TrackedSource<Item, Figures>) {}

  /** Every item's figures, in order, each item's mark tracked from now on. */
  *all(): Generator<Figures> {
    const walk = ++this.walkCount;
    this.layoutWalked = this.source.layout();
    // Drained before reading: a change from here on registers again and is read next time.
    this.set.drain();
    let place = 0;
    for (const item of this.source.items()) {
      const mark = this.source.changes(item);
      mark.track(this.set);
      mark.place = place;
      mark.walk = walk;
      this.walked[place] = item;
      yield this.source.figures(item);
      place++;
    }
    this.walked.length = place;
  }

  /**
   * Where the items that changed since they were last read are (each once), or null when items
   * came, went or changed place since the last walk began (the caller then walks `all`). Reads
   * no figures; what it names must be read now (`read`), since it is not named again.
   */
  movedPlaces(): number[] | null {
    if (this.walkCount === 0 || this.source.layout() !== this.layoutWalked) return null;
    const places: number[] = [];
    for (const mark of this.set.drain()) {
      if (mark.walk === this.walkCount) places.push(mark.place);
      else mark.untrack();
    }
    return places;
  }

  /** How many items the last walk met. */
  get size(): number {
    return this.walked.length;
  }

  /** The figures of the item at `place`. */
  read(place: number): Figures {
    return this.source.figures(this.walked[place]);
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
  private readonly walk: DrainedWalk<Item, Figures>;
  /** Partitions moved since the group walk last asked; null: any (a full walk ran). */
  private moved: Set<string> | null = null;

  constructor(source: TrackedSource<Item, Figures>) {
    this.walk = new DrainedWalk(source);
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
 * The group walk: the groups whose own mark registered and those with lag on a partition that
 * moved. Keeps each group's last figures (state and partitions: what names its series) and,
 * per partition, the groups with lag on it.
 */
export class GroupTracker<Item, Figures extends GroupFiguresRead> {
  private readonly walk: DrainedWalk<Item, Figures>;
  private readonly kept: Figures[] = [];
  /** partition key ─► places of the groups with lag on it. */
  private readonly readers = new Map<string, number[]>();

  constructor(
    source: TrackedSource<Item, Figures>,
    private readonly partitions: { takeMoved(): ReadonlySet<string> | null },
  ) {
    this.walk = new DrainedWalk(source);
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
