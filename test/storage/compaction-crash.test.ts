// Compaction killed at random moments (SIGKILL, often mid-swap) never loses the newest record of
// a key, never serves a torn batch, and leaves no swap files behind once reopened.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchField, batchSizeBytes, hasValidCrc, readInt64 } from '../../src/record/batch.js';
import { decodeBatch } from '../../src/record/records.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { testRandom } from '../helpers/random.js';

const fixture = fileURLToPath(new URL('./fixtures/compaction-crasher.ts', import.meta.url));
const ROUNDS = 8;
const config = {
  ...defaultLogConfig,
  cleanupPolicy: 'compact' as const,
  retentionMs: -1,
  segmentBytes: 2000,
};

async function runAndKill(
  directory: string,
  first: number,
  killAfterMs: number,
): Promise<Array<{ offset: number; key: string; value: string }>> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, directory, String(first)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acknowledged: Array<{ offset: number; key: string; value: string }> = [];
  let buffered = '';
  let stderr = '';
  let killTimer: NodeJS.Timeout | null = null;
  const safety = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  child.stdout.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, offset, key, value] = line.split(' ');
      if (kind === 'ready' && killTimer === null)
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      if (kind === 'ack') acknowledged.push({ offset: Number(offset), key, value });
    }
  });
  await exited;
  clearTimeout(safety);
  if (killTimer) clearTimeout(killTimer);
  assert.equal(child.signalCode, 'SIGKILL', `the compaction child died on its own: ${stderr}`);
  return acknowledged;
}

test('compaction killed at random moments keeps the newest record of every key', async (t) => {
  const random = testRandom(t, 'test/storage/compaction-crash.test.ts');
  const root = mkdtempSync(join(tmpdir(), 'brook-compaction-crash-'));
  const directory = join(root, 'table-0');
  try {
    const newest = new Map<string, { offset: number; value: string }>();
    let next = 0;
    let acknowledgedTotal = 0;
    let recordsServed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const acknowledged = await runAndKill(directory, next, random.integer(150, 649));
      next += 1_000_000;
      acknowledgedTotal += acknowledged.length;
      for (const ack of acknowledged) newest.set(ack.key, { offset: ack.offset, value: ack.value });
      const log = await PartitionLog.open({ directory, config });
      try {
        assert.ok(
          !readdirSync(directory).some((name) => /\.(cleaned|swap|deleted)$/.test(name)),
          'swap leftovers remain after open',
        );
        const served = new Map<string, { offset: number; value: string | null }>();
        let offset = log.logStartOffset;
        let previous = -1;
        recordsServed = 0;
        while (offset < log.logEndOffset) {
          const { chunks } = await log.read(offset, {
            maxBytes: 1 << 20,
            maxOffset: log.logEndOffset,
          });
          if (chunks.length === 0) break;
          for (const chunk of chunks) {
            for (
              let position = 0;
              position < chunk.length;
              position += batchSizeBytes(chunk, position)
            ) {
              const size = batchSizeBytes(chunk, position);
              assert.ok(
                position + size <= chunk.length && hasValidCrc(chunk, position, size),
                'a torn or corrupt batch was served',
              );
              const batch = await decodeBatch(chunk.subarray(position, position + size));
              for (const record of batch.records) {
                assert.ok(record.offset > previous, `offsets go backwards at ${record.offset}`);
                previous = record.offset;
                recordsServed++;
                served.set(record.key!.toString(), {
                  offset: record.offset,
                  value: record.value?.toString() ?? null,
                });
              }
              offset =
                readInt64(chunk, position) +
                chunk.readInt32BE(position + BatchField.lastOffsetDelta) +
                1;
            }
          }
        }
        for (const [key, expected] of newest) {
          // A record written but killed before its acknowledgement may also survive, and be newer.
          const found = served.get(key);
          assert.ok(
            found && found.offset >= expected.offset,
            `round ${round}: the newest acknowledged record of ${key} (offset ${expected.offset}) is gone`,
          );
          if (found.offset === expected.offset) assert.equal(found.value, expected.value);
          if (found.offset > expected.offset)
            newest.set(key, { offset: found.offset, value: found.value! });
        }
      } finally {
        await log.close();
      }
    }
    assert.ok(
      recordsServed < acknowledgedTotal,
      'compaction never removed anything: the test exercised nothing',
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
