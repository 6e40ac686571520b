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
// Owned by BrokerMetrics. Everything is synchronous: a family is filled and read within one
// registry gather, so two scrapes never see a half-filled family.

import { Gauge, Registry } from 'prom-client';

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

  /**
   * The family's exposition text, as prom-client's registry would render it: HELP, TYPE, then a
   * line per series, each rebuilt only when its value changed since it was last rendered.
   */
  renderText(): string {
    this.refill();
    const { name, help } = this as unknown as { name: string; help: string };
    const escapedName = escapeText(name);
    const lines = [`# HELP ${escapedName} ${escapeText(help)}`, `# TYPE ${escapedName} gauge`];
    for (const entry of this.values()) {
      if (entry.line === '' || !Object.is(entry.lineValue, entry.value)) {
        const labels = entry.labelText === '' ? '' : `{${entry.labelText}}`;
        entry.line = `${name}${labels} ${valueText(entry.value)}`;
        entry.lineValue = entry.value;
      }
      lines.push(entry.line);
    }
    return lines.join('\n');
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

/**
 * The broker's prom-client registry: scraped gauge families render their kept lines themselves;
 * every other metric, or this registry with default labels or in OpenMetrics, takes prom-client's
 * own path.
 */
export class LineCachingRegistry extends Registry {
  private defaultLabelsSet = false;

  override setDefaultLabels(labels: object): void {
    this.defaultLabelsSet = Object.keys(labels).length > 0;
    super.setDefaultLabels(labels);
  }

  /** Called by prom-client's `metrics()` once per metric (not in its typings). */
  async getMetricsAsString(metric: unknown): Promise<string> {
    if (
      metric instanceof ScrapedGauge &&
      !this.defaultLabelsSet &&
      this.contentType === Registry.PROMETHEUS_CONTENT_TYPE
    )
      return metric.renderText();
    const prometheusPath = Registry.prototype as unknown as {
      getMetricsAsString(this: Registry, metric: unknown): Promise<string>;
    };
    return prometheusPath.getMetricsAsString.call(this, metric);
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
