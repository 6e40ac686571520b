// cleaner-offset-checkpoint: a compacted log's first dirty offset survives a restart, so the first
// compaction pass after it neither rereads nor rewrites what an earlier pass already compacted.

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type FileIo } from '../../src/storage/file-io.js';
import { hookedFileIo } from '../helpers/storage-faulty-io.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { CLEANER_OFFSET_CHECKPOINT, LogManager } from '../../src/storage/log-manager.js';
import { keyedBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const compacted: LogConfig = {
  ...defaultLogConfig,
  cleanupPolicy: 'compact',
  retentionMs: -1,
  segmentBytes: 1200,
  minCompactionLagMs: 0,
};

/** nodeFileIo, counting the bytes read from each path. */
function countingIo(bytesRead: Map<string, number>): FileIo {
  return hookedFileIo({
    async read(file, path, buffer, offset, length, position) {
      const count = await file.read(buffer, offset, length, position);
      bytesRead.set(path, (bytesRead.get(path) ?? 0) + count);
      return count;
    },
  });
}

test('a restart keeps the cleaner checkpoint: the first pass after it does not reread or rewrite a clean log', async (t) => {
  const directory = temporaryDirectory(t);
  const bytesRead = new Map<string, number>();
  const options = {
    directory,
    io: countingIo(bytesRead),
    topicConfig: () => compacted,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  };
  const manager = await LogManager.open(options);
  const log = await manager.createLog('table', 0);
  for (let index = 0; index < 60; index++) {
    const batch = await keyedBatch([{ key: `k${index % 6}`, value: `v${index}`, timestamp: 1000 }]);
    await log.append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
  }
  const [first] = await manager.runCompaction();
  assert.ok(first.segmentsCleaned > 0, 'the first pass compacted');
  const checkpoint = log.cleanerCheckpoint;
  assert.ok(checkpoint > 0);
  await manager.close();
  assert.match(
    readFileSync(join(directory, CLEANER_OFFSET_CHECKPOINT), 'utf8'),
    new RegExp(`^0\\n1\\ntable 0 ${checkpoint}\\n$`),
  );

  const logDirectory = join(directory, 'table-0');
  const closedSegments = log
    .segmentInfos()
    .filter((segment) => segment.baseOffset < checkpoint)
    .map((segment) => join(logDirectory, `${String(segment.baseOffset).padStart(20, '0')}.log`));
  assert.ok(closedSegments.length > 0);
  const before = closedSegments.map((path) => statSync(path));

  const reopened = await LogManager.open(options);
  assert.equal(reopened.getLog('table', 0)!.cleanerCheckpoint, checkpoint);
  bytesRead.clear();
  const [second] = await reopened.runCompaction();
  assert.equal(second.segmentsCleaned, 0, 'nothing was rewritten');
  for (const [index, path] of closedSegments.entries()) {
    assert.equal(bytesRead.get(path) ?? 0, 0, `${path} was read again`);
    const after = statSync(path);
    assert.equal(after.ino, before[index].ino, `${path} was replaced`);
    assert.equal(after.mtimeMs, before[index].mtimeMs, `${path} was written`);
  }
  await reopened.close();
});
