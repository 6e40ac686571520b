// The process metrics prom-client's defaults read at a cost a scrape feels, read cheaply under
// the same names. A scrape of an idle broker holding 10,000 partitions spent most of its CPU in
// two of them (issue 13: a scrape must not move produce p99): `process_open_fds` lists
// /proc/self/fd (a directory entry per descriptor, a thousand and more with the descriptor pool
// full), and the heap gauges call `process.memoryUsage()`, which also reads the resident size
// from /proc. Here the descriptor count is the size Linux reports for /proc/self/fd (the count
// itself, since Linux 6.2; listed as before on an older kernel, which reports 0), and the heap
// gauges read V8's heap statistics alone (the resident size has its own gauge). prom-client's
// count of active handles by type walks every handle object on each scrape and is left out
// (`nodejs_active_resources` counts the same by type).
//
// Owned by BrokerMetrics, which registers these in place of prom-client's after its defaults.

import { readdirSync, statSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

import { Gauge, type Registry } from 'prom-client';

/** The default metrics this module replaces (prom-client's names, without the prefix). */
export const replacedDefaultMetrics = [
  'process_open_fds',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_active_handles',
] as const;

/** Open descriptors: the size of /proc/self/fd where Linux reports the count, else a listing. */
export function openDescriptorCount(): number | undefined {
  try {
    const reported = statSync('/proc/self/fd').size;
    return reported > 0 ? reported : readdirSync('/proc/self/fd').length;
  } catch {
    return undefined; // Not Linux: no figure, as prom-client gives none.
  }
}

/** Registers the cheap replacements of `replacedDefaultMetrics` in `registry`. */
export function registerProcessMetrics(registry: Registry, prefix: string): void {
  const registers = [registry];
  new Gauge({
    name: `${prefix}process_open_fds`,
    help: 'Number of open file descriptors.',
    registers,
    collect() {
      const count = openDescriptorCount();
      if (count !== undefined) this.set(count);
    },
  });
  const heapGauges: Array<[string, string, (heap: HeapInfo) => number]> = [
    [
      'nodejs_heap_size_total_bytes',
      'Process heap size from Node.js in bytes.',
      (heap) => heap.total_heap_size,
    ],
    [
      'nodejs_heap_size_used_bytes',
      'Process heap size used from Node.js in bytes.',
      (heap) => heap.used_heap_size,
    ],
    [
      'nodejs_external_memory_bytes',
      'Node.js external memory size in bytes.',
      (heap) => heap.external_memory,
    ],
  ];
  for (const [name, help, figure] of heapGauges)
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        this.set(figure(getHeapStatistics()));
      },
    });
}

type HeapInfo = ReturnType<typeof getHeapStatistics>;
