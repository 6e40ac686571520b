// A cluster with the authorizer on and brokers replicating over a SASL listener as a principal
// named in super.users: replication works, and another principal on that listener, posing as a
// follower (a replica id in its Fetch), is refused until it holds ClusterAction on the cluster.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../../src/security/index.js';
import { allowed } from '../helpers/acls.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { makeBatch } from '../helpers/storage-batches.js';

const etcd = await startEtcd();
const TOPIC = 'replicated';
const RECORDS = 10;

function address(broker: Broker, listener: string): string {
  return `127.0.0.1:${broker.listeners.find((candidate) => candidate.name === listener)!.port}`;
}

/** Fetch v12 of the whole partition, as the follower `replicaId` would send it. */
function followerFetch(replicaId: number) {
  return {
    replicaId,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

test('brokers replicate over SASL as a super user; a principal without ClusterAction posing as a follower is refused', async () => {
  const prefix = uniquePrefix();
  const brokers: Broker[] = [];
  for (const nodeId of [1, 2]) {
    const broker = await startBroker({
      listeners: 'CLIENT://127.0.0.1:0,REPLICATION://127.0.0.1:0',
      settings: {
        'listener.security.protocol.map': 'CLIENT:PLAINTEXT,REPLICATION:SASL_PLAINTEXT',
        'inter.broker.listener.name': 'REPLICATION',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'sasl.jaas.config':
          'org.apache.kafka.common.security.scram.ScramLoginModule required username="replicator" password="replicator-secret";',
        'authorizer.enabled': true,
        // ANONYMOUS (the CLIENT listener) administers the test; the brokers are `replicator`.
        'super.users': 'User:replicator;User:ANONYMOUS',
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': prefix,
        'node.id': nodeId,
        'broker.session.timeout.ms': 2000,
        'replica.lag.time.max.ms': 2000,
        'connection.failed.authentication.delay.ms': 0,
      },
    });
    after(() => broker.stop());
    brokers.push(broker);
  }
  const [leader, follower] = brokers as [Broker, Broker];
  const admin = new AdminClient({
    bootstrapServer: address(leader, 'CLIENT'),
    clientId: 'inter-broker-acls',
    requestTimeoutMs: 10_000,
  });
  await admin.upsertUserScramCredential('replicator', 'SCRAM-SHA-512', 'replicator-secret');
  await admin.upsertUserScramCredential('mallory', 'SCRAM-SHA-512', 'mallory-secret');
  const client = await KafkaConnection.open(address(leader, 'CLIENT'), {
    clientId: 'inter-broker-acls',
    requestTimeoutMs: 10_000,
  });
  after(() => client.close());
  await client.request(ApiKey.CreateTopics, 7, {
    topics: [
      {
        name: TOPIC,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partitionIndex: 0, brokerIds: [leader.nodeId, follower.nodeId] }],
        configs: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });

  // min.insync.replicas=2: an acks=all produce succeeds only once the follower has copied it
  // over REPLICATION, as `replicator`.
  const records = await makeBatch({ seed: 1, recordsCount: RECORDS, valueBytes: 16 });
  await waitFor(
    async () => {
      const response = await client.request<ProduceResponse>(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [
          {
            name: TOPIC,
            partitionData: [{ index: 0, records }],
          },
        ],
      });
      const partition = response.responses[0]!.partitionResponses[0]!;
      return partition.errorCode === ErrorCode.NONE ? partition : undefined;
    },
    'an acks=all produce to the replicated partition',
    { timeoutMs: 30_000 },
  );
  // A retried produce may have been appended twice: the follower must hold whatever the leader has.
  const leaderEnd = leader.replicas.partition(TOPIC, 0)!.logEndOffset;
  assert.ok(leaderEnd >= RECORDS);
  await waitFor(
    () => follower.replicas.partition(TOPIC, 0)?.logEndOffset === leaderEnd,
    'the follower to hold the records',
    { timeoutMs: 30_000 },
  );

  const mallory = await KafkaConnection.open(address(leader, 'REPLICATION'), {
    clientId: 'mallory',
    sasl: { mechanism: 'SCRAM-SHA-512', username: 'mallory', password: 'mallory-secret' },
    requestTimeoutMs: 10_000,
  });
  after(() => mallory.close());
  const refused = await mallory.request<FetchResponse>(
    ApiKey.Fetch,
    12,
    followerFetch(follower.nodeId),
  );
  const refusedPartition = refused.responses[0]!.partitions[0]!;
  assert.equal(refusedPartition.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(refusedPartition.records, null);

  await admin.createAcls([
    allowed(
      'User:mallory',
      ResourceType.CLUSTER,
      CLUSTER_RESOURCE_NAME,
      AclOperation.CLUSTER_ACTION,
    ),
  ]);
  // The ACL reaches the leader through etcd.
  const served = await waitFor(
    async () => {
      const response = await mallory.request<FetchResponse>(
        ApiKey.Fetch,
        12,
        followerFetch(follower.nodeId),
      );
      const partition = response.responses[0]!.partitions[0]!;
      return partition.errorCode === ErrorCode.NONE ? partition : undefined;
    },
    'a follower Fetch once ClusterAction is granted',
    { timeoutMs: 10_000 },
  );
  assert.ok(served.records !== null && served.records.length > 0);
});
