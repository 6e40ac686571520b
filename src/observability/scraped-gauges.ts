// Gauge families whose series are read from the broker on each scrape, many of them (a series per
// partition, one per group and partition), rendered by prom-client without rebuilding each
// series' label text or value objects on every scrape.
//
//   scrape n:   fill(snapshot) ─► series(topic, partition) ─► the kept entry, value set ─┐
//                                 (a trie of the label values; new series are added)       │
//   render:     LineCachingRegistry ─► each kept entry's line, rebuilt only if its value moved ◄─┘
//               (any other prom-client registry: getForPromString() ─► { value, sharedLabels })
//   end:        entries not seen in scrape n are dropped (a deleted topic's series go)
//
// The broker's registry (`LineCachingRegistry`) asks these families for their text directly: each
// series keeps its label text, escaped once, and each entry its last line with the value that line
// shows, so a scrape of 10,000 unchanged partitions builds no line at all, only the join. The text
// is the one prom-client would render, byte for byte (test/observability/scraped-gauges.test.ts
// renders both ways and compares). Any other registry gets prom-client's own path: a value's
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

import { EventLoopSlices } from './event-loop-slices.js';

type LabelValues = Record<string, string>;

/** One family's entry of a series: what prom-client renders, and the line last rendered. */
interface SeriesValue {
  value: number;
  readonly labels: LabelValues;
  readonly sharedLabels: LabelValues;
  /** The series' labels as exposition text (`topic="orders",partition="0"`), escaped once. */
  readonly labelText: string;
  /** `name{labels} value` as of `lineValue`; empty until first rendered. */
  line: string;
  lineValue: number;
}

/** One series of every family of a `ScrapedGaugeFamilies`: its labels and its current values. */
interface Series {
  readonly labels: LabelValues;
  /** Per family, the value object handed to prom-client (mutated in place each scrape). */
  readonly values: SeriesValue[];
  seenInScrape: number;
}

/** A trie node: label value ─► next node, the last level holding series. */
type Node = Map<LabelValue, Node | Series>;

/** One series: its label values (in the families' `labelNames` order) and a value per family. */
export type SeriesEntry = readonly [labelValues: readonly LabelValue[], values: readonly number[]];
type LabelValue = string | number;

/** How long the broker's registry runs before letting the event loop turn, while it scrapes. */
export const scrapeSliceMs = 2;

const NO_LABELS: LabelValues = Object.freeze({}) as LabelValues;

/**
 * Several gauges sharing one label set (a partition's offsets, size and segments), filled together
 * by one pass over the broker's state when the first of them is gathered.
 */
export class ScrapedGaugeFamilies {
  private readonly root: Node = new Map();
  private readonly rendered: Array<Series['values']>;
  private readonly labelNames: readonly string[];
  private readonly entries: () => Iterable<SeriesEntry>;
  private scrapeNumber = 0;
  readonly gauges: readonly ScrapedGauge[];

  constructor(options: {
    readonly families: ReadonlyArray<{ readonly name: string; readonly help: string }>;
    readonly labelNames: readonly string[];
    readonly registers: ConstructorParameters<typeof Gauge>[0]['registers'];
    /** Every series of this scrape, read lazily (a generator), so the walk can pause between two. */
    readonly series: () => Iterable<SeriesEntry>;
  }) {
    const { families } = options;
    this.labelNames = options.labelNames;
    this.entries = options.series;
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
    this.startFill();
    for (const entry of this.entries()) {
      this.set(entry);
      if (slices?.due()) await slices.next();
    }
    this.dropUnseen(this.root);
  }

  /** The same walk in one piece, for prom-client's synchronous path. */
  fillNow(): void {
    this.startFill();
    for (const entry of this.entries()) this.set(entry);
    this.dropUnseen(this.root);
  }

  /** The values the last fill set for one family, in the order the walk met them. */
  values(family: number): Series['values'] {
    return this.rendered[family];
  }

