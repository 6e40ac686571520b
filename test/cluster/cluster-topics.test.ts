// Topics in cluster mode: created, grown and deleted through etcd on any broker, mirrored into
// every broker's logs for exactly its replicas, and served only by each partition's leader.
//
// Replication itself (acks=all, ISR changes, leader loss) is tested in replication-cluster.test.ts.

import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { DescribeClusterResponse } from '../../src/protocol/generated/describe-cluster.js';
import type { DescribeLogDirsResponse } from '../../src/protocol/generated/describe-log-dirs.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import type { ListOffsetsResponse } from '../../src/protocol/generated/list-offsets.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { kafkaOf, layoutOf, metadataOf, startInProcessCluster } from '../helpers/cluster.js';
import { startEtcd, waitFor } from '../helpers/etcd.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { callBroker } from '../helpers/wire-client.js';

const etcd = await startEtcd();

async function startCluster(count: number): Promise<Broker[]> {
  return [...(await startInProcessCluster(etcd.endpoint, count)).brokers.values()];
}

/** The partitions of `topic` that have a log directory in the broker's log dir. */
async function logDirectoriesOf(broker: Broker, topic: string): Promise<number[]> {
  const entries = await readdir(broker.config.logDirs[0]!);
  return entries
    .filter((entry) => entry.startsWith(`${topic}-`) && /^\d+$/.test(entry.slice(topic.length + 1)))
    .map((entry) => Number(entry.slice(topic.length + 1)))
    .sort((a, b) => a - b);
}

