// A writer killed with SIGKILL at random moments loses nothing it acknowledged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { runAppenderAndKill } from '../helpers/storage-crash.js';
import { testRandom } from '../helpers/random.js';
import { assertAcknowledgedPresent, type Acknowledged } from '../helpers/storage-verify.js';

const ROUNDS = 12;

test('every acknowledged batch survives SIGKILL at random moments, byte for byte, with contiguous offsets', async (t) => {
  const random = testRandom(t, 'test/storage/crash-kill.test.ts');
  const directory = mkdtempSync(join(tmpdir(), 'brook-crash-kill-'));
  try {
    const allAcknowledged: Acknowledged[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { acknowledged, logEndOffsetAtStart } = await runAppenderAndKill({
        directory,
        seedStart: round * 1_000_000,
        journalPath: null,
        segmentBytes: 64 * 1024,
        killAfterMs: random.integer(20, 319),
      });
      assert.ok(acknowledged.every((ack) => ack.baseOffset >= logEndOffsetAtStart));
      allAcknowledged.push(...acknowledged);
      // Reopened without a recovery point: the roll protocol makes scanning the last segment enough.
      const log = await PartitionLog.open({
        directory: join(directory, 'crash-0'),
        config: {
          ...defaultLogConfig,
          segmentBytes: 64 * 1024,
          retentionMs: -1,
          indexIntervalBytes: 1024,
        },
      });
      try {
        assert.equal(log.openedCleanly, false, 'a killed writer leaves no clean-shutdown marker');
        await assertAcknowledgedPresent(log, allAcknowledged, 3);
      } finally {
        await log.close();
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
