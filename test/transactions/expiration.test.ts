// Expiry of idle state at the wire: transactional.id.expiration.ms forgets transactional ids left
// Empty or Complete* (with a tombstone, so a restart does not bring them back) and never an
// Ongoing one; producer.id.expiration.ms forgets idle producers' sequence state in a partition.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import * as codecs from '../../src/protocol/generated/all.js';
import { buildBatch } from '../../src/record/records.js';
import { waitFor } from '../helpers/poll.js';
import { exchange } from '../helpers/wire-client.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

async function initProducerId(
  broker: Broker,
  transactionalId: string | null,
): Promise<{ producerId: bigint; producerEpoch: number }> {
  const response = await exchange(
    broker,
    22,
    4,
    (writer) =>
      codecs.encodeInitProducerIdRequest(writer, 4, {
        transactionalId,
        transactionTimeoutMs: transactionalId === null ? -1 : 60_000,
      }),
    (reader) => codecs.decodeInitProducerIdResponse(reader, 4),
  );
  assert.equal(response.errorCode, ErrorCode.NONE);
  return { producerId: response.producerId, producerEpoch: response.producerEpoch };
}

async function addPartition(
  broker: Broker,
  transactionalId: string,
  producer: { producerId: bigint; producerEpoch: number },
  topic: string,
): Promise<void> {
  const response = await exchange(
    broker,
    24,
    3,
    (writer) =>
      codecs.encodeAddPartitionsToTxnRequest(writer, 3, {
        v3AndBelowTransactionalId: transactionalId,
        v3AndBelowProducerId: producer.producerId,
        v3AndBelowProducerEpoch: producer.producerEpoch,
        v3AndBelowTopics: [{ name: topic, partitions: [0] }],
      }),
    (reader) => codecs.decodeAddPartitionsToTxnResponse(reader, 3),
  );
  assert.equal(response.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
}

async function produce(
  broker: Broker,
  topic: string,
  producer: { producerId: bigint; producerEpoch: number },
  baseSequence: number,
  isTransactional: boolean,
): Promise<void> {
  const records = await buildBatch({
    records: [{ key: null, value: Buffer.from(`v${baseSequence}`) }],
    producerId: Number(producer.producerId),
    producerEpoch: producer.producerEpoch,
    baseSequence,
    isTransactional,
  });
  const response = await exchange(
    broker,
    0,
    9,
    (writer) =>
      codecs.encodeProduceRequest(writer, 9, {
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
      }),
    (reader) => codecs.decodeProduceResponse(reader, 9),
  );
  assert.equal(response.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
}

async function listTransactions(broker: Broker): Promise<string[][]> {
  const listed = await exchange(
    broker,
    66,
    1,
    (writer) =>
      codecs.encodeListTransactionsRequest(writer, 1, { stateFilters: [], producerIdFilters: [] }),
    (reader) => codecs.decodeListTransactionsResponse(reader, 1),
  );
  return listed.transactionStates
    .map((entry) => [entry.transactionalId, entry.transactionState])
    .sort();
}

async function describeTransactions(
  broker: Broker,
  transactionalIds: string[],
): Promise<Array<{ errorCode: number; state: string }>> {
  const described = await exchange(
    broker,
    65,
    0,
    (writer) => codecs.encodeDescribeTransactionsRequest(writer, 0, { transactionalIds }),
    (reader) => codecs.decodeDescribeTransactionsResponse(reader, 0),
  );
  return described.transactionStates.map((entry) => ({
    errorCode: entry.errorCode,
    state: entry.transactionState,
  }));
}

test('an idle transactional id expires and stays expired after a restart; an ongoing transaction does not expire', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-txn-expiry-');
  const settings = { 'transaction.state.log.num.partitions': 3 };
  let broker = await startBroker({
    logDirs: logDir,
    settings: {
      ...settings,
      'transactional.id.expiration.ms': 1_500,
      'transaction.remove.expired.transaction.cleanup.interval.ms': 50,
    },
  });
  try {
    const topic = 'expiry';
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });

    // CompleteCommit: one committed transaction, then idle.
    const committed = await initProducerId(broker, 'committed-id');
    await addPartition(broker, 'committed-id', committed, topic);
    await produce(broker, topic, committed, 0, true);
    const endTxn = await exchange(
      broker,
      26,
      3,
      (writer) =>
        codecs.encodeEndTxnRequest(writer, 3, {
          transactionalId: 'committed-id',
          producerId: committed.producerId,
          producerEpoch: committed.producerEpoch,
          committed: true,
        }),
      (reader) => codecs.decodeEndTxnResponse(reader, 3),
    );
    assert.equal(endTxn.errorCode, ErrorCode.NONE);
    // Empty: initialised, never used.
    const empty = await initProducerId(broker, 'empty-id');
    // Ongoing: open, and idle for longer than the expiration.
    const ongoing = await initProducerId(broker, 'ongoing-id');
    await addPartition(broker, 'ongoing-id', ongoing, topic);
    await produce(broker, topic, ongoing, 0, true);
    // Last touched after the ongoing transaction: once it has expired, the ongoing one has been
    // idle at least as long through at least one cleanup.
    await initProducerId(broker, 'witness-id');

    // Set up well within the expiration, so all four are still known here.
    assert.deepEqual(await listTransactions(broker), [
      ['committed-id', 'CompleteCommit'],
      ['empty-id', 'Empty'],
      ['ongoing-id', 'Ongoing'],
      ['witness-id', 'Empty'],
    ]);
    await waitFor(
      async () => (await listTransactions(broker)).length === 1,
      'the idle transactional ids to expire',
      { timeoutMs: 10_000 },
    );
    assert.deepEqual(await listTransactions(broker), [['ongoing-id', 'Ongoing']]);
    const described = await describeTransactions(broker, [
      'committed-id',
      'empty-id',
      'witness-id',
      'ongoing-id',
    ]);
    assert.deepEqual(described, [
      { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, state: '' },
      { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, state: '' },
      { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, state: '' },
      { errorCode: ErrorCode.NONE, state: 'Ongoing' },
    ]);
    const partition = broker.replicas.partition(topic, 0)!;
    assert.ok(partition.lastStableOffset < partition.highWatermark, 'the open transaction holds');

    // Restarted with the default expiration (7 days): only the tombstones can keep them gone.
    await broker.stop();
    broker = await startBroker({ logDirs: logDir, settings });
    assert.deepEqual(await listTransactions(broker), [['ongoing-id', 'Ongoing']]);
    assert.equal(
      (await describeTransactions(broker, ['empty-id']))[0].errorCode,
      ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
    );
    // An expired id starts over: a new producer id, as for an id never seen.
    const again = await initProducerId(broker, 'empty-id');
    assert.notEqual(again.producerId, empty.producerId);
    assert.equal(again.producerEpoch, 0);
  } finally {
    await broker.stop();
  }
});

test('an idle producer expires from partition state after producer.id.expiration.ms', async () => {
  const broker = await startBroker({ settings: { 'producer.id.expiration.ms': 300 } });
  try {
    const topic = 'producer-expiry';
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    const idle = await initProducerId(broker, null);
    const active = await initProducerId(broker, null);
    await produce(broker, topic, idle, 0, false);
    const producerIds = () =>
      broker.replicas
        .partition(topic, 0)!
        .activeProducers()
        .map((entry) => BigInt(entry.producerId))
        .sort();
    assert.deepEqual(producerIds(), [idle.producerId]);
    // Expiry is checked when the partition flushes: the active producer keeps writing.
    let sequence = 0;
    await waitFor(
      async () => {
        await produce(broker, topic, active, sequence, false);
        sequence += 1;
        return !producerIds().includes(idle.producerId);
      },
      'the idle producer to expire',
      { timeoutMs: 10_000 },
    );
    assert.deepEqual(producerIds(), [active.producerId]);
  } finally {
    await broker.stop();
  }
});
