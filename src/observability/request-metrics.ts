// Request latency per API and version, split into the phases Kafka's RequestMetrics split it into
// and the request log prints (src/server/request-log.ts draws them):
//
//   brook_request_total_time_seconds           frame received until the socket took the response
//   brook_request_queue_time_seconds           waiting behind in-flight limits or a quota's mute
//   brook_request_local_time_seconds           on the event loop: handler up to its first await,
//                                              and encoding the response
//   brook_request_remote_time_seconds          the rest of the handler: fsyncs, replication, a
//                                              parked Fetch or JoinGroup
//   brook_request_response_queue_time_seconds  ready, behind an earlier response of the connection
//   brook_request_response_send_time_seconds   handed to the socket until the kernel took it
//
// The phases add up to the total. A request whose response was never sent (none was due, as for
// acks=0, or the connection closed first) has no send time: it counts in every family but the
// send one, its total ending when the response was written.
//
// Observing costs no allocation: each (API, version) pair gets its counters once, the first time
// it is answered (the versions are bounded by what the handlers serve; an ApiVersions request of
// an unknown version is answered, and counted, in v0), and a request adds to plain number arrays.
// The broker's registry (scraped-gauges.ts) asks each family for its bytes (`KeptExposition`):
// per (API, version) a block of its bucket, sum and count lines, kept while its count holds (a
// request adds to the count, so an unchanged count means unchanged lines), so a scrape renders
// only the series that were answered since the last one; prom-client's own registry renders them
// from values in the shape its histograms hand it, each series keeping one labels object so
// prom-client formats its label text once.
//
// Owned by BrokerMetrics; fed from connection callbacks on the event loop.

import { Histogram } from 'prom-client';

import { apiMessages } from '../protocol/generated/index.js';
import {
  type ExpositionChunks,
  type KeptExposition,
  escapeLabelValue,
  headerText,
  valueText,
} from './exposition-text.js';

/** performance.now() readings of one request, as the server keeps them (request-log.ts). */
export interface RequestTimes {
  readonly receivedMs: number;
  readonly startedMs: number;
  /** Time spent on the event loop in the handler and encoding (not a reading). */
  readonly localMs: number;
  readonly answeredMs: number;
  readonly writtenMs: number;
  /** When the socket reported the last byte taken; undefined if it never did. */
  readonly sentMs: number | undefined;
}

const phases = [
  {
    name: 'brook_request_total_time_seconds',
    help: 'Time from a request frame received to its response taken by the socket, per API and version (Kafka: TotalTimeMs).',
  },
  {
    name: 'brook_request_queue_time_seconds',
    help: 'Time a request waited behind the connection in-flight limits or a quota mute before it started (Kafka: RequestQueueTimeMs).',
  },
  {
    name: 'brook_request_local_time_seconds',
    help: 'Time a request spent on the event loop: its handler up to the first wait, and encoding (Kafka: LocalTimeMs).',
  },
  {
    name: 'brook_request_remote_time_seconds',
    help: 'Time a request waited inside its handler: fsyncs, replication, a parked fetch or join (Kafka: RemoteTimeMs).',
  },
  {
    name: 'brook_request_response_queue_time_seconds',
    help: 'Time a ready response waited behind an earlier response of the same connection (Kafka: ResponseQueueTimeMs).',
  },
  {
    name: 'brook_request_response_send_time_seconds',
    help: 'Time from a response handed to the socket until the kernel took its last byte (Kafka: ResponseSendTimeMs).',
  },
] as const;
const TOTAL = 0;
const QUEUE = 1;
const LOCAL = 2;
const REMOTE = 3;
const RESPONSE_QUEUE = 4;
const RESPONSE_SEND = 5;

