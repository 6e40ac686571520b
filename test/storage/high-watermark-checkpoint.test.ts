// replication-offset-checkpoint: the interval timer writes it when some log told of a changed high
// watermark (recordHighWatermark, or a truncation below it); it no longer walks every log each
// interval to find out, so both ways of changing one must tell.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultLogConfig } from '../../src/storage/log-config.js';
import { HIGH_WATERMARK_CHECKPOINT, LogManager } from '../../src/storage/log-manager.js';
import { keyedBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

test('the high watermark checkpoint is written when a recorded high watermark moves or a truncation lowers it', async (t) => {
  const directory = temporaryDirectory(t);
  const path = join(directory, HIGH_WATERMARK_CHECKPOINT);
  const manager = await LogManager.open({
    directory,
    topicConfig: () => defaultLogConfig,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
    highWatermarkCheckpointIntervalMs: 20,
  });
  try {
    const logs = await Promise.all(
      Array.from({ length: 20 }, (_, partition) => manager.createLog('replicated', partition)),
    );
    for (const [index, value] of ['a', 'b', 'c'].entries()) {
      const batch = await keyedBatch([{ key: 'k', value, timestamp: 1000 + index }]);
      await logs[3].append(batch, { leaderEpoch: 0, origin: 'client' }).acknowledged;
    }

    logs[3].recordHighWatermark(2);
    await waitFor(
      () => existsSync(path) && readFileSync(path, 'utf8').includes('replicated 3 2\n'),
      'the moved high watermark in the checkpoint',
    );
    // A truncation below the recorded high watermark lowers it, and that is written too.
    await logs[3].truncateTo(1);
    await waitFor(
      () => readFileSync(path, 'utf8').includes('replicated 3 1\n'),
      'the truncated high watermark in the checkpoint',
    );
  } finally {
    await manager.close();
  }
});
