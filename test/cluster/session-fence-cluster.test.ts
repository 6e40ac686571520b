// The session fence on three broker processes through a whole-cluster etcd outage (issue 10).
// With etcd down past the lease every broker fences itself, yet nobody can replace any leader:
// each goes on leading the partitions whose in-sync followers go on fetching from it at its
// leader epoch (cluster/session-fenced-view.ts), so acks=all produce and fetch carry on, fence on
// (the default) or off. A fenced leader whose followers stop fetching (SIGSTOP) stops serving, as
// produce leader and as group coordinator.
// (A leader cut off from etcd alone: lease-loss.test.ts; a member on its own etcd:
// session-fence-outage.test.ts.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { startCluster, type Cluster } from '../../src/index.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { OffsetCommitResponse } from '../../src/protocol/generated/offset-commit.js';
import type { OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { kafkajsDriver } from '../helpers/client-kafkajs.js';
import { createTopicByRequest } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';
import { keyedBatch } from '../helpers/storage-batches.js';
import { callBroker } from '../helpers/wire-client.js';

const { Kafka, logLevel } = kafkajs;

const SESSION_TIMEOUT_MS = 3000;
const WAIT_MS = 30_000;
const TOPIC = 'fence-outage';
/** What cluster-member.ts prints when the session fence falls. */
const FENCED_LINE = 'etcd session may be over';

function addressOf(cluster: Cluster, id: number): string {
  const broker = cluster.broker(id);
  return `${broker.host}:${broker.port}`;
}

async function createTopic(
  cluster: Cluster,
  replicas: readonly number[],
  topic = TOPIC,
  configs: Readonly<Record<string, string>> = { 'min.insync.replicas': '2' },
): Promise<void> {
  await createTopicByRequest(
    { bootstrapServers: addressOf(cluster, replicas[0]!) },
    {
      name: topic,
      numPartitions: 1,
      replicationFactor: replicas.length,
      replicaAssignment: [replicas],
      configs,
    },
  );
  await waitFor(
    async () => {
      const answer = await callBroker<MetadataResponse>(
        addressOf(cluster, replicas[0]!),
        ApiKey.Metadata,
        12,
        {
          topics: [{ name: topic, topicId: Buffer.alloc(16) }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        },
      );
      const state = answer.topics[0]?.partitions[0];
      return state?.leaderId === replicas[0] && state.isrNodes.length === replicas.length;
    },
    `${topic} led by broker ${replicas[0]} with ${replicas.length} in-sync replicas`,
    { timeoutMs: WAIT_MS },
  );
}

/** One acks=all Produce straight to broker `id`, waiting at most `timeoutMs`: its error code. */
async function probeProduce(
  cluster: Cluster,
  id: number,
  value: string,
  timeoutMs = 5_000,
  topic = TOPIC,
): Promise<number | string> {
  const records = await keyedBatch([{ key: null, value }]);
  let connection: KafkaConnection | undefined;
  try {
    connection = await KafkaConnection.open(addressOf(cluster, id), {
      clientId: 'fence-probe',
      requestTimeoutMs: 5_000,
    });
    const answer = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    return answer.responses[0]!.partitionResponses[0]!.errorCode;
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  } finally {
    connection?.close();
  }
}

/** A group id whose coordinator (the leader of its __consumer_offsets partition) is broker `id`. */
async function groupCoordinatedBy(cluster: Cluster, id: number): Promise<string> {
  return waitFor(
    async () => {
      const groups = Array.from({ length: 30 }, (_, index) => `fence-group-${index}`);
      const answer = await callBroker<FindCoordinatorResponse>(
        addressOf(cluster, id),
        ApiKey.FindCoordinator,
        4,
        { keyType: 0, coordinatorKeys: groups },
      );
      return answer.coordinators.find(
        (coordinator) => coordinator.errorCode === ErrorCode.NONE && coordinator.nodeId === id,
      )?.key;
    },
    `a group coordinated by broker ${id}`,
    { timeoutMs: WAIT_MS },
  );
}

/** One offset commit of a group with no members, sent to broker `id`: its error code. */
async function probeOffsetCommit(
  cluster: Cluster,
  id: number,
  groupId: string,
): Promise<number | string> {
  try {
    const answer = await callBroker<OffsetCommitResponse>(
      addressOf(cluster, id),
      ApiKey.OffsetCommit,
      7,
      {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [
          {
            name: TOPIC,
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 1n,
                committedLeaderEpoch: -1,
                committedMetadata: '',
              },
            ],
          },
        ],
      },
    );
    return answer.topics[0]!.partitions[0]!.errorCode;
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  }
}

