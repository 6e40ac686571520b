// Decompression bombs: a compacted topic must look at every record's key, so the broker has to
// decompress what a producer sends. A batch of a few megabytes (or kilobytes) that decompresses
// to hundreds of megabytes is refused with INVALID_RECORD once its records pass
// max.decompression.ratio × max.message.bytes, without the broker ever holding the decompressed
// records: the child broker's peak resident memory (VmHWM) stays far below one bomb's size, and
// the broker keeps serving afterwards.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createGzip } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyBlock } from 'snappy';
import { CompressStream } from 'zstd-napi';

import {
  BATCH_HEADER_BYTES,
  BatchField,
  CompressionType,
  CURRENT_MAGIC,
  LOG_OVERHEAD_BYTES,
  updateBatchCrc,
  writeInt64,
} from '../../src/record/batch.js';
import { buildBatch } from '../../src/record/records.js';
import { XERIAL_MAGIC } from '../../src/record/compression.js';
import type * as generated from '../../src/protocol/generated/index.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { withTemporaryDirectory } from '../helpers/temporary-directory.js';
import { callBroker } from '../helpers/wire-client.js';

const INVALID_RECORD = 87;
const MiB = 1024 * 1024;
/** What one bomb decompresses to. */
const BOMB_BYTES = 256 * MiB;
/** The topic's max.message.bytes (large enough for the snappy bomb, whose ratio is ~21) and ratio. */
const MAX_MESSAGE_BYTES = 16 * MiB;
const DECOMPRESSION_RATIO = 2;
/** How much the broker's peak memory may grow over the whole attack: well under one bomb. */
const PEAK_GROWTH_BYTES_MAX = 128 * MiB;

/**
 * One record of exactly RECORD_BYTES (length varint included): key "k", a value of zeros,
 * offsetDelta 0 so that every record is the same bytes and every codec's blocks repeat.
 */
const RECORD_BYTES = 32 * 1024;
const VALUE_BYTES = RECORD_BYTES - 12;
function zeroRecord(): Buffer {
  const record = Buffer.alloc(RECORD_BYTES);
  let position = 0;
  const varint = (value: number): void => {
    let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
    while (unsigned >= 0x80) {
      record[position++] = (unsigned & 0x7f) | 0x80;
      unsigned >>>= 7;
    }
    record[position++] = unsigned;
  };
  varint(RECORD_BYTES - 3); // the body after this 3-byte varint
  record[position++] = 0; // attributes
  varint(0); // timestampDelta
  varint(0); // offsetDelta
  varint(1);
  record[position++] = 'k'.charCodeAt(0);
  varint(VALUE_BYTES);
  // VALUE_BYTES zeros, then headersCount 0: Buffer.alloc already wrote them.
  assert.equal(position + VALUE_BYTES + 1, RECORD_BYTES);
  return record;
}

