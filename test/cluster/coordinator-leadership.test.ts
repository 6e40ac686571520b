// Coordinators move with leadership: in cluster mode `__consumer_offsets` and
// `__transaction_state` are topics of the cluster, FindCoordinator on any broker names the leader
// of the key's partition, and a broker that comes to lead a partition loads its state from its
// log (COORDINATOR_LOAD_IN_PROGRESS meanwhile) while the one that stopped leading it answers
// NOT_COORDINATOR. Real etcd, three in-process brokers, leadership moved through etcd exactly as
// the controller writes it, and by stopping the leading broker.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { createEtcdClient } from '../../src/cluster/etcd-client.js';
import { offsetsPartitionFor } from '../../src/coordinator/group/group-coordinator.js';
import { transactionStatePartitionFor } from '../../src/coordinator/txn/transaction-log.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.js';
import type { InitProducerIdResponse } from '../../src/protocol/generated/init-producer-id.js';
import type { OffsetCommitResponse } from '../../src/protocol/generated/offset-commit.js';
import type { OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import {
  inProcessCluster,
  kafkaOf,
  metadataOf,
  moveLeader as moveLeaderInEtcd,
  startInProcessCluster,
} from '../helpers/cluster.js';
import { startEtcd, waitFor } from '../helpers/etcd.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { callBroker } from '../helpers/wire-client.js';

const OFFSETS = '__consumer_offsets';
const TRANSACTION_STATE = '__transaction_state';
const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

const etcd = await startEtcd();
const etcdClient = createEtcdClient([etcd.endpoint]);
after(() => etcdClient.close());

/** Leadership moves only when a test moves it; both coordinator topics are replicated 3 times. */
const coordinatorSettings = {
  'auto.leader.rebalance.enable': false,
  'offsets.topic.replication.factor': 3,
  'transaction.state.log.replication.factor': 3,
};

function testCluster(settings: Record<string, string | number | boolean> = {}) {
  return inProcessCluster(etcd.endpoint, { ...coordinatorSettings, ...settings });
}

function startThree(settings: Record<string, string | number | boolean> = {}) {
  return startInProcessCluster(etcd.endpoint, 3, { ...coordinatorSettings, ...settings });
}

/** The broker Metadata names as the partition's leader, once it names one. */
async function leaderOf(broker: Broker, topic: string, partition: number): Promise<number> {
  return waitFor(async () => {
    const described = (await metadataOf(broker, [topic])).topics[0];
    const leader = described?.partitions.find((p) => p.partitionIndex === partition)?.leaderId;
    return described?.errorCode === ErrorCode.NONE && leader !== undefined && leader >= 0
      ? leader
      : undefined;
  }, `a leader for ${topic}-${partition}`);
}

interface Coordinator {
  errorCode: number;
  nodeId: number;
  host: string;
  port: number;
}

/** FindCoordinator at `version` for one key (v4+ batches `keys`, answered one entry each). */
async function findCoordinators(
  broker: Broker,
  version: number,
  keyType: number,
  keys: string[],
): Promise<Coordinator[]> {
  const response = await callBroker<FindCoordinatorResponse>(
    broker.bootstrapServers,
    ApiKey.FindCoordinator,
    version,
    version >= 4
      ? { keyType, coordinatorKeys: keys }
      : version === 0
        ? { key: keys[0] } // v0 knows groups only
        : { key: keys[0], keyType },
  );
  if (version >= 4) return response.coordinators;
  return [response];
}

async function coordinatorOf(broker: Broker, keyType: number, key: string): Promise<Coordinator> {
  return (await findCoordinators(broker, 3, keyType, [key]))[0]!;
}

function offsetCommit(broker: Broker, groupId: string, topic: string, entries: number[][]) {
  return callBroker<OffsetCommitResponse>(broker.bootstrapServers, ApiKey.OffsetCommit, 7, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: entries.map(([partitionIndex, offset, metadataBytes]) => ({
          partitionIndex,
          committedOffset: BigInt(offset!),
          committedLeaderEpoch: -1,
          committedMetadata: 'm'.repeat(metadataBytes ?? 0),
        })),
      },
    ],
  });
}

const offsetFetchRequest = (groupId: string, topic: string, partitions: number[]) => ({
  groupId,
  topics: [{ name: topic, partitionIndexes: partitions }],
  requireStable: false,
});

