import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';

import { type Broker, startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { AlterClientQuotasResponse } from '../../src/protocol/generated/alter-client-quotas.js';
import type { DescribeClientQuotasResponse } from '../../src/protocol/generated/describe-client-quotas.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { buildBatch } from '../../src/record/index.js';
import { join } from 'node:path';
import { repositoryRoot, requireClient, runChecked, systemPython } from '../helpers/clients.js';
import { callBroker } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const { Kafka, logLevel } = kafkajs;

type Entity = Array<{ entityType: string; entityName: string | null }>;

function alterQuotas(
  broker: Broker,
  entries: Array<{ entity: Entity; ops: Array<{ key: string; value: number; remove?: boolean }> }>,
  validateOnly = false,
): Promise<AlterClientQuotasResponse> {
  return callBroker(broker.bootstrapServers, ApiKey.AlterClientQuotas, 1, {
    entries: entries.map(({ entity, ops }) => ({
      entity,
      ops: ops.map((op) => ({ remove: false, ...op })),
    })),
    validateOnly,
  });
}

function describeQuotas(
  broker: Broker,
  components: Array<{ entityType: string; matchType: number; match: string | null }>,
  strict = false,
  version = 1,
): Promise<DescribeClientQuotasResponse> {
  return callBroker(broker.bootstrapServers, ApiKey.DescribeClientQuotas, version, {
    components,
    strict,
  });
}

async function createTopic(broker: Broker, topic: string): Promise<void> {
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

test('a kafkajs producer over producer_byte_rate is held to within 10% of it over 10 s', async (t) => {
  const broker = await startBroker();
  const quotaBytesPerSecond = 100 * 1024;
  try {
    await createTopic(broker, 'throttled');
    const altered = await alterQuotas(broker, [
      {
        entity: [{ entityType: 'client-id', entityName: 'quota-producer' }],
        ops: [{ key: 'producer_byte_rate', value: quotaBytesPerSecond }],
      },
    ]);
    assert.equal(altered.entries[0].errorCode, ErrorCode.NONE);

    const kafka = new Kafka({
      clientId: 'quota-producer',
      brokers: [broker.bootstrapServers],
      logLevel: logLevel.NOTHING,
      requestTimeout: 30_000,
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = Buffer.alloc(10 * 1024, 7);
    const measureMs = 10_000;
    const startedMs = performance.now();
    let acknowledgedBytes = 0;
    try {
      // The producer sends as fast as it is answered. Each send is one Produce request, so the
      // test's own clock and byte count measure exactly what the broker let through.
      while (performance.now() - startedMs < measureMs) {
        await producer.send({ topic: 'throttled', acks: 1, messages: [{ value }] });
        acknowledgedBytes += value.length;
      }
    } finally {
      await producer.disconnect();
    }
    const elapsedSeconds = (performance.now() - startedMs) / 1000;
    const rate = acknowledgedBytes / elapsedSeconds;
    t.diagnostic(
      `producer rate ${Math.round(rate)} B/s against a quota of ${quotaBytesPerSecond} B/s`,
    );
    // The upper bound is the quota's promise and is tight: a broker that does not throttle moves
    // tens of MB/s here. The lower bound is loose on purpose: on a busy 2-core machine the
    // producer may simply be slower than the quota, which is no failure of throttling; it still
    // catches a throttle far too harsh (a producer held to a fraction of its quota).
    assert.ok(
      rate <= quotaBytesPerSecond * 1.1,
      `producer moved ${Math.round(rate)} B/s, above 110% of the ${quotaBytesPerSecond} B/s quota`,
    );
    assert.ok(
      rate >= quotaBytesPerSecond * 0.5,
      `producer moved only ${Math.round(rate)} B/s against a ${quotaBytesPerSecond} B/s quota`,
    );
  } finally {
    await broker.stop();
  }
});

test('a throttled Produce carries throttle_time_ms and the connection is muted for that long', async () => {
  const broker = await startBroker({
    settings: { 'quota.window.num': 2, 'quota.window.size.seconds': 1 },
  });
  try {
    await createTopic(broker, 'muted');
    await alterQuotas(broker, [
      {
        entity: [{ entityType: 'user', entityName: null }],
        ops: [{ key: 'producer_byte_rate', value: 5 * 1024 }],
      },
    ]);
    const connection = await KafkaConnection.open(broker.bootstrapServers, {
      clientId: 'muted-producer',
      requestTimeoutMs: 20_000,
    });
    try {
      const records = await buildBatch({
        records: [{ key: null, value: Buffer.alloc(10 * 1024, 1) }],
      });
      const produced = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: 'muted', partitionData: [{ index: 0, records }] }],
      });
      const answeredMs = performance.now();
      assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      // 10 KiB against 5 KiB/s over a one-second window: about a second over.
      assert.ok(produced.throttleTimeMs > 500, `throttle_time_ms was ${produced.throttleTimeMs}`);
      await connection.request(ApiKey.ApiVersions, 3, {
        clientSoftwareName: 'brook-test',
        clientSoftwareVersion: '1',
      });
      const mutedMs = performance.now() - answeredMs;
      // A lower bound only: the next request is not even read before the throttle is over.
      assert.ok(
        mutedMs >= produced.throttleTimeMs - 50,
        `the next request was answered after ${Math.round(mutedMs)} ms, within the ${produced.throttleTimeMs} ms throttle`,
      );
    } finally {
      connection.close();
    }
  } finally {
    await broker.stop();
  }
});

