// The process and Node.js families, Brook's own under prom-client's names
// (src/observability/process-metrics.ts): a real broker's /metrics, scraped over HTTP, shows every
// family prom-client's `collectDefaultMetrics` shows (less the ones Brook leaves out), with the
// same HELP, TYPE and labels, and values that make sense and move (CPU rising between scrapes,
// GC pauses counted, event-loop delay quantiles in order), and promtool accepts them; prom-client's
// own registry gathers the same families, with the same text but for the values. The descriptor
// count taken from the size Linux reports for /proc/self/fd is the count a listing gives, and
// follows descriptors opened and closed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Registry, collectDefaultMetrics } from 'prom-client';

import { startBroker } from '../../src/broker.js';
import {
  openDescriptorCount,
  registerProcessMetrics,
} from '../../src/observability/process-metrics.js';
import { LineCachingRegistry } from '../../src/observability/scraped-gauges.js';
import { waitFor } from '../helpers/poll.js';
import { histogram, sample } from '../helpers/prometheus-text.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/** prom-client's default families Brook leaves out (see process-metrics.ts). */
const leftOut = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Per family of an exposition: its HELP and TYPE lines, and the label names of its samples. */
function families(exposition: string): Map<string, { header: string; labels: Set<string> }> {
  const found = new Map<string, { header: string; labels: Set<string> }>();
  for (const block of exposition.trimEnd().split('\n\n')) {
    const [help, type, ...lines] = block.split('\n');
    const name = /^# HELP (\S+) /.exec(help)?.[1];
    assert.ok(name !== undefined && type.startsWith(`# TYPE ${name} `), `a family: ${block}`);
    const labels = new Set<string>();
    for (const line of lines)
      for (const [, label] of line.matchAll(/[{,](\w+)="/g)) labels.add(label);
    found.set(name, { header: `${help}\n${type}`, labels });
  }
  return found;
}

/** The exposition with every sample's value replaced, to compare two renderings' text. */
const withoutValues = (exposition: string): string => exposition.replace(/ \S+$/gm, ' _');

test("a real broker's /metrics shows prom-client's default families with sane values that move", async () => {
  const broker = await startBroker({ settings: { 'http.listeners': 'http://127.0.0.1:0' } });
  try {
    const url = `http://127.0.0.1:${broker.httpListeners[0].port}/metrics`;
    const scrape = async (): Promise<string> => {
      const response = await fetch(url);
      assert.equal(response.status, 200);
      return response.text();
    };
    const value = (exposition: string, name: string, labels: Record<string, string> = {}) => {
      const found = sample(exposition, `brook_${name}`, labels);
      assert.ok(found !== undefined, `brook_${name} ${JSON.stringify(labels)} is exported`);
      return found;
    };

    // What prom-client's own collectors export, under the same prefix (values aside).
    const reference = new Registry();
    collectDefaultMetrics({ register: reference, prefix: 'brook_' });
    for (const name of leftOut) reference.removeSingleMetric(`brook_${name}`);
    const expected = families(await reference.metrics());

    // A scrape after the event-loop monitor has sampled (it samples every 10 ms; each scrape
    // reads and resets it) and after a collection (the test makes garbage until one is counted).
    let garbage: unknown[] = [];
    const exposition = await waitFor(
      async () => {
        for (let index = 0; index < 200_000; index++) garbage.push({ index });
        garbage = [];
        const text = await scrape();
        const minor = histogram(text, 'brook_nodejs_gc_duration_seconds', { kind: 'minor' });
        const delayMax = sample(text, 'brook_nodejs_eventloop_lag_max_seconds') ?? 0;
        return minor !== undefined && minor.count > 0 && delayMax > 0 && text;
      },
      'a scrape with a GC counted and event-loop delays sampled',
      { intervalMs: 50 },
    );

    const exported = families(exposition);
    for (const [name, { header, labels }] of expected) {
      const found = exported.get(name);
      assert.ok(found !== undefined, `${name} is exported`);
      assert.equal(found.header, header, `${name}: HELP and TYPE as prom-client's`);
      for (const label of labels) assert.ok(found.labels.has(label), `${name} has label ${label}`);
    }
    for (const name of leftOut) assert.ok(!exported.has(`brook_${name}`), `${name} is left out`);

    // CPU, memory, descriptors, start time.
    const cpu = value(exposition, 'process_cpu_seconds_total');
    const user = value(exposition, 'process_cpu_user_seconds_total');
    const system = value(exposition, 'process_cpu_system_seconds_total');
    assert.ok(cpu > 0, `CPU seconds ${cpu}`);
    assert.ok(Math.abs(user + system - cpu) < 1e-6, `user ${user} + system ${system} = ${cpu}`);
    const resident = value(exposition, 'process_resident_memory_bytes');
    assert.ok(resident > 1e6, `resident ${resident}`);
    assert.ok(value(exposition, 'process_virtual_memory_bytes') >= resident);
    assert.ok(value(exposition, 'process_heap_bytes') > 0);
    const descriptors = value(exposition, 'process_open_fds');
    assert.ok(descriptors > 0 && descriptors <= value(exposition, 'process_max_fds'));
    const started = value(exposition, 'process_start_time_seconds');
    const startedExpected = Date.now() / 1000 - process.uptime();
    assert.ok(Math.abs(started - startedExpected) <= 2, `start ${started}, ${startedExpected}`);

    // The event loop's delay quantiles, in order.
    const delay = (figure: string): number =>
      value(exposition, `nodejs_eventloop_lag_${figure}_seconds`);
    const quantiles = ['min', 'p50', 'p90', 'p99', 'max'].map(delay);
    assert.deepEqual(
      [...quantiles].sort((a, b) => a - b),
      quantiles,
      `${quantiles}`,
    );
    assert.ok(quantiles[0] > 0 && delay('mean') > 0 && delay('stddev') >= 0);
    assert.ok(value(exposition, 'nodejs_eventloop_lag_seconds') >= 0);

    // The heap, its spaces, the resources keeping the loop alive, the version.
    const heapUsed = value(exposition, 'nodejs_heap_size_used_bytes');
    assert.ok(heapUsed > 0 && heapUsed <= value(exposition, 'nodejs_heap_size_total_bytes'));
    assert.ok(value(exposition, 'nodejs_external_memory_bytes') > 0);
    for (const space of ['new', 'old', 'code'])
      assert.ok(value(exposition, 'nodejs_heap_space_size_total_bytes', { space }) > 0, space);
    assert.ok(value(exposition, 'nodejs_heap_space_size_used_bytes', { space: 'old' }) > 0);
    // The Kafka and HTTP listeners.
    assert.ok(value(exposition, 'nodejs_active_resources', { type: 'TCPServerWrap' }) >= 2);
    const [major, minor, patch] = process.version.slice(1).split('.');
    const versionLabels = { version: process.version, major, minor, patch };
    assert.equal(value(exposition, 'nodejs_version_info', versionLabels), 1);

    // GC pauses: cumulative buckets ending in the count.
    const pauses = histogram(exposition, 'brook_nodejs_gc_duration_seconds', { kind: 'minor' })!;
    const counts = pauses.buckets.map(({ count }) => count);
    assert.deepEqual(
      [...counts].sort((a, b) => a - b),
      counts,
    );
    assert.equal(pauses.buckets.at(-1)?.le, '+Inf');
    assert.equal(counts.at(-1), pauses.count);
    assert.ok(pauses.sum > 0);

    const lint = spawnSync('promtool', ['check', 'metrics'], {
      input: exposition,
      encoding: 'utf8',
    });
    assert.equal(lint.error, undefined, 'promtool runs (Debian package prometheus)');
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);

    // CPU counts up from scrape to scrape (each scrape costs some).
    await waitFor(
      async () => value(await scrape(), 'process_cpu_seconds_total') > cpu,
      'the CPU seconds to rise',
    );
  } finally {
    await broker.stop();
  }
});

test("prom-client's own registry gathers the same families, with the same text but for the values", async () => {
  const kept = new LineCachingRegistry();
  const plain = new Registry();
  registerProcessMetrics(kept, 'brook_');
  registerProcessMetrics(plain, 'brook_');
  // A collection counted by both (each counts from its own registration).
  let garbage: unknown[] = [];
  await waitFor(async () => {
    for (let index = 0; index < 200_000; index++) garbage.push({ index });
    garbage = [];
    const count = (text: string) =>
      histogram(text, 'brook_nodejs_gc_duration_seconds', { kind: 'minor' })?.count ?? 0;
    return count(await kept.metrics()) > 0 && count(await plain.metrics()) > 0;
  }, 'a GC counted in both registries');
  const keptText = await kept.metrics();
  const plainText = await plain.metrics();
  // Resources and requests in flight may differ between the two gathers; the rest may not.
  const settled = (text: string) =>
    withoutValues(text).replace(/^brook_nodejs_active_(resources|requests)\{.*\n/gm, '');
  assert.equal(settled(keptText), settled(plainText));
  assert.ok((sample(keptText, 'brook_process_resident_memory_bytes') ?? 0) > 0);
  assert.ok((sample(plainText, 'brook_process_resident_memory_bytes') ?? 0) > 0);
});

/** The descriptors a listing of /proc/self/fd shows, less the one the listing itself holds. */
const listed = (): number => readdirSync('/proc/self/fd').length - 1;

/**
 * The count and a listing taken back to back, once they agree: the test runner's own work may
 * open or close a descriptor between the two.
 */
const agreed = (): Promise<number> => {
  let last = '';
  return waitFor(
    () => {
      const counted = openDescriptorCount();
      const seen = listed();
      last = `${counted} counted, ${seen} listed`;
      return counted === seen ? counted : undefined;
    },
    () => `the count to agree with a listing (${last})`,
    { timeoutMs: 5_000, intervalMs: 5 },
  );
};

test('the open descriptor count is what a listing of /proc/self/fd shows, as files open and close', async (t) => {
  const directory = temporaryDirectory(t);
  const before = await agreed();
  const descriptors = Array.from({ length: 50 }, (_, index) =>
    openSync(join(directory, `file-${index}`), 'w'),
  );
  let during: number;
  try {
    during = await agreed();
  } finally {
    for (const descriptor of descriptors) closeSync(descriptor);
  }
  const after = await agreed();
  // Fifty opened, then closed; a descriptor or two of the runner's may come or go meanwhile.
  assert.ok(Math.abs(during - before - 50) <= 2, `${before} before, ${during} with 50 open`);
  assert.ok(Math.abs(during - after - 50) <= 2, `${during} with 50 open, ${after} after`);
});
