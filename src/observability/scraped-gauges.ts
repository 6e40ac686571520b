// Gauge families whose series are read from the broker on each scrape, many of them (a series per
// partition, one per group and partition), rendered by prom-client without rebuilding each
// series' label text or value objects on every scrape.
//
//   scrape n:   fill(snapshot) ─► series(topic, partition) ─► the kept entry, value set ─┐
//                                 (a trie of the label values; new series are added)       │
//   render:     LineCachingRegistry ─► each block of 128 series: its kept bytes if the same ◄─┘
//               series show the same values, else its lines written again into one kept
//               buffer and copied out; the answer is the list of blocks
//               (any other prom-client registry: getForPromString() ─► { value, sharedLabels })
//   end:        entries not seen in scrape n are dropped (a deleted topic's series go)
//
// The broker's registry (`LineCachingRegistry`) asks these families for their bytes directly: each
// series keeps its label text, escaped once; each family keeps its series' bytes in blocks, each
// block with the entries and values it shows. No series keeps its line as a string: with 10,000
// partitions that was some 60,000 strings of several parts each (11 MB of a 160 MB heap, marked by
// every major collection), and each line that moved became old garbage. A scrape of 10,000
// partitions with traffic on a few re-encodes a few blocks and copies the rest; the answer is
// bytes, so the HTTP server does not measure and encode 4 MB of text on every scrape either (that
// was one unsliced stretch of the event loop). The text is the one prom-client would render, byte
// for byte (test/observability/scraped-gauges.test.ts renders both ways and compares, and moves
// values under kept blocks). Any other registry gets prom-client's own path: a value's
// `sharedLabels` are formatted once per labels object and cached by prom-client, so keeping one
// labels object per series still saves the label text. `get()` (prom-client's JSON view) answers
// with plain labels.
//
// A scrape of 10,000 partitions and 1,000 groups is tens of milliseconds of CPU; run in one piece
// it would hold every produce request that arrives meanwhile (issue 13: a scrape must not move
// produce p99 by 10%). So the broker's registry renders in slices (event-loop-slices.ts): between
// two families, and every few milliseconds within the fill walk and a family's lines, it lets the
// event loop turn. Scrapes of one registry therefore run one after the other (the next waits for
// the one rendering), since a fill half done must not be filled again or read by another scrape;
// the broker's state may move between two slices, as it may between two scrapes.
//
// Owned by BrokerMetrics. prom-client's own path (another registry, or `get()`) fills and reads a
// family synchronously, within one registry gather.

import { Gauge, Registry } from 'prom-client';

import { gzipSync } from 'node:zlib';

import { EventLoopSlices } from './event-loop-slices.js';
import {
  ExpositionChunks,
  ExpositionWriter,
  PromClientText,
  type PromClientMetric,
  escapeLabelValue,
  gathered,
  headerText,
  rendersKeptExposition,
  writesExposition,
} from './exposition-text.js';
import { GzipMembers } from './gzip-members.js';

type LabelValues = Record<string, string>;

/**
 * One family's entry of a series: what prom-client renders (`value`, `labels`, `sharedLabels`),
 * and the label text the broker's registry writes. The labels as an object are made only when
 * prom-client's own path asks for them (another registry, `get()`): the broker's registry writes
 * `labelText`, and 10,000 partitions' worth of label objects would be kept for nothing.
 */
class SeriesValue {
  value = 0;

  constructor(
    private readonly series: Series,
    /** The series' labels as exposition text (`topic="orders",partition="0"`), escaped once. */
    readonly labelText: string,
  ) {}

  get labels(): LabelValues {
    return NO_LABELS;
  }

  /** The same object on every call: prom-client keeps its formatting of it. */
  get sharedLabels(): LabelValues {
    const { series } = this;
    if (series.labels === undefined) {
      const labels: LabelValues = {};
      series.labelNames.forEach(
        (name, index) => (labels[name] = String(series.labelValues[index])),
      );
      series.labels = labels;
    }
    return series.labels;
  }
}

/** One series of every family of a `ScrapedGaugeFamilies`: its labels and its current values. */
interface Series {
  readonly labelNames: readonly string[];
  /** The label values as the walk gives them (in `labelNames` order). */
  readonly labelValues: readonly LabelValue[];
  /** As an object, once prom-client's path asked for it (`SeriesValue.sharedLabels`). */
  labels: LabelValues | undefined;
  /** Per family, the value object handed to prom-client (mutated in place each scrape). */
  readonly values: SeriesValue[];
  seenInScrape: number;
  /** Where the last walk met it (its index in every family's values). */
  place: number;
}

