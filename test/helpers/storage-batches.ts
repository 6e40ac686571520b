// Deterministic record batches for storage tests: the same seed always gives the same bytes, so a
// crash test can check that what comes back after a restart is byte for byte what was acknowledged.

import { buildBatch, type RecordInput } from '../../src/record/records.js';
import { batchLastOffset, batchSizeBytes, stampBatch } from '../../src/record/batch.js';

export interface BatchRecipe {
  seed: number;
  recordsCount: number;
  valueBytes: number;
  timestamp?: number;
  compression?: number;
  keyed?: boolean;
}

function valueFor(seed: number, index: number, valueBytes: number): Buffer {
  const value = Buffer.alloc(valueBytes);
  let state = (seed * 2654435761 + index * 40503) >>> 0;
  for (let at = 0; at < valueBytes; at++) {
    state = (state * 1103515245 + 12345) >>> 0;
    value[at] = state >>> 24;
  }
  return value;
}

export async function makeBatch(recipe: BatchRecipe): Promise<Buffer> {
  const timestamp = recipe.timestamp ?? 1_700_000_000_000 + recipe.seed;
  const records: RecordInput[] = [];
  for (let index = 0; index < recipe.recordsCount; index++) {
    records.push({
      key: recipe.keyed === false ? null : Buffer.from(`key-${recipe.seed}-${index}`),
      value: valueFor(recipe.seed, index, recipe.valueBytes),
      timestamp,
    });
  }
  return buildBatch({ records, compression: recipe.compression ?? 0 });
}

/** The bytes the log should hold for a batch once stamped with its offset and leader epoch. */
export function stamped(batch: Buffer, baseOffset: number, leaderEpoch: number): Buffer {
  const copy = Buffer.from(batch);
  stampBatch(copy, 0, baseOffset, leaderEpoch);
  return copy;
}

/** Records with chosen keys and values (null value = tombstone), for compaction tests. */
export async function keyedBatch(
  entries: Array<{ key: string | null; value: string | null; timestamp?: number }>,
  compression = 0,
): Promise<Buffer> {
  return buildBatch({
    records: entries.map((entry) => ({
      key: entry.key === null ? null : Buffer.from(entry.key),
      value: entry.value === null ? null : Buffer.from(entry.value),
      timestamp: entry.timestamp ?? 1_700_000_000_000,
    })),
    compression,
  });
}

/** The batch a crash-test appender writes for `seed`: sizes vary so batches straddle segment ends. */
export function recipeForSeed(seed: number): BatchRecipe {
  return { seed, recordsCount: 1 + (seed % 5), valueBytes: 50 + ((seed * 37) % 1500) };
}

/** The offset after the last batch in `records` (whole batches, at least one). */
export function nextOffsetAfter(records: Buffer): number {
  if (records.length === 0) throw new Error('nextOffsetAfter: no batch in an empty record set');
  let next = 0;
  for (let position = 0; position < records.length; position += batchSizeBytes(records, position))
    next = batchLastOffset(records, position) + 1;
  return next;
}