test('client quotas round-trip through AlterClientQuotas and DescribeClientQuotas and survive a restart', async (t) => {
  const logDir = temporaryDirectory(t);
  let broker = await startBroker({ logDirs: [logDir] });
  try {
    const altered = await alterQuotas(broker, [
      {
        entity: [
          { entityType: 'user', entityName: 'alice' },
          { entityType: 'client-id', entityName: 'app' },
        ],
        ops: [
          { key: 'producer_byte_rate', value: 1024 },
          { key: 'request_percentage', value: 12.5 },
        ],
      },
      {
        entity: [{ entityType: 'user', entityName: null }],
        ops: [{ key: 'consumer_byte_rate', value: 2048 }],
      },
      {
        entity: [{ entityType: 'client-id', entityName: 'other' }],
        ops: [{ key: 'controller_mutation_rate', value: 5 }],
      },
    ]);
    assert.deepEqual(
      altered.entries.map((entry) => entry.errorCode),
      [0, 0, 0],
    );
    await broker.stop();
    broker = await startBroker({ logDirs: [logDir] });

    const all = await describeQuotas(broker, []);
    assert.equal(all.errorCode, ErrorCode.NONE);
    assert.equal(all.entries?.length, 3);
    const aliceApp = await describeQuotas(broker, [
      { entityType: 'user', matchType: 0, match: 'alice' },
    ]);
    assert.deepEqual(aliceApp.entries, [
      {
        entity: [
          { entityType: 'user', entityName: 'alice' },
          { entityType: 'client-id', entityName: 'app' },
        ],
        values: [
          { key: 'producer_byte_rate', value: 1024 },
          { key: 'request_percentage', value: 12.5 },
        ],
      },
    ]);
    const userDefault = await describeQuotas(broker, [
      { entityType: 'user', matchType: 1, match: null },
    ]);
    assert.deepEqual(userDefault.entries, [
      {
        entity: [{ entityType: 'user', entityName: null }],
        values: [{ key: 'consumer_byte_rate', value: 2048 }],
      },
    ]);
    // strict: only entities with exactly the filter's types.
    const usersOnly = await describeQuotas(
      broker,
      [{ entityType: 'user', matchType: 2, match: null }],
      true,
    );
    assert.deepEqual(
      usersOnly.entries?.map((entry) => entry.entity),
      [[{ entityType: 'user', entityName: null }]],
    );
    const atVersionZero = await describeQuotas(
      broker,
      [{ entityType: 'client-id', matchType: 0, match: 'other' }],
      false,
      0,
    );
    assert.deepEqual(atVersionZero.entries?.[0].values, [
      { key: 'controller_mutation_rate', value: 5 },
    ]);

    // Removing an entity's last quota removes the entity.
    await alterQuotas(broker, [
      {
        entity: [{ entityType: 'client-id', entityName: 'other' }],
        ops: [{ key: 'controller_mutation_rate', value: 0, remove: true }],
      },
    ]);
    assert.equal((await describeQuotas(broker, [])).entries?.length, 2);
  } finally {
    await broker.stop();
  }
});

