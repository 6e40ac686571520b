// The transaction marker sender over a fixed view (no etcd): what it retries, what it gives up on,
// where it sends a marker after the leader moves, and how long it waits for a stalled leader.

import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import {
  TransactionMarkerSender,
  type TransactionMarkers,
} from '../../src/cluster/marker-sender.js';
import { StaticClusterView } from '../../src/cluster/static-cluster-view.js';
import { NO_LEADER, type PartitionState } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { waitFor } from '../helpers/poll.js';

const THIS_BROKER = 1;
const OTHER_BROKER = 2;

function stateLedBy(leader: number, leaderEpoch = 0): PartitionState {
  return { leader, leaderEpoch, isr: [1, 2], replicas: [1, 2], partitionEpoch: leaderEpoch };
}

function viewWith(states: Record<string, PartitionState>): StaticClusterView {
  return new StaticClusterView({
    clusterId: 'markers',
    brokers: [1, 2].map((brokerId) => ({ brokerId, host: '127.0.0.1', port: 1, rack: null })),
    topics: [
      {
        name: 'out',
        topicId: Buffer.alloc(16, 1),
        partitions: [
          [1, 2],
          [1, 2],
        ],
        configs: {},
      },
    ],
    partitionStates: states,
  });
}

function markersFor(...partitions: { topic: string; partition: number }[]): TransactionMarkers {
  return { producerId: 42, producerEpoch: 3, coordinatorEpoch: 7, committed: true, partitions };
}

/** A sender whose local appends answer from `answers` (per partition, in turn; NONE when spent). */
function senderOver(
  view: StaticClusterView,
  answers: Record<string, number[]>,
  connectionsRefused: number[],
) {
  const appended: string[] = [];
  const sender = new TransactionMarkerSender({
    brokerId: THIS_BROKER,
    view,
    connector: {
      open: (brokerId) => {
        connectionsRefused.push(brokerId);
        return Promise.reject(new Error(`broker ${brokerId} refused the connection`));
      },
    },
    appendLocally: async (topic, partition) => {
      appended.push(`${topic}-${partition}`);
      return answers[`${topic}-${partition}`]?.shift() ?? ErrorCode.NONE;
    },
    requestTimeoutMs: 10_000,
  });
  return { sender, appended };
}

test('a marker is retried until written: on NOT_LEADER_OR_FOLLOWER, and at the new leader after a lost connection to the old one; a deleted topic takes none', async () => {
  const view = viewWith({ 'out-0': stateLedBy(OTHER_BROKER), 'out-1': stateLedBy(THIS_BROKER) });
  const refused: number[] = [];
  const { sender, appended } = senderOver(
    view,
    { 'out-1': [ErrorCode.NOT_LEADER_OR_FOLLOWER] },
    refused,
  );
  const writing = sender.write(
    markersFor(
      { topic: 'out', partition: 0 },
      { topic: 'out', partition: 1 },
      { topic: 'deleted', partition: 0 },
    ),
    AbortSignal.timeout(20_000),
  );
  // The connection to broker 2 fails; the view then names this broker leader of out-0.
  await waitFor(() => refused.length > 0, 'the connection to broker 2 to fail');
  view.setPartitionState('out', 0, stateLedBy(THIS_BROKER, 1));
  await writing;
  assert.deepEqual(refused.slice(0, 1), [OTHER_BROKER]);
  assert.deepEqual(
    [...appended].sort(),
    ['out-0', 'out-1', 'out-1'],
    'out-1 twice (refused once), out-0 once it led here, the deleted topic never',
  );
  sender.close();
});

test('a refusal no retry cures rejects the write with BROOK_CLUSTER_MARKER_REFUSED and its Kafka code', async () => {
  const view = viewWith({ 'out-0': stateLedBy(THIS_BROKER) });
  const { sender } = senderOver(view, { 'out-0': [ErrorCode.INVALID_PRODUCER_EPOCH] }, []);
  await assert.rejects(
    sender.write(markersFor({ topic: 'out', partition: 0 }), AbortSignal.timeout(20_000)),
    (error: { code?: string; kafkaErrorCode?: number }) =>
      error.code === 'BROOK_CLUSTER_MARKER_REFUSED' &&
      error.kafkaErrorCode === ErrorCode.INVALID_PRODUCER_EPOCH,
  );
  sender.close();
});

test('a marker for a partition with no leader is written nowhere, and the write ends when its signal aborts', async () => {
  const view = viewWith({ 'out-0': stateLedBy(NO_LEADER) });
  const { sender, appended } = senderOver(view, {}, []);
  const controller = new AbortController();
  const writing = sender.write(markersFor({ topic: 'out', partition: 0 }), controller.signal);
  controller.abort(new Error('the coordinator gave up'));
  await assert.rejects(writing, /the coordinator gave up/);
  assert.deepEqual(appended, []);
  sender.close();
});

test('a leader that never answers is given up after request.timeout.ms and a second, and the marker is sent again to the leader of the moment', async (t) => {
  // Broker 2 accepts connections and reads requests but never answers (a stalled process).
  const stalled: Socket[] = [];
  const server = createServer((socket) => {
    stalled.push(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of stalled) socket.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  const view = viewWith({ 'out-0': stateLedBy(OTHER_BROKER) });
  const opened: number[] = [];
  const appended: string[] = [];
  const sender = new TransactionMarkerSender({
    brokerId: THIS_BROKER,
    view,
    connector: {
      open: (brokerId) => {
        opened.push(brokerId);
        // The connection's own timeout (60 s) is far past the sender's: only the sender's counts.
        return KafkaConnection.open(`127.0.0.1:${port}`, {
          clientId: 'markers-test',
          requestTimeoutMs: 60_000,
        });
      },
    },
    appendLocally: async (topic, partition) => {
      appended.push(`${topic}-${partition}`);
      return ErrorCode.NONE;
    },
    requestTimeoutMs: 200,
  });
  t.after(() => sender.close());
  const startedMs = Date.now();
  const writing = sender.write(
    markersFor({ topic: 'out', partition: 0 }),
    AbortSignal.timeout(60_000),
  );
  // Given up and asked again on a new connection, well before the write's own signal.
  await waitFor(() => opened.length >= 2, 'a second connection to the stalled leader', {
    timeoutMs: 30_000,
  });
  assert.ok(Date.now() - startedMs >= 1_100, 'not given up before request.timeout.ms and a second');
  view.setPartitionState('out', 0, stateLedBy(THIS_BROKER, 1));
  await writing;
  assert.deepEqual(appended, ['out-0']);
  assert.ok(opened.every((brokerId) => brokerId === OTHER_BROKER));
});
