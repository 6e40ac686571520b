import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  BatchField,
  RecordError,
  RecordErrorCode,
  updateBatchCrc,
} from '../../src/record/batch.js';
import {
  buildKeyValueBatch,
  readKeyValueRecords,
  type KeyValueRecord,
} from '../../src/record/key-value-batch.js';
import { buildBatch, buildControlBatch, ControlRecordType } from '../../src/record/records.js';

// Batches written by the coordinators' former encoder (coordinator/group/offsets-topic-batches.ts,
// removed when both coordinators moved to this codec), captured from it before it was deleted:
// offset commits, group metadata, tombstones, `__transaction_state` records, and a batch of 70
// records whose offset deltas, key and record lengths cross the one-byte varint limit.
interface GoldenBatch {
  name: string;
  timestampMs: number;
  records: { key: string; value: string | null }[];
  batch: string;
}

const golden = JSON.parse(
  readFileSync(new URL('./fixtures/key-value-batches.json', import.meta.url), 'utf8'),
) as GoldenBatch[];

function recordsOf(entry: GoldenBatch): KeyValueRecord[] {
  return entry.records.map((record) => ({
    key: Buffer.from(record.key, 'hex'),
    value: record.value === null ? null : Buffer.from(record.value, 'hex'),
  }));
}

test('key/value batches are byte-identical to what the coordinators wrote before', () => {
  assert.equal(golden.length, 6);
  for (const entry of golden) {
    const built = buildKeyValueBatch(recordsOf(entry), entry.timestampMs);
    assert.equal(built.toString('hex'), entry.batch, entry.name);
  }
});

test('the golden batches read back as the records they were built from', () => {
  for (const entry of golden) {
    const read = [...readKeyValueRecords(Buffer.from(entry.batch, 'hex'))];
    assert.deepEqual(read, recordsOf(entry), entry.name);
  }
});

test('reading skips control and transactional batches and records without a key', async () => {
  const kept = buildKeyValueBatch([{ key: Buffer.from('kept'), value: Buffer.from('v') }], 5);
  const marker = await buildControlBatch({
    type: ControlRecordType.COMMIT,
    producerId: 9,
    producerEpoch: 0,
    coordinatorEpoch: 0,
    timestamp: 5,
  });
  const transactional = await buildBatch({
    records: [{ key: Buffer.from('transactional'), value: Buffer.from('v') }],
    isTransactional: true,
    producerId: 9,
    producerEpoch: 0,
    baseSequence: 0,
  });
  const keyless = await buildBatch({
    records: [
      { key: null, value: Buffer.from('no key') },
      { key: Buffer.from('tombstone'), value: null },
    ],
  });
  const read = [...readKeyValueRecords(Buffer.concat([marker, kept, transactional, keyless]))];
  assert.deepEqual(read, [
    { key: Buffer.from('kept'), value: Buffer.from('v') },
    { key: Buffer.from('tombstone'), value: null },
  ]);
});

test('a batch with a bad CRC, a bad length or compression is refused as CORRUPT_MESSAGE', async () => {
  const batch = buildKeyValueBatch([{ key: Buffer.from('k'), value: Buffer.from('value') }], 1);
  const flipped = Buffer.from(batch);
  flipped[flipped.length - 2] ^= 0xff;
  const truncated = Buffer.from(batch);
  truncated.writeInt32BE(batch.length, BatchField.batchLength);
  const compressed = await buildBatch({
    records: [{ key: Buffer.from('k'), value: Buffer.from('value') }],
    compression: 1,
  });
  const cases: [Buffer, RegExp][] = [
    [flipped, /fails its CRC-32C/],
    [truncated, /bad length/],
    [compressed, /is compressed/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(
      () => [...readKeyValueRecords(bytes)],
      (error: unknown) =>
        error instanceof RecordError &&
        error.kafkaErrorCode === RecordErrorCode.CORRUPT_MESSAGE &&
        pattern.test(error.message),
    );
  }
  // A record overrunning its batch (CRC made valid again) is refused too.
  const overrun = Buffer.from(batch);
  overrun[61] = 0x7e; // the first record's length varint: 63 bytes, past the batch end
  updateBatchCrc(overrun);
  assert.throws(() => [...readKeyValueRecords(overrun)], RecordError);
});

test('a key/value batch needs at least one record', () => {
  assert.throws(() => buildKeyValueBatch([], 0), /needs records/);
});