test('AlterClientQuotas refuses what Kafka refuses, entry by entry, with its messages', async () => {
  const broker = await startBroker();
  try {
    const altered = await alterQuotas(broker, [
      {
        entity: [{ entityType: 'group', entityName: 'g' }],
        ops: [{ key: 'producer_byte_rate', value: 1 }],
      },
      {
        entity: [{ entityType: 'user', entityName: 'bob' }],
        ops: [{ key: 'bogus_rate', value: 1 }],
      },
      {
        entity: [{ entityType: 'user', entityName: 'bob' }],
        ops: [{ key: 'producer_byte_rate', value: 1.5 }],
      },
      {
        entity: [{ entityType: 'user', entityName: 'bob' }],
        ops: [{ key: 'consumer_byte_rate', value: -3 }],
      },
      {
        entity: [
          { entityType: 'user', entityName: 'bob' },
          { entityType: 'ip', entityName: '10.0.0.1' },
        ],
        ops: [{ key: 'producer_byte_rate', value: 1 }],
      },
      { entity: [], ops: [{ key: 'producer_byte_rate', value: 1 }] },
      {
        entity: [{ entityType: 'user', entityName: 'carol' }],
        ops: [{ key: 'producer_byte_rate', value: 4096 }],
      },
    ]);
    assert.deepEqual(
      altered.entries.map((entry) => [entry.errorCode, entry.errorMessage]),
      [
        [ErrorCode.INVALID_REQUEST, 'Unhandled client quota entity type: group'],
        [ErrorCode.INVALID_REQUEST, 'Invalid configuration key bogus_rate'],
        [ErrorCode.INVALID_REQUEST, 'producer_byte_rate cannot be a fractional value.'],
        [ErrorCode.INVALID_REQUEST, 'Quota consumer_byte_rate must be greater than 0'],
        [
          ErrorCode.INVALID_REQUEST,
          'Invalid entity type combination: ip quota cannot be combined with user or client-id quotas',
        ],
        [ErrorCode.INVALID_REQUEST, 'Invalid empty client quota entity'],
        [ErrorCode.NONE, null],
      ],
    );
    // Only the valid entry was applied; validate_only applies nothing.
    await alterQuotas(
      broker,
      [
        {
          entity: [{ entityType: 'user', entityName: 'dave' }],
          ops: [{ key: 'producer_byte_rate', value: 1 }],
        },
      ],
      true,
    );
    const described = await describeQuotas(broker, []);
    assert.deepEqual(
      described.entries?.map((entry) => entry.entity),
      [[{ entityType: 'user', entityName: 'carol' }]],
    );
    const badFilter = await describeQuotas(broker, [
      { entityType: 'user', matchType: 0, match: null },
    ]);
    assert.equal(badFilter.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(
      badFilter.errorMessage,
      'Request specified MATCH_TYPE_EXACT, but set match string to null.',
    );
    assert.equal(badFilter.entries, null);
  } finally {
    await broker.stop();
  }
});

test('a librdkafka producer over producer_byte_rate sees throttle_time_ms and is held to within 10% of it over 10 s', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const broker = await startBroker();
  const quotaBytesPerSecond = 100 * 1024;
  try {
    await createTopic(broker, 'throttled-rdkafka');
    await alterQuotas(broker, [
      {
        entity: [{ entityType: 'client-id', entityName: 'rdkafka-quota' }],
        ops: [{ key: 'producer_byte_rate', value: quotaBytesPerSecond }],
      },
    ]);
    const stdout = await runChecked(
      systemPython,
      [
        join(repositoryRoot, 'test', 'quotas', 'rdkafka_quota_producer.py'),
        broker.bootstrapServers,
        'throttled-rdkafka',
        'rdkafka-quota',
        '10',
      ],
      { timeoutMs: 60_000 },
    );
    const result = JSON.parse(stdout) as { bytes: number; seconds: number; maxThrottleMs: number };
    const rate = result.bytes / result.seconds;
    t.diagnostic(
      `librdkafka rate ${Math.round(rate)} B/s, largest throttle ${result.maxThrottleMs} ms`,
    );
    // librdkafka reads throttle_time_ms from the responses and reports it (throttle_cb).
    assert.ok(result.maxThrottleMs > 0, 'librdkafka reported no throttle');
    // Upper bound tight, lower bound loose, as for kafkajs above.
    assert.ok(
      rate <= quotaBytesPerSecond * 1.1,
      `producer moved ${Math.round(rate)} B/s, above 110% of the ${quotaBytesPerSecond} B/s quota`,
    );
    assert.ok(rate >= quotaBytesPerSecond * 0.5, `producer moved only ${Math.round(rate)} B/s`);
  } finally {
    await broker.stop();
  }
});

