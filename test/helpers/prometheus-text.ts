// Reading Prometheus' text exposition in tests: one sample by name and labels, or a histogram's
// buckets, sum and count. The exposition's validity is promtool's to judge; this only reads it.

/** The labels of a sample line, unescaped only as far as tests need (no `}` inside values). */
function labelsOf(line: string): Map<string, string> {
  const labelText = /^[^{ ]+\{([^}]*)\}/.exec(line)?.[1] ?? '';
  return new Map(
    [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((match) => [match[1], match[2]]),
  );
}

function matches(line: string, name: string, labels: Record<string, string>): boolean {
  if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) return false;
  const present = labelsOf(line);
  return Object.entries(labels).every(([key, value]) => present.get(key) === value);
}

/** The value of the first sample `name{labels}` (the labels given, others ignored); undefined if none. */
export function sample(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split('\n')) {
    if (matches(line, name, labels)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export interface HistogramSeries {
  /** Cumulative counts by upper bound, `+Inf` last, in exposition order. */
  readonly buckets: ReadonlyArray<{ readonly le: string; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

/** One series of a histogram family, chosen by labels; undefined if the exposition has none. */
export function histogram(
  exposition: string,
  family: string,
  labels: Record<string, string>,
): HistogramSeries | undefined {
  const buckets: Array<{ le: string; count: number }> = [];
  for (const line of exposition.split('\n')) {
    if (!matches(line, `${family}_bucket`, labels)) continue;
    buckets.push({
      le: labelsOf(line).get('le') ?? '',
      count: Number(line.slice(line.lastIndexOf(' ') + 1)),
    });
  }
  const sum = sample(exposition, `${family}_sum`, labels);
  const count = sample(exposition, `${family}_count`, labels);
  if (buckets.length === 0 || sum === undefined || count === undefined) return undefined;
  return { buckets, sum, count };
}

/** The cumulative count of the bucket with upper bound `le` (as the exposition writes it). */
export function bucket(series: HistogramSeries, le: string): number {
  const found = series.buckets.find((entry) => entry.le === le);
  if (found === undefined) throw new Error(`no bucket le="${le}" in ${JSON.stringify(series)}`);
  return found.count;
}