/** A trie node: label value ─► next node, the last level holding series. */
type Node = Map<LabelValue, Node | Series>;

/** One series: its label values (in the families' `labelNames` order) and a value per family. */
export type SeriesEntry = readonly [labelValues: readonly LabelValue[], values: readonly number[]];
type LabelValue = string | number;

/** How long the broker's registry runs before letting the event loop turn, while it scrapes. */
export const scrapeSliceMs = 2;

/**
 * Series per block of kept bytes: a value moved re-renders its block (a few KB); unchanged blocks
 * are reused, so a scrape with a few partitions taking traffic encodes a few blocks.
 */
const seriesPerBlock = 128;

const NO_LABELS: LabelValues = Object.freeze({}) as LabelValues;
const NO_ENTRIES: readonly SeriesValue[] = Object.freeze([]);

/**
 * Where a block's lines are written before they are copied out as its kept bytes: one for every
 * family, as a block is written in one synchronous stretch.
 */
const blockWriter = new ExpositionWriter();

/** The blank line between two families, and the exposition's last newline, as kept chunks. */
const familySeparator = Buffer.from('\n\n');
const finalNewline = Buffer.from('\n');

/**
 * Several gauges sharing one label set (a partition's offsets, size and segments), filled together
 * by one pass over the broker's state when the first of them is gathered.
 */
export class ScrapedGaugeFamilies {
  private readonly root: Node = new Map();
  /**
   * The series in the order the last walk met them. The walk meets them in the same order scrape
   * after scrape (partitions by topic, groups by id), so the series at the same place is checked
   * first and the trie is searched only when it is another one.
   */
  private readonly order: Series[] = [];
  /** How many series this walk has met so far. */
  private walked = 0;
  /** Whether every series met so far was the one at its place in the last walk. */
  private sameAsLastWalk = true;
  private readonly rendered: Array<Series['values']>;
  private readonly labelNames: readonly string[];
  private readonly entries: () => Iterable<SeriesEntry>;
  private readonly changedEntries: (() => Iterable<SeriesEntry> | null) | undefined;
  private scrapeNumber = 0;
  /** Fills so far (walks and updates): a family that rendered after the last one knows `touchedBlocks`. */
  private fillCount = 0;
  /** The blocks whose series the last fill set (an update); null after a walk (any may have moved). */
  private touchedBlocksValue: Set<number> | null = null;
  readonly gauges: readonly ScrapedGauge[];

  constructor(options: {
    readonly families: ReadonlyArray<{ readonly name: string; readonly help: string }>;
    readonly labelNames: readonly string[];
    readonly registers: ConstructorParameters<typeof Gauge>[0]['registers'];
    /** Every series of this scrape, read lazily (a generator), so the walk can pause between two. */
    readonly series: () => Iterable<SeriesEntry>;
    /**
     * With change tracking: the series whose values moved since the last fill, or null when
     * series came or went (then `series` is walked). Called once per fill after the first.
     */
    readonly changes?: () => Iterable<SeriesEntry> | null;
  }) {
    const { families } = options;
    this.labelNames = options.labelNames;
    this.entries = options.series;
    this.changedEntries = options.changes;
    this.rendered = families.map(() => []);
    this.gauges = families.map(
      ({ name, help }, family) =>
        new ScrapedGauge(
          { name, help, labelNames: options.labelNames, registers: options.registers },
          this,
          family,
        ),
    );
  }

  /**
   * Walks the series once for every family; the first family's gather calls it, as registries
   * gather families in the order they were registered. With `slices`, pauses when one is spent.
   */
  async fill(slices?: EventLoopSlices): Promise<void> {
    if (!this.updated()) await this.walk(slices);
  }

  /**
   * Starts a fill: true when setting the moved series in place filled it (change tracking, after
   * a first walk), else the caller `walk`s.
   */
  updated(): boolean {
    this.fillCount++;
    return this.update();
  }

  /** The walk of a fill that `updated` did not finish, pausing when `slices` says so. */
  async walk(slices?: EventLoopSlices): Promise<void> {
    this.startFill();
    for (const entry of this.entries()) {
      this.set(entry);
      if (slices?.due()) await slices.next();
    }
    this.endFill();
  }

  /** The same walk in one piece, for prom-client's synchronous path. */
  fillNow(): void {
    this.fillCount++;
    if (this.update()) return;
    this.startFill();
    for (const entry of this.entries()) this.set(entry);
    this.endFill();
  }

