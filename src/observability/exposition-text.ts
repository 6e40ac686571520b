// Prometheus' text format as prom-client 15 writes it, byte for byte, for the broker's registry
// (scraped-gauges.ts), which renders without prom-client's per-line garbage (issue 13: a scrape's
// garbage brought the broker's major collections forward, and with them produce p99).
//
//   a prom-client metric    its values from `get()` (or `getForPromString()`), formatted here:
//                           the HELP and TYPE lines kept per metric, a labels object's text
//                           formatted once per object, a line built as one string (prom-client
//                           builds arrays of label parts, spreads and filters them per line)
//   a kept-bytes metric     renders itself into immutable buffers it keeps while its figures
//                           hold (`KeptExposition`: the request latency histograms)
//
// The escaping and number text are prom-client's: help and names escape `\` and newline, label
// values also `"`; a label value that is not a string is written as JavaScript writes it; a value
// is `Nan`, `+Inf`, `-Inf` or JavaScript's number text.

/** A metric that renders its own exposition bytes (its HELP and TYPE first, no final newline). */
export interface KeptExposition {
  /**
   * Appends the family's text as buffers that are never changed once handed out (a buffer kept
   * from the last scrape is handed out again while what it shows holds), so a gzip piece or a
   * response still being written may keep them.
   */
  exposition(chunks: Buffer[]): void;
}

export function rendersKeptExposition(metric: object): metric is KeptExposition {
  return typeof (metric as Partial<KeptExposition>).exposition === 'function';
}

export function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(value: string): string {
  return escapeText(value).replace(/"/g, '\\"');
}

export function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** `# HELP name help` and `# TYPE name type`, as prom-client writes them. */
export function headerText(name: string, help: string, type: string): string {
  const escapedName = escapeText(name);
  return `# HELP ${escapedName} ${escapeText(help)}\n# TYPE ${escapedName} ${type}`;
}

type Labels = Readonly<Record<string, unknown>>;

/** What a prom-client metric hands its registry: name, help, type and values. */
interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values?: ReadonlyArray<{
    readonly metricName?: string;
    readonly labels?: Labels;
    readonly sharedLabels?: Labels;
    readonly value: number;
  }>;
}

export interface PromClientMetric {
  get(): Promise<MetricData> | MetricData;
  getForPromString?(): Promise<MetricData> | MetricData;
}

const NO_LABELS: Labels = Object.freeze({});

/**
 * Formats prom-client's metrics as its registry does (`getMetricsAsString`, without default
 * labels, in Prometheus' format), keeping what does not change between scrapes: each metric's
 * HELP and TYPE lines, and each labels object's text (prom-client keeps a series' labels object
 * while the series lives, and passes one shared-labels object per series).
 */
export class PromClientText {
  /** Per metric, its HELP and TYPE lines and its escaped name. */
  private readonly headers = new WeakMap<
    object,
    { readonly text: string; readonly name: string }
  >();
  private readonly sharedTexts = new WeakMap<Labels, string>();

  /** The family's text: HELP, TYPE, then a line per value, joined by newlines. */
  async of(metric: PromClientMetric): Promise<string> {
    const data =
      typeof metric.getForPromString === 'function'
        ? await metric.getForPromString()
        : await metric.get();
    let header = this.headers.get(metric);
    if (header === undefined) {
      header = { text: headerText(data.name, data.help, data.type), name: escapeText(data.name) };
      this.headers.set(metric, header);
    }
    let text = header.text;
    const { name } = header;
    const values = data.values ?? [];
    for (let index = 0; index < values.length; index++) {
      const value = values[index];
      const labels = value.labels ?? NO_LABELS;
      const shared = value.sharedLabels ?? NO_LABELS;
      let labelText = ownLabelText(labels, shared);
      const sharedText = this.sharedText(shared);
      if (sharedText !== '')
        labelText = labelText === '' ? sharedText : `${labelText},${sharedText}`;
      text += `\n${value.metricName ?? name}${labelText === '' ? '' : `{${labelText}}`} ${valueText(value.value)}`;
    }
    return text;
  }

  private sharedText(labels: Labels): string {
    if (labels === NO_LABELS) return '';
    let text = this.sharedTexts.get(labels);
    if (text === undefined) {
      text = ownLabelText(labels, NO_LABELS);
      this.sharedTexts.set(labels, text);
    }
    return text;
  }
}

/** `name="value"` pairs of `labels` not named in `exclude`, comma-separated. */
function ownLabelText(labels: Labels, exclude: Labels): string {
  let text = '';
  for (const name in labels) {
    if (!Object.prototype.hasOwnProperty.call(labels, name)) continue;
    if (Object.prototype.hasOwnProperty.call(exclude, name)) continue;
    const value = labels[name];
    const shown = typeof value === 'string' ? escapeLabelValue(value) : `${value as string}`;
    text += `${text === '' ? '' : ','}${name}="${shown}"`;
  }
  return text;
}
