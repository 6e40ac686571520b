// Exactly-once APIs at the wire: Produce's answers to retries, gaps and old epochs; EndTxn and
// AddPartitionsToTxn fencing; WriteTxnMarkers fenced by coordinator epoch; DescribeProducers,
// DescribeTransactions and ListTransactions.

import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import * as codecs from '../../src/protocol/generated/all.js';
import { buildBatch } from '../../src/record/records.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { exchange } from '../helpers/wire-client.js';

async function produce(
  broker: Broker,
  topic: string,
  records: Buffer,
): Promise<{ errorCode: number; baseOffset: bigint }> {
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
  const partition = response.responses[0].partitionResponses[0];
  return { errorCode: partition.errorCode, baseOffset: partition.baseOffset };
}

function batch(
  producerId: number,
  producerEpoch: number,
  baseSequence: number,
  count: number,
  isTransactional = false,
): Promise<Buffer> {
  return buildBatch({
    records: Array.from({ length: count }, (_, index) => ({
      key: null,
      value: Buffer.from(`v${baseSequence + index}`),
    })),
    producerId,
    producerEpoch,
    baseSequence,
    isTransactional,
  });
}

test('Produce answers a retry with the original offset, a gap with OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch with INVALID_PRODUCER_EPOCH', async () => {
  const broker = await startBroker();
  try {
    await broker.replicas.createTopic({ name: 'wire-idempotent', partitionCount: 1 });
    const init = await exchange(
      broker,
      22,
      4,
      (writer) =>
        codecs.encodeInitProducerIdRequest(writer, 4, {
          transactionalId: null,
          transactionTimeoutMs: -1,
        }),
      (reader) => codecs.decodeInitProducerIdResponse(reader, 4),
    );
    assert.equal(init.errorCode, ErrorCode.NONE);
    const producerId = Number(init.producerId);

    assert.deepEqual(await produce(broker, 'wire-idempotent', await batch(producerId, 0, 0, 3)), {
      errorCode: 0,
      baseOffset: 0n,
    });
    assert.deepEqual(await produce(broker, 'wire-idempotent', await batch(producerId, 0, 3, 2)), {
      errorCode: 0,
      baseOffset: 3n,
    });
    // A retry of the first batch: the original offset, no second copy.
    assert.deepEqual(await produce(broker, 'wire-idempotent', await batch(producerId, 0, 0, 3)), {
      errorCode: 0,
      baseOffset: 0n,
    });
    assert.equal(broker.replicas.partition('wire-idempotent', 0)!.logEndOffset, 5);
    assert.equal(
      (await produce(broker, 'wire-idempotent', await batch(producerId, 0, 7, 1))).errorCode,
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    assert.deepEqual(await produce(broker, 'wire-idempotent', await batch(producerId, 1, 0, 1)), {
      errorCode: 0,
      baseOffset: 5n,
    });
    assert.equal(
      (await produce(broker, 'wire-idempotent', await batch(producerId, 0, 5, 1))).errorCode,
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );

    const second = await exchange(
      broker,
      22,
      4,
      (writer) =>
        codecs.encodeInitProducerIdRequest(writer, 4, {
          transactionalId: null,
          transactionTimeoutMs: -1,
        }),
      (reader) => codecs.decodeInitProducerIdResponse(reader, 4),
    );
    assert.notEqual(
      second.producerId,
      init.producerId,
      'every idempotent producer gets its own id',
    );

    const described = await exchange(
      broker,
      61,
      0,
      (writer) =>
        codecs.encodeDescribeProducersRequest(writer, 0, {
          topics: [{ name: 'wire-idempotent', partitionIndexes: [0] }],
        }),
      (reader) => codecs.decodeDescribeProducersResponse(reader, 0),
    );
    const producers = described.topics[0].partitions[0].activeProducers;
    assert.equal(producers.length, 1);
    assert.equal(producers[0].producerId, BigInt(producerId));
    assert.equal(producers[0].producerEpoch, 1);
    assert.equal(producers[0].lastSequence, 0);
    assert.equal(producers[0].currentTxnStartOffset, -1n);
  } finally {
    await broker.stop();
  }
});

test('a fenced transactional producer gets PRODUCER_FENCED; the tooling APIs show the transaction', async () => {
  const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 3 } });
  try {
    await broker.replicas.createTopic({ name: 'wire-txn', partitionCount: 1 });
    const initProducerId = () =>
      exchange(
        broker,
        22,
        4,
        (writer) =>
          codecs.encodeInitProducerIdRequest(writer, 4, {
            transactionalId: 'wire-1',
            transactionTimeoutMs: 60_000,
          }),
        (reader) => codecs.decodeInitProducerIdResponse(reader, 4),
      );
    const first = await initProducerId();
    const addPartitions = (producerEpoch: number) =>
      exchange(
        broker,
        24,
        3,
        (writer) =>
          codecs.encodeAddPartitionsToTxnRequest(writer, 3, {
            v3AndBelowTransactionalId: 'wire-1',
            v3AndBelowProducerId: first.producerId,
            v3AndBelowProducerEpoch: producerEpoch,
            v3AndBelowTopics: [{ name: 'wire-txn', partitions: [0] }],
          }),
        (reader) => codecs.decodeAddPartitionsToTxnResponse(reader, 3),
      );
    assert.equal(
      (await addPartitions(first.producerEpoch)).resultsByTopicV3AndBelow[0].resultsByPartition[0]
        .partitionErrorCode,
      0,
    );
    assert.equal(
      (
        await produce(
          broker,
          'wire-txn',
          await batch(Number(first.producerId), first.producerEpoch, 0, 2, true),
        )
      ).errorCode,
      0,
    );

    const listed = await exchange(
      broker,
      66,
      1,
      (writer) =>
        codecs.encodeListTransactionsRequest(writer, 1, {
          stateFilters: ['Ongoing'],
          producerIdFilters: [],
        }),
      (reader) => codecs.decodeListTransactionsResponse(reader, 1),
    );
    assert.deepEqual(
      listed.transactionStates.map((entry) => [entry.transactionalId, entry.transactionState]),
      [['wire-1', 'Ongoing']],
    );
    const described = await exchange(
      broker,
      65,
      0,
      (writer) =>
        codecs.encodeDescribeTransactionsRequest(writer, 0, {
          transactionalIds: ['wire-1', 'nobody'],
        }),
      (reader) => codecs.decodeDescribeTransactionsResponse(reader, 0),
    );
    assert.equal(described.transactionStates[0].transactionState, 'Ongoing');
    assert.deepEqual(described.transactionStates[0].topics, [
      { topic: 'wire-txn', partitions: [0] },
    ]);
    assert.equal(described.transactionStates[1].errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);

    const second = await initProducerId();
    assert.equal(second.producerId, first.producerId);
    assert.ok(second.producerEpoch > first.producerEpoch);
    const partition = broker.replicas.partition('wire-txn', 0)!;
    assert.equal(
      partition.lastStableOffset,
      partition.highWatermark,
      'the fenced transaction was aborted',
    );
    assert.equal(partition.abortedTransactions(0, partition.highWatermark).length, 1);

    const endTxn = (version: number) =>
      exchange(
        broker,
        26,
        version,
        (writer) =>
          codecs.encodeEndTxnRequest(writer, version, {
            transactionalId: 'wire-1',
            producerId: first.producerId,
            producerEpoch: first.producerEpoch,
            committed: true,
          }),
        (reader) => codecs.decodeEndTxnResponse(reader, version),
      );
    assert.equal((await endTxn(3)).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal(
      (await endTxn(1)).errorCode,
      ErrorCode.INVALID_PRODUCER_EPOCH,
      'clients before KIP-588 are told INVALID_PRODUCER_EPOCH',
    );
    assert.equal(
      (await addPartitions(first.producerEpoch)).resultsByTopicV3AndBelow[0].resultsByPartition[0]
        .partitionErrorCode,
      ErrorCode.PRODUCER_FENCED,
    );
    assert.equal(
      (
        await produce(
          broker,
          'wire-txn',
          await batch(Number(first.producerId), first.producerEpoch, 2, 1, true),
        )
      ).errorCode,
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
  } finally {
    await broker.stop();
  }
});

