// Replication between two in-process brokers without etcd: a StaticClusterView places partition
// 0 of `events` on brokers 1 (leader) and 2 (follower), and a ReplicaFetcher on each applies it.
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type Broker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ReplicaFetcher } from '../../src/cluster/replica-fetcher.js';
import { StaticClusterView } from '../../src/cluster/static-cluster-view.js';
import type { PartitionState } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { fetchRequest } from '../helpers/cluster.js';
import { makeBatch, nextOffsetAfter } from '../helpers/storage-batches.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { buildBatch } from '../../src/record/records.js';

const TOPIC = 'events';
const WAIT_MS = 10_000;

interface Pair {
  leader: Broker;
  follower: Broker;
  view: StaticClusterView;
  fetchers: ReplicaFetcher[];
  producer: KafkaConnection;
  /** What the fetchers logged (failures to apply the view among them). */
  warnings: string[];
  leaderLog(): PartitionLog;
  followerLog(): PartitionLog;
}

async function startPair(
  t: { after: (fn: () => Promise<void>) => void },
  topicConfigs: Record<string, string> = {},
): Promise<Pair> {
  const leader = await startBroker();
  const follower = await startBroker();
  const created = await leader.replicas.createTopic({
    name: TOPIC,
    partitionCount: 1,
    configs: topicConfigs,
  });
  await follower.replicas.createTopic({ name: TOPIC, partitionCount: 1, configs: topicConfigs });
  const view = new StaticClusterView({
    clusterId: 'static-test',
    brokers: [
      { brokerId: 1, host: '127.0.0.1', port: leader.listeners[0].port, rack: null },
      { brokerId: 2, host: '127.0.0.1', port: follower.listeners[0].port, rack: null },
    ],
    topics: [
      {
        name: TOPIC,
        topicId: created.metadata.topicId,
        partitions: [[1, 2]],
        configs: topicConfigs,
      },
    ],
    partitionStates: { [`${TOPIC}-0`]: state(1, [1, 2]) },
  });
  const warnings: string[] = [];
  const log = (message: string): void => void warnings.push(message);
  const fetchers = [
    new ReplicaFetcher({ brokerId: 1, view, replicas: leader.replicas, log }),
    new ReplicaFetcher({ brokerId: 2, view, replicas: follower.replicas, log }),
  ];
  for (const fetcher of fetchers) await fetcher.start();
  const producer = await KafkaConnection.open(leader.bootstrapServers, { clientId: 'static-test' });
  t.after(async () => {
    producer.close();
    for (const fetcher of fetchers) await fetcher.stop();
    await follower.stop();
    await leader.stop();
  });
  return {
    leader,
    follower,
    view,
    fetchers,
    producer,
    warnings,
    leaderLog: () => leader.replicas.partition(TOPIC, 0)!.log,
    followerLog: () => follower.replicas.partition(TOPIC, 0)!.log,
  };
}

function state(leaderEpoch: number, isr: number[]): PartitionState {
  return { leader: 1, leaderEpoch, isr, replicas: [1, 2], partitionEpoch: leaderEpoch };
}

async function produceAcksAll(pair: Pair, seed: number, timeoutMs = 30_000) {
  const response = await pair.producer.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs,
    topicData: [
      {
        name: TOPIC,
        partitionData: [
          { index: 0, records: await makeBatch({ seed, recordsCount: 5, valueBytes: 300 }) },
        ],
      },
    ],
  });
  return response.responses[0].partitionResponses[0];
}

/** Every batch of a log, read in pieces (a read stops at a segment's end). */
async function readAll(log: PartitionLog): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = await log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset });
    const bytes = Buffer.concat(read.chunks);
    chunks.push(bytes);
    offset = nextOffsetAfter(bytes);
  }
  return Buffer.concat(chunks);
}

