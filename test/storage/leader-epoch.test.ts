import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { decodeLeaderEpochCheckpoint } from '../../src/storage/leader-epoch-cache.js';
import { makeBatch, stamped } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const config: LogConfig = { ...defaultLogConfig, retentionMs: -1, segmentBytes: 2000 };

async function appendWithEpoch(
  log: PartitionLog,
  seed: number,
  leaderEpoch: number,
): Promise<number> {
  const result = log.append(await makeBatch({ seed, recordsCount: 2, valueBytes: 100 }), {
    leaderEpoch,
    origin: 'client',
  });
  await result.acknowledged;
  return result.baseOffset;
}

test('appends record where each leader epoch starts, in leader-epoch-checkpoint (Kafka format)', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config });
  await appendWithEpoch(log, 1, 0);
  await appendWithEpoch(log, 2, 0);
  await appendWithEpoch(log, 3, 2);
  await appendWithEpoch(log, 4, 5);
  await appendWithEpoch(log, 5, 5);
  assert.deepEqual(log.leaderEpochs(), [
    { epoch: 0, startOffset: 0 },
    { epoch: 2, startOffset: 4 },
    { epoch: 5, startOffset: 6 },
  ]);
  assert.equal(
    readFileSync(join(directory, 'leader-epoch-checkpoint'), 'utf8'),
    '0\n3\n0 0\n2 4\n5 6\n',
  );
  assert.equal(log.latestLeaderEpoch, 5);
  // OffsetForLeaderEpoch, as Kafka answers it.
  assert.deepEqual(log.endOffsetForLeaderEpoch(5), { leaderEpoch: 5, endOffset: 10 });
  assert.deepEqual(log.endOffsetForLeaderEpoch(2), { leaderEpoch: 2, endOffset: 6 });
  assert.deepEqual(log.endOffsetForLeaderEpoch(3), { leaderEpoch: 2, endOffset: 6 });
  assert.deepEqual(log.endOffsetForLeaderEpoch(0), { leaderEpoch: 0, endOffset: 4 });
  assert.deepEqual(log.endOffsetForLeaderEpoch(9), { leaderEpoch: -1, endOffset: -1 });
  await log.close();
  const reopened = await PartitionLog.open({ directory, config });
  assert.deepEqual(
    reopened.leaderEpochs().map((entry) => entry.epoch),
    [0, 2, 5],
  );
  await reopened.close();
});

test('truncation and record deletion trim the leader epoch entries', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config });
  for (let seed = 0; seed < 10; seed++) await appendWithEpoch(log, seed, seed < 5 ? 1 : 3);
  assert.deepEqual(log.leaderEpochs(), [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 10 },
  ]);
  await log.truncateTo(10);
  assert.deepEqual(log.leaderEpochs(), [{ epoch: 1, startOffset: 0 }]);
  // A new leader records its epoch before appending.
  await log.assignLeaderEpoch(4);
  assert.deepEqual(log.endOffsetForLeaderEpoch(1), { leaderEpoch: 1, endOffset: 10 });
  await appendWithEpoch(log, 50, 4);
  await log.deleteRecordsBefore(6);
  assert.deepEqual(log.leaderEpochs(), [
    { epoch: 1, startOffset: 6 },
    { epoch: 4, startOffset: 10 },
  ]);
  assert.deepEqual(
    decodeLeaderEpochCheckpoint(readFileSync(join(directory, 'leader-epoch-checkpoint'))),
    log.leaderEpochs(),
  );
  await log.close();
});

test('replicated batches carry the leader epoch they were written in', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config });
  const records = Buffer.concat([
    stamped(await makeBatch({ seed: 1, recordsCount: 2, valueBytes: 10 }), 0, 7),
    stamped(await makeBatch({ seed: 2, recordsCount: 2, valueBytes: 10 }), 2, 8),
  ]);
  await log.append(records, { leaderEpoch: 99, origin: 'replication' }).acknowledged;
  assert.deepEqual(log.leaderEpochs(), [
    { epoch: 7, startOffset: 0 },
    { epoch: 8, startOffset: 2 },
  ]);
  await log.close();
});

test('after a crash, epochs recorded beyond the recovered log end are dropped', async (t) => {
  const directory = temporaryDirectory(t);
  const log = await PartitionLog.open({ directory, config });
  await appendWithEpoch(log, 1, 1);
  await log.close();
  // As if the checkpoint reached disk but the batches of epoch 2 never did.
  writeFileSync(join(directory, 'leader-epoch-checkpoint'), '0\n2\n1 0\n2 2\n');
  const reopened = await PartitionLog.open({ directory, config });
  assert.deepEqual(reopened.leaderEpochs(), [{ epoch: 1, startOffset: 0 }]);
  assert.equal(readFileSync(join(directory, 'leader-epoch-checkpoint'), 'utf8'), '0\n1\n1 0\n');
  await reopened.close();
});