  /** The values the last fill set for one family, in the order the walk met them. */
  values(family: number): Series['values'] {
    return this.rendered[family];
  }

  /** Fills so far; with `touchedBlocks`, what a family rendering after each fill may reuse. */
  get fills(): number {
    return this.fillCount;
  }

  /** The blocks (of `seriesPerBlock` series) the last fill set values in; null: any. */
  get touchedBlocks(): ReadonlySet<number> | null {
    return this.touchedBlocksValue;
  }

  /**
   * With change tracking, after a first walk: sets the values of the series that moved, in
   * place, and notes their blocks. False when there is no tracking, the source says series came
   * or went, or a series it names is not kept (then the caller walks everything).
   */
  private update(): boolean {
    if (this.changedEntries === undefined || this.scrapeNumber === 0) return false;
    const changed = this.changedEntries();
    if (changed === null) return false;
    const touched = new Set<number>();
    for (const [labelValues, values] of changed) {
      const series = this.kept(labelValues);
      if (series === undefined) return false;
      for (let family = 0; family < this.rendered.length; family++)
        series.values[family].value = values[family];
      touched.add(Math.floor(series.place / seriesPerBlock));
    }
    this.touchedBlocksValue = touched;
    return true;
  }

  /** The kept series with these label values, if any. */
  private kept(labelValues: readonly LabelValue[]): Series | undefined {
    let node: Node | Series | undefined = this.root;
    for (const value of labelValues) {
      if (!(node instanceof Map)) return undefined;
      node = node.get(value);
    }
    return node instanceof Map ? undefined : node;
  }

  private startFill(): void {
    this.touchedBlocksValue = null;
    this.scrapeNumber++;
    for (const values of this.rendered) values.length = 0;
    this.walked = 0;
    this.sameAsLastWalk = true;
  }

  /**
   * Drops the series this walk did not meet; when it met exactly the last walk's series, in
   * their order, there are none and the trie is not walked.
   */
  private endFill(): void {
    const unchanged = this.sameAsLastWalk && this.walked === this.order.length;
    this.order.length = this.walked;
    if (!unchanged) this.dropUnseen(this.root);
  }

  private set([labelValues, values]: SeriesEntry): void {
    const place = this.walked++;
    let series = this.order[place];
    if (series === undefined || !sameValues(series.labelValues, labelValues)) {
      series = this.series(this.labelNames, labelValues, this.rendered.length);
      this.order[place] = series;
      this.sameAsLastWalk = false;
    }
    series.seenInScrape = this.scrapeNumber;
    series.place = place;
    for (let family = 0; family < this.rendered.length; family++) {
      const value = series.values[family];
      value.value = values[family];
      this.rendered[family].push(value);
    }
  }

  private series(
    labelNames: readonly string[],
    labelValues: readonly LabelValue[],
    families: number,
  ): Series {
    let node = this.root;
    const last = labelValues.length - 1;
    for (let level = 0; level < last; level++) {
      let next = node.get(labelValues[level]) as Node | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(labelValues[level], next);
      }
      node = next;
    }
    let series = node.get(labelValues[last]) as Series | undefined;
    if (series === undefined) {
      const labelText = labelNames
        .map((name, index) => `${name}="${escapeLabelValue(String(labelValues[index]))}"`)
        .join(',');
      const kept: Series = {
        labelNames,
        labelValues: [...labelValues],
        labels: undefined,
        values: new Array<SeriesValue>(families),
        seenInScrape: this.scrapeNumber,
        place: 0,
      };
      for (let family = 0; family < families; family++)
        kept.values[family] = new SeriesValue(kept, labelText);
      series = kept;
      node.set(labelValues[last], series);
    }
    return series;
  }

  /** Drops the series the last fill did not set, and the trie nodes left empty. */
  private dropUnseen(node: Node): void {
    for (const [key, child] of node) {
      if (child instanceof Map) {
        this.dropUnseen(child);
        if (child.size === 0) node.delete(key);
      } else if (child.seenInScrape !== this.scrapeNumber) {
        node.delete(key);
      }
    }
  }
}

/** A run of a family's series rendered to bytes: which series, with which values. */
class RenderedBlock {
  constructor(
    private readonly entries: readonly SeriesValue[],
    private readonly values: readonly number[],
    readonly bytes: Buffer,
  ) {}