test('a kafkajs consumer over consumer_byte_rate is held to it: fetch responses are throttled', async (t) => {
  const broker = await startBroker({
    settings: { 'quota.window.num': 2, 'quota.window.size.seconds': 1 },
  });
  // The consumer leaves before the broker stops (after hooks run in the order they were added).
  const stops: Array<() => Promise<void>> = [() => broker.stop()];
  t.after(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  const quotaBytesPerSecond = 100 * 1024;
  await createTopic(broker, 'fetched');
  const kafka = new Kafka({
    clientId: 'quota-consumer',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    requestTimeout: 30_000,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(8 * 1024, 5);
  const recordCount = 75; // 600 KiB
  for (let batch = 0; batch < recordCount / 15; batch++) {
    await producer.send({
      topic: 'fetched',
      acks: 1,
      messages: Array.from({ length: 15 }, () => ({ value })),
    });
  }
  await producer.disconnect();
  await alterQuotas(broker, [
    {
      entity: [{ entityType: 'client-id', entityName: 'quota-consumer' }],
      ops: [{ key: 'consumer_byte_rate', value: quotaBytesPerSecond }],
    },
  ]);

  const consumer = kafka.consumer({
    groupId: 'quota-consumers',
    maxBytesPerPartition: 16 * 1024,
    maxBytes: 16 * 1024,
  });
  await consumer.connect();
  stops.push(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'fetched', fromBeginning: true });
  let received = 0;
  let firstMs: number | undefined;
  let lastMs = 0;
  await consumer.run({
    eachMessage: async () => {
      firstMs ??= performance.now();
      lastMs = performance.now();
      received++;
    },
  });
  await waitFor(
    () => received >= recordCount,
    () => `every record (${received})`,
    {
      timeoutMs: 60_000,
    },
  );
  const seconds = (lastMs - firstMs!) / 1000;
  // With two one-second windows the broker lets one window's worth through at once, then holds
  // the consumer to the quota. The clock runs from the first record to the last, so it misses
  // the throttle paid for the last fetch: that window and that fetch (16 KiB) are left out of
  // the bytes. An upper bound on the rate only, for the reasons given for the producer above.
  const rate = (recordCount * value.length - quotaBytesPerSecond - 16 * 1024) / seconds;
  t.diagnostic(`consumer rate ${Math.round(rate)} B/s over ${seconds.toFixed(1)} s`);
  assert.ok(
    rate <= quotaBytesPerSecond * 1.1,
    `consumer moved ${Math.round(rate)} B/s, above 110% of the ${quotaBytesPerSecond} B/s quota`,
  );
});
