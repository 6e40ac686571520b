// The HTTP endpoint (issue 13): /metrics checked against what the test did, parsed by Prometheus'
// own tools (promtool, and a real Prometheus scraping the broker), /healthz and /readyz, and the
// shipped alert rules firing in that Prometheus on a group that stops consuming.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { type IncomingHttpHeaders, get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

import { type Broker, startBroker } from '../../src/broker.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const repository = new URL('../..', import.meta.url).pathname;
const rulesFile = join(repository, 'deploy/prometheus/brook-rules.yml');
const dashboardFile = join(repository, 'deploy/grafana/brook-dashboard.json');

/** Every PromQL expression of the shipped Grafana dashboard, with its variables filled in. */
async function dashboardQueries(): Promise<string[]> {
  const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => target.expr.replaceAll('$instance', '.*')),
  );
}

/** The metric names an expression reads, histogram series mapped to their family. */
function metricNames(expression: string): string[] {
  return [...expression.matchAll(/\bbrook_[a-z0-9_]+/g)].map((match) =>
    match[0].replace(/_(bucket|count|sum)$/, ''),
  );
}

function httpBase(broker: Broker): string {
  const [listener] = broker.httpListeners;
  assert.ok(listener, 'the broker has an HTTP listener');
  return `http://127.0.0.1:${listener.port}`;
}

