import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress as snappyBlock } from 'snappy';
import { CompressionType } from '../../src/record/batch.js';
import {
  XERIAL_MAGIC,
  compress,
  decompress,
  decompressSync,
} from '../../src/record/compression.js';

const sample = Buffer.concat(
  Array.from({ length: 3000 }, (_, index) => Buffer.from(`record ${index % 97} payload;`)),
);

for (const [name, codec] of Object.entries(CompressionType)) {
  test(`${name} round-trips, asynchronously and synchronously`, async () => {
    const compressed = await compress(codec, sample);
    assert.ok((await decompress(codec, compressed)).equals(sample));
    assert.ok(decompressSync(codec, compressed).equals(sample));
    if (codec !== CompressionType.none) assert.ok(compressed.length < sample.length / 2);
  });
}

test('snappy is written in the xerial framing Kafka uses: magic, versions, length-prefixed blocks', async () => {
  const compressed = await compress(CompressionType.snappy, sample);
  assert.ok(compressed.subarray(0, 8).equals(XERIAL_MAGIC));
  assert.equal(compressed.readInt32BE(8), 1);
  assert.equal(compressed.readInt32BE(12), 1);
  // Chunks of 32 KiB each: more than one for this sample.
  let position = 16;
  let chunks = 0;
  while (position < compressed.length) {
    position += 4 + compressed.readInt32BE(position);
    chunks++;
  }
  assert.equal(position, compressed.length);
  assert.equal(chunks, Math.ceil(sample.length / 32768));
});

test('snappy decoding also accepts a plain unframed block', async () => {
  const block = await snappyBlock(sample);
  assert.ok((await decompress(CompressionType.snappy, block)).equals(sample));
  assert.ok(decompressSync(CompressionType.snappy, block).equals(sample));
});

test('lz4 uses the LZ4 frame format (magic 0x184D2204)', async () => {
  const compressed = await compress(CompressionType.lz4, sample);
  assert.equal(compressed.readUInt32LE(0), 0x184d2204);
});

test('gzip and zstd carry their own magic numbers', async () => {
  assert.equal((await compress(CompressionType.gzip, sample)).readUInt16BE(0), 0x1f8b);
  assert.equal((await compress(CompressionType.zstd, sample)).readUInt32LE(0), 0xfd2fb528);
});

test('garbage in a compressed batch is reported as CORRUPT_MESSAGE', async () => {
  for (const codec of [
    CompressionType.gzip,
    CompressionType.snappy,
    CompressionType.lz4,
    CompressionType.zstd,
  ]) {
    await assert.rejects(
      decompress(codec, Buffer.from('definitely not compressed data')),
      (error: unknown) => {
        return (error as { kafkaErrorCode?: number }).kafkaErrorCode === 2;
      },
    );
  }
});
