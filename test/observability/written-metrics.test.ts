// Brook's written metrics (src/observability/written-metrics.ts) render what prom-client's own
// counters, histograms and gauges render after the same operations, byte for byte: written into
// the broker's registry's kept buffer, and gathered by prom-client's own registry.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { LineCachingRegistry } from '../../src/observability/scraped-gauges.js';
import {
  CountedHistogram,
  ReadGauge,
  WrittenCounter,
} from '../../src/observability/written-metrics.js';

test("written counters, histograms and read gauges render as prom-client's own after the same operations", async () => {
  const written = new LineCachingRegistry();
  const gathered = new Registry();
  const reference = new Registry();
  const registers = [written, gathered];

  const events = new WrittenCounter({ name: 't_events_total', help: 'Events.', registers });
  const eventsReference = new Counter({
    name: 't_events_total',
    help: 'Events.',
    registers: [reference],
  });
  const byTopic = new WrittenCounter({
    name: 't_bytes_total',
    help: 'Bytes, with a \\ and a\nnewline.',
    labelNames: ['topic'],
    registers,
  });
  const byTopicReference = new Counter({
    name: 't_bytes_total',
    help: 'Bytes, with a \\ and a\nnewline.',
    labelNames: ['topic'],
    registers: [reference],
  });
  const errors = new WrittenCounter({
    name: 't_errors_total',
    help: 'Errors.',
    labelNames: ['api', 'error'],
    registers,
  });
  const errorsReference = new Counter({
    name: 't_errors_total',
    help: 'Errors.',
    labelNames: ['api', 'error'],
    registers: [reference],
  });
  const buckets = [0.001, 0.5, 2.5];
  const durations = new CountedHistogram({
    name: 't_seconds',
    help: 'Durations.',
    buckets,
    registers,
  });
  const durationsReference = new Histogram({
    name: 't_seconds',
    help: 'Durations.',
    buckets,
    registers: [reference],
  });
  const pauses = new CountedHistogram({
    name: 't_pause_seconds',
    help: 'Pauses.',
    buckets,
    labelName: 'kind',
    registers,
  });
  const pausesReference = new Histogram({
    name: 't_pause_seconds',
    help: 'Pauses.',
    buckets,
    labelNames: ['kind'],
    registers: [reference],
  });
  let state = { up: 3, down: 0.5 };
  let active: number | null = null;
  new ReadGauge({ name: 't_state', help: 'States.', labelName: 'state', registers }, (set) => {
    set(state.up, 'up');
    set(state.down, 'say "down"');
  });
  new Gauge({
    name: 't_state',
    help: 'States.',
    labelNames: ['state'],
    registers: [reference],
    collect() {
      this.set({ state: 'up' }, state.up);
      this.set({ state: 'say "down"' }, state.down);
    },
  });
  new ReadGauge({ name: 't_active', help: 'Active or not.', registers }, (set) => {
    if (active !== null) set(active);
  });
  new Gauge({
    name: 't_active',
    help: 'Active or not.',
    registers: [reference],
    collect() {
      this.reset();
      if (active !== null) this.set(active);
    },
  });

  const compare = async (after: string): Promise<void> => {
    const expected = await reference.metrics();
    assert.equal(await written.metrics(), expected, `written, after ${after}`);
    assert.equal(await gathered.metrics(), expected, `gathered by prom-client, after ${after}`);
  };
  await compare('nothing counted');

  events.inc();
  eventsReference.inc();
  events.inc(2.5);
  eventsReference.inc(2.5);
  for (const [topic, bytes] of [
    ['orders', 100],
    ['say "hi"', 0.5],
    ['back\\slash\nnewline', 7],
    ['orders', 1e21],
  ] as const) {
    byTopic.incLabelled(topic, bytes);
    byTopicReference.inc({ topic }, bytes);
  }
  errors.inc({ api: 'Metadata', error: 'UNKNOWN_TOPIC_OR_PARTITION' });
  errorsReference.inc({ api: 'Metadata', error: 'UNKNOWN_TOPIC_OR_PARTITION' });
  errors.inc({ api: 'Produce', error: 'NOT_LEADER' }, 3);
  errorsReference.inc({ api: 'Produce', error: 'NOT_LEADER' }, 3);
  for (const seconds of [0.0001, 0.7, 3, 0.5]) {
    durations.count(seconds);
    durationsReference.observe(seconds);
  }
  for (const [kind, seconds] of [
    ['minor', 0.002],
    ['major', 0.3],
    ['minor', 0.0004],
  ] as const) {
    pauses.count(seconds, kind);
    pausesReference.observe({ kind }, seconds);
  }
  state = { up: NaN, down: -Infinity };
  active = 1;
  await compare('values of every kind');

  // A series removed goes, and comes back at the end when counted again (as prom-client's do).
  byTopic.remove({ topic: 'orders' });
  byTopicReference.remove({ topic: 'orders' });
  await compare('a series removed');
  byTopic.incLabelled('orders', 1);
  byTopicReference.inc({ topic: 'orders' }, 1);
  active = null;
  await compare('a series counted again, a gauge unset');
  assert.throws(() => events.inc(-1), /only counts up/);
});