describe('topics in cluster mode', () => {
  test('a topic created with RF 3 on one broker shows the same leaders, replicas and ISR on every broker, each with logs for exactly its replicas', async () => {
    const brokers = await startCluster(3);
    const admin = kafkaOf(brokers[1]!).admin();
    await admin.connect();
    after(() => admin.disconnect());
    const created = await admin.createTopics({
      topics: [{ topic: 'spread', numPartitions: 6, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    assert.equal(created, true);

    const layout = await waitFor(() => layoutOf(brokers[0]!, 'spread'), 'the topic in Metadata');
    assert.equal(layout.length, 6);
    for (const partition of layout) {
      assert.equal(partition.replicas.length, 3);
      assert.deepEqual([...partition.replicas].sort(), [1, 2, 3]);
      assert.deepEqual(partition.isr, [1, 2, 3]);
      assert.equal(partition.leader, partition.replicas[0]);
      assert.equal(partition.leaderEpoch, 0);
      assert.deepEqual(partition.offline, []);
    }
    // Every broker names the same elected controller, in Metadata and in DescribeCluster.
    const controllerIds = new Set<number>();
    for (const broker of brokers) {
      controllerIds.add((await metadataOf(broker, [])).controllerId);
      const described = await callBroker<DescribeClusterResponse>(
        broker.bootstrapServers,
        ApiKey.DescribeCluster,
        1,
        { includeClusterAuthorizedOperations: false, endpointType: 1 },
      );
      controllerIds.add(described.controllerId);
    }
    assert.equal(controllerIds.size, 1);
    assert.ok([1, 2, 3].includes([...controllerIds][0]!));
    // Placement spreads the preferred leaders over the brokers.
    assert.deepEqual(new Set(layout.map((partition) => partition.leader)), new Set([1, 2, 3]));
    for (const broker of brokers) {
      assert.deepEqual(await waitFor(() => layoutOf(broker, 'spread'), 'the topic'), layout);
      assert.deepEqual(await logDirectoriesOf(broker, 'spread'), [0, 1, 2, 3, 4, 5]);
    }

    // With RF 1 each broker holds the logs of its own partitions only.
    await admin.createTopics({
      topics: [{ topic: 'single', numPartitions: 6, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const single = await waitFor(() => layoutOf(brokers[2]!, 'single'), 'the RF 1 topic');
    for (const broker of brokers) {
      const mine = single.flatMap((partition, index) =>
        partition.replicas.includes(broker.nodeId) ? [index] : [],
      );
      assert.equal(mine.length, 2, `broker ${broker.nodeId} holds two of six partitions`);
      await waitFor(
        async () =>
          JSON.stringify(await logDirectoriesOf(broker, 'single')) === JSON.stringify(mine),
        `broker ${broker.nodeId} to have logs for partitions ${mine.join(',')}`,
      );
      // DescribeLogDirs lists the partitions this broker holds, and no others.
      const logDirs = await callBroker<DescribeLogDirsResponse>(
        broker.bootstrapServers,
        ApiKey.DescribeLogDirs,
        1,
        { topics: null },
      );
      const listed = logDirs.results[0]!.topics.find((topic) => topic.name === 'single');
      assert.deepEqual(
        listed?.partitions.map((partition) => partition.partitionIndex).sort(),
        mine,
      );
    }
  });

  test('a replication factor above the live brokers is refused with INVALID_REPLICATION_FACTOR', async () => {
    const brokers = await startCluster(3);
    const admin = kafkaOf(brokers[0]!).admin();
    await admin.connect();
    after(() => admin.disconnect());
    await assert.rejects(
      admin.createTopics({
        topics: [{ topic: 'too-wide', numPartitions: 1, replicationFactor: 4 }],
      }),
      (error: unknown) =>
        JSON.stringify((error as { errors?: unknown }).errors ?? error).includes(
          'INVALID_REPLICATION_FACTOR',
        ),
    );
    // A manual assignment naming a broker that is not registered is refused as well.
    await assert.rejects(
      admin.createTopics({
        topics: [
          { topic: 'unknown-broker', replicaAssignment: [{ partition: 0, replicas: [1, 9] }] },
        ],
      }),
      (error: unknown) =>
        JSON.stringify((error as { errors?: unknown }).errors ?? error).includes(
          'INVALID_REPLICA_ASSIGNMENT',
        ),
    );
    for (const broker of brokers) {
      assert.equal((await metadataOf(broker, null)).topics.filter((t) => !t.isInternal).length, 0);
      assert.deepEqual(await logDirectoriesOf(broker, 'too-wide'), []);
    }
  });

  test('kafkajs produces through the leaders; a produce sent by hand to a follower gets NOT_LEADER_OR_FOLLOWER with the leader', async () => {
    const brokers = await startCluster(3);
    const kafka = kafkaOf(brokers[0]!);
    const admin = kafka.admin();
    await admin.connect();
    after(() => admin.disconnect());
    await admin.createTopics({
      topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    const layout = await waitFor(() => layoutOf(brokers[0]!, 'orders'), 'the topic');

    const producer = kafka.producer();
    await producer.connect();
    after(() => producer.disconnect());
    for (let partition = 0; partition < 3; partition++) {
      await producer.send({
        topic: 'orders',
        acks: 1,
        messages: [{ partition, value: `order ${partition}` }],
      });
    }
    for (let partition = 0; partition < 3; partition++) {
      const leader = brokers.find((broker) => broker.nodeId === layout[partition]!.leader)!;
      const onLeader = leader.replicas.partition('orders', partition)!;
      assert.equal(
        onLeader.logEndOffset,
        1,
        `partition ${partition} holds the record on its leader`,
      );
      // Every follower copies it (replication-cluster.test.ts covers replication itself).
      for (const follower of brokers.filter((broker) => broker !== leader)) {
        await waitFor(
          () => follower.replicas.partition('orders', partition)!.logEndOffset === 1,
          `broker ${follower.nodeId} to copy partition ${partition}`,
        );
      }
    }

    const follower = brokers.find((broker) => broker.nodeId !== layout[0]!.leader)!;
    const records = await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 16 });
    const answer = await callBroker<ProduceResponse>(
      follower.bootstrapServers,
      ApiKey.Produce,
      10,
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: 'orders', partitionData: [{ index: 0, records }] }],
      },
    );
    const refused = answer.responses[0]!.partitionResponses[0]!;
    assert.equal(refused.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(refused.currentLeader.leaderId, layout[0]!.leader);
    assert.equal(refused.currentLeader.leaderEpoch, layout[0]!.leaderEpoch);
    const leaderBroker = brokers.find((broker) => broker.nodeId === layout[0]!.leader)!;
    assert.deepEqual(
      answer.nodeEndpoints.map((node) => [node.nodeId, node.port]),
      [[leaderBroker.nodeId, leaderBroker.listeners[0]!.port]],
    );
    // It holds the leader's one record, copied; the refused batch was not appended.
    assert.equal(follower.replicas.partition('orders', 0)!.logEndOffset, 1, 'nothing was appended');

    // A client's Fetch and ListOffsets on the follower are refused the same way.
    const fetched = await callBroker<FetchResponse>(follower.bootstrapServers, ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'orders',
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const fetchedPartition = fetched.responses[0]!.partitions[0]!;
    assert.equal(fetchedPartition.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(fetchedPartition.currentLeader.leaderId, layout[0]!.leader);
    const listed = await callBroker<ListOffsetsResponse>(
      follower.bootstrapServers,
      ApiKey.ListOffsets,
      7,
      {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
      },
    );
    assert.equal(listed.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  test('deleting a topic on any broker removes its logs everywhere', async () => {
    const brokers = await startCluster(3);
    const admin = kafkaOf(brokers[2]!).admin();
    await admin.connect();
    after(() => admin.disconnect());
    await admin.createTopics({
      topics: [{ topic: 'doomed', numPartitions: 2, replicationFactor: 2 }],
      waitForLeaders: true,
    });
    await admin.createPartitions({ topicPartitions: [{ topic: 'doomed', count: 4 }] });
    const grown = await waitFor(async () => {
      const layout = await layoutOf(brokers[0]!, 'doomed');
      return layout?.length === 4 ? layout : undefined;
    }, 'four partitions');
    for (const broker of brokers) {
      const mine = grown.flatMap((partition, index) =>
        partition.replicas.includes(broker.nodeId) ? [index] : [],
      );
      await waitFor(
        async () =>
          JSON.stringify(await logDirectoriesOf(broker, 'doomed')) === JSON.stringify(mine),
        `broker ${broker.nodeId} to have logs for partitions ${mine.join(',')}`,
      );
    }

    await admin.deleteTopics({ topics: ['doomed'] });
    for (const broker of brokers) {
      await waitFor(
        async () => (await logDirectoriesOf(broker, 'doomed')).length === 0,
        `broker ${broker.nodeId} to delete the logs`,
      );
      assert.equal(broker.replicas.topic('doomed'), undefined);
      const metadata = await metadataOf(broker, ['doomed']);
      assert.equal(metadata.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
  });

  test('a topic config altered on one broker applies on every broker and outlives the next mirror pass', async () => {
    const brokers = await startCluster(3);
    const admin = kafkaOf(brokers[0]!).admin();
    await admin.connect();
    after(() => admin.disconnect());
    await admin.createTopics({
      topics: [{ topic: 'tuned', numPartitions: 3, replicationFactor: 2 }],
      waitForLeaders: true,
    });
    const admins = new Map<number, ReturnType<Kafka['admin']>>();
    for (const broker of brokers) {
      const brokerAdmin = kafkaOf(broker).admin();
      await brokerAdmin.connect();
      after(() => brokerAdmin.disconnect());
      admins.set(broker.nodeId, brokerAdmin);
    }
    const retentionOf = async (broker: Broker): Promise<string | undefined> => {
      const described = await admins.get(broker.nodeId)!.describeConfigs({
        resources: [{ type: 2, name: 'tuned', configNames: ['retention.ms'] }],
        includeSynonyms: false,
      });
      return described.resources[0]?.configEntries[0]?.configValue;
    };
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: 2, name: 'tuned', configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    });
    for (const broker of brokers) {
      await waitFor(
        async () => (await retentionOf(broker)) === '3600000',
        `broker ${broker.nodeId} to apply retention.ms`,
      );
      for (const partition of broker.replicas.topic('tuned')!.partitions)
        if (partition !== undefined) assert.equal(partition.log.config.retentionMs, 3_600_000);
    }
    // Another topic change makes every mirror run a pass: the altered config stays.
    await admin.createTopics({
      topics: [{ topic: 'other', numPartitions: 1, replicationFactor: 3 }],
    });
    for (const broker of brokers) {
      await waitFor(() => broker.replicas.topic('other') !== undefined, 'the other topic');
      assert.equal(await retentionOf(broker), '3600000');
    }
  });
});
