import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogManager, parseLogDirectoryName } from '../../src/storage/log-manager.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/storage/checkpoint.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

test('log directory names split at the last dash, as Kafka names them', () => {
  assert.deepEqual(parseLogDirectoryName('orders-3'), { topic: 'orders', partition: 3 });
  assert.deepEqual(parseLogDirectoryName('my-topic.v2-10'), {
    topic: 'my-topic.v2',
    partition: 10,
  });
  assert.equal(parseLogDirectoryName('meta'), null);
});

test('checkpoint files use Kafka text format and malformed ones are ignored', () => {
  const encoded = encodeCheckpoint([
    { topic: 'a', partition: 0, offset: 5 },
    { topic: 'b-c', partition: 2, offset: 0 },
  ]);
  assert.equal(encoded.toString(), '0\n2\na 0 5\nb-c 2 0\n');
  assert.deepEqual(decodeCheckpoint(encoded), [
    { topic: 'a', partition: 0, offset: 5 },
    { topic: 'b-c', partition: 2, offset: 0 },
  ]);
  assert.equal(decodeCheckpoint(Buffer.from('0\n3\na 0 5\n')), null);
  assert.equal(decodeCheckpoint(Buffer.from('garbage')), null);
});

test('the manager reopens every partition with its topic config, and deletes logs durably', async (t) => {
  const directory = temporaryDirectory(t);
  const compacted: LogConfig = { ...defaultLogConfig, cleanupPolicy: 'compact', retentionMs: -1 };
  const options = {
    directory,
    defaultConfig: { ...defaultLogConfig, retentionMs: -1 },
    topicConfig: (topic: string) => (topic === '__consumer_offsets' ? compacted : undefined),
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  };
  const manager = await LogManager.open(options);
  for (const [topic, partition] of [
    ['orders', 0],
    ['orders', 1],
    ['__consumer_offsets', 7],
  ] as const) {
    const log = await manager.createLog(topic, partition);
    await log.append(await makeBatch({ seed: partition, recordsCount: 2, valueBytes: 10 }), {
      leaderEpoch: 0,
      origin: 'client',
    }).acknowledged;
  }
  assert.equal(manager.getLog('__consumer_offsets', 7)!.config.cleanupPolicy, 'compact');
  assert.equal(manager.describe().length, 3);
  await manager.close();
  assert.ok(!existsSync(join(directory, '.lock')), 'the lock is released on close');
  assert.equal(
    readFileSync(join(directory, 'recovery-point-offset-checkpoint'), 'utf8'),
    '0\n3\norders 0 2\norders 1 2\n__consumer_offsets 7 2\n',
  );

  const reopened = await LogManager.open(options);
  assert.deepEqual(
    reopened
      .allLogs()
      .map(({ topic, partition, log }) => [topic, partition, log.logEndOffset, log.openedCleanly])
      .sort(),
    [
      ['__consumer_offsets', 7, 2, true],
      ['orders', 0, 2, true],
      ['orders', 1, 2, true],
    ],
  );
  assert.equal(reopened.getLog('__consumer_offsets', 7)!.config.cleanupPolicy, 'compact');
  await reopened.deleteLog('orders', 1);
  assert.ok(!existsSync(join(directory, 'orders-1')));
  await reopened.close();
  const third = await LogManager.open(options);
  assert.equal(third.getLog('orders', 1), undefined);
  assert.equal(third.allLogs().length, 2);
  await third.close();
});

test('a log deletion interrupted by a crash is finished on the next open', async (t) => {
  const directory = temporaryDirectory(t);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(directory, 'orders-0.1700000000000-delete'));
  writeFileSync(
    join(directory, 'orders-0.1700000000000-delete', '00000000000000000000.log'),
    'left over',
  );
  const manager = await LogManager.open({
    directory,
    retentionCheckIntervalMs: 0,
    checkpointIntervalMs: 0,
  });
  assert.equal(manager.allLogs().length, 0);
  assert.ok(!existsSync(join(directory, 'orders-0.1700000000000-delete')));
  await manager.close();
});
