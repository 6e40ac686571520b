// A broker loads each API's handler on the API's first request (registry.ts, served-versions.ts):
// ApiVersions advertises every API from the table of served versions, and a connection starts a
// request only once its handler is loaded. The registry tests pin the load itself (once, shared,
// checked against what was advertised); the client test starts a broker in a fresh process, so
// every handler module is evaluated for the first time by a real client's first request of it,
// and checks that each of those first requests was answered as it should be.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import {
  type AnyHandler,
  defineHandler,
  HandlerRegistry,
  HandlerRegistryError,
  type ServedVersions,
} from '../../src/handlers/registry.js';
import { createApiVersionsHandler } from '../../src/handlers/api-versions.js';
import { deferHandler, servedVersions } from '../../src/handlers/served-versions.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

function heartbeatHandler(versions: ServedVersions = servedVersions[ApiKey.Heartbeat]) {
  return defineHandler(ApiKey.Heartbeat, {
    ...versions,
    handle: () => ({ errorCode: 0 }),
  });
}

test('a deferred handler is advertised before it loads, and loads once for concurrent callers', async () => {
  let loads = 0;
  const handler = heartbeatHandler();
  const registry = new HandlerRegistry().register(
    deferHandler(ApiKey.Heartbeat, async () => {
      loads++;
      await Promise.resolve();
      return handler;
    }),
  );
  registry.register(createApiVersionsHandler(registry));
  assert.deepEqual(registry.advertisedApis()[0], {
    apiKey: ApiKey.Heartbeat,
    ...servedVersions[ApiKey.Heartbeat],
  });
  assert.equal(loads, 0, 'advertising loads nothing');
  assert.equal(registry.loaded(ApiKey.Heartbeat), undefined);
  assert.ok(
    registry.loaded(ApiKey.ApiVersions) !== undefined,
    'a handler registered as one is loaded',
  );

  const loaded = await Promise.all([
    registry.load(ApiKey.Heartbeat),
    registry.load(ApiKey.Heartbeat),
  ]);
  assert.equal(loads, 1, 'two callers, one load');
  assert.ok(loaded.every((each: AnyHandler) => each === handler));
  assert.equal(registry.loaded(ApiKey.Heartbeat), handler);
  await registry.load(ApiKey.Heartbeat);
  assert.equal(loads, 1, 'a loaded handler is not built again');
  await assert.rejects(registry.load(ApiKey.Produce), HandlerRegistryError);
});

test('a deferred handler that loads with other versions than it was advertised with is refused', async () => {
  const registry = new HandlerRegistry().register({
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    load: async () => heartbeatHandler({ minVersion: 0, maxVersion: 3 }),
  });
  await assert.rejects(registry.load(ApiKey.Heartbeat), /not the 0-4/);
  assert.equal(registry.loaded(ApiKey.Heartbeat), undefined);
});

test("a fresh broker process answers a real client's first request of each API it loads on first use", async (t) => {
  const broker = await startBrokerProcess({ logDir: temporaryDirectory(t, 'brook-deferred-') });
  t.after(() => broker.stop());
  const kafka = new Kafka({
    clientId: 'brook-deferred-handlers',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  await admin.connect(); // ApiVersions, Metadata
  t.after(() => admin.disconnect());

  // CreateTopics, CreatePartitions, DescribeConfigs.
  assert.equal(
    await admin.createTopics({
      topics: [{ topic: 'first', numPartitions: 1 }],
      waitForLeaders: true,
    }),
    true,
  );
  await admin.createPartitions({ topicPartitions: [{ topic: 'first', count: 2 }] });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: 2, name: 'first', configNames: ['cleanup.policy'] }],
  });
  assert.deepEqual(
    configs.resources[0].configEntries.map((entry) => [entry.configName, entry.configValue]),
    [['cleanup.policy', 'delete']],
  );

  // FindCoordinator, InitProducerId, AddPartitionsToTxn, Produce, EndTxn.
  const producer = kafka.producer({ transactionalId: 'first-txn', maxInFlightRequests: 1 });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.send({
    topic: 'first',
    messages: [
      { partition: 0, value: 'a' },
      { partition: 1, value: 'b' },
    ],
  });
  await transaction.commit();
  await producer.disconnect();

  // JoinGroup, SyncGroup, OffsetFetch, ListOffsets, Fetch, Heartbeat, OffsetCommit, LeaveGroup.
  const consumer = kafka.consumer({ groupId: 'first-group', heartbeatInterval: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'first', fromBeginning: true });
  const values: string[] = [];
  const consumedAll = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(String(message.value));
        if (values.length === 2) resolve();
      },
    });
  });
  await consumedAll;
  assert.deepEqual(values.sort(), ['a', 'b']);
  await consumer.disconnect();

  // ListGroups, DescribeGroups, OffsetFetch, DeleteRecords, ListOffsets, DeleteGroups, DeleteTopics.
  const { groups } = await admin.listGroups();
  assert.deepEqual(
    groups.map((group) => group.groupId),
    ['first-group'],
  );
  const described = await admin.describeGroups(['first-group']);
  assert.equal(described.groups[0].state, 'Empty');
  const committed = await admin.fetchOffsets({ groupId: 'first-group', topics: ['first'] });
  // Committed by the consumer (OffsetCommit): past each partition's record, whatever the marker.
  for (const partition of committed[0].partitions) {
    assert.ok(
      Number(partition.offset) >= 1,
      `partition ${partition.partition} committed ${partition.offset}`,
    );
  }
  await admin.deleteTopicRecords({ topic: 'first', partitions: [{ partition: 0, offset: '1' }] });
  const offsets = await admin.fetchTopicOffsets('first');
  assert.equal(offsets.find((partition) => partition.partition === 0)?.low, '1');
  await admin.deleteGroups(['first-group']);
  assert.deepEqual((await admin.listGroups()).groups, []);
  await admin.deleteTopics({ topics: ['first'] });
  assert.ok(!(await admin.listTopics()).includes('first'));
  assert.doesNotMatch(broker.output(), /cannot load/);
});
