// Reads checked against a model of the log on random layouts: batch sizes below and far above the
// read window, small segments and index intervals, with and without the tail cache.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

interface ModelBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
}

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

function expectedRead(
  model: ModelBatch[],
  offset: number,
  maxBytes: number,
  maxOffset: number,
  minOneBatch: boolean,
): ModelBatch[] {
  const result: ModelBatch[] = [];
  let total = 0;
  for (const batch of model) {
    if (batch.lastOffset < offset) continue;
    if (batch.lastOffset >= maxOffset) break;
    if (total + batch.bytes.length > maxBytes && !(total === 0 && minOneBatch)) break;
    result.push(batch);
    total += batch.bytes.length;
  }
  return result;
}

for (const layoutSeed of [11, 12, 13, 14]) {
  test(`reads match the model of the log (layout seed ${layoutSeed})`, async (t) => {
    const directory = temporaryDirectory(t, 'brook-read-model-');
    const next = random(layoutSeed);
    const tailCacheBytes = layoutSeed % 2 === 0 ? 0 : 64 * 1024;
    const log = await PartitionLog.open({
      directory,
      config: {
        ...defaultLogConfig,
        retentionMs: -1,
        segmentBytes: 20_000 + Math.floor(next() * 60_000),
        indexIntervalBytes: Math.floor(next() * 3000),
      },
      tailCacheBytes,
    });
    const model: ModelBatch[] = [];
    for (let index = 0; index < 120; index++) {
      const large = next() < 0.1;
      const batch = await makeBatch({
        seed: layoutSeed * 1000 + index,
        recordsCount: 1 + Math.floor(next() * 4),
        valueBytes: large ? 8000 + Math.floor(next() * 8000) : 20 + Math.floor(next() * 400),
      });
      const result = log.append(batch, { leaderEpoch: 0, origin: 'client' });
      await result.acknowledged;
      model.push({ baseOffset: result.baseOffset, lastOffset: result.lastOffset, bytes: batch });
    }
    assert.ok(log.segmentInfos().length > 2);
    const end = log.logEndOffset;
    for (let probe = 0; probe < 300; probe++) {
      const offset = Math.floor(next() * (end + 1));
      const maxOffset = offset + Math.floor(next() * (end - offset + 1));
      const maxBytes = Math.floor(next() * 40_000);
      const minOneBatch = next() < 0.8;
      const expected = expectedRead(model, offset, maxBytes, maxOffset, minOneBatch);
      const { chunks, byteLength } = await log.read(offset, { maxBytes, maxOffset, minOneBatch });
      const served = Buffer.concat(chunks);
      assert.equal(served.length, byteLength);
      const context = `read(${offset}, maxBytes ${maxBytes}, maxOffset ${maxOffset}, minOneBatch ${minOneBatch})`;
      if (expected.length === 0) {
        assert.equal(byteLength, 0, `${context} should be empty`);
        continue;
      }
      // One read may stop at a segment end: it returns a non-empty prefix of the expected batches.
      let position = 0;
      let count = 0;
      while (position < served.length) {
        assert.ok(count < expected.length, `${context} returned more batches than expected`);
        const batch = expected[count];
        assert.ok(
          served.subarray(position, position + batch.bytes.length).equals(batch.bytes),
          `${context}: batch ${count} differs`,
        );
        position += batch.bytes.length;
        count++;
      }
      assert.ok(count >= 1, `${context} returned nothing; expected ${expected.length} batch(es)`);
    }
    await log.close();
  });
}
