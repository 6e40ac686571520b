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
//   WrittenCounter     counted on the way, per label values (records in per topic, errors per
//                      API and code): a series per label values in a map, found by the label
//                      value itself when there is one label (no hash of a labels object per
//                      count, as prom-client's counters make), its line prefix made once
//
// Any other registry (and the broker's, with default labels) gathers them as prom-client metrics
// with the same text: a ReadGauge's `collect` runs the same `read` into prom-client's own values,
// a CountedHistogram or WrittenCounter hands prom-client's registry the values prom-client's
// histograms and counters would (series in the order first counted; a counter without labels
// shows 0 from the start). A gauge with
// no label shows one line, 0 unless read set it (prom-client's gauge keeps a zero after `reset`);
// a labelled one shows the series read set, in that order. A histogram without a label shows its
// one series from the start; with one, a series per label value observed, in the order first
// observed (as prom-client's do).
//
// Owned by BrokerMetrics and process-metrics.ts; gathered in registration order, so a gauge may
// read what an earlier one read in the same scrape.

import { Counter, Gauge, Histogram } from 'prom-client';

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

/** One series of a `WrittenCounter`. */
interface CounterSeries {
  readonly labelValues: readonly string[];
  value: number;
  /** `\nname{label="value",…} `, made when first written. */
  prefix: Buffer | undefined;
}

type CounterData = Awaited<ReturnType<Counter<string>['get']>>;

const NO_LABEL_VALUES: readonly string[] = Object.freeze([]);

export class WrittenCounter extends Counter<string> implements WrittenExposition {
  private readonly labelNames: readonly string[];
  private readonly header: Buffer;
  /** By label values (the one value itself, or the values joined by a NUL), in the order first counted. */
  private readonly series = new Map<string, CounterSeries>();
  private writer: ExpositionWriter | undefined;

  constructor(configuration: {
    readonly name: string;
    readonly help: string;
    readonly labelNames?: readonly string[];
    readonly registers: ConstructorParameters<typeof Counter>[0]['registers'];
  }) {
    const labelNames = configuration.labelNames ?? [];
    super({
      name: configuration.name,
      help: configuration.help,
      labelNames: [...labelNames],
      registers: configuration.registers,
    });
    // prom-client's counter sets its own `inc` on the instance; this class counts.
    delete (this as { inc?: unknown }).inc;
    this.labelNames = [...labelNames];
    this.header = Buffer.from(headerText(configuration.name, configuration.help, 'counter'));
    if (this.labelNames.length === 0)
      this.series.set('', { labelValues: [], value: 0, prefix: undefined });
  }

  /**
   * prom-client's `inc()`, `inc(value)` or `inc({ label: value }, value)`. With one label, the
   * series is found by the label's value itself: counting an existing series allocates nothing.
   */
  override inc(first?: unknown, second?: unknown): void {
    if (first === undefined || typeof first === 'number') {
      this.add(this.series.get(''), first ?? 1, NO_LABEL_VALUES);
      return;
    }
    const labels = first as Record<string, string | number>;
    const value = (second as number | undefined) ?? 1;
    if (this.labelNames.length === 1) {
      const labelValue = String(labels[this.labelNames[0]]);
      this.add(this.series.get(labelValue), value, labelValue);
    } else {
      const labelValues = this.labelNames.map((name) => String(labels[name]));
      this.add(this.series.get(labelValues.join('\u0000')), value, labelValues);
    }
  }

  /**
   * `inc({ label: labelValue }, value)` of a counter with one label, without the labels object
   * (the produce and fetch paths count records and bytes per topic with it).
   */
  incLabelled(labelValue: string, value: number): void {
    if (this.labelNames.length !== 1) throw new Error(`${this.labelNames.length} labels, not one`);
    this.add(this.series.get(labelValue), value, labelValue);
  }

  /** Adds `value` to `series`, or to a new series with these label values (or this one value). */
  private add(
    series: CounterSeries | undefined,
    value: number,
    labelValues: string | readonly string[],
  ): void {
    if (!(value >= 0)) throw new Error(`a counter only counts up (${value})`);
    if (series === undefined) {
      const values = typeof labelValues === 'string' ? [labelValues] : [...labelValues];
      if (values.length !== this.labelNames.length)
        throw new Error(`${this.labelNames.length} label values expected, not ${values.length}`);
      series = { labelValues: values, value: 0, prefix: undefined };
      this.series.set(values.length === 1 ? values[0] : values.join('\u0000'), series);
    }
    series.value += value;
  }

  /** prom-client's `remove({ label: value })`: the series goes from the exposition. */
  override remove(...labels: unknown[]): void {
    const given = labels[0] as Record<string, string | number>;
    const values = this.labelNames.map((name) => String(given[name]));
    this.series.delete(values.length === 1 ? values[0] : values.join('\u0000'));
  }

  override reset(): void {
    // prom-client's constructor resets the metric before this class's fields are set.
    if ((this as unknown as { series?: unknown }).series === undefined) return;
    this.series.clear();
    if (this.labelNames.length === 0)
      this.series.set('', { labelValues: [], value: 0, prefix: undefined });
  }

  writeExposition(writer: ExpositionWriter): void {
    writer.bytes(this.header);
    // forEach: a for-of over the map, run once a scrape (seldom optimized), makes an iterator
    // result per series.
    this.writer = writer;
    try {
      this.series.forEach(this.writeSeries, this);
    } finally {
      this.writer = undefined;
    }
  }

  private writeSeries(series: CounterSeries): void {
    series.prefix ??= this.prefixOf(series.labelValues);
    this.writer!.bytes(series.prefix);
    this.writer!.value(series.value);
  }

  private prefixOf(labelValues: readonly string[]): Buffer {
    const { name } = this as unknown as { name: string };
    const labels = this.labelNames
      .map((label, index) => `${label}="${escapeLabelValue(labelValues[index])}"`)
      .join(',');
    return Buffer.from(`\n${escapeText(name)}${labels === '' ? '' : `{${labels}}`} `);
  }

  /** What prom-client's counters hand their registry: a value and its labels per series. */
  override async get(): Promise<CounterData> {
    const { name, help, type, aggregator, collect } = this as unknown as CounterData;
    const values: Array<CounterData['values'][number]> = [];
    for (const series of this.series.values()) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((label, index) => (labels[label] = series.labelValues[index]));
      values.push({ value: series.value, labels } as CounterData['values'][number]);
    }
    return { name, help, type, values, aggregator, collect };
  }
}
