// Brook's own metrics that the broker's registry has write their text straight into its kept
// buffer (`WrittenExposition`, exposition-text.ts), where prom-client's would make, on every
// scrape, a values array per family, a labels object and a hash per value set and an object per
// histogram bucket (issue 13: a scrape's garbage moved produce p99).
//
//   ReadGauge          read from the broker when scraped, a few series each (the replication
//                      state, the connection count, each log directory's free space):
//                      read(set) ─► set(value, labelValue?) ─► `\nname{label="value"} ` (bytes kept
//                      per label value) and the value, into the writer
//   CountedHistogram   observed on the way (fsync durations, GC pauses) into number arrays, with
//                      no allocation; each series' line prefixes made once
//
// Any other registry (and the broker's, with default labels) gathers them as prom-client metrics
// with the same text: a ReadGauge's `collect` runs the same `read` into prom-client's own values,
// a CountedHistogram hands prom-client's registry the values its histograms would. A gauge with
// no label shows one line, 0 unless read set it (prom-client's gauge keeps a zero after `reset`);
// a labelled one shows the series read set, in that order. A histogram without a label shows its
// one series from the start; with one, a series per label value observed, in the order first
// observed (as prom-client's do).
//
// Owned by BrokerMetrics and process-metrics.ts; gathered in registration order, so a gauge may
// read what an earlier one read in the same scrape.

import { Gauge, Histogram } from 'prom-client';

import {
  type ExpositionWriter,
  type WrittenExposition,
  escapeLabelValue,
  escapeText,
  headerText,
} from './exposition-text.js';

/** Sets one series: the gauge's only value, or the value of the series with that label value. */
export type SetSeries = (value: number, labelValue?: string) => void;

export class ReadGauge extends Gauge<string> implements WrittenExposition {
  private readonly header: Buffer;
  /** `\nname ` for a gauge without a label. */
  private readonly unlabelled: Buffer;
  /** `\nname{label="value"} ` per label value met. */
  private readonly prefixes = new Map<string, Buffer>();
  private readonly labelName: string | undefined;
  private writer: ExpositionWriter | undefined;
  /** The value read for a gauge without a label. */
  private value = 0;
  private readonly setWritten: SetSeries = (value, labelValue) => {
    if (this.labelName === undefined) {
      this.value = value;
      return;
    }
    this.writer!.bytes(this.prefix(labelValue ?? ''));
    this.writer!.value(value);
  };

  constructor(
    configuration: {
      readonly name: string;
      readonly help: string;
      /** At most one label; without it, the gauge has one series. */
      readonly labelName?: string;
      readonly registers: ConstructorParameters<typeof Gauge>[0]['registers'];
    },
    private readonly read: (set: SetSeries) => void,
  ) {
    const { labelName } = configuration;
    super({
      name: configuration.name,
      help: configuration.help,
      labelNames: labelName === undefined ? [] : [labelName],
      registers: configuration.registers,
      collect() {
        this.reset();
        read((value, labelValue) => {
          if (labelName === undefined) this.set(value);
          else this.set({ [labelName]: labelValue ?? '' }, value);
        });
      },
    });
    this.labelName = labelName;
    this.header = Buffer.from(headerText(configuration.name, configuration.help, 'gauge'));
    this.unlabelled = Buffer.from(`\n${escapeText(configuration.name)} `);
  }

  writeExposition(writer: ExpositionWriter): void {
    writer.bytes(this.header);
    this.writer = writer;
    this.value = 0;
    try {
      this.read(this.setWritten);
    } finally {
      this.writer = undefined;
    }
    if (this.labelName === undefined) {
      writer.bytes(this.unlabelled);
      writer.value(this.value);
    }
  }

  private prefix(labelValue: string): Buffer {
    let prefix = this.prefixes.get(labelValue);
    if (prefix === undefined) {
      const { name } = this as unknown as { name: string };
      prefix = Buffer.from(
        `\n${escapeText(name)}{${this.labelName}="${escapeLabelValue(labelValue)}"} `,
      );
      this.prefixes.set(labelValue, prefix);
    }
    return prefix;
  }
}

/** One series of a `CountedHistogram`: counts per bucket (+Inf last), sum and count. */
interface HistogramSeries {
  readonly labelValue: string | undefined;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
  /** `\nname_bucket{le="…"…} ` per bucket (+Inf last), then `\nname_sum… ` and `\nname_count… `. */
  readonly prefixes: readonly Buffer[];
}

type HistogramData = Awaited<ReturnType<Histogram<string>['get']>>;

export class CountedHistogram extends Histogram<string> implements WrittenExposition {
  private readonly bounds: readonly number[];
  private readonly labelName: string | undefined;
  private readonly header: Buffer;
  /** In the order first observed; the only one from the start when there is no label. */
  private readonly series: HistogramSeries[] = [];
  private readonly byLabelValue = new Map<string, HistogramSeries>();

