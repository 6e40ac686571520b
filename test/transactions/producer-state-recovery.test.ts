// Producer state across restarts, driven through Partition.append directly: snapshots written
// at segment rolls, the log tail replayed after them, and open and aborted transactions
// rebuilt, so a retry right after a restart is still recognised.

import assert from 'node:assert/strict';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { buildBatch, buildControlBatch, ControlRecordType } from '../../src/record/records.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

function idempotentBatch(
  producerId: number,
  baseSequence: number,
  count: number,
  isTransactional = false,
): Promise<Buffer> {
  return buildBatch({
    records: Array.from({ length: count }, (_, index) => ({
      key: null,
      value: Buffer.alloc(200, baseSequence + index),
    })),
    producerId,
    producerEpoch: 0,
    baseSequence,
    isTransactional,
  });
}

test('a retry after a restart is recognised from a roll snapshot and the replayed tail', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-producer-state-');
  const topic = 'recovery';
  let broker = await startBroker({ logDirs: logDir });
  const original: { sequence: number; baseOffset: number }[] = [];
  try {
    await broker.replicas.createTopic({
      name: topic,
      partitionCount: 1,
      configs: { 'segment.bytes': '8192' },
    });
    const partition = broker.replicas.partition(topic, 0)!;
    for (let index = 0; index < 60; index += 1) {
      const appended = partition.append(await idempotentBatch(1000, index * 5, 5), 'client');
      await appended.acknowledged;
      original.push({ sequence: index * 5, baseOffset: appended.baseOffset });
    }
    // An open transaction and an aborted one, from two other producers.
    await partition.append(await idempotentBatch(2000, 0, 2, true), 'client').acknowledged;
    await partition.append(await idempotentBatch(3000, 0, 2, true), 'client').acknowledged;
    const marker = await buildControlBatch({
      type: ControlRecordType.ABORT,
      producerId: 3000,
      producerEpoch: 0,
      coordinatorEpoch: 0,
      timestamp: Date.now(),
    });
    await partition.append(marker, 'coordinator').acknowledged;
  } finally {
    await broker.stop();
  }
  const directory = join(logDir, `${topic}-0`);
  const files = await readdir(directory);
  assert.ok(files.filter((name) => name.endsWith('.log')).length > 2, 'the log should have rolled');
  // The clean stop wrote the newest snapshot; without it, recovery starts from one taken at a
  // roll and replays the batch headers after it.
  const snapshots = files.filter((name) => name.endsWith('.snapshot')).sort();
  assert.ok(
    snapshots.length >= 2,
    `expected a roll snapshot and a shutdown snapshot, found ${snapshots.join(' ')}`,
  );
  await unlink(join(directory, snapshots.at(-1)!));

  broker = await startBroker({ logDirs: logDir });
  try {
    const partition = broker.replicas.partition(topic, 0)!;
    const logEndOffset = partition.logEndOffset;
    // The last five batches are retries; each answers with its original offset, nothing is written.
    for (const { sequence, baseOffset } of original.slice(-5)) {
      const retried = partition.append(await idempotentBatch(1000, sequence, 5), 'client');
      assert.equal(retried.baseOffset, baseOffset);
    }
    assert.equal(partition.logEndOffset, logEndOffset);
    await assert.rejects(
      async () => partition.append(await idempotentBatch(1000, 1000, 5), 'client'),
      (error: { kafkaErrorCode?: number }) => error.kafkaErrorCode === 45,
      'a gap after the restart is OUT_OF_ORDER_SEQUENCE_NUMBER',
    );
    const next = partition.append(await idempotentBatch(1000, 300, 5), 'client');
    assert.equal(next.baseOffset, logEndOffset);
    await next.acknowledged;
    // Producer 2000's transaction is still open: the LSO stays at its first offset.
    const openFirstOffset = original.at(-1)!.baseOffset + 5;
    assert.equal(partition.lastStableOffset, openFirstOffset);
    assert.deepEqual(
      partition
        .abortedTransactions(0, partition.highWatermark)
        .map((entry) => [entry.producerId, entry.firstOffset]),
      [[3000, openFirstOffset + 2]],
    );
  } finally {
    await broker.stop();
  }
});