  /** Whether entries [first, end) are the series this block shows, with the values it shows. */
  shows(entries: readonly SeriesValue[], first: number, end: number): boolean {
    if (end - first !== this.entries.length) return false;
    for (let index = first; index < end; index++) {
      const entry = entries[index];
      const kept = index - first;
      if (entry !== this.entries[kept] || !Object.is(entry.value, this.values[kept])) return false;
    }
    return true;
  }
}

function sameValues(kept: readonly LabelValue[], given: readonly LabelValue[]): boolean {
  if (kept.length !== given.length) return false;
  for (let index = 0; index < kept.length; index++) if (kept[index] !== given[index]) return false;
  return true;
}

/** One family of a `ScrapedGaugeFamilies`: a prom-client gauge whose values come from the fill. */
class ScrapedGauge extends Gauge<string> {
  /** HELP and TYPE, rendered on the first scrape. */
  private header: Buffer | undefined;
  /** The family's series in blocks of `seriesPerBlock`, as last rendered. */
  private readonly blocks: RenderedBlock[] = [];
  /** The owner's fill these blocks were rendered after. */
  private renderedAfterFill = -1;
  /** The entries this render shows, the blocks it may reuse unchecked, and how many blocks. */
  private entries: readonly SeriesValue[] = NO_ENTRIES;
  private touched: ReadonlySet<number> | null = null;
  private blockCount = 0;

  constructor(
    configuration: ConstructorParameters<typeof Gauge<string>>[0],
    private readonly owner: ScrapedGaugeFamilies,
    private readonly family: number,
  ) {
    super(configuration);
  }

  /** What prom-client's registry renders as text (it calls this in preference to `get`). */
  async getForPromString(): Promise<Awaited<ReturnType<Gauge<string>['get']>>> {
    if (this.family === 0) this.owner.fillNow();
    return { ...this.metadata(), values: this.owner.values(this.family) };
  }

  /**
   * The first family's part of a scrape: fills the families, a promise only when it walks them
   * (an update in place is done at once, with no await for the registry to pay).
   */
  fill(slices: EventLoopSlices): Promise<void> | undefined {
    if (this.family !== 0 || this.owner.updated()) return undefined;
    return this.owner.walk(slices);
  }

  /**
   * The family's exposition bytes, as prom-client's registry would render its text, in three
   * steps the registry takes (without an async call per family on every scrape): `fill` (the
   * first family's), `startRender` (HELP and TYPE), then `renderBlocks` until it returns -1,
   * letting the event loop turn whenever it stops before that. A line per series, in blocks of
   * `seriesPerBlock` series: a block whose series are the same ones as last scrape, none with a
   * value moved, is the block's bytes kept from then; a block with one value moved is written
   * again.
   */
  startRender(chunks: ExpositionChunks): void {
    this.header ??= this.headerBytes();
    chunks.add(this.header);
    this.entries = this.owner.values(this.family);
    // Rendered after the fill before this one: only blocks that fill set values in may differ.
    this.touched =
      this.renderedAfterFill === this.owner.fills - 1 ? this.owner.touchedBlocks : null;
    this.renderedAfterFill = this.owner.fills;
    this.blockCount = Math.ceil(this.entries.length / seriesPerBlock);
    this.blocks.length = Math.min(this.blocks.length, this.blockCount);
  }

  /**
   * Adds the blocks from `from` on, until the last (then -1) or until `slices` says the event loop
   * is due a turn (then the block to go on from, after `slices.next()`).
   */
  renderBlocks(slices: EventLoopSlices, chunks: ExpositionChunks, from: number): number {
    const { entries, touched } = this;
    for (let block = from; block < this.blockCount; block++) {
      const first = block * seriesPerBlock;
      const end = Math.min(entries.length, first + seriesPerBlock);
      let kept = this.blocks[block];
      // A kept block is one step; one rendered again is a step per line.
      let steps = 1;
      const unchanged = kept !== undefined && touched !== null && !touched.has(block);
      if (!unchanged && (kept === undefined || !kept.shows(entries, first, end))) {
        kept = this.blocks[block] = this.renderBlock(entries, first, end);
        steps = end - first;
      }
      chunks.add(kept.bytes);
      if (slices.due(steps) && block + 1 < this.blockCount) return block + 1;
    }
    this.entries = NO_ENTRIES;
    return -1;
  }

  /** `# HELP` and `# TYPE`, escaped as prom-client escapes them (name and help never change). */
  private headerBytes(): Buffer {
    const { name, help } = this as unknown as { name: string; help: string };
    return Buffer.from(headerText(name, help, 'gauge'));
  }

