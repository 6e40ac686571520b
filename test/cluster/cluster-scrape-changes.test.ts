// A scrape re-reads only what registered a change (issue 13), and in cluster mode figures move on
// paths of their own: a follower's log end and high watermark move as it replicates the leader's
// appends (appendAsFollower, the leader's high watermark in a fetch answer), and a group's lag
// moves to another broker when its __consumer_offsets partition changes leader (the new
// coordinator loads the group, the old one unloads it). Three in-process brokers on real etcd;
// each check waits until the broker's own state settled, then one scrape must show it: a change
// whose mark did not register shows as the value the scrape before it read. The brokers are
// scraped between the changes, so every scrape after the first reads only what registered.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import type { Broker } from '../../src/broker.js';
import { createEtcdClient } from '../../src/cluster/etcd-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.js';
import type { OffsetCommitResponse } from '../../src/protocol/generated/offset-commit.js';
import type { OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import {
  createTopicByRequest,
  layoutOf,
  moveLeader,
  startInProcessCluster,
} from '../helpers/cluster.js';
import { startEtcd, waitFor } from '../helpers/etcd.js';
import { sample } from '../helpers/prometheus-text.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { callBroker } from '../helpers/wire-client.js';

const OFFSETS = '__consumer_offsets';

const etcd = await startEtcd();
const etcdClient = createEtcdClient([etcd.endpoint]);
after(() => etcdClient.close());

/** Every broker with /metrics; leadership moves only when the test moves it. */
function startThree() {
  return startInProcessCluster(etcd.endpoint, 3, {
    'http.listeners': 'http://127.0.0.1:0',
    'auto.leader.rebalance.enable': false,
    'offsets.topic.replication.factor': 3,
    'offsets.topic.num.partitions': 1,
  });
}

async function scrape(broker: Broker): Promise<string> {
  const { host, port } = broker.httpListeners[0]!;
  const response = await fetch(`http://${host}:${port}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** Produces `records` records to partition 0 of `topic` on its leader, acks=all. */
async function produce(leader: Broker, topic: string, records: number, seed: number) {
  const response = await callBroker<ProduceResponse>(leader.bootstrapServers, ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [
      {
        name: topic,
        partitionData: [
          { index: 0, records: await makeBatch({ seed, recordsCount: records, valueBytes: 40 }) },
        ],
      },
    ],
  });
  assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
}

/**
 * Idle partitions on every broker (about 32 each), so that a scrape reads what moved instead of walking
 * everything, as it does when more than an eighth of the items moved (movedShareWalked): with a
 * handful of partitions, every move would walk and a missed mark would go unseen.
 */
async function idlePartitions(brokers: readonly Broker[]): Promise<void> {
  await createTopicByRequest(brokers[0]!, {
    name: 'idle',
    numPartitions: 96,
    replicationFactor: 1,
  });
  const held = (broker: Broker) =>
    broker.replicas.topic('idle')?.partitions.filter(Boolean).length ?? 0;
  await waitFor(
    () => brokers.reduce((total, broker) => total + held(broker), 0) === 96,
    () => `the 96 partitions of idle opened (${brokers.map(held).join(', ')})`,
  );
  for (const broker of brokers) assert.ok(held(broker) >= 24, `broker ${broker.nodeId} holds some`);
}

/** A partition of three replicas, all in sync, and the broker leading it. */
async function replicatedTopic(brokers: readonly Broker[], topic: string): Promise<Broker> {
  await createTopicByRequest(brokers[0]!, { name: topic, numPartitions: 1, replicationFactor: 3 });
  const layout = await waitFor(async () => {
    const partitions = await layoutOf(brokers[0]!, topic);
    return partitions?.[0]?.leader !== undefined &&
      partitions[0].leader >= 0 &&
      partitions[0].isr.length === 3
      ? partitions[0]
      : undefined;
  }, `${topic}-0 led, with three replicas in sync`);
  return brokers.find((broker) => broker.nodeId === layout.leader)!;
}

test("a follower's log end offset and high watermark show in its next scrape as it replicates the leader's appends", async () => {
  const cluster = await startThree();
  const brokers = [...cluster.brokers.values()];
  await idlePartitions(brokers);
  const leader = await replicatedTopic(brokers, 'replicated');
  const followers = brokers.filter((broker) => broker !== leader);
  const labels = { topic: 'replicated', partition: '0' };

  let produced = 0;
  for (let round = 1; round <= 3; round++) {
    await produce(leader, 'replicated', 5, round);
    produced += 5;
    for (const follower of followers) {
      const partition = follower.replicas.partition('replicated', 0)!;
      // Scraped while the follower catches up (a log end before its high watermark, one fetch
      // apart), so each scrape after the first reads only what registered since the one before.
      await waitFor(
        async () => {
          await scrape(follower);
          return partition.logEndOffset === produced && partition.highWatermark === produced;
        },
        () =>
          `broker ${follower.nodeId} to hold ${produced} records (log end ${partition.logEndOffset}, high watermark ${partition.highWatermark})`,
        { intervalMs: 2 },
      );
      const settled = await scrape(follower);
      const shown = {
        logEnd: sample(settled, 'brook_partition_log_end_offset', labels),
        highWatermark: sample(settled, 'brook_partition_high_watermark', labels),
      };
      assert.deepEqual(
        shown,
        { logEnd: produced, highWatermark: produced },
        `round ${round}: the scrape of follower ${follower.nodeId}`,
      );
    }
  }
  // The leader's own figures, for completeness (its high watermark moves with the followers).
  const led = await scrape(leader);
  assert.equal(sample(led, 'brook_partition_high_watermark', labels), produced);
});

/** The broker FindCoordinator names for `group`, once one does. */
async function coordinatorOf(brokers: readonly Broker[], group: string): Promise<Broker> {
  const nodeId = await waitFor(async () => {
    const answer = await callBroker<FindCoordinatorResponse>(
      brokers[0]!.bootstrapServers,
      ApiKey.FindCoordinator,
      3,
      { key: group, keyType: 0 },
    );
    return answer.errorCode === ErrorCode.NONE && answer.nodeId;
  }, `a coordinator for ${group}`);
  return brokers.find((broker) => broker.nodeId === nodeId)!;
}

function offsetFetchError(broker: Broker, group: string, topic: string): Promise<number> {
  return callBroker<OffsetFetchResponse>(broker.bootstrapServers, ApiKey.OffsetFetch, 7, {
    groupId: group,
    topics: [{ name: topic, partitionIndexes: [0] }],
    requireStable: false,
  }).then((response) => response.errorCode);
}

async function commit(broker: Broker, group: string, topic: string, offset: number) {
  const response = await callBroker<OffsetCommitResponse>(
    broker.bootstrapServers,
    ApiKey.OffsetCommit,
    7,
    {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: topic,
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: BigInt(offset),
              committedLeaderEpoch: -1,
              committedMetadata: '',
            },
          ],
        },
      ],
    },
  );
  assert.equal(response.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
}

test('consumer lag shows on the new coordinator and leaves the old one when its __consumer_offsets partition changes leader', async () => {
  const cluster = await startThree();
  const brokers = [...cluster.brokers.values()];
  await idlePartitions(brokers);
  // Three replicas: whichever broker coordinates the group holds the partition its lag is on.
  const dataLeader = await replicatedTopic(brokers, 'lagged');
  const group = 'laggards';
  const labels = { group, topic: 'lagged', partition: '0' };
  const lagOn = async (broker: Broker) =>
    sample(await scrape(broker), 'brook_consumer_group_lag', labels);
  /** Until `broker`'s replica of the data partition has `offset` as its high watermark. */
  const settledAt = (broker: Broker, offset: number) =>
    waitFor(
      () => broker.replicas.partition('lagged', 0)?.highWatermark === offset,
      `broker ${broker.nodeId}'s high watermark of lagged-0 at ${offset}`,
    );

  const first = await coordinatorOf(brokers, group);
  await waitFor(
    async () => (await offsetFetchError(first, group, 'lagged')) === ErrorCode.NONE,
    'the coordinator to have loaded its partition',
  );
  // Idle groups beside it (all on the one __consumer_offsets partition), so that the scrape reads
  // the groups that moved instead of walking them all (as above, for the partitions).
  for (let index = 0; index < 16; index++) await commit(first, `idle-${index}`, 'idle', 0);
  await commit(first, group, 'lagged', 0);
  await produce(dataLeader, 'lagged', 5, 1);
  for (const broker of brokers) await settledAt(broker, 5);
  // Every broker scraped once: the scrapes after this one read only what registered.
  for (const broker of brokers)
    assert.equal(await lagOn(broker), broker === first ? 5 : undefined, `broker ${broker.nodeId}`);
  await produce(dataLeader, 'lagged', 2, 2);
  for (const broker of brokers) await settledAt(broker, 7);
  assert.equal(await lagOn(first), 7, 'lag moved with the partition end on the coordinator');

  const next = brokers.find((broker) => broker !== first)!;
  await moveLeader(etcdClient, cluster.prefix, OFFSETS, 0, next.nodeId);
  await waitFor(
    async () => (await offsetFetchError(first, group, 'lagged')) === ErrorCode.NOT_COORDINATOR,
    'the old coordinator to answer NOT_COORDINATOR',
  );
  assert.equal(await lagOn(first), undefined, "the old coordinator's lag series left");
  await waitFor(
    async () => (await offsetFetchError(next, group, 'lagged')) === ErrorCode.NONE,
    'the new coordinator to have loaded the group',
  );
  assert.equal(await lagOn(next), 7, "the new coordinator's lag appeared");

  // Both move on from here: the partition's end (the new coordinator's lag follows it; the old
  // one shows none) and a commit on the new coordinator.
  await produce(dataLeader, 'lagged', 3, 3);
  for (const broker of brokers) await settledAt(broker, 10);
  assert.equal(await lagOn(next), 10, 'lag moved with the partition end on the new coordinator');
  assert.equal(await lagOn(first), undefined, 'the old coordinator still shows no lag');
  await commit(next, group, 'lagged', 6);
  assert.equal(await lagOn(next), 4, 'lag after a commit on the new coordinator');

  // And back: the first broker loads the group again from its log and shows it once more.
  await moveLeader(etcdClient, cluster.prefix, OFFSETS, 0, first.nodeId);
  await waitFor(
    async () => (await offsetFetchError(next, group, 'lagged')) === ErrorCode.NOT_COORDINATOR,
    'the second coordinator to answer NOT_COORDINATOR',
  );
  assert.equal(await lagOn(next), undefined, "the second coordinator's lag series left");
  await waitFor(
    async () => (await offsetFetchError(first, group, 'lagged')) === ErrorCode.NONE,
    'the first coordinator to have loaded the group again',
  );
  assert.equal(await lagOn(first), 4, 'the first coordinator shows the lag again, as committed');
});