function offsetFetch(broker: Broker, groupId: string, topic: string, partitions: number[]) {
  return callBroker<OffsetFetchResponse>(
    broker.bootstrapServers,
    ApiKey.OffsetFetch,
    7,
    offsetFetchRequest(groupId, topic, partitions),
  );
}

function initProducerId(broker: Broker, transactionalId: string) {
  return callBroker<InitProducerIdResponse>(broker.bootstrapServers, ApiKey.InitProducerId, 4, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
}

/** Moves the partition's leadership to `leader` as the controller does (helpers/cluster.ts). */
function moveLeader(prefix: string, topic: string, partition: number, leader: number) {
  return moveLeaderInEtcd(etcdClient, prefix, topic, partition, leader);
}

async function createDataTopic(broker: Broker, topic: string, partitions: number): Promise<void> {
  const admin = kafkaOf(broker, 'coordinator-leadership-test').admin();
  await admin.connect();
  try {
    assert.equal(
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders: true,
      }),
      true,
    );
  } finally {
    await admin.disconnect();
  }
}

describe('coordinators in cluster mode', () => {
  test('FindCoordinator answers COORDINATOR_NOT_AVAILABLE until offsets.topic.replication.factor brokers live, the topics are created as the last one registers, then every broker at every version names the leader of the key’s partition', async () => {
    const cluster = testCluster({
      'offsets.topic.num.partitions': 5,
      'transaction.state.log.num.partitions': 4,
    });
    const first = await cluster.start(1);
    await cluster.start(2);
    for (const broker of cluster.brokers.values()) {
      for (const keyType of [GROUP_KEY, TRANSACTION_KEY]) {
        const answer = await coordinatorOf(broker, keyType, 'group-a');
        assert.equal(answer.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        assert.equal(answer.nodeId, -1);
      }
    }
    await cluster.start(3);
    // The third broker lets the placement of replication factor 3 through, and the refused
    // creations are tried again as it registers: both topics come to exist with no client asking
    // again (a group first used during an outage finds them at the next one).
    await waitFor(async () => {
      const described = await metadataOf(first, [OFFSETS, TRANSACTION_STATE]);
      return described.topics.every((topic) => topic.errorCode === ErrorCode.NONE);
    }, 'both coordinator topics created once the third broker registered');
    for (const keyType of [GROUP_KEY, TRANSACTION_KEY]) {
      await waitFor(
        async () => (await coordinatorOf(first, keyType, 'group-a')).errorCode === ErrorCode.NONE,
        `a coordinator for key type ${keyType}`,
      );
    }
    for (const [topic, partitionCount] of [
      [OFFSETS, 5],
      [TRANSACTION_STATE, 4],
    ] as const) {
      const described = (await metadataOf(first, [topic])).topics[0]!;
      assert.equal(described.isInternal, true);
      assert.equal(described.partitions.length, partitionCount);
      for (const partition of described.partitions) {
        assert.deepEqual([...partition.replicaNodes].sort(), [1, 2, 3]);
      }
    }

    // Only the coordinators append to them, even on the partition's leader.
    const offsetsLeader = cluster.brokers.get(await leaderOf(first, OFFSETS, 0))!;
    const produced = await callBroker<ProduceResponse>(
      offsetsLeader.bootstrapServers,
      ApiKey.Produce,
      9,
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [
          {
            name: OFFSETS,
            partitionData: [
              { index: 0, records: await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 8 }) },
            ],
          },
        ],
      },
    );
    assert.equal(
      produced.responses[0]!.partitionResponses[0]!.errorCode,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );

    const keys = ['group-a', 'group-b', 'group-c', 'group-d'];
    const expected = new Map<string, number>();
    for (const key of keys) {
      expected.set(`0/${key}`, await leaderOf(first, OFFSETS, offsetsPartitionFor(key, 5)));
      expected.set(
        `1/${key}`,
        await leaderOf(first, TRANSACTION_STATE, transactionStatePartitionFor(key, 4)),
      );
    }
    // Not every key on one broker: the test would pass if each broker named itself otherwise.
    assert.ok(new Set(expected.values()).size > 1, 'the keys are led by more than one broker');
    for (const broker of cluster.brokers.values()) {
      for (const keyType of [GROUP_KEY, TRANSACTION_KEY]) {
        for (let version = keyType === GROUP_KEY ? 0 : 1; version <= 6; version++) {
          const asked = version >= 4 ? keys : [keys[version % keys.length]!];
          const answers = await waitFor(async () => {
            const found = await findCoordinators(broker, version, keyType, asked);
            return found.every((answer) => answer.errorCode === ErrorCode.NONE) && found;
          }, `FindCoordinator v${version} on broker ${broker.nodeId}`);
          answers.forEach((answer, index) => {
            const leader = expected.get(`${keyType}/${asked[index]}`)!;
            const leaderBroker = cluster.brokers.get(leader)!;
            assert.equal(answer.nodeId, leader, `v${version} key type ${keyType} ${asked[index]}`);
            assert.equal(answer.port, leaderBroker.listeners[0]!.port);
            assert.equal(answer.host, leaderBroker.listeners[0]!.host);
          });
        }
      }
    }
  });

  test('a group commits on its coordinator; when leadership of its partition moves the new leader serves and the old answers NOT_COORDINATOR, and the old leader reloads the offsets from its log when it leads again (COORDINATOR_LOAD_IN_PROGRESS meanwhile)', async () => {
    const cluster = await startThree({ 'offsets.topic.num.partitions': 1 });
    const [first] = cluster.brokers.values();
    const group = 'group-moving';
    await createDataTopic(first!, 'moving-data', 64);
    const coordinator = await waitFor(async () => {
      const answer = await coordinatorOf(first!, GROUP_KEY, group);
      return answer.errorCode === ErrorCode.NONE && answer.nodeId;
    }, 'the group coordinator');
    const leader = cluster.brokers.get(coordinator)!;
    const others = [...cluster.brokers.values()].filter((broker) => broker !== leader);
    await waitFor(
      async () =>
        (await offsetFetch(leader, group, 'moving-data', [0])).errorCode === ErrorCode.NONE,
      'the coordinator to have loaded its partition',
    );

    // A few MB in the offsets partition, so loading it takes more than one read.
    const entries = Array.from({ length: 64 }, (_, partition) => [partition, 1, 4000]);
    for (let round = 0; round < 20; round++) {
      const response = await offsetCommit(leader, group, 'moving-data', entries);
      for (const partition of response.topics[0]!.partitions) {
        assert.equal(partition.errorCode, ErrorCode.NONE);
      }
    }
    const last = await offsetCommit(leader, group, 'moving-data', [[0, 42, 0]]);
    assert.equal(last.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    for (const other of others) {
      assert.equal(
        (await offsetCommit(other, group, 'moving-data', [[0, 7, 0]])).topics[0]!.partitions[0]!
          .errorCode,
        ErrorCode.NOT_COORDINATOR,
      );
      assert.equal(
        (await offsetFetch(other, group, 'moving-data', [0])).errorCode,
        ErrorCode.NOT_COORDINATOR,
      );
    }

    // Leadership of __consumer_offsets-0 moves to another ISR member.
    const next = others[0]!;
    await moveLeader(cluster.prefix, OFFSETS, 0, next.nodeId);
    await waitFor(
      async () =>
        (await offsetFetch(leader, group, 'moving-data', [0])).errorCode ===
        ErrorCode.NOT_COORDINATOR,
      'the old leader to answer NOT_COORDINATOR',
    );
    for (const broker of cluster.brokers.values()) {
      await waitFor(
        async () => (await coordinatorOf(broker, GROUP_KEY, group)).nodeId === next.nodeId,
        `broker ${broker.nodeId} to name broker ${next.nodeId} the coordinator`,
      );
    }
    await waitFor(
      async () => (await offsetFetch(next, group, 'moving-data', [0])).errorCode === ErrorCode.NONE,
      'the new leader to serve the group',
    );
    assert.equal(
      (await offsetCommit(next, group, 'moving-data', [[1, 5, 0]])).topics[0]!.partitions[0]!
        .errorCode,
      ErrorCode.NONE,
    );

    // And back: the first leader reads the partition again from its log, answering
    // COORDINATOR_LOAD_IN_PROGRESS to requests that arrive while it reads.
    const connections = await Promise.all(
      [0, 1, 2].map(() =>
        KafkaConnection.open(`127.0.0.1:${leader.listeners[0]!.port}`, {
          clientId: 'load-watcher',
          requestTimeoutMs: 10_000,
        }),
      ),
    );
    const seen = new Set<number>();
    let watching = true;
    const watchers = connections.map(async (connection) => {
      while (watching) {
        const response = await connection.request<OffsetFetchResponse>(
          ApiKey.OffsetFetch,
          7,
          offsetFetchRequest(group, 'moving-data', [0]),
        );
        seen.add(response.errorCode);
      }
    });
    try {
      await moveLeader(cluster.prefix, OFFSETS, 0, leader.nodeId);
      const served = await waitFor(async () => {
        const response = await offsetFetch(leader, group, 'moving-data', [0]);
        return response.errorCode === ErrorCode.NONE && response;
      }, 'the first leader to serve the group again');
      assert.equal(served.topics[0]!.partitions[0]!.committedOffset, 42n);
      assert.equal(
        (await offsetFetch(next, group, 'moving-data', [0])).errorCode,
        ErrorCode.NOT_COORDINATOR,
      );
    } finally {
      watching = false;
      await Promise.all(watchers);
      for (const connection of connections) connection.close();
    }
    assert.ok(
      seen.has(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS),
      `answers seen while leadership came back: ${[...seen].join(', ')}`,
    );
  });

  test('a transactional id is served by the leader of its __transaction_state partition only, wherever that leadership moves', async () => {
    const cluster = await startThree({ 'transaction.state.log.num.partitions': 1 });
    const [first] = cluster.brokers.values();
    const transactionalId = 'txn-moving';
    const coordinator = await waitFor(async () => {
      const answer = await coordinatorOf(first!, TRANSACTION_KEY, transactionalId);
      return answer.errorCode === ErrorCode.NONE && answer.nodeId;
    }, 'the transaction coordinator');
    const leader = cluster.brokers.get(coordinator)!;
    const others = [...cluster.brokers.values()].filter((broker) => broker !== leader);
    const initial = await waitFor(async () => {
      const response = await initProducerId(leader, transactionalId);
      return response.errorCode === ErrorCode.NONE && response;
    }, 'InitProducerId on the coordinator');
    for (const other of others) {
      assert.equal(
        (await initProducerId(other, transactionalId)).errorCode,
        ErrorCode.NOT_COORDINATOR,
      );
    }

    const next = others[0]!;
    await moveLeader(cluster.prefix, TRANSACTION_STATE, 0, next.nodeId);
    await waitFor(
      async () =>
        (await initProducerId(leader, transactionalId)).errorCode === ErrorCode.NOT_COORDINATOR,
      'the old leader to answer NOT_COORDINATOR',
    );
    const onNext = await waitFor(async () => {
      const response = await initProducerId(next, transactionalId);
      return response.errorCode === ErrorCode.NONE && response;
    }, 'the new leader to serve the transactional id');

    // Back to the first leader: it reloads the id from its log (which, once replication copies
    // the new leader's records into it, holds the new leader's epoch too).
    await moveLeader(cluster.prefix, TRANSACTION_STATE, 0, leader.nodeId);
    const again = await waitFor(async () => {
      const response = await initProducerId(leader, transactionalId);
      return response.errorCode === ErrorCode.NONE && response;
    }, 'the first leader to serve the transactional id again');
    assert.equal(again.producerId, initial.producerId);
    const lastEpoch =
      onNext.producerId === initial.producerId ? onNext.producerEpoch : initial.producerEpoch;
    assert.equal(again.producerEpoch, lastEpoch + 1);
    assert.equal(
      (await initProducerId(next, transactionalId)).errorCode,
      ErrorCode.NOT_COORDINATOR,
    );
  });

  test('a kafkajs consumer group follows its coordinator when leadership of the offsets partition moves', async () => {
    const cluster = await startThree({ 'offsets.topic.num.partitions': 1 });
    const brokers = [...cluster.brokers.values()];
    await createDataTopic(brokers[0]!, 'flow', 3);
    const kafka = new Kafka({
      clientId: 'coordinator-leadership-test',
      brokers: brokers.map((broker) => broker.bootstrapServers),
      logLevel: logLevel.NOTHING,
      retry: { retries: 10 },
    });
    const producer = kafka.producer();
    await producer.connect();
    const consumer = kafka.consumer({
      groupId: 'flow-group',
      heartbeatInterval: 300,
      sessionTimeout: 6000,
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    // Both leave before the brokers stop (the brokers' after hooks were registered first and run
    // first), or kafkajs retries its LeaveGroup against stopped brokers for minutes.
    const disconnect = async () => {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    };
    try {
      await consumer.subscribe({ topic: 'flow', fromBeginning: true });
      const received = new Set<string>();
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.add(message.value!.toString());
        },
      });
      let producedCount = 0;
      const send = async (label: string, count = 30) => {
        await producer.send({
          topic: 'flow',
          acks: -1,
          messages: Array.from({ length: count }, (_, index) => ({ value: `${label}-${index}` })),
        });
        producedCount += count;
      };
      /** The committed offsets of the group over the topic's partitions, as `broker` serves them. */
      const committedTotal = async (broker: Broker): Promise<number | undefined> => {
        const response = await offsetFetch(broker, 'flow-group', 'flow', [0, 1, 2]);
        if (response.errorCode !== ErrorCode.NONE) return undefined;
        return response.topics[0]!.partitions.reduce(
          (total, partition) => total + Math.max(0, Number(partition.committedOffset)),
          0,
        );
      };

      await send('first');
      const coordinator = await waitFor(async () => {
        const answer = await coordinatorOf(brokers[0]!, GROUP_KEY, 'flow-group');
        return answer.errorCode === ErrorCode.NONE && cluster.brokers.get(answer.nodeId);
      }, 'the group coordinator');
      await waitFor(
        async () => (await committedTotal(coordinator)) === 30,
        'the first 30 records committed on the coordinator',
      );

      const next = brokers.find((broker) => broker !== coordinator)!;
      await moveLeader(cluster.prefix, OFFSETS, 0, next.nodeId);
      await send('second');
      // The consumer finds the new coordinator, joins the group there and commits what it read.
      // The consumer finds the new coordinator and commits there. A commit refused by the old one
      // is not retried until the consumer has read more (kafkajs commits after a batch), so a
      // record now and then gives it something to commit.
      let lastSeen = 'nothing yet';
      let extra = 0;
      await waitFor(
        async () => {
          const total = await committedTotal(next);
          lastSeen = `${total} of ${producedCount} committed, ${received.size} values received`;
          if (total === producedCount) return true;
          await send(`extra${extra++}`, 1);
          return false;
        },
        () => `every record committed on the new coordinator (last: ${lastSeen})`,
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      for (let index = 0; index < 30; index++) assert.ok(received.has(`second-${index}`));
      assert.equal(
        (await offsetFetch(coordinator, 'flow-group', 'flow', [0])).errorCode,
        ErrorCode.NOT_COORDINATOR,
      );
    } finally {
      await disconnect();
    }
  });

  test('committed offsets survive the loss of the coordinator’s broker: the new leader of the partition serves them', async () => {
    const cluster = await startThree({ 'offsets.topic.num.partitions': 1 });
    const [first] = cluster.brokers.values();
    const group = 'group-surviving';
    await createDataTopic(first!, 'surviving-data', 3);
    const coordinator = await waitFor(async () => {
      const answer = await coordinatorOf(first!, GROUP_KEY, group);
      return answer.errorCode === ErrorCode.NONE && answer.nodeId;
    }, 'the group coordinator');
    const leader = cluster.brokers.get(coordinator)!;
    const committed = await waitFor(async () => {
      const response = await offsetCommit(leader, group, 'surviving-data', [
        [0, 11, 0],
        [1, 22, 0],
        [2, 33, 0],
      ]);
      return response.topics[0]!.partitions.every((p) => p.errorCode === ErrorCode.NONE);
    }, 'the commit on the coordinator');
    assert.ok(committed);

    await leader.stop();
    const survivor = [...cluster.brokers.values()].find((broker) => broker !== leader)!;
    const successor = await waitFor(async () => {
      const answer = await coordinatorOf(survivor, GROUP_KEY, group);
      return answer.errorCode === ErrorCode.NONE && answer.nodeId !== leader.nodeId && answer;
    }, 'a new coordinator');
    const served = await waitFor(async () => {
      const response = await offsetFetch(
        cluster.brokers.get(successor.nodeId)!,
        group,
        'surviving-data',
        [0, 1, 2],
      );
      return response.errorCode === ErrorCode.NONE && response;
    }, 'the new coordinator to serve the group');
    assert.deepEqual(
      served.topics[0]!.partitions.map((p) => p.committedOffset),
      [11n, 22n, 33n],
    );
  });
});
