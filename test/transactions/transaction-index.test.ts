// The aborted-transaction index on disk: one `<segment base>.txnindex` per segment holding ABORT
// markers, in Kafka's 34-byte entry layout, deleted with its segment, and rebuilt from the log
// when a crash lost it.

import assert from 'node:assert/strict';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { buildBatch } from '../../src/record/records.js';
import { Partition } from '../../src/replica/partition.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { appendMarker } from './helpers.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

const topic = 'txnindex';

interface Entry {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
}

async function transaction(partition: Partition, producerId: number, committed: boolean) {
  const data = await buildBatch({
    records: Array.from({ length: 4 }, () => ({ key: null, value: Buffer.alloc(300, 1) })),
    producerId,
    producerEpoch: 0,
    baseSequence: 0,
    isTransactional: true,
  });
  const appended = partition.append(data, 'client');
  await appended.acknowledged;
  const markerOffset = await appendMarker(partition, producerId, committed);
  return { firstOffset: appended.baseOffset, markerOffset };
}

/** Every `.txnindex` file of the partition directory: segment base offset → its entries. */
async function indexFiles(directory: string): Promise<Map<number, Entry[]>> {
  const files = new Map<number, Entry[]>();
  for (const name of (await readdir(directory)).sort()) {
    if (!name.endsWith('.txnindex')) continue;
    assert.match(name, /^\d{20}\.txnindex$/);
    const data = await readFile(join(directory, name));
    assert.equal(data.length % 34, 0, `${name} holds whole 34-byte entries`);
    const entries: Entry[] = [];
    for (let position = 0; position < data.length; position += 34) {
      assert.equal(data.readInt16BE(position), 0, 'entry version');
      entries.push({
        producerId: Number(data.readBigInt64BE(position + 2)),
        firstOffset: Number(data.readBigInt64BE(position + 10)),
        lastOffset: Number(data.readBigInt64BE(position + 18)),
      });
    }
    files.set(Number(name.slice(0, 20)), entries);
  }
  return files;
}

/** Where each aborted transaction's entry belongs: the segment holding its ABORT marker. */
function expectedFiles(partition: Partition, aborted: Entry[]): Map<number, Entry[]> {
  const expected = new Map<number, Entry[]>();
  for (const entry of aborted) {
    if (entry.lastOffset < partition.logStartOffset) continue;
    const baseOffset = partition.log.segmentBaseOffsetOf(entry.lastOffset);
    expected.set(baseOffset, [...(expected.get(baseOffset) ?? []), entry]);
  }
  return expected;
}

test('aborted transactions are indexed per segment, leave with their segment and are rebuilt after a loss', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-txnindex-');
  const directory = join(logDir, `${topic}-0`);
  const aborted: Entry[] = [];
  let broker = await startBroker({ logDirs: logDir });
  try {
    await broker.replicas.createTopic({
      name: topic,
      partitionCount: 1,
      configs: { 'segment.bytes': '4096' },
    });
    const partition = broker.replicas.partition(topic, 0)!;
    for (let index = 0; index < 24; index += 1) {
      const producerId = 100 + index;
      const committed = index % 3 === 0;
      const { firstOffset, markerOffset } = await transaction(partition, producerId, committed);
      if (!committed) aborted.push({ producerId, firstOffset, lastOffset: markerOffset });
    }
    await partition.log.flush();
    const expected = expectedFiles(partition, aborted);
    assert.ok(expected.size >= 3, `the markers should span several segments (${expected.size})`);
    await waitForFiles(directory, expected);

    // Deleting the records of the first segments takes their index files with them.
    const cut = [...expected.keys()][2];
    await partition.log.deleteRecordsBefore(cut);
    const remaining = expectedFiles(partition, aborted);
    assert.ok(remaining.size < expected.size);
    await waitForFiles(directory, remaining);
  } finally {
    await broker.stop();
  }

  // A crash that lost every index file and the newest snapshot: recovery replays the log and
  // writes them again, and fetches see the same aborted transactions.
  for (const name of await readdir(directory)) {
    if (name.endsWith('.txnindex')) await unlink(join(directory, name));
  }
  const snapshots = (await readdir(directory)).filter((name) => name.endsWith('.snapshot')).sort();
  for (const name of snapshots) await unlink(join(directory, name));
  broker = await startBroker({ logDirs: logDir });
  try {
    const partition = broker.replicas.partition(topic, 0)!;
    await partition.ready;
    const remaining = expectedFiles(partition, aborted);
    await waitForFiles(directory, remaining);
    const fetched = partition
      .abortedTransactions(partition.logStartOffset, partition.logEndOffset)
      .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
    assert.deepEqual(
      fetched,
      [...remaining.values()]
        .flat()
        .map(({ producerId, firstOffset }) => ({ producerId, firstOffset })),
    );
  } finally {
    await broker.stop();
  }
});

/** Index files are written after the markers' flush, in the background: wait for them (bounded). */
async function waitForFiles(directory: string, expected: Map<number, Entry[]>): Promise<void> {
  await waitFor(
    async () => {
      assert.deepEqual(await indexFiles(directory), expected);
      return true;
    },
    'the transaction index files to hold the expected entries',
    { timeoutMs: 10_000 },
  );
}

test('an index write whose fsync failed is completed by the next one without a second copy of its entries', async (t) => {
  const directory = temporaryDirectory(t, 'brook-txnindex-fault-');
  const io = new FaultyFileIo();
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, retentionMs: -1 },
    io,
  });
  try {
    const partition = new Partition(topic, 0, log);
    io.inject({ operation: 'datasync', pathIncludes: '.txnindex', errorCode: 'EIO', times: 1 });
    const first = await transaction(partition, 100, false);
    // The first entry is written, its fsync fails; the next abort's write must not repeat it.
    const firstEntry = {
      producerId: 100,
      firstOffset: first.firstOffset,
      lastOffset: first.markerOffset,
    };
    await waitForFiles(directory, new Map([[0, [firstEntry]]]));
    const second = await transaction(partition, 101, false);
    await waitForFiles(
      directory,
      new Map([
        [
          0,
          [
            firstEntry,
            { producerId: 101, firstOffset: second.firstOffset, lastOffset: second.markerOffset },
          ],
        ],
      ]),
    );
  } finally {
    await log.close();
  }
});
