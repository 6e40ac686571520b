// offsetForTimestamp and maxTimestampOffset checked against a model, with timestamps that go up
// and down between and inside batches, across segments, codecs and a reopen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBatch } from '../../src/record/records.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

test('offsetForTimestamp finds the first record (in offset order) at or after T', async (t) => {
  const directory = temporaryDirectory(t, 'brook-timestamps-');
  const next = random(7);
  const config = {
    ...defaultLogConfig,
    retentionMs: -1,
    segmentBytes: 6000,
    indexIntervalBytes: 700,
  };
  const log = await PartitionLog.open({ directory, config });
  const records: Array<{ offset: number; timestamp: number }> = [];
  let base = 1_000_000;
  for (let index = 0; index < 150; index++) {
    base += Math.floor(next() * 200) - 60;
    const count = 1 + Math.floor(next() * 4);
    const timestamps = Array.from({ length: count }, () => base + Math.floor(next() * 100) - 50);
    const batch = await buildBatch({
      records: timestamps.map((timestamp) => ({
        key: null,
        value: Buffer.alloc(60, index),
        timestamp,
      })),
      compression: Math.floor(next() * 5),
    });
    const result = log.append(batch, { leaderEpoch: 0, origin: 'client' });
    await result.acknowledged;
    timestamps.forEach((timestamp, delta) =>
      records.push({ offset: result.baseOffset + delta, timestamp }),
    );
  }
  assert.ok(log.segmentInfos().length > 3);
  const maximum = Math.max(...records.map((record) => record.timestamp));
  const check = async (subject: PartitionLog): Promise<void> => {
    for (let probe = 0; probe < 200; probe++) {
      const target =
        records[0].timestamp - 100 + Math.floor(next() * (maximum - records[0].timestamp + 200));
      const expected = records.find((record) => record.timestamp >= target) ?? null;
      assert.deepEqual(
        await subject.offsetForTimestamp(target),
        expected,
        `offsetForTimestamp(${target})`,
      );
    }
    const best = subject.maxTimestampOffset();
    assert.equal(best.timestamp, maximum);
    // The offset names the batch holding the largest timestamp (its last offset).
    const holder = records
      .filter((record) => record.timestamp === maximum)
      .map((record) => record.offset);
    assert.ok(
      holder.some((offset) => Math.abs(offset - best.offset) < 4),
      `maxTimestampOffset ${best.offset} is not near ${holder}`,
    );
  };
  await check(log);
  await log.close();
  const reopened = await PartitionLog.open({ directory, config });
  await check(reopened);
  await reopened.close();
});
