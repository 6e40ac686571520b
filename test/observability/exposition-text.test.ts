// The broker's registry writes every family itself (exposition-text.ts: prom-client's metrics
// formatted without its per-line garbage; the request latency histograms from blocks kept while
// their counts hold): the text must be the one prom-client writes, byte for byte, scrape after
// scrape, for a broker's metrics with partitions, groups and lag and every kind of event counted,
// and for prom-client metrics of every kind and awkward labels.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';

import { startBroker } from '../../src/broker.js';
import {
  BrokerMetrics,
  type GroupSnapshot,
  type MetricsSources,
  type PartitionSnapshot,
} from '../../src/observability/metrics.js';
import { singleBrokerReplication } from '../../src/observability/replication-metrics.js';
import { LineCachingRegistry } from '../../src/observability/scraped-gauges.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { histogram } from '../helpers/prometheus-text.js';

/** A broker's state as the metrics read it: partitions, and groups with lag on some of them. */
class State {
  readonly partitions: PartitionSnapshot[] = [];
  readonly groups: GroupSnapshot[] = [];

  sources(): MetricsSources {
    return {
      partitions: () => this.partitions,
      groups: () => this.groups,
      connections: () => 3,
      networkThreadConnections: () => [2, 1],
      requestMemory: () => ({ used: 1024, maxBytes: 268435456 }),
      tailCache: () => ({ bytes: 2048, maxBytes: 67108864 }),
      logDirs: () => [],
      replication: () => singleBrokerReplication(this.partitions.length),
    };
  }
}

async function text(metrics: BrokerMetrics): Promise<string> {
  const { body } = await metrics.scrape();
  return typeof body === 'string' ? body : Buffer.concat(body).toString('utf8');
}

async function gzippedText(metrics: BrokerMetrics): Promise<string> {
  const { body, contentEncoding } = await metrics.scrape({ gzip: true });
  assert.equal(contentEncoding, 'gzip');
  return gunzipSync(Buffer.concat(body as Buffer[])).toString('utf8');
}

/** The times of one request as the server keeps them: `ms` in all, split over the phases. */
function times(ms: number, sent = true) {
  return {
    receivedMs: 1000,
    startedMs: 1000 + ms / 10,
    localMs: ms / 5,
    answeredMs: 1000 + ms / 2,
    writtenMs: 1000 + (ms * 3) / 4,
    sentMs: sent ? 1000 + ms : undefined,
  };
}

