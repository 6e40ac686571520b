// KIP-932 share groups over the wire: a member joins with ShareGroupHeartbeat, takes records with
// ShareFetch (whole batches plus acquired ranges), settles them with acknowledgements carried on
// the next ShareFetch or sent in ShareAcknowledge; the engine behind them is the one the HTTP door
// uses, so locks, delivery counts, the dead-letter topic and durable state behave the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ApiVersionsResponse } from '../../src/protocol/generated/api-versions.js';
import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.js';
import type { DescribeShareGroupOffsetsResponse } from '../../src/protocol/generated/describe-share-group-offsets.js';
import type { ShareFetchResponse } from '../../src/protocol/generated/share-fetch.js';
import type { ShareGroupHeartbeatResponse } from '../../src/protocol/generated/share-group-heartbeat.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { createTopic, produce, readTopic } from './push-helpers.js';
import { Acknowledge, type ShareRecord, ShareConsumer } from './share-consumer.js';
import { accepted, fetchRecords, produceValues, startShareBroker } from './share-helpers.js';

test('ApiVersions lists the share-group APIs only when group.share.enable is on', async () => {
  for (const enabled of [false, true]) {
    const broker = await startBroker({ settings: { 'group.share.enable': String(enabled) } });
    const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 't' });
    try {
      const response = await connection.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
        clientSoftwareName: 'share-test',
        clientSoftwareVersion: '1',
      });
      const byKey = new Map(response.apiKeys.map((api) => [api.apiKey, api]));
      for (const [apiKey, maxVersion] of [
        [ApiKey.ShareGroupHeartbeat, 1],
        [ApiKey.ShareGroupDescribe, 1],
        [ApiKey.ShareFetch, 2],
        [ApiKey.ShareAcknowledge, 2],
        [ApiKey.DescribeShareGroupOffsets, 0],
        [ApiKey.AlterShareGroupOffsets, 0],
        [ApiKey.DeleteShareGroupOffsets, 0],
      ]) {
        if (!enabled) assert.equal(byKey.has(apiKey), false, `API ${apiKey} hidden`);
        else
          assert.deepEqual(
            [byKey.get(apiKey)?.minVersion, byKey.get(apiKey)?.maxVersion],
            [Math.min(1, maxVersion), maxVersion],
          );
      }
    } finally {
      connection.close();
      await broker.stop();
    }
  }
});

test('a member joins, is assigned every partition and shows in ShareGroupDescribe', async () => {
  const broker = await startShareBroker();
  try {
    await createTopic(broker, 'orders', 3);
    const consumer = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    try {
      assert.deepEqual(consumer.partitions, [0, 1, 2]);
      assert.ok(consumer.memberEpoch > 0);
      const again = await consumer.heartbeat();
      assert.equal(again.errorCode, 0);
      assert.equal(again.assignment, null, 'an unchanged assignment is not sent again');
      const stale = await consumer.heartbeat(null, consumer.memberEpoch + 5);
      assert.equal(stale.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);

      const described = await consumer.describe(['workers', 'nobody']);
      const [group, missing] = described.groups;
      assert.equal(group.errorCode, 0);
      assert.equal(group.groupState, 'Stable');
      assert.equal(group.members.length, 1);
      assert.equal(group.members[0].memberId, consumer.memberId);
      assert.deepEqual(group.members[0].subscribedTopicNames, ['orders']);
      assert.deepEqual(group.members[0].assignment.topicPartitions[0].partitions, [0, 1, 2]);
      assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

      // FindCoordinator key type 2 (share) names the broker serving the group: this one.
      const found = await consumer.connection.request<FindCoordinatorResponse>(
        ApiKey.FindCoordinator,
        4,
        { keyType: 2, coordinatorKeys: ['workers'] },
      );
      assert.deepEqual(
        found.coordinators.map(({ key, nodeId, port, errorCode }) => ({
          key,
          nodeId,
          port,
          errorCode,
        })),
        [{ key: 'workers', nodeId: broker.nodeId, port: broker.listeners[0].port, errorCode: 0 }],
      );

      const left = await consumer.heartbeat(null, -1);
      assert.equal(left.memberEpoch, -1);
      const after = await consumer.describe(['workers']);
      assert.equal(after.groups[0].groupState, 'Empty');
    } finally {
      consumer.close();
    }
  } finally {
    await broker.stop();
  }
});