  private startFill(): void {
    this.scrapeNumber++;
    for (const values of this.rendered) values.length = 0;
  }

  private set([labelValues, values]: SeriesEntry): void {
    const series = this.series(this.labelNames, labelValues, this.rendered.length);
    series.seenInScrape = this.scrapeNumber;
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
      const labels: LabelValues = {};
      labelNames.forEach((name, index) => (labels[name] = String(labelValues[index])));
      const labelText = Object.entries(labels)
        .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
        .join(',');
      series = {
        labels,
        values: Array.from({ length: families }, () => ({
          value: 0,
          labels: NO_LABELS,
          sharedLabels: labels,
          labelText,
          line: '',
          lineValue: 0,
        })),
        seenInScrape: this.scrapeNumber,
      };
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

/** One family of a `ScrapedGaugeFamilies`: a prom-client gauge whose values come from the fill. */
class ScrapedGauge extends Gauge<string> {
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
   * The family's exposition text, as prom-client's registry would render it: HELP, TYPE, then a
   * line per series, each rebuilt only when its value changed since it was last rendered. Pauses
   * whenever `slices` says the event loop is due a turn.
   */
  async renderText(slices: EventLoopSlices): Promise<string> {
    if (this.family === 0) await this.owner.fill(slices);
    const { name, help } = this as unknown as { name: string; help: string };
    const escapedName = escapeText(name);
    const lines = [`# HELP ${escapedName} ${escapeText(help)}`, `# TYPE ${escapedName} gauge`];
    for (const entry of this.owner.values(this.family)) {
      if (entry.line === '' || !Object.is(entry.lineValue, entry.value)) {
        const labels = entry.labelText === '' ? '' : `{${entry.labelText}}`;
        entry.line = `${name}${labels} ${valueText(entry.value)}`;
        entry.lineValue = entry.value;
      }
      lines.push(entry.line);
      if (slices.due()) await slices.next();
    }
    return lines.join('\n');
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
 * and the whole exposition renders in slices of `scrapeSliceMs`, one scrape at a time; with
 * default labels or in OpenMetrics, this registry takes prom-client's own path.
 */
export class LineCachingRegistry extends Registry {
  private defaultLabelsSet = false;
  /** The scrape rendering now (settled), which the next one waits for. */
  private rendering: Promise<unknown> = Promise.resolve();

  override setDefaultLabels(labels: object): void {
    this.defaultLabelsSet = Object.keys(labels).length > 0;
    super.setDefaultLabels(labels);
  }

  override metrics(): Promise<string> {
    if (this.defaultLabelsSet || this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE)
      return super.metrics();
    const text = this.rendering.then(() => this.renderInSlices());
    this.rendering = text.catch(() => undefined);
    return text;
  }

  /** prom-client's JSON view, after the scrape rendering now (its fill must not interleave). */
  override getMetricsAsJSON(): ReturnType<Registry['getMetricsAsJSON']> {
    const json = this.rendering.then(() => super.getMetricsAsJSON());
    this.rendering = json.catch(() => undefined);
    return json;
  }

  /** Each metric in registration order (a family may read what an earlier one gathered). */
  private async renderInSlices(): Promise<string> {
    const slices = new EventLoopSlices(scrapeSliceMs);
    const prometheusPath = Registry.prototype as unknown as {
      getMetricsAsString(this: Registry, metric: unknown): Promise<string>;
    };
    const texts: string[] = [];
    for (const metric of this.getMetricsAsArray()) {
      texts.push(
        metric instanceof ScrapedGauge
          ? await metric.renderText(slices)
          : await prometheusPath.getMetricsAsString.call(this, metric),
      );
      if (slices.due()) await slices.next();
    }
    // As prom-client joins them.
    return `${texts.join('\n\n')}\n`;
  }
}

// The exposition's escaping and number text, exactly as prom-client 15 writes them.
function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string): string {
  return escapeText(value).replace(/"/g, '\\"');
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}
