// Compaction of a topic that holds transactions (a Kafka Streams changelog with exactly-once, for
// one): a record of an aborted transaction must not take its key's place, and neither may one
// of a transaction still open, which may yet abort. Driven through Partition.append and
// cleanLog directly, then read back as stored.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { buildBatch } from '../../src/record/records.js';
import type { Partition } from '../../src/replica/partition.js';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { appendMarker as marker, readStoredRecords } from './helpers.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const topic = 'compacted-transactions';

function keyed(
  records: Array<{ key: string; value: string }>,
  producer?: { producerId: number; baseSequence: number },
): Promise<Buffer> {
  return buildBatch({
    records: records.map(({ key, value }) => ({
      key: Buffer.from(key),
      value: Buffer.from(value),
    })),
    ...(producer === undefined
      ? {}
      : {
          producerId: producer.producerId,
          producerEpoch: 0,
          baseSequence: producer.baseSequence,
          isTransactional: true,
        }),
  });
}

/** Enough non-transactional records under other keys to close the segments written so far. */
async function filler(partition: Partition, round: string): Promise<void> {
  for (let index = 0; index < 8; index += 1) {
    const batch = await keyed([{ key: `filler-${index}`, value: `${round}:${'f'.repeat(1500)}` }]);
    await partition.append(batch, 'client').acknowledged;
  }
}

test('compaction neither lets an aborted or open transaction shadow a committed value nor keeps aborted records', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-txn-compaction-');
  const broker = await startBroker({ logDirs: logDir });
  try {
    await broker.replicas.createTopic({
      name: topic,
      partitionCount: 1,
      configs: { 'cleanup.policy': 'compact', 'segment.bytes': '4096' },
    });
    const partition = broker.replicas.partition(topic, 0)!;
    await partition.append(
      await keyed([{ key: 'k', value: 'committed' }], { producerId: 10, baseSequence: 0 }),
      'client',
    ).acknowledged;
    await marker(partition, 10, true);
    await partition.append(
      await keyed([{ key: 'k', value: 'aborted' }], { producerId: 11, baseSequence: 0 }),
      'client',
    ).acknowledged;
    await marker(partition, 11, false);
    await filler(partition, 'zero');
    const openAt = partition.logEndOffset;
    await partition.append(
      await keyed([{ key: 'k', value: 'open' }], { producerId: 12, baseSequence: 0 }),
      'client',
    ).acknowledged;
    await filler(partition, 'first');
    await filler(partition, 'second');
    assert.equal(
      partition.lastStableOffset,
      openAt,
      'the open transaction holds the last stable offset',
    );
    assert.ok(partition.log.segmentInfos().length >= 3, 'the log should have rolled');

    const first = await cleanLog(partition.log, Date.now());
    const afterFirst = (await readStoredRecords(broker, topic, 0)).records.map((r) => r.value);
    assert.ok(first.segmentsCleaned > 0, 'the segments below the open transaction were cleaned');
    assert.ok(
      afterFirst.includes('committed'),
      `the committed value stays while another may abort: ${afterFirst.filter((v) => v.length < 20).join(' ')}`,
    );
    assert.ok(!afterFirst.includes('aborted'), 'the aborted record is removed');
    assert.ok(afterFirst.includes('open'), 'the open transaction is untouched');
    assert.equal(
      afterFirst.filter((value) => value.startsWith('first:')).length,
      8,
      'records above the last stable offset are not cleaned, though newer ones share their keys',
    );

    // Once the open transaction commits, its value shadows the older one.
    await marker(partition, 12, true);
    await filler(partition, 'third');
    assert.equal(partition.lastStableOffset, partition.highWatermark);
    await cleanLog(partition.log, Date.now());
    const afterSecond = (await readStoredRecords(broker, topic, 0)).records.map((r) => r.value);
    assert.ok(
      !afterSecond.includes('committed'),
      'the committed value is shadowed by the newer committed one',
    );
    assert.ok(afterSecond.includes('open'), 'the newest committed value stays');
    assert.ok(!afterSecond.includes('aborted'));
    assert.equal(afterSecond.filter((value) => value.startsWith('first:')).length, 0);
  } finally {
    await broker.stop();
  }
});