test('records produced with acks=all to the leader are byte-identical in the follower log', async (t) => {
  const pair = await startPair(t);
  for (let seed = 1; seed <= 20; seed++) {
    const answer = await produceAcksAll(pair, seed);
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal(Number(answer.baseOffset), (seed - 1) * 5);
    // Acknowledged means flushed on the follower too.
    assert.ok(pair.followerLog().flushedOffset >= (seed - 1) * 5 + 5);
  }
  assert.equal(pair.followerLog().logEndOffset, 100);
  assert.ok((await readAll(pair.followerLog())).equals(await readAll(pair.leaderLog())));
  assert.deepEqual(pair.followerLog().leaderEpochs(), pair.leaderLog().leaderEpochs());
});

test('acks=all waits for the follower: a paused fetcher holds the answer until it resumes', async (t) => {
  const pair = await startPair(t);
  assert.equal((await produceAcksAll(pair, 1)).errorCode, ErrorCode.NONE);
  pair.fetchers[1].pause();
  let answered = false;
  const produced = produceAcksAll(pair, 2).then((answer) => {
    answered = true;
    return answer;
  });
  // The follower may copy the batch with a fetch already in flight, but cannot report it.
  await waitFor(() => pair.leaderLog().logEndOffset === 10, 'the leader to append', {
    timeoutMs: WAIT_MS,
  });
  await waitFor(() => pair.followerLog().logEndOffset === 10, 'the parked fetch to copy', {
    timeoutMs: WAIT_MS,
  });
  assert.equal(answered, false, 'answered before the follower reported the records');
  assert.equal(pair.leader.replicas.partition(TOPIC, 0)!.highWatermark, 5);
  pair.fetchers[1].resume();
  const answer = await produced;
  assert.equal(answer.errorCode, ErrorCode.NONE);
  assert.equal(Number(answer.baseOffset), 5);
  assert.equal(pair.leader.replicas.partition(TOPIC, 0)!.highWatermark, 10);
});

test('min.insync.replicas=2 with the follower out of the ISR refuses acks=all with NOT_ENOUGH_REPLICAS', async (t) => {
  const pair = await startPair(t, { 'min.insync.replicas': '2' });
  assert.equal((await produceAcksAll(pair, 1)).errorCode, ErrorCode.NONE);
  await pair.fetchers[1].stop();
  // What the controller decides once the follower is gone: the ISR shrinks to the leader.
  pair.view.setPartitionState(TOPIC, 0, state(1, [1]));
  const refused = await produceAcksAll(pair, 2);
  assert.equal(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(pair.leaderLog().logEndOffset, 5, 'refused before the append');
});

test('a follower with a divergent tail truncates it by leader epoch and then matches the leader', async (t) => {
  const pair = await startPair(t);
  assert.equal((await produceAcksAll(pair, 1)).errorCode, ErrorCode.NONE);
  await pair.fetchers[1].stop();
  // The follower's log gets records in epoch 1 the leader never had (as a deposed leader would).
  const followerLog = pair.followerLog();
  for (const seed of [100, 101])
    await followerLog.append(await makeBatch({ seed, recordsCount: 3, valueBytes: 50 }), {
      leaderEpoch: 1,
      origin: 'client',
    }).acknowledged;
  assert.equal(followerLog.logEndOffset, 11);
  // A new leader epoch on broker 1; it writes on.
  pair.view.setPartitionState(TOPIC, 0, state(2, [1]));
  await waitFor(
    () => pair.leader.replicas.partition(TOPIC, 0)!.leaderEpoch === 2,
    'broker 1 to lead in epoch 2',
    { timeoutMs: WAIT_MS },
  );
  assert.equal((await produceAcksAll(pair, 2)).errorCode, ErrorCode.NONE);
  assert.equal((await produceAcksAll(pair, 3)).errorCode, ErrorCode.NONE);
  // Broker 2 follows again and is taken back into the ISR.
  const fetcher = new ReplicaFetcher({
    brokerId: 2,
    view: pair.view,
    replicas: pair.follower.replicas,
  });
  pair.fetchers.push(fetcher); // stopped before the brokers
  await fetcher.start();
  pair.view.setPartitionState(TOPIC, 0, { ...state(2, [1, 2]), partitionEpoch: 3 });
  await waitFor(() => followerLog.logEndOffset === 15, 'the follower to catch up', {
    timeoutMs: WAIT_MS,
  });
  assert.ok((await readAll(followerLog)).equals(await readAll(pair.leaderLog())));
  assert.deepEqual(followerLog.leaderEpochs(), [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 5 },
  ]);
});

