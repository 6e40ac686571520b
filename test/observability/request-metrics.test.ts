// Request latency per phase (issue 13): real clients produce, consume and park a Fetch, and the
// scrape shows each API's requests in the total, queue, local, remote, response-queue and send
// histograms, the parked Fetch's wait as remote time (not local), and phases that add up to the
// total. And the walk that finds a response's error codes for brook_request_errors_total.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { errorCodesIn } from '../../src/observability/metrics.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';
import { type HistogramSeries, bucket, histogram } from '../helpers/prometheus-text.js';

const phases = ['queue', 'local', 'remote', 'response_queue', 'response_send'] as const;
const family = (phase: string) => `brook_request_${phase}_time_seconds`;

/** Cumulative counts never decrease, and the +Inf bucket is the count. */
function assertWellFormed(series: HistogramSeries, what: string): void {
  for (let index = 1; index < series.buckets.length; index++) {
    assert.ok(series.buckets[index].count >= series.buckets[index - 1].count, `${what} cumulative`);
  }
  assert.equal(series.buckets.at(-1)?.le, '+Inf', what);
  assert.equal(series.buckets.at(-1)?.count, series.count, `${what}: +Inf is the count`);
}

test("each API's requests show in every phase histogram; a parked fetch's wait is remote time", async (t) => {
  const broker = await startBroker({ settings: { 'http.listeners': 'http://127.0.0.1:0' } });
  t.after(() => broker.stop());
  const scrape = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${broker.httpListeners[0].port}/metrics`)).text();

  const kafka = kafkajsClient(broker.bootstrapServers, 'request-metrics-test');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'phases', numPartitions: 1 },
      { topic: 'quiet', numPartitions: 1 },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let index = 0; index < 5; index++) {
    await producer.send({ topic: 'phases', acks: -1, messages: [{ value: `record-${index}` }] });
  }
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'phase-readers', maxWaitTimeInMs: 100 });
  await consumer.connect();
  let consumed = 0;
  await consumer.subscribe({ topic: 'phases', fromBeginning: true });
  await consumer.run({ eachMessage: async () => void consumed++ });
  await waitFor(
    () => consumed === 5,
    () => `5 records consumed (${consumed} so far)`,
  );
  await consumer.disconnect();

  // Fetch v12 (a version kafkajs does not use, so this series holds this request alone) of an
  // empty partition, parked for 600 ms waiting for a byte that never comes.
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'parker' });
  t.after(() => connection.close());
  await connection.request(ApiKey.Fetch, 12, {
    maxWaitMs: 600,
    minBytes: 1,
    topics: [
      {
        topic: 'quiet',
        partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
      },
    ],
  });

  const parked = { api: 'Fetch', version: '12' };
  const exposition = await waitFor(async () => {
    const text = await scrape();
    return histogram(text, family('response_send'), parked) !== undefined ? text : undefined;
  }, "the parked fetch's send time in a scrape");

  const total = histogram(exposition, 'brook_request_total_time_seconds', parked)!;
  const remote = histogram(exposition, family('remote'), parked)!;
  const local = histogram(exposition, family('local'), parked)!;
  assert.equal(total.count, 1, 'the parked fetch is the only Fetch v12');
  assert.ok(remote.sum >= 0.55, `the 600 ms wait is remote time: ${remote.sum} s`);
  assert.equal(bucket(remote, '0.5'), 0, 'in a bucket above 0.5 s');
  assert.ok(local.sum < 0.25, `the handler and encoding took little event-loop time: ${local.sum}`);
  assert.equal(bucket(local, '0.25'), 1);
  assert.ok(total.sum >= remote.sum);

  // Produce and the consumer's Fetch: every phase counted once per request, phases adding up.
  for (const api of ['Produce', 'Fetch', 'JoinGroup', 'Metadata']) {
    const totals = [...exposition.matchAll(/^brook_request_total_time_seconds_count\{([^}]*)\}/gm)]
      .map((match) => match[1])
      .filter((labels) => labels.includes(`api="${api}"`));
    assert.ok(totals.length >= 1, `${api} has a total-time series`);
    let count = 0;
    let totalSum = 0;
    let phaseSum = 0;
    for (const labelText of totals) {
      const version = /version="(\d+)"/.exec(labelText)![1];
      const labels = { api, version };
      const series = histogram(exposition, 'brook_request_total_time_seconds', labels)!;
      assertWellFormed(series, `${api} v${version} total`);
      count += series.count;
      totalSum += series.sum;
      for (const phase of phases) {
        const part = histogram(exposition, family(phase), labels);
        assert.ok(part !== undefined, `${api} v${version} has ${phase} time`);
        assertWellFormed(part, `${api} v${version} ${phase}`);
        assert.equal(part.count, series.count, `${api} v${version}: ${phase} counts each request`);
        phaseSum += part.sum;
      }
    }
    if (api === 'Produce') assert.ok(count >= 5, `5 produce requests counted (${count})`);
    assert.ok(
      Math.abs(phaseSum - totalSum) < 0.001,
      `${api}: phases add up to the total (${phaseSum} s against ${totalSum} s)`,
    );
  }
});

test('the error codes of a response are found at every level, record bytes never entered', () => {
  const records = Buffer.from('{"errorCode": 3}');
  const response = {
    errorCode: ErrorCode.NONE,
    throttleTimeMs: 0,
    responses: [
      {
        topic: 'a',
        partitions: [
          { partitionIndex: 0, errorCode: ErrorCode.NONE, records, highWatermark: 5n },
          { partitionIndex: 1, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, records: null },
        ],
      },
      { topic: 'b', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partitions: [] },
    ],
  };
  assert.deepEqual(
    [...errorCodesIn(response)].sort((a, b) => a - b),
    [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_LEADER_OR_FOLLOWER].sort((a, b) => a - b),
  );
  assert.deepEqual(errorCodesIn({ errorCode: 0, responses: [{ errorCode: 0 }] }), []);
  assert.deepEqual(errorCodesIn({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }), [
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ]);
});
