import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordError } from '../../src/record/batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { makeBatch, nextOffsetAfter } from '../helpers/storage-batches.js';

const config: LogConfig = { ...defaultLogConfig, retentionMs: -1, segmentBytes: 4000 };

/** Opens logs in fresh directories; after the test they are closed, then the directories removed. */
function logOpener(t: { after: (fn: () => Promise<void>) => void }) {
  const directories: string[] = [];
  const logs: PartitionLog[] = [];
  t.after(async () => {
    for (const log of logs) await log.close();
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  });
  return async (name: string, directory?: string) => {
    if (directory === undefined) {
      directory = mkdtempSync(join(tmpdir(), `brook-follower-${name}-`));
      directories.push(directory);
    }
    const log = await PartitionLog.open({ directory, config });
    logs.push(log);
    return log;
  };
}

async function appendAsLeader(log: PartitionLog, seed: number, leaderEpoch: number) {
  const result = log.append(await makeBatch({ seed, recordsCount: 3, valueBytes: 200 }), {
    leaderEpoch,
    origin: 'client',
  });
  await result.acknowledged;
  return result;
}

/** Every batch of the log, read in pieces (a read stops at a segment's end). */
async function readAll(log: PartitionLog): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = await log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset });
    chunks.push(...read.chunks);
    offset = nextOffsetAfter(Buffer.concat(read.chunks));
  }
  return Buffer.concat(chunks);
}

test('a follower append keeps the leader bytes, offsets and epochs, and is flushed by group commit', async (t) => {
  const open = logOpener(t);
  const leader = await open('leader');
  const follower = await open('follower');
  for (let seed = 1; seed <= 12; seed++) await appendAsLeader(leader, seed, seed < 6 ? 0 : 3);

  // Fetch-sized pieces, as a follower would copy them (several segments are crossed).
  while (follower.logEndOffset < leader.logEndOffset) {
    const { chunks } = await leader.read(follower.logEndOffset, {
      maxBytes: 900,
      maxOffset: leader.logEndOffset,
    });
    const logEndOffset = follower.logEndOffset;
    const appended = follower.appendAsFollower(Buffer.concat(chunks));
    assert.equal(appended.baseOffset, logEndOffset, 'the leader offsets, not new ones');
    await appended.acknowledged;
    assert.equal(follower.flushedOffset, appended.lastOffset + 1, 'acknowledged means flushed');
  }
  assert.equal(follower.logEndOffset, leader.logEndOffset);
  assert.ok((await readAll(follower)).equals(await readAll(leader)), 'byte-identical logs');
  assert.deepEqual(follower.leaderEpochs(), leader.leaderEpochs());
  assert.deepEqual(follower.endOffsetForLeaderEpoch(0), leader.endOffsetForLeaderEpoch(0));
});

test('a follower append that does not start at the log end offset is refused and changes nothing', async (t) => {
  const open = logOpener(t);
  const leader = await open('leader');
  const follower = await open('follower');
  for (let seed = 1; seed <= 3; seed++) await appendAsLeader(leader, seed, 0);
  const first = await leader.read(0, { maxBytes: 1, maxOffset: 3 });
  await follower.appendAsFollower(Buffer.concat(first.chunks)).acknowledged;
  assert.equal(follower.logEndOffset, 3);
  const before = await readAll(follower);

  const gap = await leader.read(6, { maxBytes: 1, maxOffset: 9 });
  assert.throws(
    () => follower.appendAsFollower(Buffer.concat(gap.chunks)),
    (error: unknown) =>
      error instanceof RecordError &&
      /starts at offset 6, not at the log end offset 3/.test(error.message),
  );
  assert.throws(() => follower.appendAsFollower(Buffer.concat(first.chunks)), /starts at offset 0/);
  assert.equal(follower.logEndOffset, 3);
  assert.ok((await readAll(follower)).equals(before));
});

test('a divergent follower tail is found by leader epoch, truncated, and replaced by the leader records', async (t) => {
  const open = logOpener(t);
  const leader = await open('leader');
  let follower = await open('follower');
  // Both hold epoch 1's first two batches.
  for (let seed = 1; seed <= 2; seed++) await appendAsLeader(leader, seed, 1);
  await follower.appendAsFollower(
    Buffer.concat((await leader.read(0, { maxBytes: 1 << 20, maxOffset: 6 })).chunks),
  ).acknowledged;
  // The old leader (now the follower) wrote two more batches in epoch 1 that never replicated…
  await appendAsLeader(follower, 100, 1);
  await appendAsLeader(follower, 101, 1);
  // …while the new leader took over in epoch 2 and wrote its own.
  await leader.assignLeaderEpoch(2);
  for (let seed = 3; seed <= 5; seed++) await appendAsLeader(leader, seed, 2);
  assert.equal(follower.logEndOffset, 12);

  // OffsetForLeaderEpoch: the follower's latest epoch, answered by the leader.
  const { leaderEpoch, endOffset } = leader.endOffsetForLeaderEpoch(follower.latestLeaderEpoch);
  assert.deepEqual({ leaderEpoch, endOffset }, { leaderEpoch: 1, endOffset: 6 });
  await follower.truncateTo(Math.min(endOffset, follower.logEndOffset));
  assert.equal(follower.logEndOffset, 6);
  assert.equal(follower.flushedOffset, 6);
  await follower.appendAsFollower(
    Buffer.concat((await leader.read(6, { maxBytes: 1 << 20, maxOffset: 15 })).chunks),
  ).acknowledged;
  assert.ok((await readAll(follower)).equals(await readAll(leader)));
  assert.deepEqual(follower.leaderEpochs(), leader.leaderEpochs());

  // And it survives a restart as it is.
  await follower.close();
  follower = await open('follower', follower.directory);
  assert.equal(follower.logEndOffset, 15);
  assert.ok((await readAll(follower)).equals(await readAll(leader)));
  assert.deepEqual(follower.leaderEpochs(), leader.leaderEpochs());
});