/** The counters of one (API, version): per phase, a count per bucket (the last is +Inf), sum, count. */
interface ApiVersionSeries {
  readonly labels: { readonly api: string; readonly version: string };
  /** phase × (bounds + 1): observations per bucket, not cumulative. */
  readonly bucketCounts: Float64Array;
  readonly sums: Float64Array;
  readonly counts: Float64Array;
  /** `api="…",version="…"`, as the exposition shows it. */
  readonly labelText: string;
  /** Per phase, its lines as last rendered (a newline before each), and the count they show. */
  readonly rendered: Array<{ readonly count: number; readonly bytes: Buffer } | undefined>;
}

type HistogramData = Awaited<ReturnType<Histogram<string>['get']>>;

export class RequestLatencyHistograms {
  private readonly bounds: readonly number[];
  /** apiKey → version → counters; holes until first answered. */
  private readonly byApiKey: Array<Array<ApiVersionSeries | undefined> | undefined> = [];
  /** Every series, in the order first seen (the order they render in). */
  private readonly series: ApiVersionSeries[] = [];

  constructor(options: {
    readonly bucketsSeconds: readonly number[];
    readonly registers: ConstructorParameters<typeof Histogram>[0]['registers'];
  }) {
    this.bounds = [...options.bucketsSeconds];
    phases.forEach(
      ({ name, help }, phase) =>
        new PhaseHistogram(
          { name, help, labelNames: ['api', 'version'], buckets: [...this.bounds] },
          options.registers,
          () => this.render(name, phase),
          (chunks) => this.renderBytes(name, phase, chunks),
        ),
    );
  }

  /** Counts one request whose response went out at `times.sentMs` (or never, if undefined). */
  observe(apiKey: number, version: number, times: RequestTimes): void {
    const series = this.seriesOf(apiKey, version);
    const { receivedMs, startedMs, localMs, answeredMs, writtenMs, sentMs } = times;
    const endMs = sentMs ?? writtenMs;
    this.add(series, TOTAL, endMs - receivedMs);
    this.add(series, QUEUE, startedMs - receivedMs);
    this.add(series, LOCAL, localMs);
    this.add(series, REMOTE, answeredMs - startedMs - localMs);
    this.add(series, RESPONSE_QUEUE, writtenMs - answeredMs);
    if (sentMs !== undefined) this.add(series, RESPONSE_SEND, sentMs - writtenMs);
  }