  constructor(configuration: {
    readonly name: string;
    readonly help: string;
    readonly buckets: readonly number[];
    /** At most one label; without it, the histogram has one series. */
    readonly labelName?: string;
    readonly registers: ConstructorParameters<typeof Histogram>[0]['registers'];
  }) {
    const { name, help, labelName } = configuration;
    super({
      name,
      help,
      buckets: [...configuration.buckets],
      labelNames: labelName === undefined ? [] : [labelName],
      registers: configuration.registers,
    });
    // prom-client's histogram sets its own `observe` on the instance; this class counts.
    delete (this as { observe?: unknown }).observe;
    this.bounds = [...configuration.buckets];
    this.labelName = labelName;
    this.header = Buffer.from(headerText(name, help, 'histogram'));
    if (labelName === undefined) this.series.push(this.newSeries(undefined));
  }

  /** prom-client's `observe(value)` or `observe({ label: value }, value)`, counted. */
  override observe(first: unknown, second?: unknown): void {
    if (typeof first === 'number') this.count(first);
    else {
      const labels = first as Record<string, string | number>;
      this.count(second as number, String(labels[this.labelName ?? ''] ?? ''));
    }
  }

  /**
   * Counts one observation (of the series with that label value, if the histogram has a label),
   * allocating nothing once the series exists.
   */
  count(value: number, labelValue?: string): void {
    let series: HistogramSeries | undefined;
    if (this.labelName === undefined) series = this.series[0];
    else {
      const key = labelValue ?? '';
      series = this.byLabelValue.get(key);
      if (series === undefined) {
        series = this.newSeries(key);
        this.byLabelValue.set(key, series);
        this.series.push(series);
      }
    }
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]) bucket++;
    series.buckets[bucket]++;
    series.sum += value;
    series.count++;
  }

  writeExposition(writer: ExpositionWriter): void {
    writer.bytes(this.header);
    const buckets = this.bounds.length + 1;
    // Indexed: run once a scrape, seldom optimized, a for-of makes an iterator result each.
    for (let index = 0; index < this.series.length; index++) {
      const series = this.series[index];
      let cumulative = 0;
      for (let bucket = 0; bucket < buckets; bucket++) {
        cumulative += series.buckets[bucket];
        writer.bytes(series.prefixes[bucket]);
        writer.value(cumulative);
      }
      writer.bytes(series.prefixes[buckets]);
      writer.value(series.sum);
      writer.bytes(series.prefixes[buckets + 1]);
      writer.value(series.count);
    }
  }

  /** The values prom-client's histograms hand their registry: `le` first, then the label. */
  override async get(): Promise<HistogramData> {
    const { name, help, type, aggregator, collect } = this as unknown as HistogramData;
    const values: Array<HistogramData['values'][number]> = [];
    const value = (
      suffix: string,
      labels: Record<string, string | number>,
      figure: number,
    ): HistogramData['values'][number] =>
      ({
        metricName: `${name}${suffix}`,
        labels,
        value: figure,
      }) as HistogramData['values'][number];
    for (const series of this.series) {
      const own: Record<string, string> =
        this.labelName === undefined ? {} : { [this.labelName]: series.labelValue ?? '' };
      let cumulative = 0;
      for (let bucket = 0; bucket <= this.bounds.length; bucket++) {
        cumulative += series.buckets[bucket];
        const le = bucket < this.bounds.length ? this.bounds[bucket] : '+Inf';
        values.push(value('_bucket', { le, ...own }, cumulative));
      }
      values.push(value('_sum', own, series.sum));
      values.push(value('_count', own, series.count));
    }
    return { name, help, type, values, aggregator, collect };
  }

  async getForPromString(): Promise<HistogramData> {
    return this.get();
  }

  override reset(): void {
    // prom-client's constructor resets the metric before this class's fields are set.
    if ((this as unknown as { bounds?: unknown }).bounds === undefined) return;
    this.series.length = 0;
    this.byLabelValue.clear();
    if (this.labelName === undefined) this.series.push(this.newSeries(undefined));
  }

  private newSeries(labelValue: string | undefined): HistogramSeries {
    const { name } = this as unknown as { name: string };
    const escapedName = escapeText(name);
    const own =
      labelValue === undefined ? '' : `${this.labelName}="${escapeLabelValue(labelValue)}"`;
    const prefix = (suffix: string, labels: string): Buffer =>
      Buffer.from(`\n${escapedName}${suffix}${labels === '' ? '' : `{${labels}}`} `);
    return {
      labelValue,
      buckets: new Float64Array(this.bounds.length + 1),
      sum: 0,
      count: 0,
      prefixes: [
        ...[...this.bounds.map(String), '+Inf'].map((le) =>
          prefix('_bucket', own === '' ? `le="${le}"` : `le="${le}",${own}`),
        ),
        prefix('_sum', own),
        prefix('_count', own),
      ],
    };
  }
}
