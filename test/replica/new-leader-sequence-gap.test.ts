// A new leader and a producer whose earlier batches are still on their way to the previous one:
// a batch that leaves a sequence gap is answered NOT_LEADER_OR_FOLLOWER (resend in order) until
// the producer has appended in this leadership term, then OUT_OF_ORDER_SEQUENCE_NUMBER as in
// Kafka. On a single broker a gap is always OUT_OF_ORDER_SEQUENCE_NUMBER.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { ErrorCode } from '../../src/protocol/errors.js';
import { buildBatch } from '../../src/record/records.js';
import { Partition } from '../../src/replica/partition.js';
import { ProducerStateError } from '../../src/replica/producer-state.js';
import { ReplicaState } from '../../src/replica/replica-state.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { stamped } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const PRODUCER = 42;

function batch(baseSequence: number): Promise<Buffer> {
  return buildBatch({
    records: Array.from({ length: 5 }, (_, index) => ({
      key: null,
      value: Buffer.from(`record-${baseSequence + index}`),
    })),
    producerId: PRODUCER,
    producerEpoch: 0,
    baseSequence,
  });
}

function refusedWith(code: number) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ProducerStateError, String(error));
    assert.equal(error.kafkaErrorCode, code, error.message);
    return true;
  };
}

async function withPartition(
  t: { after: (fn: () => Promise<void>) => void },
  run: (partition: Partition) => Promise<void>,
): Promise<void> {
  const directory = join(temporaryDirectory(t, 'brook-sequence-gap-'), 'events-0');
  const log = await PartitionLog.open({ directory, config: { ...defaultLogConfig } });
  try {
    await run(new Partition('events', 0, log));
  } finally {
    await log.close();
  }
}

test('a new leader answers a sequence gap NOT_LEADER_OR_FOLLOWER until the producer appends in its term', async (t) => {
  await withPartition(t, async (partition) => {
    // As a follower, the batch of sequences 0-4 is copied from the previous leader.
    partition.becomeFollower(1);
    await partition.appendAsFollower(stamped(await batch(0), 0, 1)).acknowledged;
    await partition.becomeLeader(2, new ReplicaState(1, { replicas: [1, 2], isr: [1] }, 5));

    // Sequences 5-9 are still on their way to the previous leader; 10-14 arrive here first.
    const gap10 = await batch(10);
    assert.throws(
      () => partition.append(gap10, 'client'),
      refusedWith(ErrorCode.NOT_LEADER_OR_FOLLOWER),
    );
    assert.equal(partition.logEndOffset, 5, 'nothing appended');
    // Resent in order, both are taken.
    await partition.append(await batch(5), 'client').acknowledged;
    await partition.append(await batch(10), 'client').acknowledged;
    assert.equal(partition.logEndOffset, 15);

    // Having appended in this term, a gap is the producer's: OUT_OF_ORDER_SEQUENCE_NUMBER.
    const gap30 = await batch(30);
    assert.throws(
      () => partition.append(gap30, 'client'),
      refusedWith(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    );

    // A new term starts over.
    await partition.becomeLeader(3, new ReplicaState(1, { replicas: [1, 2], isr: [1] }, 15));
    assert.throws(
      () => partition.append(Buffer.from(gap30), 'client'),
      refusedWith(ErrorCode.NOT_LEADER_OR_FOLLOWER),
    );
  });
});

test('on a single broker a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async (t) => {
  await withPartition(t, async (partition) => {
    await partition.append(await batch(0), 'client').acknowledged;
    const gap10 = await batch(10);
    assert.throws(
      () => partition.append(gap10, 'client'),
      refusedWith(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    );
  });
});