  private add(series: ApiVersionSeries, phase: number, milliseconds: number): void {
    // Readings of one clock taken in order; a negative figure is rounding (local time is a sum).
    const seconds = milliseconds > 0 ? milliseconds / 1000 : 0;
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]) bucket++;
    series.bucketCounts[phase * (bounds.length + 1) + bucket]++;
    series.sums[phase] += seconds;
    series.counts[phase]++;
  }

  private seriesOf(apiKey: number, version: number): ApiVersionSeries {
    let versions = this.byApiKey[apiKey];
    if (versions === undefined) this.byApiKey[apiKey] = versions = [];
    let series = versions[version];
    if (series === undefined) {
      const labels = {
        api: apiMessages.get(apiKey)?.name ?? String(apiKey),
        version: String(version),
      };
      series = {
        labels,
        labelText: `api="${escapeLabelValue(labels.api)}",version="${labels.version}"`,
        rendered: phases.map(() => undefined),
        bucketCounts: new Float64Array(phases.length * (this.bounds.length + 1)),
        sums: new Float64Array(phases.length),
        counts: new Float64Array(phases.length),
      };
      versions[version] = series;
      this.series.push(series);
    }
    return series;
  }

  /**
   * One phase's series as prom-client's registry writes the values `render` gives: a block of
   * lines per series, kept while its count holds.
   */
  private renderBytes(name: string, phase: number, chunks: ExpositionChunks): void {
    // Indexed: code run once a scrape is seldom optimized, and a for-of there makes an
    // iterator result per series.
    for (let index = 0; index < this.series.length; index++) {
      const series = this.series[index];
      const count = series.counts[phase];
      if (count === 0) continue;
      let rendered = series.rendered[phase];
      if (rendered?.count !== count) {
        rendered = { count, bytes: Buffer.from(this.seriesLines(name, phase, series)) };
        series.rendered[phase] = rendered;
      }
      chunks.add(rendered.bytes);
    }
  }

  /** A series' bucket, sum and count lines of one phase, each after a newline. */
  private seriesLines(name: string, phase: number, series: ApiVersionSeries): string {
    const bounds = this.bounds;
    const first = phase * (bounds.length + 1);
    const { labelText } = series;
    let cumulative = 0;
    let text = '';
    for (let bucket = 0; bucket < bounds.length; bucket++) {
      cumulative += series.bucketCounts[first + bucket];
      text += `\n${name}_bucket{le="${bounds[bucket]}",${labelText}} ${valueText(cumulative)}`;
    }
    const count = series.counts[phase];
    text += `\n${name}_bucket{le="+Inf",${labelText}} ${valueText(count)}`;
    text += `\n${name}_sum{${labelText}} ${valueText(series.sums[phase])}`;
    text += `\n${name}_count{${labelText}} ${valueText(count)}`;
    return text;
  }

  /** One phase's values in the shape prom-client's histograms hand their registry. */
  private render(name: string, phase: number): HistogramData['values'] {
    const bucketName = `${name}_bucket`;
    const bounds = this.bounds;
    const values: HistogramData['values'] = [];
    for (const series of this.series) {
      const count = series.counts[phase];
      // A send-time family has no series for a pair none of whose responses was sent.
      if (count === 0) continue;
      let cumulative = 0;
      const first = phase * (bounds.length + 1);
      for (let bucket = 0; bucket < bounds.length; bucket++) {
        cumulative += series.bucketCounts[first + bucket];
        values.push(sample(bucketName, { le: bounds[bucket] }, cumulative, series.labels));
      }
      values.push(sample(bucketName, { le: '+Inf' }, count, series.labels));
      values.push(sample(`${name}_sum`, {}, series.sums[phase], series.labels));
      values.push(sample(`${name}_count`, {}, count, series.labels));
    }
    return values;
  }
}

function sample(
  metricName: string,
  labels: Record<string, string | number>,
  value: number,
  sharedLabels: ApiVersionSeries['labels'],
): HistogramData['values'][number] {
  return { metricName, labels, value, sharedLabels } as HistogramData['values'][number];
}

/** One phase: a prom-client histogram whose values come from `RequestLatencyHistograms`. */
class PhaseHistogram extends Histogram<string> implements KeptExposition {
  /** `# HELP` and `# TYPE`. */
  private readonly header: Buffer;

  constructor(
    configuration: Omit<ConstructorParameters<typeof Histogram<string>>[0], 'registers'>,
    registers: ConstructorParameters<typeof Histogram>[0]['registers'],
    private readonly values: () => HistogramData['values'],
    private readonly seriesBytes: (chunks: ExpositionChunks) => void,
  ) {
    super({ ...configuration, registers });
    this.header = Buffer.from(headerText(configuration.name, configuration.help, 'histogram'));
  }

  /** The broker's registry's text: the header, then each series' kept block. */
  exposition(chunks: ExpositionChunks): void {
    chunks.add(this.header);
    this.seriesBytes(chunks);
  }

  /** What the registry renders as text (prom-client calls it in preference to `get`). */
  async getForPromString(): Promise<HistogramData> {
    return { ...this.metadata(), values: this.values() };
  }

  /** prom-client's JSON view: the same values with the series labels merged in. */
  override async get(): Promise<HistogramData> {
    const values = this.values().map((value) => {
      const { sharedLabels, labels, ...rest } = value as typeof value & {
        sharedLabels: Record<string, string>;
      };
      return { ...rest, labels: { ...labels, ...sharedLabels } };
    });
    return { ...this.metadata(), values };
  }

  private metadata(): Omit<HistogramData, 'values'> {
    const { name, help, type, aggregator, collect } = this as unknown as HistogramData;
    return { name, help, type, aggregator, collect };
  }
}
