// The process and Node.js families prom-client's `collectDefaultMetrics` registers, under the same
// names, types, help texts, labels and value semantics, read and written by Brook (issue 13: a
// scrape must not move produce p99, and what moved it was the garbage of each scrape bringing
// major collections forward). prom-client's collectors build their values afresh on every
// scrape: a labels object and a hash per series set, /proc/self/status read as text and split
// into lines, a values array per family, a string per line. Here each family writes its text into
// the registry's kept buffer (`WrittenExposition`, exposition-text.ts): its HELP, TYPE and each
// line's name and labels are bytes made once, and only the values are written, integers digit
// by digit. What is read, and what it costs:
//
//   process_cpu_*_seconds_total         process.cpuUsage(), less its reading when registered
//                                       (prom-client counts from then too)
//   process_start_time_seconds          fixed when this module loads, as prom-client's
//   process_resident_memory_bytes,      /proc/self/status read into a kept buffer, VmRSS, VmSize
//   _virtual_memory_bytes, _heap_bytes  and VmData found in its bytes (other systems: the
//                                       resident size alone, from process.memoryUsage.rss())
//   process_open_fds                    the size Linux reports for /proc/self/fd (the count
//                                       itself, since Linux 6.2; a listing on an older kernel,
//                                       which reports 0), not a listing of every descriptor
//   process_max_fds                     /proc/self/limits, read once
//   nodejs_eventloop_lag_seconds        a setImmediate timed at each scrape, shown by the next
//   nodejs_eventloop_lag_*_seconds      monitorEventLoopDelay (10 ms resolution), reset by each
//                                       scrape
//   nodejs_active_resources{type}       process.getActiveResourcesInfo(), counted by type
//   nodejs_active_requests{type}        libuv requests, counted by class name
//   nodejs_heap_size_*_bytes,           V8's heap statistics alone (prom-client's call of
//   nodejs_external_memory_bytes        process.memoryUsage() also reads the resident size)
//   nodejs_heap_space_size_*_bytes      V8's heap space statistics, per space
//   nodejs_version_info                 fixed
//   nodejs_gc_duration_seconds{kind}    a GC performance observer counting into number arrays
//
// Left out, as before: prom-client's `nodejs_active_handles` (it walks every handle object on
// each scrape) and the `_total` gauges of handles, requests and resources (a counter's suffix on
// a gauge, which Prometheus' linter refuses).
//
// Each family is a prom-client metric too: any other registry, the JSON view and the broker's
// registry with default labels gather them through prom-client (`collect` sets prom-client's
// values from the same readings). In both ways a group's first family reads the figures its
// group shares (one cpuUsage, one /proc read, one histogram reset per scrape), as prom-client's
// collectors do: registries gather families in the order they were registered.
//
// Owned by BrokerMetrics; one instance per registry (each counts from its own registration).

import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import {
  type PerformanceEntry,
  PerformanceObserver,
  constants,
  monitorEventLoopDelay,
} from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

import { type Aggregator, Counter, Gauge, type Registry } from 'prom-client';

import { type ExpositionWriter, type WrittenExposition, headerText } from './exposition-text.js';
import { CountedHistogram } from './written-metrics.js';
import { openFileLimit } from '../util/open-file-limit.js';

/** Open descriptors: the size of /proc/self/fd where Linux reports the count, else a listing. */
export function openDescriptorCount(): number | undefined {
  try {
    const reported = statSync('/proc/self/fd').size;
    return reported > 0 ? reported : readdirSync('/proc/self/fd').length;
  } catch {
    return undefined; // Not Linux: no figure, as prom-client gives none.
  }
}

/** When the process started, in whole seconds since the epoch (as prom-client rounds it). */
const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());

/** The descriptor limit, from /proc/self/limits; undefined where there is none to read. */
const maxDescriptors = openFileLimit() ?? undefined;

const gcDurationBuckets = [0.001, 0.01, 0.1, 1, 2, 5];
/** GC kinds by the performance entry's `detail.kind`, as prom-client labels them. */
const gcKinds = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** `\nname{label="value",…} ` as bytes: what comes before a sample's value. */
function linePrefix(name: string, labels: ReadonlyArray<readonly [string, string]> = []): Buffer {
  const text = labels.map(([label, value]) => `${label}="${value}"`).join(',');
  return Buffer.from(`\n${name}${text === '' ? '' : `{${text}}`} `);
}

/** Fields of /proc/self/status read, as their line starts. */
const statusFields = ['VmRSS:', 'VmSize:', 'VmData:'].map((field) => Buffer.from(field));

/** The process' memory as /proc/self/status gives it, read without making its text. */
class StatusFigures {
  /** Bytes, in the order of `statusFields`; kept from the last reading that had them. */
  readonly bytes = [0, 0, 0];
  private readonly buffer = Buffer.allocUnsafe(8192);

