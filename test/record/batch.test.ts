import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttributeBit,
  BatchField,
  CompressionType,
  RecordError,
  batchBaseOffset,
  batchMaxTimestamp,
  hasValidCrc,
  readInt64,
  setLogAppendTime,
  stampBatch,
  updateBatchCrc,
  validateRecordSet,
  writeInt64,
} from '../../src/record/batch.js';
import {
  buildBatch,
  buildControlBatch,
  ControlRecordType,
  decodeBatch,
  decodeControlRecord,
} from '../../src/record/records.js';

const options = { allowControlBatches: false, maxMessageBytes: 1024 * 1024 };

function expectRecordError(action: () => unknown, kafkaErrorCode: number, pattern: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof RecordError, `expected a RecordError, got ${String(error)}`);
    assert.equal(error.kafkaErrorCode, kafkaErrorCode);
    assert.match(error.message, pattern);
    return true;
  });
}

async function sampleBatch(count = 3): Promise<Buffer> {
  return buildBatch({
    records: Array.from({ length: count }, (_, index) => ({
      key: Buffer.from(`k${index}`),
      value: Buffer.from(`value-${index}`),
      timestamp: 1000 + index,
    })),
  });
}

test('the header fields sit where RecordBatch v2 puts them', async () => {
  const batch = await buildBatch({
    records: [{ key: null, value: Buffer.from('x'), timestamp: 5000 }],
    producerId: 77,
    producerEpoch: 3,
    baseSequence: 9,
    partitionLeaderEpoch: 4,
  });
  assert.equal(batch.readInt32BE(BatchField.batchLength), batch.length - 12);
  assert.equal(batch.readInt8(BatchField.magic), 2);
  assert.equal(batch.readInt32BE(BatchField.partitionLeaderEpoch), 4);
  assert.equal(readInt64(batch, BatchField.producerId), 77);
  assert.equal(batch.readInt16BE(BatchField.producerEpoch), 3);
  assert.equal(batch.readInt32BE(BatchField.baseSequence), 9);
  assert.equal(batch.readInt32BE(BatchField.recordsCount), 1);
  assert.equal(batch.readInt32BE(BatchField.lastOffsetDelta), 0);
  assert.equal(readInt64(batch, BatchField.baseTimestamp), 5000);
  assert.equal(batchMaxTimestamp(batch), 5000);
  assert.ok(hasValidCrc(batch, 0, batch.length));
});

test('int64 helpers round-trip negative and large values', () => {
  const buffer = Buffer.alloc(8);
  for (const value of [-1, 0, 1, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER, -(2 ** 35)]) {
    writeInt64(buffer, 0, value);
    assert.equal(readInt64(buffer, 0), value);
    assert.equal(buffer.readBigInt64BE(0), BigInt(value));
  }
});

test('a record set of several batches validates into one span per batch', async () => {
  const records = Buffer.concat([await sampleBatch(2), await sampleBatch(5)]);
  const spans = validateRecordSet(records, options);
  assert.deepEqual(
    spans.map((span) => [span.recordsCount, span.lastOffsetDelta]),
    [
      [2, 1],
      [5, 4],
    ],
  );
  assert.equal(spans[1].position, spans[0].sizeBytes);
});

test('a flipped bit inside the CRC range is refused as CORRUPT_MESSAGE', async () => {
  const batch = await sampleBatch();
  batch[batch.length - 3] ^= 0x10;
  expectRecordError(() => validateRecordSet(batch, options), 2, /CRC/);
});

test('a batch whose length overruns the record set is refused as CORRUPT_MESSAGE', async () => {
  const batch = await sampleBatch();
  expectRecordError(
    () => validateRecordSet(batch.subarray(0, batch.length - 1), options),
    2,
    /batchLength/,
  );
  expectRecordError(
    () => validateRecordSet(Buffer.concat([batch, Buffer.alloc(20)]), options),
    2,
    /too few/,
  );
  expectRecordError(() => validateRecordSet(Buffer.alloc(0), options), 2, /empty/);
});

test('magic other than 2 is refused as UNSUPPORTED_FOR_MESSAGE_FORMAT', async () => {
  const batch = await sampleBatch();
  batch.writeInt8(1, BatchField.magic);
  expectRecordError(() => validateRecordSet(batch, options), 43, /magic 1/);
});

test('lastOffsetDelta + 1 must equal recordsCount, which must be at least 1', async () => {
  const batch = await sampleBatch(3);
  batch.writeInt32BE(5, BatchField.lastOffsetDelta);
  updateBatchCrc(batch);
  expectRecordError(() => validateRecordSet(batch, options), 87, /lastOffsetDelta/);
  const empty = await sampleBatch(1);
  empty.writeInt32BE(0, BatchField.recordsCount);
  updateBatchCrc(empty);
  expectRecordError(() => validateRecordSet(empty, options), 87, /0 records/);
});

