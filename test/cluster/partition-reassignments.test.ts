import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createEtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { startCluster } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { AlterPartitionReassignmentsResponse } from '../../src/protocol/generated/alter-partition-reassignments.js';
import { waitFor } from '../helpers/poll.js';
import { callBroker } from '../helpers/wire-client.js';

function alter(
  bootstrapServers: string,
  topic: string,
  partition: number,
  replicas: number[] | null,
): Promise<number> {
  return callBroker<AlterPartitionReassignmentsResponse>(
    bootstrapServers,
    ApiKey.AlterPartitionReassignments,
    0,
    {
      timeoutMs: 30_000,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, replicas }] }],
    },
  ).then((response) => response.responses[0]!.partitions[0]!.errorCode);
}

describe('partition reassignments', () => {
  test('a partition moves to its target replicas, leadership follows, and a move in progress is listed and can be cancelled', async () => {
    const cluster = await startCluster({ brokers: 3 });
    after(() => cluster.stop());
    const client = createEtcdClient([cluster.etcdEndpoint]);
    const store = await EtcdMetadataStore.open(client, cluster.etcdPrefix);
    after(async () => {
      await store.close();
      client.close();
    });
    const admin = new Kafka({
      brokers: cluster.bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    after(() => admin.disconnect());
    await admin.createTopics({
      topics: [
        { topic: 'moved', numPartitions: 1, replicationFactor: 3 },
        { topic: 'growing', replicaAssignment: [{ partition: 0, replicas: [1] }] },
      ],
      waitForLeaders: true,
    });
    const before = await waitFor(() => store.partitionState('moved', 0), 'moved-0');
    const [leader, second, third] = before.replicas as [number, number, number];
    assert.equal(before.leader, leader);

    // Every target is in sync already: the move completes, and the leader, leaving, hands over.
    await admin.alterPartitionReassignments({
      topics: [
        { topic: 'moved', partitionAssignment: [{ partition: 0, replicas: [third, second] }] },
      ],
    });
    await waitFor(
      () =>
        store.reassignment('moved', 0) === undefined &&
        store.partitionState('moved', 0)!.replicas.join() === [third, second].join(),
      () =>
        `moved-0 on [${third}, ${second}] (now ${JSON.stringify(store.partitionState('moved', 0))})`,
    );
    const moved = store.partitionState('moved', 0)!;
    assert.equal(moved.leader, third);
    assert.deepEqual([...moved.isr].sort(), [second, third].sort());
    assert.deepEqual(store.topics().get('moved')!.partitions[0], [third, second]);
    await waitFor(async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: ['moved'] });
      const partition = metadata.topics[0]!.partitions[0]!;
      return partition.replicas.join() === [third, second].join() && partition.leader === third;
    }, 'Metadata to show moved-0 on its new replicas');

    // broker 2 is not in growing-0's ISR (nothing copies to it yet): the move stays in progress.
    await admin.alterPartitionReassignments({
      topics: [{ topic: 'growing', partitionAssignment: [{ partition: 0, replicas: [2] }] }],
    });
    const listed = await waitFor(async () => {
      const answer = await admin.listPartitionReassignments({});
      // kafkajs names the topic `name` here, whatever its types say.
      const partition = (
        answer.topics as unknown as {
          name: string;
          partitions: (typeof answer.topics)[number]['partitions'];
        }[]
      ).find((topic) => topic.name === 'growing')?.partitions[0];
      return partition?.replicas.join() === '2,1' ? partition : undefined;
    }, 'the reassignment of growing-0 listed with both replica sets');
    assert.deepEqual(listed.addingReplicas, [2]);
    assert.deepEqual(listed.removingReplicas, [1]);
    assert.equal(store.partitionState('growing', 0)!.leader, 1);
    // Broker 2 is a replica now: it has opened a log for the partition, ready to catch up.
    const growingLog = join(cluster.broker(2).logDir, 'growing-0');
    await waitFor(() => existsSync(growingLog), 'broker 2 to open a log for growing-0');

    // Cancelled: back to its original replicas at once.
    assert.equal(await alter(cluster.bootstrapServers, 'growing', 0, null), ErrorCode.NONE);
    await waitFor(
      () =>
        store.reassignment('growing', 0) === undefined &&
        store.partitionState('growing', 0)!.replicas.join() === '1',
      'growing-0 back on broker 1',
    );
    assert.deepEqual((await admin.listPartitionReassignments({})).topics, []);
    await waitFor(() => !existsSync(growingLog), 'broker 2 to delete its log of growing-0');

    // Refusals.
    assert.equal(
      await alter(cluster.bootstrapServers, 'growing', 0, null),
      ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
    );
    assert.equal(
      await alter(cluster.bootstrapServers, 'growing', 0, [1, 9]),
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    );
    assert.equal(
      await alter(cluster.bootstrapServers, 'growing', 4, [1]),
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  });
});
