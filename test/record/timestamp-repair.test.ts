import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchField,
  CompressionType,
  RecordErrorCode,
  batchMaxTimestamp,
  hasValidCrc,
  updateBatchCrc,
  writeInt64,
} from '../../src/record/batch.js';
import { buildBatch, decodeBatch, recordsMaxTimestamp } from '../../src/record/records.js';
import {
  hasInconsistentMaxTimestamp,
  repairMaxTimestamp,
} from '../../src/record/timestamp-repair.js';

const FIRST_TIMESTAMP_MS = 1_790_000_000_000;

/** What Sarama 1.22 sends: real record timestamps under a header whose maxTimestamp is `headerMax`. */
async function batchWithHeaderMax(compression: number, headerMax: number): Promise<Buffer> {
  const batch = await buildBatch({
    records: [0, 7, 3].map((deltaMs, index) => ({
      key: null,
      value: Buffer.from(`value-${index}`),
      timestamp: FIRST_TIMESTAMP_MS + deltaMs,
    })),
    compression,
  });
  writeInt64(batch, BatchField.maxTimestamp, headerMax);
  updateBatchCrc(batch);
  return batch;
}

for (const [name, codec] of Object.entries(CompressionType)) {
  test(`a ${name} batch whose header says maxTimestamp -1 gets its records' largest timestamp and a valid CRC`, async () => {
    const batch = await batchWithHeaderMax(codec, -1);
    assert.equal(hasInconsistentMaxTimestamp(batch, 0), true);
    const recordsBefore = (await decodeBatch(batch)).records;
    assert.equal(repairMaxTimestamp(batch, 0), FIRST_TIMESTAMP_MS + 7);
    assert.equal(batchMaxTimestamp(batch), FIRST_TIMESTAMP_MS + 7);
    assert.ok(hasValidCrc(batch, 0, batch.length), 'the repaired batch carries a matching CRC');
    assert.equal(hasInconsistentMaxTimestamp(batch, 0), false);
    assert.deepEqual((await decodeBatch(batch)).records, recordsBefore, 'records are untouched');
  });
}

test('a header maxTimestamp below the first timestamp is repaired too', async () => {
  const batch = await batchWithHeaderMax(CompressionType.none, FIRST_TIMESTAMP_MS - 5);
  assert.equal(hasInconsistentMaxTimestamp(batch, 0), true);
  assert.equal(repairMaxTimestamp(batch, 0), FIRST_TIMESTAMP_MS + 7);
  assert.ok(hasValidCrc(batch, 0, batch.length));
});

test('well-formed and LogAppendTime batches do not take the slow path', async () => {
  const wellFormed = await batchWithHeaderMax(CompressionType.none, FIRST_TIMESTAMP_MS + 7);
  assert.equal(hasInconsistentMaxTimestamp(wellFormed, 0), false);
  const logAppendTime = await buildBatch({
    records: [{ key: null, value: Buffer.from('x'), timestamp: FIRST_TIMESTAMP_MS }],
    logAppendTime: true,
    maxTimestamp: -1,
  });
  assert.equal(hasInconsistentMaxTimestamp(logAppendTime, 0), false);
});

test('a batch without timestamps (-1 throughout) keeps its header', async () => {
  const batch = await buildBatch({
    records: [{ key: null, value: Buffer.from('x'), timestamp: -1 }],
  });
  const before = Buffer.from(batch);
  assert.equal(repairMaxTimestamp(batch, 0), -1);
  assert.deepEqual(batch, before);
});

test('a record overrunning its batch is CORRUPT_MESSAGE, not a wrong timestamp', async () => {
  const batch = await batchWithHeaderMax(CompressionType.none, -1);
  // The first record's length varint now claims 63 bytes (zigzag 126), past the batch end.
  batch[61] = 126;
  assert.throws(
    () => recordsMaxTimestamp(batch, 0),
    (error: unknown) =>
      (error as { kafkaErrorCode?: number }).kafkaErrorCode === RecordErrorCode.CORRUPT_MESSAGE,
  );
});