test('WriteTxnMarkers aborts a hanging transaction the coordinator does not know (kafka-transactions.sh abort)', async () => {
  const broker = await startBroker();
  try {
    await broker.replicas.createTopic({ name: 'wire-hanging', partitionCount: 1 });
    const partition = broker.replicas.partition('wire-hanging', 0)!;
    assert.equal(
      (await produce(broker, 'wire-hanging', await batch(4242, 3, 0, 2, true))).errorCode,
      0,
    );
    assert.equal((await produce(broker, 'wire-hanging', await batch(4243, 0, 0, 1))).errorCode, 0);
    assert.equal(partition.lastStableOffset, 0, 'the hanging transaction holds the LSO');
    const response = await exchange(
      broker,
      27,
      1,
      (writer) =>
        codecs.encodeWriteTxnMarkersRequest(writer, 1, {
          markers: [
            {
              producerId: 4242n,
              producerEpoch: 3,
              transactionResult: false,
              coordinatorEpoch: 0,
              topics: [{ name: 'wire-hanging', partitionIndexes: [0] }],
            },
          ],
        }),
      (reader) => codecs.decodeWriteTxnMarkersResponse(reader, 1),
    );
    assert.equal(response.markers[0].topics[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal(partition.lastStableOffset, partition.highWatermark);
    assert.deepEqual(
      partition
        .abortedTransactions(0, partition.highWatermark)
        .map((entry) => [entry.producerId, entry.firstOffset, entry.lastOffset]),
      [[4242, 0, 3]],
    );
  } finally {
    await broker.stop();
  }
});

/** One WriteTxnMarkers for partition 0 of `topic`; its error code. */
async function writeMarker(
  broker: Broker,
  topic: string,
  marker: { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean },
): Promise<number> {
  const response = await exchange(
    broker,
    27,
    1,
    (writer) =>
      codecs.encodeWriteTxnMarkersRequest(writer, 1, {
        markers: [
          {
            producerId: BigInt(marker.producerId),
            producerEpoch: marker.producerEpoch,
            transactionResult: marker.commit,
            coordinatorEpoch: marker.coordinatorEpoch,
            topics: [{ name: topic, partitionIndexes: [0] }],
          },
        ],
      }),
    (reader) => codecs.decodeWriteTxnMarkersResponse(reader, 1),
  );
  return response.markers[0].topics[0].partitions[0].errorCode;
}

test('WriteTxnMarkers from an older coordinator epoch is refused with TRANSACTION_COORDINATOR_FENCED and not written, also after a restart from a snapshot or from the log alone', async (t) => {
  const topic = 'wire-zombie';
  const producerId = 5151;
  const logDir = temporaryDirectory(t, 'brook-txn-coordinator-epoch-');
  let broker = await startBroker({ logDirs: logDir });
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    const logEndOffset = (): number => broker.replicas.partition(topic, 0)!.logEndOffset;
    /** The marker of a coordinator of `coordinatorEpoch` for the producer's epoch 0. */
    const marker = (coordinatorEpoch: number, commit: boolean) =>
      writeMarker(broker, topic, { producerId, producerEpoch: 0, coordinatorEpoch, commit });

    // A transaction ended by the coordinator of epoch 7 (its state partition's leader epoch).
    assert.equal(
      (await produce(broker, topic, await batch(producerId, 0, 0, 2, true))).errorCode,
      0,
    );
    assert.equal(await marker(7, true), ErrorCode.NONE);
    assert.equal(logEndOffset(), 3);

    // The next transaction: the coordinator of epoch 6, deposed since, tries to abort it.
    assert.equal(
      (await produce(broker, topic, await batch(producerId, 0, 2, 2, true))).errorCode,
      0,
    );
    const zombie = { producerId, producerEpoch: 0, coordinatorEpoch: 6, commit: false };
    assert.equal(
      await writeMarker(broker, topic, zombie),
      ErrorCode.TRANSACTION_COORDINATOR_FENCED,
    );
    assert.equal(logEndOffset(), 5, 'the fenced marker is not in the log');
    assert.equal(
      broker.replicas.partition(topic, 0)!.lastStableOffset,
      3,
      'the transaction is open',
    );

    // Restarted from its snapshot, then from the log alone: the epoch is rebuilt both ways.
    for (const recovery of ['snapshot', 'log'] as const) {
      await broker.stop();
      if (recovery === 'log') {
        const directory = join(logDir, `${topic}-0`);
        for (const name of readdirSync(directory).filter((file) => file.endsWith('.snapshot')))
          rmSync(join(directory, name));
      }
      broker = await startBroker({ logDirs: logDir });
      assert.equal(
        await writeMarker(broker, topic, zombie),
        ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        `the stale coordinator epoch after a restart from the ${recovery}`,
      );
      assert.equal(logEndOffset(), 5);
    }

    // The current coordinator (same epoch) and a newer one still end transactions.
    assert.equal(await marker(7, true), ErrorCode.NONE);
    assert.equal(logEndOffset(), 6);
    assert.equal(broker.replicas.partition(topic, 0)!.lastStableOffset, 6);
    assert.equal(
      (await produce(broker, topic, await batch(producerId, 0, 4, 1, true))).errorCode,
      0,
    );
    assert.equal(await marker(8, false), ErrorCode.NONE);
    assert.equal(await marker(7, false), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal(logEndOffset(), 8);
  } finally {
    await broker.stop();
  }
});