  read(): void {
    let length = 0;
    try {
      const descriptor = openSync('/proc/self/status', 'r');
      try {
        for (;;) {
          const read = readSync(descriptor, this.buffer, length, this.buffer.length - length, null);
          if (read === 0 || (length += read) === this.buffer.length) break;
        }
      } finally {
        closeSync(descriptor);
      }
    } catch {
      return; // As prom-client: the figures stay as they were.
    }
    for (let field = 0; field < statusFields.length; field++) {
      const at = this.buffer.indexOf(statusFields[field]);
      if (at < 0 || at >= length) continue;
      let position = at + statusFields[field].length;
      while (position < length && (this.buffer[position] === 0x20 || this.buffer[position] === 9))
        position++;
      let kibibytes = 0;
      for (; position < length; position++) {
        const digit = this.buffer[position] - 0x30;
        if (digit < 0 || digit > 9) break;
        kibibytes = kibibytes * 10 + digit;
      }
      this.bytes[field] = kibibytes * 1024;
    }
  }
}

/** How many of each name: kept between scrapes, so a type seen before costs no new entry. */
class CountsByName {
  private readonly counts = new Map<string, number>();
  /** The names counted by the last reading, in the order first met (prom-client's order). */
  readonly names: string[] = [];

  reset(): void {
    for (let index = 0; index < this.names.length; index++) this.counts.set(this.names[index], 0);
    this.names.length = 0;
  }

  add(name: string): void {
    const count = this.counts.get(name) ?? 0;
    if (count === 0) this.names.push(name);
    this.counts.set(name, count + 1);
  }

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** `\nname{type="…"} ` per type, made the first time a type is met. */
class TypeLines {
  private readonly prefixes = new Map<string, Buffer>();

  constructor(private readonly name: string) {}

