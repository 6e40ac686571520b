// The cluster record writer is idempotent (issue 12): HTTP produce and dead letters go to each
// partition's leader over Produce, retried while leaders move, and a retry must not append a batch
// twice. A real broker stands for the leader (broker 2 of a fixed view); the writer, as broker 1,
// reaches it through a connector that loses the answers it is told to lose: the Produce reached
// the leader and was appended, only its answer never came back, as when a connection breaks or a
// leader is killed between its append and its answer. The leader's log is then read: each batch
// is there once, stamped with the writer's producer id and consecutive sequences.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import type { InterBrokerConnector } from '../../src/cluster/inter-broker-connection.js';
import { StaticClusterView } from '../../src/cluster/static-cluster-view.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { InitProducerIdResponse } from '../../src/protocol/generated/init-producer-id.js';
import { batchSizeBytes } from '../../src/record/batch.js';
import { decodeBatchHeader } from '../../src/record/records.js';
import {
  type ClusterRecordWriter,
  clusterRecordWriter,
} from '../../src/share/cluster-record-writer.js';
import { writeRecords } from '../../src/share/record-writer.js';
import { ShareError } from '../../src/share/share-errors.js';
import { createTopic } from './push-helpers.js';

const TOPIC = 'written';
const WRITER_BROKER_ID = 1;
const LEADER_BROKER_ID = 2;

/** Connections to the leader whose Produce answers are dropped while `loseAnswers` > 0. */
function lossyConnector(address: string) {
  const state = { loseAnswers: 0, producesSent: 0, producerIdsAsked: 0 };
  const connector: InterBrokerConnector = {
    async open(_brokerId, clientId) {
      const connection = await KafkaConnection.open(address, { clientId });
      const lossy = {
        async request<Response>(apiKey: number, apiVersion: number, body: unknown) {
          const answer = await connection.request<Response>(apiKey, apiVersion, body);
          if (apiKey === ApiKey.Produce) {
            state.producesSent += 1;
            if (state.loseAnswers > 0) {
              state.loseAnswers -= 1;
              connection.close();
              throw new Error('the connection broke before the answer came');
            }
          }
          return answer;
        },
        close: () => connection.close(),
      };
      return lossy as unknown as KafkaConnection;
    },
  };
  return { state, connector };
}

/** The writer of broker 1, to which the view says broker 2 (`leader`) leads the topic. */
async function writerTo(
  leader: Broker,
  connector: InterBrokerConnector,
  counts: { producerIdsAsked: number },
  requestTimeoutMs: number,
): Promise<ClusterRecordWriter> {
  const [host, port] = leader.bootstrapServers.split(':');
  const view = new StaticClusterView({
    clusterId: leader.clusterId,
    brokers: [{ brokerId: LEADER_BROKER_ID, host, port: Number(port), rack: null }],
    topics: [
      { name: TOPIC, topicId: Buffer.alloc(16, 1), partitions: [[LEADER_BROKER_ID]], configs: {} },
    ],
    partitionStates: {
      [`${TOPIC}-0`]: {
        leader: LEADER_BROKER_ID,
        leaderEpoch: 0,
        isr: [LEADER_BROKER_ID],
        replicas: [LEADER_BROKER_ID],
        partitionEpoch: 0,
      },
    },
  });
  // Producer ids come from the leader's own InitProducerId, as a broker's from its cluster's.
  const idConnection = await KafkaConnection.open(leader.bootstrapServers, { clientId: 'ids' });
  const writer = clusterRecordWriter({
    brokerId: WRITER_BROKER_ID,
    view,
    replicas: leader.replicas,
    connector,
    minInsyncReplicasOf: () => 1,
    createTopic: () => Promise.reject(new Error('no topic is created here')),
    requestTimeoutMs,
    initProducerId: async () => {
      counts.producerIdsAsked += 1;
      const answer = await idConnection.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
      assert.equal(answer.errorCode, 0);
      return { producerId: Number(answer.producerId), producerEpoch: answer.producerEpoch };
    },
  });
  return {
    ...writer,
    close() {
      writer.close();
      idConnection.close();
    },
  };
}

