// Remote source partitions share this broker's connections to their leaders (issue 12): however
// many subscriptions read however many partitions of another broker, they watch and read over
// two pooled connections to it (one parked watch Fetch naming every partition, one for reads).
// A real broker stands for the leader (broker 2 of a fixed view); the sources, as broker 1's,
// reach it through a connector that counts what it opens.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import type { InterBrokerConnector } from '../../src/cluster/inter-broker-connection.js';
import { StaticClusterView } from '../../src/cluster/static-cluster-view.js';
import { NO_LEADER } from '../../src/metadata/cluster-metadata.js';
import { batchSizeBytes } from '../../src/record/batch.js';
import { decodeBatchSync } from '../../src/record/records.js';
import { RemoteFetchPool } from '../../src/share/remote-fetch-pool.js';
import { RemoteSourcePartition } from '../../src/share/remote-source-partition.js';
import { waitFor } from '../helpers/poll.js';
import { createTopic, produce } from './push-helpers.js';

const TOPIC = 'remote';
const PARTITIONS = 3;
const SUBSCRIPTIONS = 2;
const LEADER_BROKER_ID = 2;

test('the remote sources of every subscription share two connections to their leader', async (t) => {
  const leader = await startBroker();
  t.after(() => leader.stop());
  await createTopic(leader, TOPIC, PARTITIONS);
  const [host, port] = leader.bootstrapServers.split(':');
  const replicas = Array.from({ length: PARTITIONS }, () => [LEADER_BROKER_ID]);
  const view = new StaticClusterView({
    clusterId: leader.clusterId,
    brokers: [{ brokerId: LEADER_BROKER_ID, host, port: Number(port), rack: null }],
    topics: [{ name: TOPIC, topicId: Buffer.alloc(16, 2), partitions: replicas, configs: {} }],
    partitionStates: Object.fromEntries(
      replicas.map((_, index) => [
        `${TOPIC}-${index}`,
        {
          leader: LEADER_BROKER_ID,
          leaderEpoch: 0,
          isr: [LEADER_BROKER_ID],
          replicas: [LEADER_BROKER_ID],
          partitionEpoch: 0,
        },
      ]),
    ),
  });
  const opened: KafkaConnection[] = [];
  const connector: InterBrokerConnector = {
    async open(_brokerId, clientId) {
      const connection = await KafkaConnection.open(leader.bootstrapServers, { clientId });
      opened.push(connection);
      return connection;
    },
  };
  const pool = new RemoteFetchPool({ brokerId: 1, view, connector });
  t.after(() => pool.close());
  const sources = Array.from({ length: SUBSCRIPTIONS * PARTITIONS }, (_, index) => {
    const source = new RemoteSourcePartition({
      topic: TOPIC,
      partitionIndex: index % PARTITIONS,
      fetches: pool,
    });
    t.after(() => source.close());
    return source;
  });
  await Promise.all(sources.map((source) => source.ready));
  const moved = sources.map(() => 0);
  sources.forEach((source, index) => source.onHighWatermarkAdvance(() => (moved[index] += 1)));

  const perPartition = 4;
  await produce(
    leader,
    TOPIC,
    Array.from({ length: PARTITIONS * perPartition }, (_, index) => ({
      value: `r${index}`,
      partition: index % PARTITIONS,
    })),
  );
  // The pooled watch tells every source of every partition that its offsets moved.
  await waitFor(
    () => sources.every((source) => source.lastStableOffset === perPartition),
    () => `every source at ${perPartition}: ${sources.map((source) => source.lastStableOffset)}`,
  );
  assert.ok(
    moved.every((count) => count > 0),
    `listeners told: ${moved}`,
  );

  for (const source of sources) {
    const { chunks } = await source.read(0, 1 << 20, source.lastStableOffset, true);
    const bytes = Buffer.concat(chunks);
    const values: string[] = [];
    for (let position = 0; position < bytes.length; position += batchSizeBytes(bytes, position))
      for (const record of decodeBatchSync(bytes, position).records)
        values.push(record.value?.toString() ?? '');
    assert.deepEqual(
      values,
      Array.from(
        { length: perPartition },
        (_, index) => `r${index * PARTITIONS + source.partitionIndex}`,
      ),
    );
  }
  assert.equal(opened.length, 2, 'one watch and one read connection to the leader, for all');

  // Every partition without a leader for a while: the watch round ends. When the view names a
  // leader again, the change starts a round, and the sources hear of records written meanwhile.
  const withLeader = (leader: number, leaderEpoch: number) => ({
    leader,
    leaderEpoch,
    isr: [LEADER_BROKER_ID],
    replicas: [LEADER_BROKER_ID],
    partitionEpoch: leaderEpoch,
  });
  for (let index = 0; index < PARTITIONS; index += 1)
    view.setPartitionState(TOPIC, index, withLeader(NO_LEADER, 1));
  await produce(
    leader,
    TOPIC,
    Array.from({ length: PARTITIONS }, (_, index) => ({ value: `late${index}`, partition: index })),
  );
  for (let index = 0; index < PARTITIONS; index += 1)
    view.setPartitionState(TOPIC, index, withLeader(LEADER_BROKER_ID, 2));
  await waitFor(
    () => sources.every((source) => source.lastStableOffset === perPartition + 1),
    () =>
      `every source at ${perPartition + 1}: ${sources.map((source) => source.lastStableOffset)}`,
  );
});