test('a leadership whose epoch cannot be written is taken up once the disk lets it, without another view change', async (t) => {
  const pair = await startPair(t);
  const partition = pair.leader.replicas.partition(TOPIC, 0)!;
  await waitFor(() => partition.leaderEpoch === 1, 'broker 1 to lead in epoch 1', {
    timeoutMs: WAIT_MS,
  });
  // The checkpoint is written to a temporary file first; a directory in its place makes the
  // write fail (EISDIR), as a failing disk would.
  const blocker = join(pair.leaderLog().directory, 'leader-epoch-checkpoint.tmp');
  await mkdir(blocker);
  pair.view.setPartitionState(TOPIC, 0, state(2, [1, 2]));
  await waitFor(
    () => pair.warnings.some((line) => line.startsWith(`applying the view to ${TOPIC}-0 failed`)),
    'the take-up of epoch 2 to fail',
    { timeoutMs: WAIT_MS },
  );
  assert.equal(partition.leaderEpoch, 1);
  await rmdir(blocker);
  await waitFor(() => partition.leaderEpoch === 2, 'broker 1 to lead in epoch 2', {
    timeoutMs: WAIT_MS,
  });
  assert.equal((await produceAcksAll(pair, 1)).errorCode, ErrorCode.NONE);
  assert.deepEqual(pair.leaderLog().leaderEpochs(), [{ epoch: 2, startOffset: 0 }]);
});

