import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partition } from '../../src/replica/partition.js';
import { ReplicaState } from '../../src/replica/replica-state.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { makeBatch } from '../helpers/storage-batches.js';

async function openPartition(t: { after: (fn: () => Promise<void>) => void }) {
  const directory = mkdtempSync(join(tmpdir(), 'brook-replica-state-'));
  const log = await PartitionLog.open({
    directory,
    config: { ...defaultLogConfig, retentionMs: -1 },
  });
  t.after(async () => {
    await log.close();
    rmSync(directory, { recursive: true, force: true });
  });
  return new Partition('events', 0, log);
}

async function produce(partition: Partition, seed: number) {
  const appended = partition.append(
    await makeBatch({ seed, recordsCount: 2, valueBytes: 50 }),
    'client',
  );
  await appended.acknowledged;
  return appended;
}

test('the high watermark is the minimum over the ISR of the follower fetch offsets and the leader flushed offset', () => {
  let now = 1000;
  const state = new ReplicaState(1, { replicas: [1, 2, 3], isr: [1, 2, 3] }, 0, () => now);
  assert.equal(state.highWatermark(10), 0, 'followers that never fetched hold it');
  state.recordFetch(2, 8, 10);
  assert.equal(state.highWatermark(10), 0);
  state.recordFetch(3, 6, 10);
  assert.equal(state.highWatermark(10), 6);
  assert.equal(state.highWatermark(5), 6, 'never moves backwards');
  state.updateAssignment({ replicas: [1, 2, 3], isr: [1, 2] });
  assert.equal(state.highWatermark(10), 8, 'a follower out of the ISR no longer holds it');
  assert.deepEqual(state.caughtUpFollowers(), [], 'follower 3 is behind the high watermark');
  state.recordFetch(3, 8, 10);
  assert.deepEqual(state.caughtUpFollowers(), [3]);
  now += 30_001;
  state.recordFetch(2, 10, 10);
  assert.deepEqual(state.laggingFollowers(30_000), [], 'follower 2 caught up just now');
  now += 30_001;
  assert.deepEqual(state.laggingFollowers(30_000), [2]);
});

test('an ISR without the leader, or with a broker that is no replica, is a bug', () => {
  assert.throws(() => new ReplicaState(1, { replicas: [1, 2], isr: [2] }, 0), /not in its own ISR/);
  assert.throws(() => new ReplicaState(1, { replicas: [1, 2], isr: [1, 3] }, 0), /not a replica/);
});

test('a replicated partition shows records only once every ISR member has fetched past them', async (t) => {
  const partition = await openPartition(t);
  await produce(partition, 1);
  assert.equal(partition.highWatermark, 2, 'a single broker: the flushed offset');
  await partition.becomeLeader(
    1,
    new ReplicaState(1, { replicas: [1, 2], isr: [1, 2] }, partition.highWatermark),
  );
  assert.equal(partition.leaderEpoch, 1);
  assert.equal(partition.inSyncReplicaCount, 2);
  const appended = await produce(partition, 2);
  assert.equal(partition.highWatermark, 2, 'the follower has not fetched the new records');
  let reached = false;
  const waiting = partition.waitForHighWatermark(appended.lastOffset + 1).then(() => {
    reached = true;
  });
  partition.recordFollowerFetch(2, 3);
  await Promise.resolve();
  assert.equal(reached, false, 'offset 3 is not the end of the batch');
  partition.recordFollowerFetch(2, 4);
  await waiting;
  assert.equal(partition.highWatermark, 4);
});

test('a follower partition caps the leader high watermark at its own flushed offset', async (t) => {
  const partition = await openPartition(t);
  partition.becomeFollower(3);
  assert.equal(partition.highWatermark, 0);
  const batch = await makeBatch({ seed: 1, recordsCount: 4, valueBytes: 20 });
  await partition.appendAsFollower(batch).acknowledged;
  partition.updateLeaderHighWatermark(10);
  assert.equal(partition.highWatermark, 4);
  partition.updateLeaderHighWatermark(2);
  assert.equal(partition.highWatermark, 4, 'a stale answer does not move it back');
});

test('the leadership is confirmed while every other ISR member fetched at this epoch within the window', () => {
  let now = 1000;
  const state = new ReplicaState(1, { replicas: [1, 2, 3], isr: [1, 2, 3] }, 0, () => now);
  assert.equal(state.leadershipConfirmation(1000), 'lapsed', 'nobody has fetched yet');
  state.recordFetch(2, 0, 0, true);
  // A fetch that did not name this leader's epoch confirms nothing.
  state.recordFetch(3, 0, 0, false);
  assert.equal(state.leadershipConfirmation(1000), 'lapsed');
  state.recordFetch(3, 0, 0, true);
  assert.equal(state.leadershipConfirmation(1000), 'confirmed');
  now += 600;
  state.recordFetch(3, 0, 0, true);
  now += 600;
  // Broker 2 last fetched 1200 ms ago: a successor may be leading already.
  assert.equal(state.leadershipConfirmation(1000), 'lapsed');
  // Out of the ISR, it no longer counts; a follower asked into it does.
  state.updateAssignment({ replicas: [1, 2, 3], isr: [1, 3], partitionEpoch: 1 });
  assert.equal(state.leadershipConfirmation(1000), 'confirmed');
  state.expectIsrMembers([2], 1);
  assert.equal(state.leadershipConfirmation(1000), 'lapsed');
  state.updateAssignment({ replicas: [1, 2, 3], isr: [1], partitionEpoch: 2 });
  assert.equal(state.leadershipConfirmation(1000), 'alone');
});