test('fetched records are acknowledged: accept settles, release redelivers, reject dead-letters', async () => {
  const broker = await startShareBroker();
  try {
    await createTopic(broker, 'jobs', 1);
    const consumer = await ShareConsumer.join(broker.bootstrapServers, 'g', 'jobs');
    try {
      await produceValues(broker, 'jobs', 6);
      const first = await fetchRecords(consumer, 6);
      assert.deepEqual(
        first.map((record) => [record.offset, record.value, record.deliveryCount]),
        Array.from({ length: 6 }, (_, index) => [index, `v${index}`, 1]),
      );
      assert.equal(consumer.lastFetch?.acquisitionLockTimeoutMs, 30000);

      // Piggy-backed on the next fetch: accept 0-3, release 4, reject 5.
      const again = await consumer.fetch({
        maxWaitMs: 2000,
        acknowledgements: [
          ...accepted(first.slice(0, 4)),
          { partition: 0, offset: 4, type: Acknowledge.release },
          { partition: 0, offset: 5, type: Acknowledge.reject },
        ],
      });
      const partition = consumer.lastFetch!.responses[0].partitions[0];
      assert.equal(partition.acknowledgeErrorCode, 0);
      // The released record comes back, with its second delivery.
      const redelivered = again.length > 0 ? again : await fetchRecords(consumer, 1);
      assert.deepEqual(
        redelivered.map((record) => [record.offset, record.deliveryCount]),
        [[4, 2]],
      );

      const dead = await readTopic(broker, 'jobs.dlq', 1);
      assert.equal(dead[0].value, 'v5');
      assert.equal(dead[0].headers['dlq.reason'], 'rejected');

      // Acknowledging a record twice, or one never fetched, is refused and changes nothing.
      const acknowledged = await consumer.acknowledge([
        { partition: 0, offset: 4, type: Acknowledge.accept },
      ]);
      assert.equal(acknowledged.responses[0].partitions[0].errorCode, 0);
      const twice = await consumer.acknowledge([
        { partition: 0, offset: 0, type: Acknowledge.accept },
      ]);
      assert.equal(twice.responses[0].partitions[0].errorCode, ErrorCode.INVALID_RECORD_STATE);
      assert.deepEqual(await consumer.fetch({ maxWaitMs: 100 }), []);
    } finally {
      consumer.close();
    }
  } finally {
    await broker.stop();
  }
});

test('a record whose acquisition lock expires is delivered again with a higher count', async () => {
  const broker = await startShareBroker({ settings: { 'share.record.lock.duration.ms': '300' } });
  try {
    await createTopic(broker, 'slow', 1);
    const consumer = await ShareConsumer.join(broker.bootstrapServers, 'g', 'slow');
    try {
      await produceValues(broker, 'slow', 3);
      const first = await fetchRecords(consumer, 3);
      assert.ok(first.every((record) => record.deliveryCount === 1));
      const second = await fetchRecords(consumer, 3);
      assert.deepEqual(
        second.map((record) => [record.offset, record.deliveryCount]),
        [
          [0, 2],
          [1, 2],
          [2, 2],
        ],
      );
    } finally {
      consumer.close();
    }
  } finally {
    await broker.stop();
  }
});

test('past the delivery count limit a record goes to the dead-letter topic', async () => {
  const broker = await startShareBroker({ settings: { 'share.delivery.count.limit': '2' } });
  try {
    await createTopic(broker, 'poison', 1);
    const consumer = await ShareConsumer.join(broker.bootstrapServers, 'g', 'poison');
    try {
      await produceValues(broker, 'poison', 1);
      for (const expectedCount of [1, 2]) {
        const [record] = await fetchRecords(consumer, 1);
        assert.equal(record.deliveryCount, expectedCount);
        const released = await consumer.acknowledge([
          { partition: 0, offset: record.offset, type: Acknowledge.release },
        ]);
        assert.equal(released.responses[0].partitions[0].errorCode, 0);
      }
      const dead = await readTopic(broker, 'poison.dlq', 1);
      assert.equal(dead[0].value, 'v0');
      assert.equal(dead[0].headers['dlq.reason'], 'max-deliveries');
      assert.equal(dead[0].headers['dlq.delivery.count'], '2');
      assert.deepEqual(await consumer.fetch({ maxWaitMs: 100 }), []);
    } finally {
      consumer.close();
    }
  } finally {
    await broker.stop();
  }
});

