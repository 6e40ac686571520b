// Prometheus' text format as prom-client 15 writes it, byte for byte, for the broker's registry
// (scraped-gauges.ts), which renders without prom-client's per-line garbage (issue 13: a scrape's
// garbage brought the broker's major collections forward, and with them produce p99).
//
//   a prom-client metric    its values from `get()` (or `getForPromString()`), written here
//                           into the writer: the HELP and TYPE lines kept per metric as bytes,
//                           each line's name, label pairs and value written in place (prom-client
//                           builds arrays of label parts, spreads and filters them per line)
//   a kept-bytes metric     renders itself into immutable buffers it keeps while its figures
//                           hold (`KeptExposition`: the request latency histograms)
//   a written metric        writes its text into the registry's `ExpositionWriter`, a byte
//                           buffer kept from scrape to scrape (`WrittenExposition`: the process
//                           and Node.js families of process-metrics.ts, the broker's counters,
//                           histograms and gauges read on scrape of written-metrics.ts)
//
// Text rendered afresh on each scrape (prom-client's metrics, the written ones) goes into the
// writer's buffer, and a scrape takes one copy of each run of it: no string per line, no string
// of the whole run to encode (issue 13: what a scrape allocates brings the broker's major
// collections forward, and with them produce p99).
//
// The escaping and number text are prom-client's: help and names escape `\` and newline, label
// values also `"`; a label value that is not a string is written as JavaScript writes it; a value
// is `Nan`, `+Inf`, `-Inf` or JavaScript's number text (an integer's digits are written without
// making its text).

/** A metric that renders its own exposition bytes (its HELP and TYPE first, no final newline). */
export interface KeptExposition {
  /**
   * Appends the family's text as buffers that are never changed once handed out (a buffer kept
   * from the last scrape is handed out again while what it shows holds), so a gzip piece or a
   * response still being written may keep them.
   */
  exposition(chunks: ExpositionChunks): void;
}

/**
 * The chunks of one exposition, in order, in an array made as long as the last scrape's (a few
 * hundred blocks): not grown step by step, each step copying it, on every scrape.
 */
export class ExpositionChunks {
  private readonly chunks: Buffer[];
  private count = 0;

  constructor(expected: number) {
    this.chunks = new Array<Buffer>(expected);
  }

  add(chunk: Buffer): void {
    this.chunks[this.count++] = chunk;
  }

  get length(): number {
    return this.count;
  }

  /** The chunks added, as an array (no more may be added until `reset`). */
  all(): Buffer[] {
    this.chunks.length = this.count;
    return this.chunks;
  }

  /**
   * Empty again, the array kept for the next exposition (which writes over its places): for an
   * owner that is done with what `all` gave before.
   */
  reset(): void {
    this.count = 0;
  }
}

export function rendersKeptExposition(metric: object): metric is KeptExposition {
  return typeof (metric as Partial<KeptExposition>).exposition === 'function';
}

/** A metric that writes its exposition text itself (its HELP and TYPE first, no final newline). */
export interface WrittenExposition {
  writeExposition(writer: ExpositionWriter): void;
}

export function writesExposition(metric: object): metric is WrittenExposition {
  return typeof (metric as Partial<WrittenExposition>).writeExposition === 'function';
}