/** OffsetFetch of the group's commit on broker `id`: its error code (reads, appends nothing). */
async function probeOffsetFetch(
  cluster: Cluster,
  id: number,
  groupId: string,
): Promise<number | string> {
  try {
    const answer = await callBroker<OffsetFetchResponse>(
      addressOf(cluster, id),
      ApiKey.OffsetFetch,
      7,
      {
        groupId,
        topics: [{ name: TOPIC, partitionIndexes: [0] }],
        requireStable: false,
      },
    );
    return answer.errorCode;
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  }
}

async function whileEtcdIsDown(
  settings: Readonly<Record<string, string | number | boolean>>,
  expectFence: boolean,
): Promise<void> {
  const cluster = await startCluster({
    brokers: 3,
    settings: {
      'broker.session.timeout.ms': SESSION_TIMEOUT_MS,
      'auto.create.topics.enable': false,
      ...settings,
    },
  });
  const kafka = new Kafka({
    clientId: 'fence-outage',
    brokers: cluster.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await createTopic(cluster, [1, 2, 3]);
    await producer.connect();
    const acknowledged: string[] = [];
    const send = async (value: string): Promise<void> => {
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ value }] });
      acknowledged.push(value);
    };
    await send('before-outage');

    await cluster.killEtcd();
    const killedAtMs = performance.now();
    // Past the lease: with the fence on, every broker says it fenced itself.
    if (expectFence)
      await waitFor(
        () => cluster.brokers.every((broker) => broker.output().includes(FENCED_LINE)),
        'every broker to fence itself',
        { timeoutMs: SESSION_TIMEOUT_MS + WAIT_MS },
      );
    // Off, nothing tells: the outage is made to last twice the lease.
    else
      await waitFor(
        () => performance.now() - killedAtMs > 2 * SESSION_TIMEOUT_MS,
        'twice the lease',
        { timeoutMs: 4 * SESSION_TIMEOUT_MS },
      );
    for (let index = 0; index < 10; index++) await send(`during-outage-${index}`);
    // Straight to the leader too: it answers, not NOT_LEADER_OR_FOLLOWER.
    assert.equal(await probeProduce(cluster, 1, 'probe'), ErrorCode.NONE);
    acknowledged.push('probe');
    assert.equal(
      cluster.brokers.some((broker) => broker.output().includes(FENCED_LINE)),
      expectFence,
    );

    const read = (await kafkajsDriver().readAll(cluster.bootstrapServers, TOPIC, 1, 0)).map(
      (record) => record.value.toString(),
    );
    assert.deepEqual(
      acknowledged.filter((value) => !read.includes(value)),
      [],
      'acknowledged records missing from what a consumer reads during the outage',
    );
    await cluster.restartEtcd();
  } finally {
    await producer.disconnect().catch(() => undefined);
    await cluster.stop();
  }
}

test('with the session fence on (the default), an etcd outage past the lease keeps every leader serving acks=all produce and fetch', async () => {
  await whileEtcdIsDown({}, true);
});

test('with broker.session.fence.enable off, an etcd outage past the lease fences nothing and leaders keep serving', async () => {
  await whileEtcdIsDown({ 'broker.session.fence.enable': false }, false);
});

