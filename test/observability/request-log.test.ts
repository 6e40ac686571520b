// The request log (issue 13): with request.log.enabled each answered request is one structured
// line with Kafka's request-log fields and no payload; without it only slow requests are logged,
// at warn, and a request that asked to be held (a parked Fetch) is not slow for that wait.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { LogFields, LoggerLike } from '../../src/util/logger.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';

interface Line {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

/** A logger that keeps every line, with child bindings merged as the real one does. */
function capturingLogger(): { logger: LoggerLike; lines: Line[] } {
  const lines: Line[] = [];
  const make = (bindings: LogFields): LoggerLike => {
    const at =
      (level: Line['level']) =>
      (message: string, fields?: LogFields): void => {
        lines.push({ level, message, fields: { ...bindings, ...fields } });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}

const requestLines = (lines: Line[]): Line[] =>
  lines.filter((line) => line.fields.component === 'request');

test('request.log.enabled logs each request with its client, listener, sizes, times and errors', async (t) => {
  const { logger, lines } = capturingLogger();
  const broker = await startBroker({ logger, settings: { 'request.log.enabled': true } });
  t.after(() => broker.stop());
  const kafka = kafkajsClient(broker.bootstrapServers, 'request-log-test');
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'logged', numPartitions: 1 }] });
    await producer.send({
      topic: 'logged',
      acks: -1,
      messages: [{ value: 'secret-payload-7f3a' }],
    });
    await assert.rejects(admin.fetchTopicMetadata({ topics: ['no-such-topic'] }));
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }

  const produce = await waitFor(
    () => requestLines(lines).find((line) => line.fields.api === 'Produce'),
    'a request line for the produce',
  );
  assert.equal(produce.level, 'info');
  assert.equal(produce.message, 'request');
  const fields = produce.fields;
  assert.equal(fields.clientId, 'request-log-test');
  assert.equal(fields.principal, 'User:ANONYMOUS');
  assert.equal(fields.listener, 'PLAINTEXT');
  assert.match(String(fields.client), /^127\.0\.0\.1:\d+$/);
  assert.equal(typeof fields.version, 'number');
  assert.equal(typeof fields.correlationId, 'number');
  assert.ok((fields.requestBytes as number) > 'secret-payload-7f3a'.length);
  assert.ok((fields.responseBytes as number) > 0);
  assert.deepEqual(fields.errors, {});
  const times = ['queueMs', 'localMs', 'remoteMs', 'responseQueueMs', 'sendMs'] as const;
  for (const name of times) {
    assert.ok((fields[name] as number) >= 0, `${name} = ${String(fields[name])}`);
  }
  const parts = times.reduce((total, name) => total + (fields[name] as number), 0);
  // Each phase is rounded to a microsecond; together they make the total.
  assert.ok(Math.abs(parts - (fields.totalMs as number)) < 0.01, `${parts} vs ${fields.totalMs}`);

  const metadataErrors = requestLines(lines).filter(
    (line) =>
      line.fields.api === 'Metadata' &&
      (line.fields.errors as Record<string, number>).UNKNOWN_TOPIC_OR_PARTITION >= 1,
  );
  assert.ok(metadataErrors.length >= 1, 'the unknown topic is summed up in a Metadata line');
  // A line per request: ApiVersions opened each connection.
  assert.ok(requestLines(lines).some((line) => line.fields.api === 'ApiVersions'));
  assert.ok(
    lines.every((line) => !JSON.stringify(line.fields).includes('secret-payload-7f3a')),
    'no record payload in any line',
  );
});