test('control batches from clients are refused; coordinators may write them', async () => {
  const marker = await buildControlBatch({
    type: ControlRecordType.COMMIT,
    producerId: 5,
    producerEpoch: 1,
    coordinatorEpoch: 7,
    timestamp: 10,
  });
  expectRecordError(() => validateRecordSet(marker, options), 87, /control/);
  assert.equal(validateRecordSet(marker, { ...options, allowControlBatches: true }).length, 1);
  const decoded = await decodeBatch(marker);
  assert.ok(decoded.isControl && decoded.isTransactional);
  assert.equal(decoded.baseSequence, -1);
  assert.deepEqual(decodeControlRecord(decoded.records[0]), {
    version: 0,
    type: ControlRecordType.COMMIT,
    coordinatorEpoch: 7,
  });
});

test('a batch larger than max.message.bytes is refused as MESSAGE_TOO_LARGE', async () => {
  const batch = await sampleBatch();
  expectRecordError(
    () => validateRecordSet(batch, { ...options, maxMessageBytes: batch.length - 1 }),
    10,
    /max.message.bytes/,
  );
});

test('an idempotent batch needs a base sequence', async () => {
  const batch = await buildBatch({
    records: [{ key: null, value: Buffer.from('v') }],
    producerId: 9,
    producerEpoch: 0,
    baseSequence: -1,
  });
  expectRecordError(() => validateRecordSet(batch, options), 87, /baseSequence/);
});

test('an unknown codec is refused as UNSUPPORTED_COMPRESSION_TYPE', async () => {
  const batch = await sampleBatch();
  batch.writeInt16BE(6, BatchField.attributes);
  updateBatchCrc(batch);
  expectRecordError(() => validateRecordSet(batch, options), 76, /codec 6/);
});

test('stamping baseOffset and partitionLeaderEpoch keeps the CRC valid', async () => {
  const batch = await sampleBatch();
  const crc = batch.readUInt32BE(BatchField.crc);
  stampBatch(batch, 0, 2 ** 40 + 3, 17);
  assert.equal(batchBaseOffset(batch), 2 ** 40 + 3);
  assert.equal(batch.readInt32BE(BatchField.partitionLeaderEpoch), 17);
  assert.equal(batch.readUInt32BE(BatchField.crc), crc);
  assert.ok(hasValidCrc(batch, 0, batch.length));
});

test('LogAppendTime sets maxTimestamp and the timestamp-type bit and recomputes the CRC', async () => {
  const batch = await sampleBatch();
  setLogAppendTime(batch, 0, batch.length, 123456789);
  assert.equal(batchMaxTimestamp(batch), 123456789);
  assert.ok((batch.readInt16BE(BatchField.attributes) & AttributeBit.logAppendTime) !== 0);
  assert.ok(hasValidCrc(batch, 0, batch.length));
});

test('records decode back to what was built: keys, null values, headers, timestamps, offsets', async () => {
  const batch = await buildBatch({
    baseOffset: 100,
    records: [
      {
        key: Buffer.from('a'),
        value: null,
        timestamp: 2000,
        headers: [
          { key: 'h1', value: Buffer.from('x') },
          { key: 'h2', value: null },
        ],
      },
      { key: null, value: Buffer.alloc(300, 1), timestamp: 1990 },
      { key: Buffer.alloc(0), value: Buffer.from('z'), timestamp: 2_000_000_000_000 },
    ],
  });
  const decoded = await decodeBatch(batch);
  assert.equal(decoded.baseOffset, 100);
  assert.equal(decoded.maxTimestamp, 2_000_000_000_000);
  assert.deepEqual(
    decoded.records.map((record) => [
      record.offset,
      record.timestamp,
      record.key?.toString() ?? null,
      record.value?.length ?? null,
    ]),
    [
      [100, 2000, 'a', null],
      [101, 1990, null, 300],
      [102, 2_000_000_000_000, '', 1],
    ],
  );
  assert.deepEqual(decoded.records[0].headers, [
    { key: 'h1', value: Buffer.from('x') },
    { key: 'h2', value: null },
  ]);
});

test('truncated record bytes are reported as CORRUPT_MESSAGE, not a crash', async () => {
  const batch = await sampleBatch();
  batch.writeInt32BE(batch.readInt32BE(BatchField.recordsCount) + 1, BatchField.recordsCount);
  await assert.rejects(
    decodeBatch(batch),
    (error: unknown) => error instanceof RecordError && error.kafkaErrorCode === 2,
  );
});

test('compressed batches of every codec decode to the same records', async () => {
  for (const compression of Object.values(CompressionType)) {
    const records = Array.from({ length: 50 }, (_, index) => ({
      key: Buffer.from(`key-${index}`),
      value: Buffer.alloc(500, index),
      timestamp: 10_000 + index,
    }));
    const batch = await buildBatch({ records, compression });
    assert.equal(
      batch.readInt16BE(BatchField.attributes) & AttributeBit.compressionMask,
      compression,
    );
    validateRecordSet(batch, options);
    const decoded = await decodeBatch(batch);
    assert.equal(decoded.compression, compression);
    assert.deepEqual(
      decoded.records.map((record) => [
        record.key!.toString(),
        record.value!.equals(Buffer.alloc(500, record.offset)),
        record.timestamp,
      ]),
      records.map((record, index) => [`key-${index}`, true, 10_000 + index]),
    );
    if (compression !== CompressionType.none)
      assert.ok(batch.length < 50 * 500, `codec ${compression} did not compress`);
  }
});