async function scrape(broker: Broker): Promise<string> {
  const response = await fetch(`${httpBase(broker)}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample line `name{labels} value`, labels in any order; undefined if absent. */
function sample(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /^[^{ ]+\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const present = new Map(
      [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((match) => [match[1], match[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

function sum(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the HTTP endpoint', () => {
  let broker: Broker;

  before(async () => {
    broker = await startBroker({ settings: { 'http.listeners': 'http://127.0.0.1:0' } });
  });
  after(async () => {
    await broker.stop();
  });

  test('/healthz and /readyz answer JSON; other paths and methods are refused', async () => {
    const base = httpBase(broker);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'alive' });
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });

  test('/metrics is gzipped for a scraper that accepts gzip, as Prometheus does, and only then', async () => {
    const url = `${httpBase(broker)}/metrics`;
    const get = (acceptEncoding: string) =>
      new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        httpGet(url, { headers: { 'accept-encoding': acceptEncoding } }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ headers: response.headers, body: Buffer.concat(chunks) }),
          );
        }).on('error', reject);
      });
    const gzipped = await get('gzip, deflate');
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.equal(gzipped.headers.vary, 'accept-encoding');
    assert.equal(Number(gzipped.headers['content-length']), gzipped.body.length);
    const text = gunzipSync(gzipped.body).toString();
    assert.match(text, /^# HELP brook_partition_log_end_offset /m);
    assert.ok(text.endsWith('\n'));
    for (const refused of ['identity', 'gzip;q=0, identity', '']) {
      const plain = await get(refused);
      assert.equal(plain.headers['content-encoding'], undefined, `Accept-Encoding: ${refused}`);
      assert.match(plain.body.toString(), /^# HELP brook_partition_log_end_offset /m);
    }
    assert.equal((await get('br;q=1, *;q=0.5')).headers['content-encoding'], 'gzip');
    // curl reads only a first gzip member: the answer must be one member of the whole text.
    // Asynchronously: the broker answering curl runs in this process.
    const curl = await promisify(execFile)(
      'curl',
      ['--silent', '--show-error', '--max-time', '30', '--compressed', url],
      { encoding: 'utf8' },
    );
    assert.match(curl.stdout, /^# HELP brook_partition_log_end_offset /m);
    assert.match(curl.stdout, /^brook_nodejs_version_info\{/m, 'through the last families');
    assert.ok(curl.stdout.endsWith('\n'));
  });

  test('/metrics counts what clients did, and promtool accepts the exposition', async () => {
    const kafka = kafkajsClient(broker.bootstrapServers, 'brook-metrics-test');
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const consumer = kafka.consumer({ groupId: 'metrics-readers', maxWaitTimeInMs: 100 });
    try {
      await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] });
      // 10 records to each partition, in two requests per partition.
      for (const partition of [0, 1, 2]) {
        for (const half of [0, 1]) {
          await producer.send({
            topic: 'orders',
            acks: -1,
            messages: Array.from({ length: 5 }, (_, index) => ({
              partition,
              value: `p${partition}-${half * 5 + index}`,
            })),
          });
        }
      }
      // The group commits offset 4 on partition 0 and nothing else: lag 6 there.
      await admin.setOffsets({
        groupId: 'metrics-readers',
        topic: 'orders',
        partitions: [{ partition: 0, offset: '4' }],
      });
      await assert.rejects(admin.fetchTopicMetadata({ topics: ['no-such-topic'] }));

      const exposition = await scrape(broker);
      assert.equal(sample(exposition, 'brook_topic_messages_in_total', { topic: 'orders' }), 30);
      const bytesIn = sample(exposition, 'brook_topic_bytes_in_total', { topic: 'orders' });
      assert.ok(bytesIn !== undefined && bytesIn > 30 * 'p0-0'.length, `bytes in ${bytesIn}`);
      for (const partition of ['0', '1', '2']) {
        const labels = { topic: 'orders', partition };
        assert.equal(sample(exposition, 'brook_partition_log_end_offset', labels), 10);
        assert.equal(sample(exposition, 'brook_partition_high_watermark', labels), 10);
        assert.equal(sample(exposition, 'brook_partition_log_start_offset', labels), 0);
        assert.equal(sample(exposition, 'brook_partition_log_segments', labels), 1);
        assert.ok((sample(exposition, 'brook_partition_log_size_bytes', labels) ?? 0) > 0);
      }
      assert.equal(
        sample(exposition, 'brook_consumer_group_lag', {
          group: 'metrics-readers',
          topic: 'orders',
          partition: '0',
        }),
        6,
      );
      assert.equal(
        sample(exposition, 'brook_consumer_group_state', {
          group: 'metrics-readers',
          state: 'Empty',
        }),
        1,
      );
      // Six acks=all produce requests, each answered after its fsync.
      assert.ok(sum(exposition, 'brook_request_total_time_seconds_count', { api: 'Produce' }) >= 6);
      assert.ok((sample(exposition, 'brook_fsync_duration_seconds_count') ?? 0) >= 6);
      assert.ok(
        (sample(exposition, 'brook_request_errors_total', {
          api: 'Metadata',
          error: 'UNKNOWN_TOPIC_OR_PARTITION',
        }) ?? 0) >= 1,
      );
      assert.ok((sample(exposition, 'brook_connections') ?? 0) >= 1);
      // Whatever a client has in flight (a parked fetch) at the scrape; the default limit, 256 MiB.
      assert.ok((sample(exposition, 'brook_request_memory_bytes') ?? -1) >= 0);
      assert.equal(sample(exposition, 'brook_request_memory_max_bytes'), 268435456);
      assert.ok((sample(exposition, 'brook_reused_blocks_free_bytes') ?? -1) >= 0);
      assert.equal(sample(exposition, 'brook_partitions', { state: 'offline' }), 0);
      assert.ok((sample(exposition, 'brook_process_resident_memory_bytes') ?? 0) > 0);

      const lint = spawnSync('promtool', ['check', 'metrics'], {
        input: exposition,
        encoding: 'utf8',
      });
      assert.equal(lint.error, undefined, 'promtool runs (Debian package prometheus)');
      assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);

      // Every metric the Grafana dashboard and the alert rules read is one the broker exports.
      const exported = new Set(
        [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]),
      );
      const rules = await readFile(rulesFile, 'utf8');
      const read = [...(await dashboardQueries()), rules].flatMap(metricNames);
      assert.ok(read.length > 10, 'the dashboard and rules read metrics');
      for (const name of read) assert.ok(exported.has(name), `${name} is exported`);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  test('partition series follow the log between scrapes, and a deleted topic leaves none', async () => {
    const kafka = kafkajsClient(broker.bootstrapServers, 'brook-metrics-series-test');
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const heldBefore = sample(await scrape(broker), 'brook_replica_partitions') ?? -1;
      await admin.createTopics({ topics: [{ topic: 'fleeting', numPartitions: 2 }] });
      const labels = { topic: 'fleeting', partition: '1' };
      // The first scrape keeps the series' labels; later scrapes must still carry fresh values.
      const afterCreate = await scrape(broker);
      assert.equal(sample(afterCreate, 'brook_partition_log_end_offset', labels), 0);
      assert.equal(sample(afterCreate, 'brook_replica_partitions'), heldBefore + 2);
      await producer.send({
        topic: 'fleeting',
        acks: -1,
        messages: [
          { partition: 1, value: 'a' },
          { partition: 1, value: 'b' },
        ],
      });
      const afterProduce = await scrape(broker);
      assert.equal(sample(afterProduce, 'brook_partition_log_end_offset', labels), 2);
      assert.equal(sample(afterProduce, 'brook_partition_high_watermark', labels), 2);
      assert.equal(sample(afterProduce, 'brook_topic_messages_in_total', { topic: 'fleeting' }), 2);
      await admin.deleteTopics({ topics: ['fleeting'] });
      const afterDelete = await waitFor(async () => {
        const exposition = await scrape(broker);
        return /^brook_partition_\w+\{topic="fleeting"/m.test(exposition) ? undefined : exposition;
      }, "the deleted topic's partition series to leave the scrape");
      const left = afterDelete.split('\n').filter((line) => line.includes('topic="fleeting"'));
      assert.deepEqual(left, [], 'no series of the deleted topic, counters included');
      assert.equal(sample(afterDelete, 'brook_replica_partitions'), heldBefore);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  test('/readyz says stopping, then the endpoint closes with the broker', async () => {
    const stopped = await startBroker({ settings: { 'http.listeners': 'http://127.0.0.1:0' } });
    const base = httpBase(stopped);
    await stopped.stop();
    await assert.rejects(fetch(`${base}/healthz`));
  });

  test('a broker without http.listeners serves no HTTP and counts nothing', async () => {
    const plain = await startBroker();
    try {
      assert.deepEqual(plain.httpListeners, []);
    } finally {
      await plain.stop();
    }
  });

  test('http.listeners refuses a Kafka listener name', async () => {
    await assert.rejects(
      startBroker({ settings: { 'http.listeners': 'PLAINTEXT://127.0.0.1:0' } }),
      /http\.listeners/,
    );
  });
});

describe('the shipped alert rules', () => {
  test('promtool checks them and their unit tests pass', () => {
    const check = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const unit = spawnSync(
      'promtool',
      ['test', 'rules', join(repository, 'test/observability/brook-rules.promtest.yml')],
      { encoding: 'utf8' },
    );
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
  });

  test('a real Prometheus scrapes a broker, and consumer lag growing fires', async (t) => {
    const broker = await startBroker({ settings: { 'http.listeners': 'http://127.0.0.1:0' } });
    const started: ChildProcess[] = [];
    t.after(async () => {
      for (const child of started) child.kill('SIGKILL');
      await broker.stop();
    });
    // Registered after the cleanup above, so Prometheus is stopped before its directory goes.
    const directory = temporaryDirectory(t, 'brook-prometheus-');

    // The shipped expressions, with every `for:` at zero so the test need not wait minutes.
    const rules = (await readFile(rulesFile, 'utf8')).replace(/for: \S+/g, 'for: 0s');
    await writeFile(join(directory, 'rules.yml'), rules);
    const target = `127.0.0.1:${broker.httpListeners[0].port}`;
    await writeFile(
      join(directory, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [rules.yml]',
        'scrape_configs:',
        `  - { job_name: brook, static_configs: [{ targets: ['${target}'] }] }`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    let output = '';
    const prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(directory, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(directory, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(prometheus);
    prometheus.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    prometheus.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (expression: string): Promise<number | undefined> => {
      const response = await fetch(`${api}/query?query=${encodeURIComponent(expression)}`);
      const body = (await response.json()) as {
        data?: { result?: { value: [number, string] }[] };
      };
      const value = body.data?.result?.[0]?.value[1];
      return value === undefined ? undefined : Number(value);
    };

    const kafka = kafkajsClient(broker.bootstrapServers, 'brook-alert-test');
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 1 }] });
      await producer.send({ topic: 'payments', messages: [{ value: 'first' }] });
      // A group that committed once and then stopped: every new record adds to its lag.
      await admin.setOffsets({
        groupId: 'stalled',
        topic: 'payments',
        partitions: [{ partition: 0, offset: '1' }],
      });
      await waitFor(
        async () => (await query('up{job="brook"}')) === 1,
        () => `Prometheus to scrape the broker\n${output.slice(-2000)}`,
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      // Prometheus parsed the exposition: the counter it holds is the one the broker counted.
      await waitFor(
        async () => (await query('brook_topic_messages_in_total{topic="payments"}')) === 1,
        'Prometheus to hold brook_topic_messages_in_total',
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      let produced = 1;
      await waitFor(
        async () => {
          await producer.send({ topic: 'payments', messages: [{ value: `more-${produced}` }] });
          produced += 1;
          const response = await fetch(`${api}/alerts`);
          const body = (await response.json()) as {
            data: { alerts: { labels: Record<string, string>; state: string }[] };
          };
          return body.data.alerts.some(
            (alert) =>
              alert.labels.alertname === 'BrookConsumerLagGrowing' &&
              alert.labels.group === 'stalled' &&
              alert.state === 'firing',
          );
        },
        () => `BrookConsumerLagGrowing to fire for group stalled\n${output.slice(-2000)}`,
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      assert.ok((await query('brook_consumer_group_lag{group="stalled"}'))! >= 1);

      // Every dashboard query is valid PromQL and the throughput one has data.
      for (const expression of await dashboardQueries()) {
        const response = await fetch(`${api}/query?query=${encodeURIComponent(expression)}`);
        const body = (await response.json()) as { status: string; error?: string };
        assert.equal(body.status, 'success', `${expression}: ${body.error}`);
      }
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});