/** Label values that must be escaped (`\`, newline, `"`). */
const labelValueEscapes = /[\\\n"]/;

/**
 * A byte buffer that the text of one scrape is written into, kept from scrape to scrape (grown
 * when a scrape needs more). `take()` hands out a copy of what was written: the buffer itself is
 * written again by the next scrape while a response may still be sending the last one.
 */
export class ExpositionWriter {
  private buffer = Buffer.allocUnsafe(16 * 1024);
  private length = 0;

  get written(): number {
    return this.length;
  }

  /** What was written since the last take, as a buffer of its own; the writer starts empty. */
  take(): Buffer {
    const taken = Buffer.allocUnsafe(this.length);
    this.buffer.copy(taken, 0, 0, this.length);
    this.length = 0;
    return taken;
  }

  /** Text as it is (names, label text already escaped, constant punctuation). */
  text(text: string): void {
    this.reserve(3 * text.length);
    this.length += this.buffer.write(text, this.length);
  }

  bytes(bytes: Buffer): void {
    this.reserve(bytes.length);
    this.length += bytes.copy(this.buffer, this.length);
  }

  /** One ASCII character by its code (a newline, a brace). */
  byte(code: number): void {
    this.reserve(1);
    this.buffer[this.length++] = code;
  }

  /** `\nname{labelText} value`: one sample's line, its label text escaped already ('' for none). */
  sample(name: string, labelText: string, value: number): void {
    this.byte(NEWLINE);
    this.text(name);
    if (labelText !== '') {
      this.byte(OPENING_BRACE);
      this.text(labelText);
      this.byte(CLOSING_BRACE);
    }
    this.byte(SPACE);
    this.value(value);
  }

  /** A sample's value as prom-client writes it (`valueText`). */
  value(value: number): void {
    if (Number.isSafeInteger(value)) this.integer(value);
    else this.text(valueText(value));
  }

  /** A label's value as prom-client writes it: escaped if a string, else as JavaScript writes it. */
  labelValue(value: unknown): void {
    if (typeof value === 'string')
      this.text(labelValueEscapes.test(value) ? escapeLabelValue(value) : value);
    else if (Number.isSafeInteger(value)) this.integer(value as number);
    else this.text(`${value as string}`);
  }

  /** A safe integer's decimal digits (JavaScript's text for it), written from the last one. */
  private integer(value: number): void {
    this.reserve(17);
    if (value < 0 || Object.is(value, -0)) {
      if (value === 0) {
        this.buffer[this.length++] = 0x30;
        return;
      }
      this.buffer[this.length++] = 0x2d;
      value = -value;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.length + digits;
    this.length = at;
    do {
      this.buffer[--at] = 0x30 + (value % 10);
      value = Math.floor(value / 10);
    } while (value > 0);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
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

/** What a prom-client metric hands its registry for the text format. */
export function gathered(metric: PromClientMetric): Promise<MetricData> | MetricData {
  return typeof metric.getForPromString === 'function' ? metric.getForPromString() : metric.get();
}

const NO_LABELS: Labels = Object.freeze({});

/**
 * Writes prom-client's metrics as its registry formats them (`getMetricsAsString`, without default
 * labels, in Prometheus' format), keeping what does not change between scrapes: each metric's
 * HELP and TYPE lines, as bytes. A line is written piece by piece into the writer (name, each
 * label pair, value), so nothing is built per line; prom-client's own `get()` still builds its
 * values.
 */
export class PromClientText {
  /** Per metric, its HELP and TYPE lines and its escaped name. */
  private readonly headers = new WeakMap<
    object,
    { readonly bytes: Buffer; readonly name: string }
  >();

  /**
   * The family's text: HELP, TYPE, then a line per value, each after a newline, from what the
   * metric's `getForPromString()` (or `get()`) gave (`gathered`, awaited by the caller: one
   * await per metric, not two).
   */
  write(
    metric: PromClientMetric,
    data: Awaited<ReturnType<PromClientMetric['get']>>,
    writer: ExpositionWriter,
  ): void {
    let header = this.headers.get(metric);
    if (header === undefined) {
      header = {
        bytes: Buffer.from(headerText(data.name, data.help, data.type)),
        name: escapeText(data.name),
      };
      this.headers.set(metric, header);
    }
    writer.bytes(header.bytes);
    const values = data.values ?? [];
    for (let index = 0; index < values.length; index++) {
      const value = values[index];
      const labels = value.labels ?? NO_LABELS;
      const shared = value.sharedLabels ?? NO_LABELS;
      writer.byte(NEWLINE);
      writer.text(value.metricName ?? header.name);
      // The sample's own labels (less those the shared labels name), then the shared ones.
      let pairs = writeLabels(writer, labels, shared, 0);
      pairs = writeLabels(writer, shared, NO_LABELS, pairs);
      if (pairs > 0) writer.byte(CLOSING_BRACE);
      writer.byte(SPACE);
      writer.value(value.value);
    }
  }
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const OPENING_BRACE = 0x7b;
const CLOSING_BRACE = 0x7d;
const COMMA = 0x2c;

/**
 * `name="value"` pairs of `labels` not named in `exclude`, after `{` (the first pair of the
 * line) or a comma (`written` pairs before them); how many pairs the line has now.
 */
function writeLabels(
  writer: ExpositionWriter,
  labels: Labels,
  exclude: Labels,
  written: number,
): number {
  if (labels === NO_LABELS) return written;
  for (const name in labels) {
    if (!Object.prototype.hasOwnProperty.call(labels, name)) continue;
    if (exclude !== NO_LABELS && Object.prototype.hasOwnProperty.call(exclude, name)) continue;
    writer.byte(written === 0 ? OPENING_BRACE : COMMA);
    written++;
    writer.text(name);
    writer.text('="');
    writer.labelValue(labels[name]);
    writer.byte(0x22);
  }
  return written;
}