  /** The lines of entries [first, end), each after a newline, as bytes. */
  private renderBlock(entries: readonly SeriesValue[], first: number, end: number): RenderedBlock {
    const { name } = this as unknown as { name: string };
    const writer = blockWriter;
    for (let index = first; index < end; index++) {
      const entry = entries[index];
      writer.sample(name, entry.labelText, entry.value);
    }
    const shown = entries.slice(first, end);
    return new RenderedBlock(
      shown,
      shown.map((entry) => entry.value),
      writer.take(),
    );
  }

  /** prom-client's JSON view: the same values with their labels. */
  override async get(): Promise<Awaited<ReturnType<Gauge<string>['get']>>> {
    if (this.family === 0) this.owner.fillNow();
    const values = this.owner.values(this.family).map(({ value, sharedLabels }) => ({
      value,
      labels: sharedLabels,
    }));
    return { ...this.metadata(), values };
  }

  /** The family's name, help and type as prom-client's own gauge holds them. */
  private metadata(): Omit<Awaited<ReturnType<Gauge<string>['get']>>, 'values'> {
    const { name, help, type, aggregator, collect } = this as unknown as Awaited<
      ReturnType<Gauge<string>['get']>
    >;
    return { name, help, type, aggregator, collect };
  }
}

/**
 * The broker's prom-client registry: scraped gauge families render their kept lines themselves,
 * as do `KeptExposition` families (the request latency histograms); `WrittenExposition` families
 * (the process families, written-metrics.ts) write their text into a buffer the registry keeps,
 * and any other prom-client metric is written there by `PromClientText` (exposition-text.ts),
 * prom-client's text without its per-line garbage; a scrape takes a copy of each run of that
 * text. The whole exposition renders in slices of `scrapeSliceMs`, one scrape at a time. With
 * default labels or in OpenMetrics, this registry takes prom-client's own path.
 */
export class LineCachingRegistry extends Registry {
  private defaultLabelsSet = false;
  /** Text of the families prom-client gathers, without its per-line garbage. */
  private readonly promClientText = new PromClientText();
  /** Where the text rendered afresh on each scrape is written (exposition-text.ts). */
  private readonly writer = new ExpositionWriter();
  /** The chunks of the last scrape: the next one's array starts that long. */
  private chunksLastScrape = 0;
  /** The chunks of a scrape that gzips them, kept from one such scrape to the next. */
  private readonly gzippedChunks = new ExpositionChunks(0);
  /** The metrics in registration order, while none is registered or removed. */
  private metricsInOrder: ReturnType<Registry['getMetricsAsArray']> | undefined;

  override registerMetric(metric: Parameters<Registry['registerMetric']>[0]): void {
    this.metricsInOrder = undefined;
    super.registerMetric(metric);
  }

  override removeSingleMetric(name: string): void {
    this.metricsInOrder = undefined;
    super.removeSingleMetric(name);
  }

  override clear(): void {
    this.metricsInOrder = undefined;
    super.clear();
  }
  /** The gzip members of kept chunks (gzip-members.ts), for scrapers that accept gzip. */
  private readonly gzipMembers = new GzipMembers();
  /** The scrape rendering now (settled), which the next one waits for. */
  private rendering: Promise<unknown> = Promise.resolve();

  override setDefaultLabels(labels: object): void {
    this.defaultLabelsSet = Object.keys(labels).length > 0;
    super.setDefaultLabels(labels);
  }

  override async metrics(): Promise<string> {
    if (this.renderedByPromClient()) return super.metrics();
    return Buffer.concat(await this.exposition()).toString('utf8');
  }

  /**
   * The exposition as the bytes an HTTP answer sends, in chunks (the text `metrics()` returns,
   * encoded): mostly kept blocks, so nothing re-encodes or copies 4 MB of unchanged series. The
   * chunks are never changed afterwards (a block rendered again is a new Buffer), so a response
   * still being written may hold them. With `gzip`, the chunks are gzip members that together
   * decompress to that text (gzip-members.ts: a kept block keeps its member too).
   */
  async exposition(options: { gzip?: boolean } = {}): Promise<readonly Buffer[]> {
    const gzip = options.gzip === true;
    if (this.renderedByPromClient()) {
      const text = Buffer.from(await super.metrics());
      return [gzip ? gzipSync(text) : text];
    }
    const bytes = this.rendering.then(() => this.renderInSlices(gzip ? 'gzip parts' : 'text'));
    this.rendering = bytes.catch(() => undefined);
    return bytes;
  }