test("a broker's metrics, with partitions, groups, lag and every event, render as prom-client renders them", async () => {
  const state = new State();
  for (const topic of ['orders', 'say "hi"', 'back\\slash']) {
    for (let partition = 0; partition < 300; partition++)
      state.partitions.push({
        topic,
        partition,
        logStartOffset: partition,
        logEndOffset: 10 * partition,
        highWatermark: 10 * partition - 1,
        sizeBytes: 700 * partition,
        segments: 1 + (partition % 3),
      });
  }
  for (let group = 0; group < 50; group++)
    state.groups.push({
      group: `group-${group}`,
      state: group % 2 === 0 ? 'Stable' : 'Empty',
      members: group % 4,
      lag: Array.from({ length: 10 }, (_, index) => ({
        topic: 'orders',
        partition: index,
        lag: group + index,
      })),
    });
  const kept = new BrokerMetrics(state.sources(), { processMetrics: false });
  const reference = new BrokerMetrics(state.sources(), {
    processMetrics: false,
    registry: new Registry(),
  });
  const both = [kept, reference];
  const compare = async (after: string): Promise<string> => {
    const expected = await text(reference);
    assert.equal(await text(kept), expected, `after ${after}`);
    assert.equal(await gzippedText(kept), expected, `after ${after}, gzipped`);
    return expected;
  };

  await compare('nothing counted');
  for (const metrics of both) {
    metrics.requestCompleted(ApiKey.Produce, 9, times(3.5));
    metrics.requestCompleted(ApiKey.Produce, 9, times(0.05));
    metrics.requestCompleted(ApiKey.Produce, 3, times(40, false));
    metrics.requestCompleted(ApiKey.Fetch, 12, times(500));
    metrics.requestCompleted(ApiKey.Metadata, 12, times(0.2));
    metrics.requestAnswered({ api: 'Metadata', errorCodes: [3, 3] });
    metrics.recordsIn('orders', 10, 1400);
    metrics.recordsIn('say "hi"', 1, 0.5);
    metrics.recordsOut('orders', 700);
    metrics.connectionRefused('max.connections');
    metrics.isrChanged('shrink');
  }
  let exposition = await compare('requests of three APIs');
  assert.match(
    exposition,
    /^brook_request_total_time_seconds_count\{api="Produce",version="9"\} 2$/m,
    'the histograms count what was observed',
  );
  await compare('nothing new (every histogram block kept)');

  // One series moves: its blocks are rendered again, the others kept.
  for (const metrics of both) {
    metrics.requestCompleted(ApiKey.Produce, 9, times(12));
    metrics.requestCompleted(ApiKey.ApiVersions, 0, times(1));
  }
  state.partitions[5] = { ...state.partitions[5], logEndOffset: 99, highWatermark: 98 };
  state.groups[3] = { ...state.groups[3], members: 7, state: 'PreparingRebalance' };
  exposition = await compare('a produce, a new API, a partition and a group moved');
  assert.match(
    exposition,
    /^brook_request_total_time_seconds_count\{api="Produce",version="9"\} 3$/m,
  );
  assert.match(exposition, /^brook_partition_log_end_offset\{topic="orders",partition="5"\} 99$/m);

  state.partitions.splice(0, 300);
  for (const metrics of both) metrics.topicDeleted('orders');
  exposition = await compare('a topic deleted');
  assert.doesNotMatch(exposition, /^brook_partition_\w+\{topic="orders"/m);
  assert.doesNotMatch(exposition, /^brook_topic_\w+\{topic="orders"/m);
});

test('prom-client metrics of every kind, with awkward labels and values, render as prom-client renders them', async () => {
  const kept = new LineCachingRegistry();
  const plain = new Registry();
  const registers = [kept, plain];
  const counter = new Counter({
    name: 'test_events_total',
    help: 'Events, with a \\ and a\nnewline in the help.',
    labelNames: ['kind', 'code'],
    registers,
  });
  const gauge = new Gauge({
    name: 'test_level',
    help: 'A level.',
    labelNames: ['where'],
    registers,
  });
  new Gauge({ name: 'test_unset', help: 'Never set.', registers });
  const withCollect = new Gauge({
    name: 'test_collected',
    help: 'Set when gathered.',
    registers,
    collect() {
      this.set(Date.now() > 0 ? 42 : 0);
    },
  });
  const latency = new Histogram({
    name: 'test_latency_seconds',
    help: 'Latency.',
    labelNames: ['route'],
    buckets: [0.001, 0.5, 2.5],
    registers,
  });
  const sizes = new Summary({
    name: 'test_size_bytes',
    help: 'Sizes.',
    percentiles: [0.5, 0.99],
    registers,
  });
  assert.ok(withCollect);

  const compare = async (after: string): Promise<string> => {
    const expected = await plain.metrics();
    assert.equal(await kept.metrics(), expected, `after ${after}`);
    return expected;
  };
  await compare('nothing set');
  counter.inc({ kind: 'say "hi"', code: 5 }, 3);
  counter.inc({ kind: 'back\\slash\nnewline' });
  counter.inc({ kind: 'ünïcode-✓', code: 0 }, 0.25);
  gauge.set({ where: '' }, NaN);
  gauge.set({ where: 'up' }, Infinity);
  gauge.set({ where: 'down' }, -Infinity);
  gauge.set({ where: 'big' }, 1e21);
  gauge.set({ where: 'small' }, 5e-7);
  gauge.set({ where: 'zero' }, -0);
  latency.observe({ route: '/a' }, 0.0001);
  latency.observe({ route: '/a' }, 3);
  latency.observe({ route: 'quote"d' }, 0.7);
  for (const size of [1, 5, 9, 100]) sizes.observe(size);
  const exposition = await compare('values of every kind');
  assert.match(exposition, /^test_events_total\{kind="say \\"hi\\"",code="5"\} 3$/m);
  assert.match(exposition, /^test_latency_seconds_bucket\{le="0.5",route="\/a"\} 1$/m);
  gauge.set({ where: 'up' }, 1);
  counter.reset();
  await compare('a value moved and a counter reset');
});

test('on a real broker, request histogram blocks follow the requests between scrapes', async (t) => {
  const broker = await startBroker({ settings: { 'http.listeners': 'http://127.0.0.1:0' } });
  t.after(() => broker.stop());
  const scrape = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${broker.httpListeners[0].port}/metrics`)).text();
  const kafka = kafkajsClient(broker.bootstrapServers, 'exposition-text-test');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'blocks', numPartitions: 2 }] });
  await admin.setOffsets({
    groupId: 'readers',
    topic: 'blocks',
    partitions: [{ partition: 0, offset: '1' }],
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const produce = async (requests: number): Promise<void> => {
      for (let index = 0; index < requests; index++)
        await producer.send({
          topic: 'blocks',
          acks: -1,
          messages: [{ partition: 0, value: 'x' }],
        });
    };
    const produceCount = (exposition: string): number => {
      let total = 0;
      for (const match of exposition.matchAll(
        /^brook_request_total_time_seconds_count\{api="Produce",version="\d+"\} (\S+)$/gm,
      ))
        total += Number(match[1]);
      return total;
    };
    await produce(3);
    const first = await scrape();
    const createTopics = (exposition: string): string[] =>
      exposition.split('\n').filter((line) => line.includes('api="CreateTopics"'));
    await produce(4);
    const second = await scrape();
    assert.equal(produceCount(second) - produceCount(first), 4, 'four more produce requests');
    assert.deepEqual(createTopics(second), createTopics(first), 'an idle series keeps its lines');
    assert.ok(createTopics(first).length >= 19, 'CreateTopics has its series');
    const series = histogram(second, 'brook_request_total_time_seconds', { api: 'Produce' })!;
    assert.equal(series.buckets.at(-1)?.count, series.count, '+Inf is the count');
    assert.match(
      second,
      /^brook_consumer_group_lag\{group="readers",topic="blocks",partition="0"\} 6$/m,
      'the group is six behind: seven records, offset 1 committed',
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});
