// Gauge families whose series are read from the broker on each scrape, many of them (a series per
// partition, one per group and partition), rendered by prom-client without rebuilding each
// series' label text or value objects on every scrape.
//
//   scrape n:   fill(snapshot) ─► series(topic, partition) ─► the kept entry, value set ─┐
//                                 (a trie of the label values; new series are added)       │
//   render:     prom-client's getForPromString() ─► { value, labels: {}, sharedLabels } ◄──┘
//               sharedLabels' text is formatted once per object and cached by prom-client
//   end:        entries not seen in scrape n are dropped (a deleted topic's series go)
//
// prom-client formats a value's `sharedLabels` once per labels object and keeps the text in a
// WeakMap (its histograms pass the labels all their bucket lines share that way). Keeping one
// labels object per series across scrapes therefore makes a series' label text a cache hit: a
// scrape of 10,000 partitions escapes and joins no label and allocates no object per series
// beyond prom-client's own line. `get()` (prom-client's JSON view) answers with plain labels.
//
// Owned by BrokerMetrics. Everything is synchronous: a family is filled and read within one
// registry gather, so two scrapes never see a half-filled family.

import { Gauge } from 'prom-client';

type LabelValues = Record<string, string>;

/** One series of every family of a `ScrapedGaugeFamilies`: its labels and its current values. */
interface Series {
  readonly labels: LabelValues;
  /** Per family, the value object handed to prom-client (mutated in place each scrape). */
  readonly values: Array<{ value: number; labels: LabelValues; sharedLabels: LabelValues }>;
  seenInScrape: number;
}

/** A trie node: label value ─► next node, the last level holding series. */
type Node = Map<LabelValue, Node | Series>;

/** Sets one series' value in every family; label values in the families' `labelNames` order. */
export type SetSeries = (labelValues: readonly LabelValue[], values: readonly number[]) => void;
type LabelValue = string | number;

const NO_LABELS: LabelValues = Object.freeze({}) as LabelValues;

/**
 * Several gauges sharing one label set (a partition's offsets, size and segments), filled together
 * by one pass over the broker's state when the first of them is gathered.
 */
export class ScrapedGaugeFamilies {
  private readonly root: Node = new Map();
  private readonly rendered: Array<Series['values']>;
  private scrapeNumber = 0;
  readonly gauges: readonly ScrapedGauge[];

  constructor(options: {
    readonly families: ReadonlyArray<{ readonly name: string; readonly help: string }>;
    readonly labelNames: readonly string[];
    readonly registers: ConstructorParameters<typeof Gauge>[0]['registers'];
    /** Calls `set` once per series with its label values (in `labelNames` order). */
    readonly fill: (set: SetSeries) => void;
  }) {
    const { families, labelNames, fill } = options;
    this.rendered = families.map(() => []);
    const set: SetSeries = (labelValues, values) => {
      const series = this.series(labelNames, labelValues, families.length);
      series.seenInScrape = this.scrapeNumber;
      for (let family = 0; family < families.length; family++) {
        const value = series.values[family];
        value.value = values[family];
        this.rendered[family].push(value);
      }
    };
    const refill = (): void => {
      this.scrapeNumber++;
      for (const values of this.rendered) values.length = 0;
      fill(set);
      this.dropUnseen(this.root);
    };
    this.gauges = families.map(
      ({ name, help }, family) =>
        new ScrapedGauge(
          { name, help, labelNames, registers: options.registers },
          // The first family's gather fills every family; the registry gathers them in order.
          family === 0 ? refill : () => undefined,
          () => this.rendered[family],
        ),
    );
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
      series = {
        labels,
        values: Array.from({ length: families }, () => ({
          value: 0,
          labels: NO_LABELS,
          sharedLabels: labels,
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
    private readonly refill: () => void,
    private readonly values: () => Series['values'],
  ) {
    super(configuration);
  }

  /** What the registry renders as text (prom-client calls it in preference to `get`). */
  async getForPromString(): Promise<Awaited<ReturnType<Gauge<string>['get']>>> {
    this.refill();
    return { ...this.metadata(), values: this.values() };
  }

  /** prom-client's JSON view: the same values with their labels. */
  override async get(): Promise<Awaited<ReturnType<Gauge<string>['get']>>> {
    this.refill();
    const values = this.values().map(({ value, sharedLabels }) => ({
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