/** Every batch of the leader's partition: its producer fields and offsets. */
async function batchesOf(leader: Broker) {
  const partition = leader.replicas.topic(TOPIC)!.partitions[0];
  const { chunks } = await partition.read(0, 1 << 20, partition.logEndOffset, true);
  const log = Buffer.concat(chunks);
  const batches = [];
  for (let position = 0; position < log.length; position += batchSizeBytes(log, position)) {
    const header = decodeBatchHeader(log, position);
    batches.push({
      baseOffset: header.baseOffset,
      records: header.recordsCount,
      producerId: header.producerId,
      baseSequence: header.baseSequence,
    });
  }
  return batches;
}

const records = (...values: string[]) =>
  values.map((value) => ({ key: null, value: Buffer.from(value), headers: [], partition: 0 }));

test('a produce whose answer was lost is sent again and appended once', async (t) => {
  const leader = await startBroker();
  t.after(() => leader.stop());
  await createTopic(leader, TOPIC, 1);
  const { state, connector } = lossyConnector(leader.bootstrapServers);
  const writer = await writerTo(leader, connector, state, 10_000);
  t.after(() => writer.close());

  state.loseAnswers = 1;
  const first = await writeRecords(writer, TOPIC, records('a', 'b'));
  assert.equal(state.producesSent, 2, 'the batch was sent again after its answer was lost');
  assert.deepEqual(first, [
    { partition: 0, offset: 0 },
    { partition: 0, offset: 1 },
  ]);
  // The second answer to the same batch is its first append's, not a second append.
  assert.equal(leader.replicas.topic(TOPIC)!.partitions[0].logEndOffset, 2);

  const second = await writeRecords(writer, TOPIC, records('c'));
  assert.deepEqual(second, [{ partition: 0, offset: 2 }]);
  const batches = await batchesOf(leader);
  assert.equal(batches.length, 2);
  assert.ok(batches[0].producerId >= 0, 'stamped with a producer id');
  assert.deepEqual(
    batches.map(({ baseOffset, records: count, producerId, baseSequence }) => ({
      baseOffset,
      count,
      producerId,
      baseSequence,
    })),
    [
      { baseOffset: 0, count: 2, producerId: batches[0].producerId, baseSequence: 0 },
      { baseOffset: 2, count: 1, producerId: batches[0].producerId, baseSequence: 2 },
    ],
  );
  assert.equal(state.producerIdsAsked, 1);
});

test('after a batch whose outcome is unknown the next batch starts a new producer id', async (t) => {
  const leader = await startBroker();
  t.after(() => leader.stop());
  await createTopic(leader, TOPIC, 1);
  const { state, connector } = lossyConnector(leader.bootstrapServers);
  const writer = await writerTo(leader, connector, state, 1_000);
  t.after(() => writer.close());

  // Every answer lost until the writer gives up: the caller is told it failed, though the batch
  // is in the log (once: the retries were answered as duplicates).
  state.loseAnswers = Number.POSITIVE_INFINITY;
  await assert.rejects(
    writeRecords(writer, TOPIC, records('doubtful')),
    (error) => error instanceof ShareError && error.problem === 'produce-failed',
  );
  assert.ok(state.producesSent >= 2, `sent ${state.producesSent} times`);
  assert.equal(leader.replicas.topic(TOPIC)!.partitions[0].logEndOffset, 1);

  // Reusing its sequence would make the next batch look like that retry (dropped as a
  // duplicate); taking the one after would be a gap if it was not appended. A new producer id
  // starts again at 0.
  state.loseAnswers = 0;
  const next = await writeRecords(writer, TOPIC, records('next'));
  assert.deepEqual(next, [{ partition: 0, offset: 1 }]);
  const batches = await batchesOf(leader);
  assert.equal(batches.length, 2);
  assert.notEqual(batches[1].producerId, batches[0].producerId);
  assert.equal(batches[1].baseSequence, 0);
  assert.equal(state.producerIdsAsked, 2);
});
