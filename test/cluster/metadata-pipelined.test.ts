// A Metadata request that a client pipelined behind a slow request on the same connection is
// answered with the cluster as it is when the answer goes out, not as it was when the request
// arrived. librdkafka does this all the time: its Metadata refreshes share the connection with
// its acks=all produces, and a produce waits for the ISR. Answered at arrival, the Metadata
// response of issue 10's stall named a leader that had died a moment later and arrived 1.5 s
// late, after the client had already learned the new leader; librdkafka (2.0.2 checks no leader
// epochs) moved the partition back to the dead broker and never sent it anywhere else.
//
// Real brokers (startCluster: etcd and three `brook start` processes). One follower is frozen
// with SIGSTOP, so an acks=all produce to the leader waits until the controller has taken the
// frozen broker out of the ISR (its session lapses); a Metadata request sent right behind the
// produce on the same connection must show that ISR.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { startCluster } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { buildBatch } from '../../src/record/records.js';
import { waitFor } from '../helpers/poll.js';
import { callBroker } from '../helpers/wire-client.js';

const TOPIC = 'pipelined';
const SESSION_TIMEOUT_MS = 2_000;

async function partitionZero(bootstrapServers: string) {
  const metadata = await callBroker<MetadataResponse>(bootstrapServers, ApiKey.Metadata, 12, {
    topics: [{ topicId: Buffer.alloc(16), name: TOPIC }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  return metadata.topics[0]?.partitions.find((partition) => partition.partitionIndex === 0);
}

test('a Metadata request pipelined behind a waiting acks=all produce describes the ISR as of its answer', async () => {
  const cluster = await startCluster({
    brokers: 3,
    settings: { 'broker.session.timeout.ms': SESSION_TIMEOUT_MS },
  });
  after(() => cluster.stop());
  const created = await callBroker<CreateTopicsResponse>(
    cluster.bootstrapServers,
    ApiKey.CreateTopics,
    5,
    {
      topics: [
        {
          name: TOPIC,
          numPartitions: 1,
          replicationFactor: 3,
          assignments: [],
          configs: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    },
  );
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE, created.topics[0]!.errorMessage ?? '');
  const before = await waitFor(
    async () => {
      const partition = await partitionZero(cluster.bootstrapServers);
      return partition !== undefined && partition.isrNodes.length === 3 ? partition : undefined;
    },
    'partition 0 with 3 in-sync replicas',
    { timeoutMs: 30_000 },
  );
  const leader = cluster.broker(before.leaderId);
  const frozen = before.isrNodes.find((id) => id !== before.leaderId)!;

  const connection = await KafkaConnection.open(`${leader.host}:${leader.port}`, {
    clientId: 'metadata-pipelined-test',
    requestTimeoutMs: 60_000,
  });
  after(() => connection.close());
  // Taken up as leader (an acks=all produce to it is acknowledged) before the follower freezes.
  const records = await buildBatch({
    records: [{ key: null, value: Buffer.from('first'), timestamp: Date.now() }],
  });
  await waitFor(
    async () => {
      const answer = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
      });
      return answer.responses[0]!.partitionResponses[0]!.errorCode === ErrorCode.NONE;
    },
    `broker ${leader.id} to acknowledge an acks=all produce`,
    { timeoutMs: 30_000 },
  );

  cluster.pause(frozen);
  after(() => {
    if (cluster.broker(frozen).paused) cluster.resume(frozen);
  });
  const startedMs = Date.now();
  const produced = connection.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [
      {
        name: TOPIC,
        partitionData: [
          {
            index: 0,
            records: await buildBatch({
              records: [{ key: null, value: Buffer.from('second'), timestamp: Date.now() }],
            }),
          },
        ],
      },
    ],
  });
  // Pipelined: sent before the produce is answered, on the same connection.
  const described = connection.request<MetadataResponse>(ApiKey.Metadata, 12, {
    topics: [{ topicId: Buffer.alloc(16), name: TOPIC }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  const produceAnswer = (await produced).responses[0]!.partitionResponses[0]!;
  const metadata = await described;
  const waitedMs = Date.now() - startedMs;

  // The produce could only be answered once the frozen follower left the ISR.
  assert.equal(produceAnswer.errorCode, ErrorCode.NONE, produceAnswer.errorMessage ?? '');
  assert.ok(
    waitedMs >= SESSION_TIMEOUT_MS / 2,
    `the produce was answered after ${waitedMs} ms: the frozen follower did not hold it`,
  );
  const partition = metadata.topics[0]!.partitions.find((entry) => entry.partitionIndex === 0)!;
  assert.equal(partition.leaderId, leader.id);
  assert.ok(
    !partition.isrNodes.includes(frozen),
    `Metadata answered after the produce still lists frozen broker ${frozen} in the ISR ` +
      `[${partition.isrNodes.join(', ')}]: it describes the cluster as it was on arrival`,
  );
});