test('a follower fetch is fenced by its leader epoch and refused from a broker that is no replica', async (t) => {
  const pair = await startPair(t);
  assert.equal((await produceAcksAll(pair, 1)).errorCode, ErrorCode.NONE);
  const fetchAs = async (replicaId: number, currentLeaderEpoch: number) => {
    const response = await pair.producer.request<FetchResponse>(
      ApiKey.Fetch,
      12,
      fetchRequest({
        topic: TOPIC,
        partition: 0,
        fetchOffset: 0n,
        replicaId,
        currentLeaderEpoch,
        logStartOffset: 0n,
      }),
    );
    return response.responses[0].partitions[0].errorCode;
  };
  assert.equal(await fetchAs(2, 0), ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(await fetchAs(2, 7), ErrorCode.UNKNOWN_LEADER_EPOCH);
  assert.equal(await fetchAs(9, 1), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(await fetchAs(2, 1), ErrorCode.NONE);
});

test('acks=all that the ISR does not reach within the request timeout is answered REQUEST_TIMED_OUT', async (t) => {
  const pair = await startPair(t);
  pair.fetchers[1].pause();
  const answer = await produceAcksAll(pair, 1, 300);
  assert.equal(answer.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(pair.leaderLog().logEndOffset, 5, 'the records stay in the leader log, as in Kafka');
  pair.fetchers[1].resume();
  await waitFor(
    () => pair.leader.replicas.partition(TOPIC, 0)!.highWatermark === 5,
    'the follower to catch up after resuming',
    { timeoutMs: WAIT_MS },
  );
});

test('an acks=all produce waiting when its leader is deposed is answered NOT_LEADER_OR_FOLLOWER at once', async (t) => {
  const pair = await startPair(t);
  pair.fetchers[1].pause();
  const produced = produceAcksAll(pair, 1, 60_000);
  await waitFor(() => pair.leaderLog().logEndOffset === 5, 'the leader to append', {
    timeoutMs: WAIT_MS,
  });
  // The controller moves the leadership to broker 2 while the produce waits for it.
  pair.view.setPartitionState(TOPIC, 0, {
    leader: 2,
    leaderEpoch: 2,
    isr: [2],
    replicas: [1, 2],
    partitionEpoch: 2,
  });
  const answer = await produced;
  assert.equal(answer.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test('a leader restarted with records past its high watermark starts from the checkpointed one, not its log end', async (t) => {
  const leaderDir = temporaryDirectory(t, 'brook-restarted-leader-');
  let leader = await startBroker({ logDirs: leaderDir });
  const follower = await startBroker();
  const created = await leader.replicas.createTopic({ name: TOPIC, partitionCount: 1 });
  await follower.replicas.createTopic({ name: TOPIC, partitionCount: 1 });
  const view = (leaderPort: number) =>
    new StaticClusterView({
      clusterId: 'static-test',
      brokers: [
        { brokerId: 1, host: '127.0.0.1', port: leaderPort, rack: null },
        { brokerId: 2, host: '127.0.0.1', port: follower.listeners[0].port, rack: null },
      ],
      topics: [
        { name: TOPIC, topicId: created.metadata.topicId, partitions: [[1, 2]], configs: {} },
      ],
      partitionStates: { [`${TOPIC}-0`]: state(1, [1, 2]) },
    });
  let leaderView = view(leader.listeners[0].port);
  let leaderFetcher = new ReplicaFetcher({
    brokerId: 1,
    view: leaderView,
    replicas: leader.replicas,
  });
  let followerFetcher = new ReplicaFetcher({
    brokerId: 2,
    view: leaderView,
    replicas: follower.replicas,
  });
  await leaderFetcher.start();
  await followerFetcher.start();
  let producer = await KafkaConnection.open(leader.bootstrapServers, { clientId: 'restart-test' });
  // One idempotent producer: a retry of a batch the leader holds is answered as a duplicate.
  const idempotent = (baseSequence: number) =>
    buildBatch({
      records: [0, 1, 2, 3, 4].map((index) => ({
        key: null,
        value: Buffer.from(`record-${baseSequence + index}`),
      })),
      producerId: 7,
      producerEpoch: 0,
      baseSequence,
    });
  const produce = async (connection: KafkaConnection, records: Buffer, timeoutMs: number) => {
    const response = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
    return response.responses[0].partitionResponses[0];
  };
  try {
    assert.equal((await produce(producer, await idempotent(0), 30_000)).errorCode, ErrorCode.NONE);
    // The follower stops fetching: the next batch reaches the leader's disk only.
    followerFetcher.pause();
    const unreplicated = await idempotent(5);
    const timedOut = await produce(producer, Buffer.from(unreplicated), 300);
    assert.equal(timedOut.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.equal(leader.replicas.partition(TOPIC, 0)!.logEndOffset, 10);
    assert.equal(leader.replicas.partition(TOPIC, 0)!.highWatermark, 5);

    // The leader restarts on its directory and leads again in the same epoch.
    producer.close();
    await leaderFetcher.stop();
    await leader.stop();
    leader = await startBroker({ logDirs: leaderDir });
    leaderView = view(leader.listeners[0].port);
    leaderFetcher = new ReplicaFetcher({
      brokerId: 1,
      view: leaderView,
      replicas: leader.replicas,
    });
    await leaderFetcher.start();
    const partition = leader.replicas.partition(TOPIC, 0)!;
    await waitFor(() => partition.replicaState !== null, 'broker 1 to lead again', {
      timeoutMs: WAIT_MS,
    });
    assert.equal(partition.logEndOffset, 10);
    assert.equal(partition.highWatermark, 5, 'records the follower never had are not committed');

    // The producer's retry finds its batch in the log, but only the follower can commit it.
    producer = await KafkaConnection.open(leader.bootstrapServers, { clientId: 'restart-test' });
    const retried = await produce(producer, Buffer.from(unreplicated), 300);
    assert.equal(retried.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.equal(partition.logEndOffset, 10, 'the retry was not written again');

    // The follower follows the restarted leader: the retry is acknowledged at its first offset.
    await followerFetcher.stop();
    followerFetcher = new ReplicaFetcher({
      brokerId: 2,
      view: leaderView,
      replicas: follower.replicas,
    });
    await followerFetcher.start();
    const acknowledged = await produce(producer, Buffer.from(unreplicated), 30_000);
    assert.equal(acknowledged.errorCode, ErrorCode.NONE);
    assert.equal(Number(acknowledged.baseOffset), 5);
    assert.equal(partition.highWatermark, 10);
  } finally {
    producer.close();
    await followerFetcher.stop();
    await leaderFetcher.stop();
    await follower.stop();
    await leader.stop();
  }
});
