// Background work shares the event loop with produce and fetch: compaction, retention and
// recovery read segments in windows (segment.ts) and yield at a bounded interval (pacing.ts)
// instead of running a whole pass in one go. Each test gives one of them work that takes several
// times the bound and checks, with the event loop's own delay histogram (monitorEventLoopDelay),
// that the loop never waited longer than the bound meanwhile. A bound on blocking, not a timed
// test of speed: the work's duration is checked only to be long enough that a pass holding the
// loop would break the bound (with the pacer off and a 1 GiB scan window, each test fails:
// compaction held the loop 0.7-1.2 s, retention 1.9-2.5 s, recovery 3.3-6.1 s).

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { segmentFileName } from '../../src/storage/segment.js';
import { stampBatch } from '../../src/record/batch.js';
import { keyedBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/** The longest the event loop may wait while background work runs. */
const BOUND_MS = 250;

/** Runs `work`, returning its duration and the event loop's longest delay meanwhile, in ms. */
async function measured(work: () => Promise<unknown>): Promise<{ ms: number; delayMaxMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const started = performance.now();
  try {
    await work();
  } finally {
    histogram.disable();
  }
  return { ms: performance.now() - started, delayMaxMs: histogram.max / 1e6 };
}

/**
 * Runs `attempt` (which sets up its work and returns `measured` of it) until the event loop's
 * longest delay stays under the bound, at most three times: work that holds the loop does so in
 * every attempt, while a stall of the shared machine's scheduler seldom hits twice.
 */
async function checkYields(
  what: string,
  attempt: () => Promise<{ ms: number; delayMaxMs: number }>,
): Promise<void> {
  const seen: string[] = [];
  for (let round = 0; round < 3; round++) {
    const result = await attempt();
    assert.ok(
      result.ms > 2 * BOUND_MS,
      `${what} took ${result.ms.toFixed(0)} ms: too little work to tell whether it yields`,
    );
    if (result.delayMaxMs < BOUND_MS) return;
    seen.push(`${result.delayMaxMs.toFixed(0)} ms of ${result.ms.toFixed(0)} ms`);
  }
  assert.fail(
    `the event loop waited longer than ${BOUND_MS} ms while ${what} ran, in every attempt ` +
      `(longest wait of the whole run: ${seen.join(', ')})`,
  );
}

/** Appends `batches` to `log`, up to 100 at a time (they share fsyncs, as producers' do). */
async function appendAll(log: PartitionLog, batches: AsyncIterable<Buffer>): Promise<void> {
  let pending: Array<Promise<unknown>> = [];
  for await (const batch of batches) {
    pending.push(log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged);
    if (pending.length === 100) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
}

/**
 * Writes `<directory>/00000000000000000000.log` as a crash right after the writes would leave it:
 * `count` one-record batches (offsets 0 up), the first `oldCount` stamped with an old time and
 * the rest with now; no index files, no checkpoint, no clean-shutdown marker.
 */
async function crashedSegment(directory: string, count: number, oldCount: number): Promise<void> {
  const old = await keyedBatch([{ key: 'k', value: 'v', timestamp: 1_700_000_000_000 }]);
  const recent = await keyedBatch([{ key: 'k', value: 'v', timestamp: Date.now() }]);
  assert.equal(old.length, recent.length);
  const segment = Buffer.allocUnsafe(old.length * count);
  for (let offset = 0; offset < count; offset++) {
    (offset < oldCount ? old : recent).copy(segment, offset * old.length);
    stampBatch(segment, offset * old.length, offset, 0);
  }
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, segmentFileName(0, '.log')), segment);
}

test('a compaction pass over many records yields to the event loop', async (t) => {
  await checkYields('compaction', async () => {
    const compacted: LogConfig = {
      ...defaultLogConfig,
      cleanupPolicy: 'compact',
      retentionMs: -1,
      segmentBytes: 40 * 1024 * 1024,
      minCompactionLagMs: 0,
    };
    const manager = await LogManager.open({
      directory: temporaryDirectory(t),
      topicConfig: () => compacted,
      retentionCheckIntervalMs: 0,
      checkpointIntervalMs: 0,
    });
    try {
      const log = await manager.createLog('table', 0);
      // 3.2 million small records over 2,000 keys in 40 MiB segments: a pass decodes every
      // record and keeps one in 1,600.
      await appendAll(
        log,
        (async function* () {
          for (let batch = 0; batch < 3200; batch++) {
            yield await keyedBatch(
              Array.from({ length: 1000 }, (_, index) => ({
                key: `key-${index % 2000}`,
                value: `v${batch}-${index}`,
              })),
            );
          }
        })(),
      );
      let cleaned = 0;
      const result = await measured(async () => {
        for (const pass of await manager.runCompaction()) cleaned += pass.segmentsCleaned;
      });
      assert.ok(cleaned > 0, 'the pass compacted segments');
      return result;
    } finally {
      await manager.close();
    }
  });
});

test('retention finding the exact expiry point in a large segment yields to the event loop', async (t) => {
  await checkYields('retention', async () => {
    const directory = temporaryDirectory(t);
    // 1,600,000 one-record batches in one segment, the first 1,400,000 from 2023: retention.ms of a
    // day (by record time) moves the log start to the first recent record, found by reading
    // every batch's timestamp up to it.
    await crashedSegment(join(directory, 'events-0'), 1_600_000, 1_400_000);
    let current: LogConfig = {
      ...defaultLogConfig,
      retentionMs: -1,
      retentionTimestampType: 'record',
    };
    const manager = await LogManager.open({
      directory,
      topicConfig: () => current,
      retentionCheckIntervalMs: 0,
      checkpointIntervalMs: 0,
    });
    try {
      current = { ...current, retentionMs: 24 * 60 * 60 * 1000 };
      manager.updateTopicConfig('events', current);
      const result = await measured(() => manager.runRetention());
      const log = manager.getLog('events', 0)!;
      assert.equal(log.logStartOffset, 1_400_000, 'the old records expired');
      return result;
    } finally {
      await manager.close();
    }
  });
});

test('recovery scanning a large segment after a crash yields to the event loop', async (t) => {
  await checkYields('recovery', async () => {
    const directory = temporaryDirectory(t);
    const count = 1_200_000;
    await crashedSegment(directory, count, 0);
    const config: LogConfig = { ...defaultLogConfig, retentionMs: -1 };
    let reopened: PartitionLog | undefined;
    try {
      const result = await measured(async () => {
        reopened = await PartitionLog.open({ directory, config });
      });
      assert.equal(reopened!.logEndOffset, count, 'recovery kept every record');
      return result;
    } finally {
      await reopened?.close();
    }
  });
});
