import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { AlterPartitionReassignmentsResponse } from '../../src/protocol/generated/alter-partition-reassignments.js';
import type { ListPartitionReassignmentsResponse } from '../../src/protocol/generated/list-partition-reassignments.js';
import { kafkaOf, startWatchedCluster } from '../helpers/cluster.js';
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
  test('a partition moves to its target replicas with its records, leadership follows, and a move in progress is listed and can be cancelled', async () => {
    // A long session timeout: a paused broker stays registered through the in-progress checks.
    const { cluster, store } = await startWatchedCluster({
      brokers: 3,
      settings: { 'broker.session.timeout.ms': 30_000 },
    });
    const admin = kafkaOf(cluster).admin();
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

    // A real move: broker 2 opens a log, copies growing-0 from broker 1, joins the ISR, and then
    // leads; broker 1 drops its log. Every acknowledged record is readable afterwards.
    const kafka = kafkaOf(cluster);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'growing',
      acks: -1,
      messages: Array.from({ length: 20 }, (_, index) => ({ value: `record ${index}` })),
    });
    await admin.alterPartitionReassignments({
      topics: [{ topic: 'growing', partitionAssignment: [{ partition: 0, replicas: [2] }] }],
    });
    await waitFor(
      () =>
        store.reassignment('growing', 0) === undefined &&
        store.partitionState('growing', 0)!.replicas.join() === '2' &&
        store.partitionState('growing', 0)!.leader === 2,
      () =>
        `growing-0 moved to broker 2 (now ${JSON.stringify(store.partitionState('growing', 0))})`,
      { timeoutMs: 60_000 },
    );
    await waitFor(
      () => !existsSync(join(cluster.broker(1).logDir, 'growing-0')),
      'broker 1 to delete its log of growing-0',
    );
    await producer.send({ topic: 'growing', acks: -1, messages: [{ value: 'record 20' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'reassignment-test' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'growing', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
      },
    });
    await waitFor(
      () => seen.length >= 21,
      () => `21 records read, saw ${seen.length}`,
      {
        timeoutMs: 60_000,
      },
    );
    await consumer.disconnect();
    assert.deepEqual(
      seen,
      Array.from({ length: 21 }, (_, index) => `record ${index}`),
    );

    // A move to a frozen broker stays in progress (it cannot catch up): listed, then cancelled.
    const controllerId = store.controller()!.brokerId;
    const [stalled, host] = [1, 2, 3].filter((id) => id !== controllerId) as [number, number];
    await admin.createTopics({
      topics: [{ topic: 'stalled', replicaAssignment: [{ partition: 0, replicas: [host] }] }],
      waitForLeaders: true,
    });
    await waitFor(() => store.partitionState('stalled', 0), 'stalled-0');
    const hostAddress = `${cluster.broker(host).host}:${cluster.broker(host).port}`;
    cluster.pause(stalled);
    try {
      assert.equal(await alter(hostAddress, 'stalled', 0, [stalled]), ErrorCode.NONE);
      const listed = await waitFor(async () => {
        const answer = await callBroker<ListPartitionReassignmentsResponse>(
          hostAddress,
          ApiKey.ListPartitionReassignments,
          0,
          { timeoutMs: 10_000, topics: null },
        );
        const partition = answer.topics.find((topic) => topic.name === 'stalled')?.partitions[0];
        return partition?.replicas.join() === `${stalled},${host}` ? partition : undefined;
      }, 'the reassignment of stalled-0 listed with both replica sets');
      assert.deepEqual(listed.addingReplicas, [stalled]);
      assert.deepEqual(listed.removingReplicas, [host]);
      assert.equal(store.partitionState('stalled', 0)!.leader, host);

      assert.equal(await alter(hostAddress, 'stalled', 0, null), ErrorCode.NONE);
      await waitFor(
        () =>
          store.reassignment('stalled', 0) === undefined &&
          store.partitionState('stalled', 0)!.replicas.join() === String(host),
        `stalled-0 back on broker ${host}`,
      );
      const after = await callBroker<ListPartitionReassignmentsResponse>(
        hostAddress,
        ApiKey.ListPartitionReassignments,
        0,
        { timeoutMs: 10_000, topics: null },
      );
      assert.deepEqual(after.topics, []);
    } finally {
      cluster.resume(stalled);
    }

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