test('a fenced leader whose in-sync followers stop fetching refuses produce with NOT_LEADER_OR_FOLLOWER and stops coordinating the groups it led (NOT_COORDINATOR); alone in the ISR it leads on unless unclean election is allowed', async () => {
  const cluster = await startCluster({
    brokers: 3,
    settings: {
      'broker.session.timeout.ms': SESSION_TIMEOUT_MS,
      'broker.session.fence.enable': true,
      'auto.create.topics.enable': false,
      'offsets.topic.replication.factor': 3,
      'offsets.topic.num.partitions': 3,
    },
  });
  try {
    await createTopic(cluster, [1, 2, 3]);
    // Alone in the ISR: nobody else can be elected, unless unclean election is allowed.
    await createTopic(cluster, [1], 'fence-alone', {});
    await createTopic(cluster, [1], 'fence-alone-unclean', {
      'unclean.leader.election.enable': 'true',
    });
    // A group whose coordinator is broker 1, its offsets partition replicated on all three.
    const groupId = await groupCoordinatedBy(cluster, 1);
    await waitFor(
      async () => (await probeOffsetCommit(cluster, 1, groupId)) === ErrorCode.NONE,
      `broker 1 to take a commit for ${groupId}`,
      { timeoutMs: WAIT_MS },
    );
    await cluster.killEtcd();
    await waitFor(
      () => cluster.broker(1).output().includes(FENCED_LINE),
      'broker 1 to fence itself',
      { timeoutMs: SESSION_TIMEOUT_MS + WAIT_MS },
    );
    // Fenced, its followers fetching: it still leads, and still coordinates.
    assert.equal(await probeProduce(cluster, 1, 'while-followed'), ErrorCode.NONE);
    assert.equal(await probeOffsetCommit(cluster, 1, groupId), ErrorCode.NONE);
    assert.equal(await probeOffsetFetch(cluster, 1, groupId), ErrorCode.NONE);
    assert.equal(await probeProduce(cluster, 1, 'alone', 5_000, 'fence-alone'), ErrorCode.NONE);
    assert.equal(
      await probeProduce(cluster, 1, 'alone-unclean', 5_000, 'fence-alone-unclean'),
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );

    const pausedAtMs = performance.now();
    cluster.pause(2);
    cluster.pause(3);
    const outcomes: string[] = [];
    await waitFor(
      async () => {
        const outcome = await probeProduce(cluster, 1, 'after-pause');
        outcomes.push(String(outcome));
        return outcome === ErrorCode.NOT_LEADER_OR_FOLLOWER;
      },
      () => `NOT_LEADER_OR_FOLLOWER from broker 1 (answers: ${outcomes.join(', ')})`,
      { timeoutMs: WAIT_MS, intervalMs: 50 },
    );
    console.log(
      `# fenced leader refused produce ${Math.round(performance.now() - pausedAtMs)} ms after its followers stopped (answers before: ${outcomes.join(', ')})`,
    );
    // Its coordinator follows the same reading: unloaded, it answers NOT_COORDINATOR.
    const commitOutcomes: string[] = [];
    await waitFor(
      async () => {
        const outcome = await probeOffsetCommit(cluster, 1, groupId);
        commitOutcomes.push(String(outcome));
        return outcome === ErrorCode.NOT_COORDINATOR;
      },
      () => `NOT_COORDINATOR from broker 1 for ${groupId} (answers: ${commitOutcomes.join(', ')})`,
      { timeoutMs: WAIT_MS, intervalMs: 50 },
    );
    // Reads too: the group's state is no longer served from this broker.
    assert.equal(await probeOffsetFetch(cluster, 1, groupId), ErrorCode.NOT_COORDINATOR);
    cluster.resume(2);
    cluster.resume(3);
    await cluster.restartEtcd();
  } finally {
    await cluster.stop();
  }
});