  write(writer: ExpositionWriter, counts: CountsByName): void {
    for (let index = 0; index < counts.names.length; index++) {
      const type = counts.names[index];
      let prefix = this.prefixes.get(type);
      if (prefix === undefined) {
        // A type is a class name or a libuv resource name; escaped all the same.
        const escaped = type.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
        prefix = linePrefix(this.name, [['type', escaped]]);
        this.prefixes.set(type, prefix);
      }
      writer.bytes(prefix);
      writer.value(counts.count(type));
    }
  }
}

/** A prom-client metric that also writes itself into the broker's registry. */
function written<T extends object>(metric: T, write: (writer: ExpositionWriter) => void): T {
  return Object.assign(metric, { writeExposition: write } satisfies WrittenExposition);
}

interface FamilyShape {
  readonly name: string;
  readonly help: string;
  readonly aggregator?: Aggregator;
}

/** The family's aggregator if it has its own (an `aggregator: undefined` would hide 'sum'). */
function aggregatorOf(shape: FamilyShape): { aggregator?: Aggregator } {
  return shape.aggregator === undefined ? {} : { aggregator: shape.aggregator };
}

/** Registers the process and Node.js families in `registry`, their names after `prefix`. */
export function registerProcessMetrics(registry: Registry, prefix: string): void {
  const registers = [registry];

  /** A family with one series and no labels, whose value `figure` gives after `read`. */
  const single = (
    type: 'gauge' | 'counter',
    shape: FamilyShape,
    figure: () => number,
    read?: () => void,
  ): void => {
    const name = `${prefix}${shape.name}`;
    const header = Buffer.concat([
      Buffer.from(headerText(name, shape.help, type)),
      linePrefix(name),
    ]);
    const configuration = { name, help: shape.help, registers, ...aggregatorOf(shape) };
    const metric =
      type === 'gauge'
        ? new Gauge({
            ...configuration,
            collect() {
              read?.();
              this.set(figure());
            },
          })
        : new Counter({
            ...configuration,
            collect() {
              read?.();
              this.reset();
              this.inc(figure());
            },
          });
    written(metric, (writer) => {
      read?.();
      writer.bytes(header);
      writer.value(figure());
    });
  };

  /** A family whose whole text never changes. */
  const fixed = (
    shape: FamilyShape,
    labels: ReadonlyArray<readonly [string, string]>,
    value: number,
  ): void => {
    const name = `${prefix}${shape.name}`;
    const text = Buffer.concat([
      Buffer.from(headerText(name, shape.help, 'gauge')),
      linePrefix(name, labels),
      Buffer.from(`${value}`),
    ]);
    const labelNames = labels.map(([label]) => label);
    const labelValues = Object.fromEntries(labels);
    written(
      new Gauge({
        name,
        help: shape.help,
        labelNames,
        registers,
        ...aggregatorOf(shape),
        collect() {
          this.set(labelValues, value);
        },
      }),
      (writer) => writer.bytes(text),
    );
  };

  // CPU, counted from now (prom-client's counters start at its registration).
  const cpuAtStart = process.cpuUsage();
  const cpu = { user: 0, system: 0 };
  const readCpu = (): void => {
    const usage = process.cpuUsage();
    cpu.user = usage.user - cpuAtStart.user;
    cpu.system = usage.system - cpuAtStart.system;
  };
  single(
    'counter',
    { name: 'process_cpu_user_seconds_total', help: 'Total user CPU time spent in seconds.' },
    () => cpu.user / 1e6,
    readCpu,
  );
  single(
    'counter',
    { name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.' },
    () => cpu.system / 1e6,
  );
  single(
    'counter',
    {
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
    },
    () => (cpu.user + cpu.system) / 1e6,
  );
  fixed(
    {
      name: 'process_start_time_seconds',
      help: 'Start time of the process since unix epoch in seconds.',
      aggregator: 'omit',
    },
    [],
    startTimeSeconds,
  );

  if (process.platform === 'linux') {
    const status = new StatusFigures();
    const [resident, virtual, heap] = [0, 1, 2];
    single(
      'gauge',
      { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.' },
      () => status.bytes[resident],
      () => status.read(),
    );
    single(
      'gauge',
      { name: 'process_virtual_memory_bytes', help: 'Virtual memory size in bytes.' },
      () => status.bytes[virtual],
    );
    single(
      'gauge',
      { name: 'process_heap_bytes', help: 'Process heap size in bytes.' },
      () => status.bytes[heap],
    );
  } else {
    let residentBytes = 0;
    single(
      'gauge',
      { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.' },
      () => residentBytes,
      () => {
        try {
          residentBytes = process.memoryUsage.rss();
        } catch {
          // As prom-client: the figure stays as it was.
        }
      },
    );
  }

  let openDescriptors = 0;
  single(
    'gauge',
    { name: 'process_open_fds', help: 'Number of open file descriptors.' },
    () => openDescriptors,
    () => {
      openDescriptors = openDescriptorCount() ?? openDescriptors;
    },
  );
  if (maxDescriptors !== undefined)
    fixed(
      { name: 'process_max_fds', help: 'Maximum number of open file descriptors.' },
      [],
      maxDescriptors,
    );

  // Event-loop delay: the histogram since the last scrape, and one setImmediate's lag, timed at
  // each scrape and shown by the next (prom-client's lag gauge does the same).
  const delays = monitorEventLoopDelay({ resolution: 10 });
  delays.enable();
  const loop = { lag: 0, min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };
  const lagMeasured = (startedMs: number): void => {
    loop.lag = (performance.now() - startedMs) / 1000;
  };
  const readLoop = (): void => {
    setImmediate(lagMeasured, performance.now());
    loop.min = delays.min / 1e9;
    loop.max = delays.max / 1e9;
    loop.mean = delays.mean / 1e9;
    loop.stddev = delays.stddev / 1e9;
    loop.p50 = delays.percentile(50) / 1e9;
    loop.p90 = delays.percentile(90) / 1e9;
    loop.p99 = delays.percentile(99) / 1e9;
    delays.reset();
  };
  single(
    'gauge',
    {
      name: 'nodejs_eventloop_lag_seconds',
      help: 'Lag of event loop in seconds.',
      aggregator: 'average',
    },
    () => loop.lag,
    readLoop,
  );
  const loopFamilies: Array<[keyof typeof loop, string, Aggregator]> = [
    ['min', 'The minimum recorded event loop delay.', 'min'],
    ['max', 'The maximum recorded event loop delay.', 'max'],
    ['mean', 'The mean of the recorded event loop delays.', 'average'],
    ['stddev', 'The standard deviation of the recorded event loop delays.', 'average'],
    ['p50', 'The 50th percentile of the recorded event loop delays.', 'average'],
    ['p90', 'The 90th percentile of the recorded event loop delays.', 'average'],
    ['p99', 'The 99th percentile of the recorded event loop delays.', 'average'],
  ];
  for (const [figure, help, aggregator] of loopFamilies)
    single(
      'gauge',
      { name: `nodejs_eventloop_lag_${figure}_seconds`, help, aggregator },
      () => loop[figure],
    );

  // Resources keeping the loop alive, and libuv requests, by type.
  const countedGauge = (shape: FamilyShape, count: (counts: CountsByName) => void): void => {
    const name = `${prefix}${shape.name}`;
    const header = Buffer.from(headerText(name, shape.help, 'gauge'));
    const counts = new CountsByName();
    const lines = new TypeLines(name);
    written(
      new Gauge({
        name,
        help: shape.help,
        labelNames: ['type'],
        registers,
        collect() {
          counts.reset();
          count(counts);
          this.reset();
          for (const type of counts.names) this.set({ type }, counts.count(type));
        },
      }),
      (writer) => {
        counts.reset();
        count(counts);
        writer.bytes(header);
        lines.write(writer, counts);
      },
    );
  };
  if (typeof process.getActiveResourcesInfo === 'function')
    countedGauge(
      {
        name: 'nodejs_active_resources',
        help: 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
      },
      (counts) => {
        const resources = process.getActiveResourcesInfo();
        for (let index = 0; index < resources.length; index++) counts.add(resources[index]);
      },
    );
  const activeRequests = (process as { _getActiveRequests?: () => unknown[] })._getActiveRequests;
  if (typeof activeRequests === 'function')
    countedGauge(
      {
        name: 'nodejs_active_requests',
        help: 'Number of active libuv requests grouped by request type. Every request type is C++ class name.',
      },
      (counts) => {
        const requests = activeRequests.call(process);
        for (let index = 0; index < requests.length; index++) {
          const request = requests[index] as { constructor?: { name: string } } | null;
          if (request?.constructor !== undefined) counts.add(request.constructor.name);
        }
      },
    );

  // The heap, from V8's statistics, read once per scrape for the three.
  let heap = getHeapStatistics();
  single(
    'gauge',
    { name: 'nodejs_heap_size_total_bytes', help: 'Process heap size from Node.js in bytes.' },
    () => heap.total_heap_size,
    () => {
      heap = getHeapStatistics();
    },
  );
  single(
    'gauge',
    { name: 'nodejs_heap_size_used_bytes', help: 'Process heap size used from Node.js in bytes.' },
    () => heap.used_heap_size,
  );
  single(
    'gauge',
    { name: 'nodejs_external_memory_bytes', help: 'Node.js external memory size in bytes.' },
    () => heap.external_memory,
  );

  // Per heap space: size, used and available, from one reading for the three.
  let spaces = getHeapSpaceStatistics();
  const spaceFigures = [
    ['total', (space: (typeof spaces)[number]) => space.space_size],
    ['used', (space: (typeof spaces)[number]) => space.space_used_size],
    ['available', (space: (typeof spaces)[number]) => space.space_available_size],
  ] as const;
  spaceFigures.forEach(([figure, value], index) => {
    const name = `${prefix}nodejs_heap_space_size_${figure}_bytes`;
    const help = `Process heap space size ${figure} from Node.js in bytes.`;
    const header = Buffer.from(headerText(name, help, 'gauge'));
    /** `\nname{space="new"} ` by V8's space name (`new_space`). */
    const prefixes = new Map<string, Buffer>();
    const spaceLabel = (spaceName: string): string =>
      spaceName.substring(0, spaceName.indexOf('_space'));
    const read = (): void => {
      if (index === 0) spaces = getHeapSpaceStatistics();
    };
    written(
      new Gauge({
        name,
        help,
        labelNames: ['space'],
        registers,
        collect() {
          read();
          for (const space of spaces)
            this.set({ space: spaceLabel(space.space_name) }, value(space));
        },
      }),
      (writer) => {
        read();
        writer.bytes(header);
        for (let place = 0; place < spaces.length; place++) {
          const space = spaces[place];
          let line = prefixes.get(space.space_name);
          if (line === undefined) {
            line = linePrefix(name, [['space', spaceLabel(space.space_name)]]);
            prefixes.set(space.space_name, line);
          }
          writer.bytes(line);
          writer.value(value(space));
        }
      },
    );
  });

  const [major, minor, patch] = process.version.slice(1).split('.');
  fixed(
    { name: 'nodejs_version_info', help: 'Node.js version info.', aggregator: 'first' },
    [
      ['version', process.version],
      ['major', String(Number(major))],
      ['minor', String(Number(minor))],
      ['patch', String(Number(patch))],
    ],
    1,
  );

  registerGcHistogram(registry, prefix);
}

/** GC pauses by kind, counted by a performance observer into number arrays. */
function registerGcHistogram(registry: Registry, prefix: string): void {
  const histogram = new CountedHistogram({
    name: `${prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    buckets: gcDurationBuckets,
    labelName: 'kind',
    registers: [registry],
  });
  const observe = (entry: PerformanceEntry & { detail?: { kind?: number } }): void => {
    const kind = gcKinds.get(entry.detail?.kind ?? -1);
    if (kind !== undefined) histogram.count(entry.duration / 1000, kind);
  };
  // Every collection the observer is handed (prom-client's counts only the first of a batch).
  new PerformanceObserver((list) => list.getEntries().forEach(observe)).observe({
    entryTypes: ['gc'],
  });
}