/** Fetch v12 of `topic` partition 0 from offset 0, parked up to `maxWaitMs` for one byte. */
function parkedFetch(connection: KafkaConnection, topic: string, maxWaitMs: number) {
  return connection.request(ApiKey.Fetch, 12, {
    maxWaitMs,
    minBytes: 1,
    topics: [
      { topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
    ],
  });
}

test('a request held behind a parked fetch is logged as slow; the fetch itself is not', async (t) => {
  const { logger, lines } = capturingLogger();
  const broker: Broker = await startBroker({
    logger,
    settings: { 'request.log.slow.ms': 500 },
  });
  t.after(() => broker.stop());
  const admin = kafkajsClient(broker.bootstrapServers, 'slow-request-test').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'empty', numPartitions: 1 }] });
  await admin.disconnect();

  const connection = await KafkaConnection.open(broker.bootstrapServers, {
    clientId: 'pipelining-client',
  });
  t.after(() => connection.close());
  // The fetch parks 2,000 ms on an empty partition; the ApiVersions pipelined behind it is
  // answered at once but its response waits for the fetch's: slow as the client sees it. The
  // fetch itself is slow only if the broker took 500 ms beyond its wait (a margin for a busy
  // machine).
  const fetch = parkedFetch(connection, 'empty', 2000);
  const versions = connection.request(ApiKey.ApiVersions, 3, {});
  await Promise.all([fetch, versions]);

  const slow = await waitFor(
    () =>
      requestLines(lines).find(
        (line) => line.message === 'slow request' && line.fields.api === 'ApiVersions',
      ),
    'a slow-request line for the ApiVersions',
  );
  assert.equal(slow.level, 'warn');
  assert.equal(slow.fields.clientId, 'pipelining-client');
  assert.equal(slow.fields.slowMs, 500);
  assert.ok((slow.fields.totalMs as number) > 500);
  assert.ok(
    (slow.fields.responseQueueMs as number) > 500,
    `its time went waiting behind the fetch: ${JSON.stringify(slow.fields)}`,
  );
  assert.equal(
    requestLines(lines).filter((line) => line.fields.api === 'Fetch').length,
    0,
    'the fetch waited only as long as it asked',
  );
  assert.equal(
    requestLines(lines).filter((line) => line.message === 'request').length,
    0,
    'without request.log.enabled only slow requests are logged',
  );
});

test('request.log.sample.rate logs a random share of requests; a slow request is logged whatever it says', async (t) => {
  const connectionTo = async (broker: Broker) => {
    const connection = await KafkaConnection.open(broker.bootstrapServers, {
      clientId: 'sampled-client',
    });
    t.after(() => connection.close());
    return connection;
  };
  const apiVersionsLines = (lines: Line[]) =>
    requestLines(lines).filter(
      (line) => line.message === 'request' && line.fields.clientId === 'sampled-client',
    ).length;

  // Half of 400 requests, within bounds a fair coin leaves only once in ~10^20 runs.
  const half = capturingLogger();
  const halfBroker = await startBroker({
    logger: half.logger,
    settings: { 'request.log.enabled': true, 'request.log.sample.rate': 0.5 },
  });
  t.after(() => halfBroker.stop());
  const halfConnection = await connectionTo(halfBroker);
  for (let index = 0; index < 400; index++) await halfConnection.request(ApiKey.ApiVersions, 3, {});
  const sampled = apiVersionsLines(half.lines);
  assert.ok(sampled >= 100 && sampled <= 300, `${sampled} of 400 requests logged at rate 0.5`);

  // Rate 0: no request line, but the request held behind a parked fetch is still logged as slow.
  const none = capturingLogger();
  const noneBroker = await startBroker({
    logger: none.logger,
    settings: {
      'request.log.enabled': true,
      'request.log.sample.rate': 0,
      'request.log.slow.ms': 300,
    },
  });
  t.after(() => noneBroker.stop());
  const admin = kafkajsClient(noneBroker.bootstrapServers, 'sampled-admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'empty', numPartitions: 1 }] });
  await admin.disconnect();
  const noneConnection = await connectionTo(noneBroker);
  for (let index = 0; index < 50; index++) await noneConnection.request(ApiKey.ApiVersions, 3, {});
  await Promise.all([
    parkedFetch(noneConnection, 'empty', 1000),
    noneConnection.request(ApiKey.ApiVersions, 3, {}),
  ]);
  const slow = await waitFor(
    () =>
      requestLines(none.lines).find(
        (line) => line.message === 'slow request' && line.fields.api === 'ApiVersions',
      ),
    'a slow-request line for the ApiVersions held behind the fetch',
  );
  assert.equal(slow.level, 'warn');
  assert.equal(apiVersionsLines(none.lines), 0, 'rate 0 samples no request');
});