test('two members sharing one partition each get distinct records', async () => {
  const broker = await startShareBroker();
  try {
    await createTopic(broker, 'shared', 1);
    const a = await ShareConsumer.join(broker.bootstrapServers, 'g', 'shared');
    const b = await ShareConsumer.join(broker.bootstrapServers, 'g', 'shared');
    try {
      assert.deepEqual(a.partitions, [0]);
      assert.deepEqual(b.partitions, [0]);
      await produceValues(broker, 'shared', 40);
      const fromA = await fetchRecords(a, 20, { maxRecords: 20 });
      const fromB = await fetchRecords(b, 20, { maxRecords: 20 });
      const offsets = [...fromA, ...fromB].map((record) => record.offset);
      assert.equal(new Set(offsets).size, 40, 'no record went to both members');
      assert.deepEqual(
        [...offsets].sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, index) => index),
      );
      // B cannot settle A's records.
      const foreign = await b.acknowledge(accepted(fromA.slice(0, 1)));
      assert.equal(foreign.responses[0].partitions[0].errorCode, ErrorCode.INVALID_RECORD_STATE);
    } finally {
      a.close();
      b.close();
    }
  } finally {
    await broker.stop();
  }
});

test('share session epochs: a wrong epoch is refused, closing the session gives records back', async () => {
  const broker = await startShareBroker();
  try {
    await createTopic(broker, 'sessions', 1);
    const consumer = await ShareConsumer.join(broker.bootstrapServers, 'g', 'sessions');
    const other = await ShareConsumer.join(broker.bootstrapServers, 'g', 'sessions');
    try {
      await produceValues(broker, 'sessions', 2);
      await fetchRecords(consumer, 2);
      const expected = consumer.sessionEpoch;
      consumer.sessionEpoch = expected + 3;
      await assert.rejects(consumer.fetch(), /ShareFetch/);
      assert.equal(consumer.lastFetch?.errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
      consumer.sessionEpoch = expected;
      const closed = await consumer.acknowledge([], { close: true });
      assert.equal(closed.errorCode, 0);
      const taken = await fetchRecords(other, 2);
      assert.deepEqual(
        taken.map((record) => [record.offset, record.deliveryCount]),
        [
          [0, 2],
          [1, 2],
        ],
      );
    } finally {
      consumer.close();
      other.close();
    }
  } finally {
    await broker.stop();
  }
});

test('a restart redelivers what was not acknowledged and never what was', async (t) => {
  const logDirs = temporaryDirectory(t, 'brook-share-restart-');
  let broker = await startShareBroker({ logDirs });
  try {
    await createTopic(broker, 'durable', 2);
    let consumer = await ShareConsumer.join(broker.bootstrapServers, 'g', 'durable');
    await produce(
      broker,
      'durable',
      Array.from({ length: 10 }, (_, index) => ({ value: `v${index}`, partition: index % 2 })),
    );
    const first = await fetchRecords(consumer, 10);
    const acked = first.filter((record) => record.offset % 2 === 0);
    const response = await consumer.acknowledge(accepted(acked));
    assert.ok(response.responses[0].partitions.every((partition) => partition.errorCode === 0));
    consumer.close();

    await broker.stop();
    broker = await startShareBroker({ logDirs });
    consumer = await ShareConsumer.join(broker.bootstrapServers, 'g', 'durable');
    try {
      const after = await fetchRecords(consumer, first.length - acked.length);
      const key = (record: ShareRecord) => `${record.partition}:${record.offset}`;
      assert.deepEqual(
        after.map(key).sort(),
        first
          .filter((record) => record.offset % 2 === 1)
          .map(key)
          .sort(),
      );
      assert.ok(after.every((record) => record.deliveryCount === 2));
      assert.deepEqual(await consumer.fetch({ maxWaitMs: 100 }), []);
    } finally {
      consumer.close();
    }
  } finally {
    await broker.stop();
  }
});

test('with the authorizer on, share-group requests need READ on the group', async () => {
  const broker = await startShareBroker({
    settings: { 'authorizer.enabled': 'true', 'allow.everyone.if.no.acl.found': 'false' },
  });
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 't' });
  try {
    const heartbeat = await connection.request<ShareGroupHeartbeatResponse>(
      ApiKey.ShareGroupHeartbeat,
      1,
      { groupId: 'g', memberId: 'm', memberEpoch: 0, subscribedTopicNames: ['orders'] },
    );
    assert.equal(heartbeat.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const fetched = await connection.request<ShareFetchResponse>(ApiKey.ShareFetch, 1, {
      groupId: 'g',
      memberId: 'm',
      shareSessionEpoch: 0,
      maxWaitMs: 0,
      minBytes: 1,
      maxRecords: 10,
      batchSize: 10,
      topics: [],
      forgottenTopicsData: [],
    });
    assert.equal(fetched.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('a renew acknowledgement (v2) keeps a record held; renewing one not held is refused', async () => {
  const broker = await startShareBroker();
  try {
    await createTopic(broker, 'renewed', 1);
    const a = await ShareConsumer.join(broker.bootstrapServers, 'g', 'renewed');
    const b = await ShareConsumer.join(broker.bootstrapServers, 'g', 'renewed');
    try {
      await produceValues(broker, 'renewed', 1);
      const [record] = await fetchRecords(a, 1);
      const renew = { partition: 0, offset: record.offset, type: Acknowledge.renew };
      const renewed = await a.acknowledge([renew], { version: 2 });
      assert.equal(
        renewed.errorCode,
        0,
        `ShareAcknowledge: ${renewed.errorCode} ${renewed.errorMessage}`,
      );
      assert.equal(renewed.responses[0].partitions[0].errorCode, 0);
      assert.equal(renewed.acquisitionLockTimeoutMs, 30000);
      assert.deepEqual(await b.fetch({ maxWaitMs: 100 }), [], 'still held by the first member');
      const foreign = await b.acknowledge([renew], { version: 2 });
      assert.equal(foreign.responses[0].partitions[0].errorCode, ErrorCode.INVALID_RECORD_STATE);
      const done = await a.acknowledge(accepted([record]), { version: 2 });
      assert.equal(done.responses[0].partitions[0].errorCode, 0);
    } finally {
      a.close();
      b.close();
    }
  } finally {
    await broker.stop();
  }
});

test('a member that stops heartbeating leaves, and another member gets its records', async () => {
  const broker = await startShareBroker({
    settings: { 'group.share.session.timeout.ms': '500' },
  });
  try {
    await createTopic(broker, 'abandoned', 1);
    const silent = await ShareConsumer.join(broker.bootstrapServers, 'g', 'abandoned');
    const other = await ShareConsumer.join(broker.bootstrapServers, 'g', 'abandoned');
    try {
      await produceValues(broker, 'abandoned', 3);
      const held = await fetchRecords(silent, 3);
      assert.ok(held.every((record) => record.deliveryCount === 1));
      // `other` keeps heartbeating while it waits; `silent` never heartbeats again.
      const taken: ShareRecord[] = [];
      await waitFor(
        async () => {
          assert.equal((await other.heartbeat()).errorCode, 0);
          taken.push(...(await other.fetch({ maxWaitMs: 100 })));
          return taken.length >= 3;
        },
        () => `the silent member's 3 records, got ${taken.length}`,
      );
      assert.deepEqual(
        taken.map((record) => [record.offset, record.deliveryCount]),
        [
          [0, 2],
          [1, 2],
          [2, 2],
        ],
      );
      assert.equal((await silent.heartbeat()).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    } finally {
      silent.close();
      other.close();
    }
  } finally {
    await broker.stop();
  }
});

test('DescribeShareGroupOffsets answers each share-partition start offset', async () => {
  const broker = await startShareBroker();
  try {
    await createTopic(broker, 'progress', 2);
    const consumer = await ShareConsumer.join(broker.bootstrapServers, 'g', 'progress');
    try {
      await produce(
        broker,
        'progress',
        Array.from({ length: 4 }, (_, index) => ({ value: `v${index}`, partition: 0 })),
      );
      const records = await fetchRecords(consumer, 4);
      // Accepting 0 and 1 moves the start past them; 3 accepted behind unsettled 2 does not.
      const settled = await consumer.acknowledge(
        accepted(records.filter((record) => record.offset !== 2)),
      );
      assert.ok(settled.responses[0].partitions.every((partition) => partition.errorCode === 0));
      const response = await consumer.connection.request<DescribeShareGroupOffsetsResponse>(
        ApiKey.DescribeShareGroupOffsets,
        0,
        {
          groups: [
            { groupId: 'g', topics: null },
            { groupId: 'g', topics: [{ topicName: 'progress', partitions: [0, 7] }] },
            { groupId: 'nobody', topics: null },
          ],
        },
      );
      const [all, asked, missing] = response.groups;
      assert.equal(all.errorCode, 0);
      assert.deepEqual(
        all.topics.map((topic) => [
          topic.topicName,
          topic.partitions.map((partition) => [partition.partitionIndex, partition.startOffset]),
        ]),
        [
          [
            'progress',
            [
              [0, 2n],
              [1, 0n],
            ],
          ],
        ],
      );
      assert.deepEqual(
        asked.topics[0].partitions.map((partition) => partition.errorCode),
        [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      );
      assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    } finally {
      consumer.close();
    }
  } finally {
    await broker.stop();
  }
});