async function collect(
  stream: NodeJS.ReadWriteStream,
  record: Buffer,
  count: number,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  for (let index = 0; index < count; index++) {
    if (!stream.write(record)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  await ended;
  return Buffer.concat(parts);
}

/** The records section of a bomb: `count` zero records compressed with `codec`. */
async function bombRecords(codec: number, count: number): Promise<Buffer> {
  const record = zeroRecord();
  switch (codec) {
    case CompressionType.gzip:
      return collect(createGzip({ level: 9 }), record, count);
    case CompressionType.zstd:
      return collect(new CompressStream(), record, count);
    case CompressionType.snappy: {
      // xerial framing, one 32 KiB block per record: every block is the same.
      const block = snappyBlock(record);
      const header = Buffer.alloc(16);
      XERIAL_MAGIC.copy(header);
      header.writeInt32BE(1, 8);
      header.writeInt32BE(1, 12);
      const length = Buffer.alloc(4);
      length.writeInt32BE(block.length);
      return Buffer.concat([
        header,
        ...Array.from({ length: count }, () => [length, block]).flat(),
      ]);
    }
    case CompressionType.lz4: {
      // One LZ4 frame whose every 64 KiB block holds two records; lz4-napi writes the header
      // (and its checksum), the blocks are repeated, then the end mark.
      const pair = Buffer.concat([record, record]);
      const frame = compressFrameSync(pair, { contentChecksum: false, blockChecksums: false });
      const headerBytes = 7 + ((frame[4] & 0x08) !== 0 ? 8 : 0);
      const blockBytes = 4 + (frame.readUInt32LE(headerBytes) % 0x80000000);
      const block = frame.subarray(headerBytes, headerBytes + blockBytes);
      assert.equal(frame.readUInt32LE(headerBytes + blockBytes), 0, 'one block per frame');
      return Buffer.concat([
        frame.subarray(0, headerBytes),
        ...Array.from({ length: count / 2 }, () => block),
        Buffer.alloc(4),
      ]);
    }
    default:
      throw new Error(`no bomb for codec ${codec}`);
  }
}

/** A RecordBatch v2 around `records` (compressed with `codec`) that claims `count` records. */
function batchAround(codec: number, records: Buffer, count: number): Buffer {
  const batch = Buffer.alloc(BATCH_HEADER_BYTES + records.length);
  const now = Date.now();
  writeInt64(batch, BatchField.baseOffset, 0);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD_BYTES, BatchField.batchLength);
  batch.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(CURRENT_MAGIC, BatchField.magic);
  batch.writeInt16BE(codec, BatchField.attributes);
  batch.writeInt32BE(count - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, now);
  writeInt64(batch, BatchField.maxTimestamp, now);
  writeInt64(batch, BatchField.producerId, -1);
  batch.writeInt16BE(-1, BatchField.producerEpoch);
  batch.writeInt32BE(-1, BatchField.baseSequence);
  batch.writeInt32BE(count, BatchField.recordsCount);
  records.copy(batch, BATCH_HEADER_BYTES);
  updateBatchCrc(batch);
  return batch;
}

function peakResidentBytes(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(match, 'VmHWM in /proc status');
  return Number(match[1]) * 1024;
}

async function produce(
  bootstrapServers: string,
  topic: string,
  records: Buffer,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const response = await callBroker<generated.ProduceResponse>(bootstrapServers, 0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const partition = response.responses[0].partitionResponses[0];
  return { errorCode: partition.errorCode, errorMessage: partition.errorMessage ?? null };
}

test('gzip, snappy, lz4 and zstd bombs into a compacted topic are refused within bounded memory, and the broker keeps serving', async () => {
  await withTemporaryDirectory('brook-bomb-', async (logDir) => {
    const broker = await startBrokerProcess({ logDir, timeoutMs: 60_000 });
    try {
      const created = await callBroker<generated.CreateTopicsResponse>(
        broker.bootstrapServers,
        19,
        4,
        {
          topics: [
            {
              name: 'keyed',
              numPartitions: 1,
              replicationFactor: 1,
              assignments: [],
              configs: [
                { name: 'cleanup.policy', value: 'compact' },
                { name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) },
                { name: 'max.decompression.ratio', value: String(DECOMPRESSION_RATIO) },
              ],
            },
          ],
          timeoutMs: 30_000,
          validateOnly: false,
        },
      );
      assert.equal(created.topics[0].errorCode, 0, created.topics[0].errorMessage ?? '');
      // A first keyed gzip batch: the codecs the broker uses are loaded before the baseline.
      const warmUp = await buildBatch({
        records: [{ key: Buffer.from('a'), value: Buffer.from('1') }],
        compression: CompressionType.gzip,
      });
      assert.equal((await produce(broker.bootstrapServers, 'keyed', warmUp)).errorCode, 0);
      const baseline = peakResidentBytes(broker.child.pid!);

      const count = BOMB_BYTES / RECORD_BYTES;
      for (const [name, codec] of [
        ['gzip', CompressionType.gzip],
        ['snappy', CompressionType.snappy],
        ['lz4', CompressionType.lz4],
        ['zstd', CompressionType.zstd],
      ] as const) {
        const bomb = batchAround(codec, await bombRecords(codec, count), count);
        assert.ok(bomb.length < MAX_MESSAGE_BYTES, `the ${name} bomb fits max.message.bytes`);
        const outcome = await produce(broker.bootstrapServers, 'keyed', bomb);
        assert.equal(outcome.errorCode, INVALID_RECORD, `${name}: ${outcome.errorMessage}`);
        assert.match(outcome.errorMessage ?? '', /max\.decompression\.ratio/);
        const growth = peakResidentBytes(broker.child.pid!) - baseline;
        assert.ok(
          growth < PEAK_GROWTH_BYTES_MAX,
          `${name}: the broker's peak memory grew by ${Math.round(growth / MiB)} MiB (bomb ${BOMB_BYTES / MiB} MiB, compressed ${Math.round(bomb.length / 1024)} KiB)`,
        );
      }

      // Still serving, and the topic still takes keyed compressed batches of every codec.
      for (const codec of [
        CompressionType.gzip,
        CompressionType.snappy,
        CompressionType.lz4,
        CompressionType.zstd,
      ]) {
        const batch = await buildBatch({
          records: [{ key: Buffer.from('b'), value: Buffer.alloc(100_000, 7) }],
          compression: codec,
        });
        const outcome = await produce(broker.bootstrapServers, 'keyed', batch);
        assert.equal(outcome.errorCode, 0, `codec ${codec}: ${outcome.errorMessage}`);
      }
      const keyless = await buildBatch({
        records: [{ key: null, value: Buffer.from('x') }],
        compression: CompressionType.zstd,
      });
      assert.equal(
        (await produce(broker.bootstrapServers, 'keyed', keyless)).errorCode,
        INVALID_RECORD,
        'a record without a key is still refused',
      );
    } finally {
      await broker.stop();
    }
  });
});
