// Checks a reopened log against what a writer had acknowledged before it died.

import assert from 'node:assert/strict';
import { BatchField, batchSizeBytes, hasValidCrc, readInt64 } from '../../src/record/batch.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { makeBatch, recipeForSeed, stamped } from './storage-batches.js';

export interface Acknowledged {
  baseOffset: number;
  seed: number;
}

/** Every batch from logStartOffset to logEndOffset: contiguous offsets, valid CRCs. Returns them by base offset. */
export async function readWholeLog(log: PartitionLog): Promise<Map<number, Buffer>> {
  const batches = new Map<number, Buffer>();
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { chunks } = await log.read(offset, {
      maxBytes: 1024 * 1024,
      maxOffset: log.logEndOffset,
    });
    assert.ok(
      chunks.length > 0,
      `read at ${offset} returned nothing below the log end offset ${log.logEndOffset}`,
    );
    for (const chunk of chunks) {
      let position = 0;
      while (position < chunk.length) {
        const sizeBytes = batchSizeBytes(chunk, position);
        assert.ok(
          position + sizeBytes <= chunk.length,
          `a torn batch was served at offset ${offset}`,
        );
        assert.ok(
          hasValidCrc(chunk, position, sizeBytes),
          `a batch with a bad CRC was served at offset ${offset}`,
        );
        const baseOffset = readInt64(chunk, position);
        assert.equal(
          baseOffset,
          offset,
          `offsets are not contiguous: expected ${offset}, found ${baseOffset}`,
        );
        batches.set(baseOffset, chunk.subarray(position, position + sizeBytes));
        offset = baseOffset + chunk.readInt32BE(position + BatchField.lastOffsetDelta) + 1;
        position += sizeBytes;
      }
    }
  }
  return batches;
}

/** Every acknowledged batch is in the log, byte for byte as stamped. */
export async function assertAcknowledgedPresent(
  log: PartitionLog,
  acknowledged: Acknowledged[],
  leaderEpoch: number,
): Promise<Map<number, Buffer>> {
  const batches = await readWholeLog(log);
  for (const ack of acknowledged) {
    const stored = batches.get(ack.baseOffset);
    assert.ok(
      stored,
      `acknowledged batch at offset ${ack.baseOffset} (seed ${ack.seed}) is missing; log end ${log.logEndOffset}`,
    );
    const expected = stamped(await makeBatch(recipeForSeed(ack.seed)), ack.baseOffset, leaderEpoch);
    assert.ok(
      stored.equals(expected),
      `batch at offset ${ack.baseOffset} differs from what was acknowledged`,
    );
  }
  return batches;
}
