// A follower's producer-state snapshot describes only what is durable in its log. Snapshots are
// written at a flush after a roll and labelled with the flushed offset; a follower applies the
// batches it copies as it appends them, before they are flushed, so a snapshot that took the
// state as it stood would claim batches a crash may take back, and a broker that later led from
// it would answer a producer's retry of them as a duplicate that is not in its log.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { buildBatch } from '../../src/record/records.js';
import { Partition } from '../../src/replica/partition.js';
import { decodeSnapshot, snapshotFileName } from '../../src/replica/producer-state.js';
import { nodeFileIo } from '../../src/storage/file-io.js';
import { hookedFileIo } from '../helpers/storage-faulty-io.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { crc32c } from '../../src/util/commonjs-packages.js';
import { stamped } from '../helpers/storage-batches.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/** nodeFileIo whose fsyncs of one file wait, while `held`, until `release` is called. */
function gatedFileIo(heldPath: string) {
  let gate: { promise: Promise<void>; open: () => void } | null = null;
  let waiting = 0;
  const io = hookedFileIo({
    async datasync(file, path) {
      if (gate !== null && path.endsWith(heldPath)) {
        waiting += 1;
        await gate.promise;
        waiting -= 1;
      }
      await file.datasync();
    },
  });
  return {
    io,
    hold() {
      let open = (): void => undefined;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = null;
    },
    get waiting() {
      return waiting;
    },
  };
}

async function leaderBatch(baseSequence: number, baseOffset: number): Promise<Buffer> {
  const batch = await buildBatch({
    records: Array.from({ length: 5 }, (_, index) => ({
      key: null,
      value: Buffer.alloc(300, baseSequence + index),
    })),
    producerId: 42,
    producerEpoch: 0,
    baseSequence,
  });
  return stamped(batch, baseOffset, 1);
}

test("a follower's producer snapshot holds no batch past the offset it is written at", async (t) => {
  const directory = join(temporaryDirectory(t, 'brook-follower-snapshot-'), 'events-0');
  // The first batch fills the first segment; the second starts a new one (00000000000000000005.log).
  const gated = gatedFileIo(`${String(5).padStart(20, '0')}.log`);
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, segmentBytes: 2000 },
    io: gated.io,
  });
  try {
    await followThreeBatches(new Partition('events', 0, log), gated, directory);
  } finally {
    await log.close();
  }
});

async function followThreeBatches(
  partition: Partition,
  gated: ReturnType<typeof gatedFileIo>,
  directory: string,
): Promise<void> {
  partition.becomeFollower(1);

  await partition.appendAsFollower(await leaderBatch(0, 0)).acknowledged;
  // The second batch rolls the log; its fsync in the new segment is held.
  gated.hold();
  const second = partition.appendAsFollower(await leaderBatch(5, 5));
  await waitFor(() => gated.waiting > 0, 'the fsync of the new segment to start');
  // Copied while that fsync runs: applied to producer state, not yet durable.
  const third = partition.appendAsFollower(await leaderBatch(10, 10));
  gated.release();
  await second.acknowledged;
  await third.acknowledged;

  // The flush that covered the second batch found the log rolled and wrote a snapshot at 10.
  const path = join(directory, snapshotFileName(10));
  let data: Buffer | null = null;
  await waitFor(async () => (data = await nodeFileIo.readFile(path)) !== null, 'the snapshot');
  const snapshot = decodeSnapshot(data!, crc32c);
  assert.ok(snapshot !== null, 'the snapshot decodes');
  assert.equal(snapshot.offset, 10);
  const producer = snapshot.entries.find((entry) => entry.producerId === 42);
  assert.ok(producer !== undefined, 'the producer is in the snapshot');
  assert.deepEqual(
    producer.batches.map((batch) => [batch.firstSequence, batch.lastOffset]),
    [
      [0, 4],
      [5, 9],
    ],
    'only the batches below offset 10',
  );
}