  /**
   * The exposition gzipped, as one buffer (what the broker's HTTP answer sends to a scraper that
   * accepts gzip): the same member as `exposition({ gzip: true })` gives in parts, gathered
   * without a fresh array of hundreds of parts on every scrape.
   */
  async gzipped(): Promise<Buffer> {
    if (this.renderedByPromClient()) return gzipSync(Buffer.from(await super.metrics()));
    const bytes = this.rendering.then(() => this.renderInSlices('gzip'));
    this.rendering = bytes.catch(() => undefined);
    return bytes;
  }

  /** prom-client's JSON view, after the scrape rendering now (its fill must not interleave). */
  override getMetricsAsJSON(): ReturnType<Registry['getMetricsAsJSON']> {
    const json = this.rendering.then(() => super.getMetricsAsJSON());
    this.rendering = json.catch(() => undefined);
    return json;
  }

  /** With default labels or in OpenMetrics, the text is prom-client's own. */
  private renderedByPromClient(): boolean {
    return this.defaultLabelsSet || this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE;
  }

  /**
   * Each metric in registration order (a family may read what an earlier one gathered): kept
   * chunks from the families that keep them (scraped gauges, `KeptExposition`s), and between two
   * of those, the other families' text written into the kept writer (with the blank lines between
   * families and the last newline), taken as one fresh chunk per run.
   */
  private renderInSlices(as: 'text' | 'gzip parts'): Promise<readonly Buffer[]>;
  private renderInSlices(as: 'gzip'): Promise<Buffer>;
  private async renderInSlices(
    as: 'text' | 'gzip parts' | 'gzip',
  ): Promise<readonly Buffer[] | Buffer> {
    const slices = new EventLoopSlices(scrapeSliceMs);
    // Chunks that are gzipped here are not handed out: their array is kept for the next scrape.
    let chunks: ExpositionChunks;
    if (as === 'text') chunks = new ExpositionChunks(this.chunksLastScrape);
    else {
      chunks = this.gzippedChunks;
      chunks.reset();
    }
    /** The chunks rendered anew in this scrape (the rest are kept from scrape to scrape). */
    const fresh = new Set<Buffer>();
    const writer = this.writer;
    // Families are separated by a blank line, as prom-client joins them: written after the text
    // before it, or, between two kept families, a kept chunk (its gzip piece kept with it), not
    // a fresh chunk of two bytes and its stored block on every scrape.
    let separatorOwed = false;
    /** Before a family of kept chunks: the text written so far as one fresh chunk. */
    const endText = (): void => {
      if (writer.written === 0) {
        if (separatorOwed) chunks.add(familySeparator);
      } else {
        if (separatorOwed) writer.text('\n\n');
        const chunk = writer.take();
        chunks.add(chunk);
        fresh.add(chunk);
      }
      separatorOwed = false;
    };
    // Kept: prom-client makes the array afresh on every call.
    const metrics = (this.metricsInOrder ??= this.getMetricsAsArray());
    for (let index = 0; index < metrics.length; index++) {
      const metric = metrics[index];
      const written = !(metric instanceof ScrapedGauge || rendersKeptExposition(metric));
      if (written && separatorOwed) {
        writer.text('\n\n');
        separatorOwed = false;
      }
      if (metric instanceof ScrapedGauge) {
        endText();
        // The family's steps (ScrapedGauge.startRender), awaiting only when one must pause.
        const filling = metric.fill(slices);
        if (filling !== undefined) await filling;
        metric.startRender(chunks);
        for (let block = 0; (block = metric.renderBlocks(slices, chunks, block)) >= 0;)
          await slices.next();
      } else if (rendersKeptExposition(metric)) {
        endText();
        metric.exposition(chunks);
      } else if (writesExposition(metric)) metric.writeExposition(writer);
      else {
        const promClientMetric = metric as unknown as PromClientMetric;
        const data = await gathered(promClientMetric);
        this.promClientText.write(promClientMetric, data, writer);
      }
      separatorOwed = true;
      if (slices.due()) await slices.next();
    }
    // The last newline.
    if (writer.written === 0) chunks.add(finalNewline);
    else {
      writer.byte(0x0a);
      separatorOwed = false;
      endText();
    }
    this.chunksLastScrape = chunks.length;
    const all = chunks.all();
    if (as === 'text') return all;
    const kept = (chunk: Buffer): boolean => !fresh.has(chunk);
    return as === 'gzip'
      ? this.gzipMembers.joined(all, kept, slices)
      : this.gzipMembers.of(all, kept, slices);
  }
}
