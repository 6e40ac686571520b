// A power loss (the writer killed, then every file cut back to its last fsynced length) loses
// nothing that was acknowledged, and recovery serves nothing torn.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogManager } from '../../src/storage/log-manager.js';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { runAppenderAndKill } from '../helpers/storage-crash.js';
import { testRandom } from '../helpers/random.js';
import { cutToFsyncedLengths, readFsyncJournal } from '../helpers/storage-faulty-io.js';
import { assertAcknowledgedPresent, type Acknowledged } from '../helpers/storage-verify.js';

const ROUNDS = 12;

/** After a clean close everything on disk is durable: the journal starts from the current sizes. */
function seedJournal(journalPath: string, directory: string): void {
  writeFileSync(journalPath, '');
  const visit = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) visit(child);
      else appendFileSync(journalPath, `sync\t${child}\t${statSync(child).size}\n`);
    }
  };
  visit(directory);
}

test('every acknowledged batch survives a simulated power loss at random moments', async (t) => {
  const random = testRandom(t, 'test/storage/crash-power-loss.test.ts');
  const root = mkdtempSync(join(tmpdir(), 'brook-crash-power-'));
  const directory = join(root, 'logs');
  const journalPath = join(root, 'fsync-journal');
  try {
    const allAcknowledged: Acknowledged[] = [];
    let discardedTotal = 0;
    for (let round = 0; round < ROUNDS; round++) {
      seedJournal(journalPath, root);
      const { acknowledged } = await runAppenderAndKill({
        directory,
        seedStart: round * 1_000_000,
        journalPath,
        segmentBytes: 48 * 1024,
        killAfterMs: random.integer(20, 319),
      });
      allAcknowledged.push(...acknowledged);
      discardedTotal += cutToFsyncedLengths(directory, readFsyncJournal(journalPath));
      // The killed child's lock file is stale: the next manager takes it over.
      const manager = await LogManager.open({
        directory,
        defaultConfig: {
          ...defaultLogConfig,
          segmentBytes: 48 * 1024,
          retentionMs: -1,
          indexIntervalBytes: 1024,
        },
        retentionCheckIntervalMs: 0,
        checkpointIntervalMs: 0,
      });
      try {
        const log = manager.getLog('crash', 0);
        assert.ok(log, 'the log survives');
        assert.equal(log.openedCleanly, false);
        await assertAcknowledgedPresent(log, allAcknowledged, 3);
      } finally {
        await manager.close();
      }
    }
    // The simulation must actually have thrown unsynced bytes away, or it proves nothing.
    assert.ok(
      discardedTotal > 0,
      'no unsynced bytes were ever cut: the power loss simulation did nothing',
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
