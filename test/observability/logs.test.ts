// Structured logs (issue 13): what an operator must know is logged once, at the right level,
// with its component, and the process writes JSON lines (or readable ones on a terminal) at
// log.level.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type Socket, connect } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { defaultLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import {
  type LogFields,
  type LoggerLike,
  createLogger,
  prettyLine,
} from '../../src/util/logger.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

interface Line {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

/** A logger that keeps every line, with child bindings merged as the real one does. */
function capturingLogger(): { logger: LoggerLike; lines: Line[] } {
  const lines: Line[] = [];
  const make = (bindings: LogFields): LoggerLike => {
    const at =
      (level: Line['level']) =>
      (message: string, fields?: LogFields): void => {
        lines.push({ level, message, fields: { ...bindings, ...fields } });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}

async function appendOne(log: PartitionLog, seed: number, valueBytes = 10): Promise<void> {
  await log.append(await makeBatch({ seed, recordsCount: 2, valueBytes }), {
    leaderEpoch: 0,
    origin: 'client',
  }).acknowledged;
}

const config: LogConfig = { ...defaultLogConfig, retentionMs: -1 };

/** A log directory removed once the managers opened on it are closed (after-hooks run in order). */
function logDirectory(t: TestContext): {
  directory: string;
  closeLater: (manager: LogManager) => LogManager;
} {
  const directory = mkdtempSync(join(tmpdir(), 'brook-logs-'));
  const managers: LogManager[] = [];
  t.after(async () => {
    for (const manager of managers) await manager.close().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
  });
  return { directory, closeLater: (manager) => (managers.push(manager), manager) };
}

test('a full disk leaves one error line per log, and one line when appends work again', async (t) => {
  const { directory, closeLater } = logDirectory(t);
  const io = new FaultyFileIo();
  const { logger, lines } = capturingLogger();
  const manager = closeLater(
    await LogManager.open({
      directory,
      io,
      defaultConfig: config,
      retentionCheckIntervalMs: 0,
      logger,
    }),
  );
  const log = await manager.createLog('orders', 0);
  await appendOne(log, 1);

  io.inject({ operation: 'write', pathIncludes: '.log', errorCode: 'ENOSPC', times: 3 });
  for (const seed of [2, 3, 4]) {
    await assert.rejects(appendOne(log, seed), /disk is full/);
    await waitFor(() => log.error === null, 'the log to cut back after ENOSPC', {
      timeoutMs: 5000,
    });
  }
  const errors = lines.filter((line) => line.level === 'error');
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].message, 'disk full: appends to the log are refused');
  assert.equal(errors[0].fields.component, undefined, 'the manager does not name itself');
  assert.equal(errors[0].fields.log, 'orders-0');
  assert.equal(errors[0].fields.code, 'BROOK_STORAGE_FULL');

  await appendOne(log, 5);
  await waitFor(
    () => lines.some((line) => line.message === 'the log accepts appends again'),
    'the recovery line',
    { timeoutMs: 5000 },
  );
  assert.equal(lines.filter((line) => line.level === 'error').length, 1);
});

test('a failed fsync is logged once as a storage error', async (t) => {
  const { directory, closeLater } = logDirectory(t);
  const io = new FaultyFileIo();
  const { logger, lines } = capturingLogger();
  const manager = closeLater(
    await LogManager.open({
      directory,
      io,
      defaultConfig: config,
      retentionCheckIntervalMs: 0,
      logger,
    }),
  );
  const log = await manager.createLog('orders', 0);
  io.inject({ operation: 'datasync', pathIncludes: '.log', errorCode: 'EIO', times: Infinity });
  await assert.rejects(appendOne(log, 1));
  for (const seed of [2, 3]) await assert.rejects(appendOne(log, seed), /refuses appends/);
  const errors = lines.filter((line) => line.level === 'error');
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].message, 'storage error');
  assert.equal(errors[0].fields.errno, 'EIO');
  io.clearFaults();
});

test('recovery after an unclean shutdown logs what was cut away and how long it took', async (t) => {
  const { directory, closeLater } = logDirectory(t);
  const first = await LogManager.open({
    directory,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
  });
  const log = await first.createLog('orders', 0);
  for (const seed of [1, 2, 3]) await appendOne(log, seed);
  await first.close();
  // As after a crash mid-write: no clean-shutdown marker, and half a batch at the tail.
  const partitionDirectory = join(directory, 'orders-0');
  unlinkSync(join(directory, '.clean-shutdown'));
  const segment = readdirSync(partitionDirectory).find((name) => name.endsWith('.log'))!;
  appendFileSync(join(partitionDirectory, segment), Buffer.alloc(37, 7));

  const { logger, lines } = capturingLogger();
  const second = await LogManager.open({
    directory,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
    logger,
  });
  closeLater(second);
  const recovery = lines.filter((line) => line.message.startsWith('recovered'));
  assert.equal(recovery.length, 1, JSON.stringify(lines));
  assert.equal(recovery[0].level, 'warn');
  assert.equal(recovery[0].fields.uncleanLogs, 1);
  assert.equal(recovery[0].fields.truncatedBytes, 37);
  assert.deepEqual(recovery[0].fields.truncated, [{ log: 'orders-0', bytes: 37, segments: 0 }]);
  assert.equal(typeof recovery[0].fields.durationMs, 'number');
  assert.equal(second.getLog('orders', 0)!.logEndOffset, 6);
});

test('a clean open logs no recovery line at info', async (t) => {
  const { directory, closeLater } = logDirectory(t);
  const first = await LogManager.open({
    directory,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
  });
  await appendOne(await first.createLog('orders', 0), 1);
  await first.close();
  const { logger, lines } = capturingLogger();
  const second = await LogManager.open({
    directory,
    defaultConfig: config,
    retentionCheckIntervalMs: 0,
    logger,
  });
  closeLater(second);
  assert.deepEqual(
    lines.filter((line) => line.level !== 'debug'),
    [],
  );
});

test('a retention pass that deletes segments logs one summary line', async (t) => {
  const { directory, closeLater } = logDirectory(t);
  const { logger, lines } = capturingLogger();
  const manager = await LogManager.open({
    directory,
    defaultConfig: { ...config, segmentBytes: 3000, retentionBytes: 7000 },
    retentionCheckIntervalMs: 0,
    logger,
  });
  closeLater(manager);
  for (const partition of [0, 1]) {
    const log = await manager.createLog('orders', partition);
    for (let seed = 1; seed <= 20; seed++) await appendOne(log, seed, 500);
  }
  await manager.runRetention();
  const summaries = lines.filter((line) => line.message === 'retention pass deleted segments');
  assert.equal(summaries.length, 1, JSON.stringify(lines));
  assert.equal(summaries[0].level, 'info');
  assert.equal(summaries[0].fields.logs, 2);
  assert.ok((summaries[0].fields.deletedSegments as number) >= 2);
  assert.ok((summaries[0].fields.deletedBytes as number) > 0);
  await manager.runRetention();
  assert.equal(
    lines.filter((line) => line.message === 'retention pass deleted segments').length,
    1,
    'a pass that deletes nothing is silent',
  );
});

test('topic and config changes and group rebalances are logged with who asked', async (t) => {
  const { logger, lines } = capturingLogger();
  const broker = await startBroker({ logger, settings: { 'group.initial.rebalance.delay.ms': 0 } });
  const kafka = kafkajsClient(broker.bootstrapServers, 'ops-audit');
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId: 'audited-group' });
  // The clients leave before the broker stops (after-hooks run in the order they were added): a
  // kafkajs consumer that outlives its broker retries for ever and keeps the test process alive.
  t.after(async () => {
    await consumer.disconnect();
    await admin.disconnect();
    await broker.stop();
  });
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: 'audited',
        numPartitions: 2,
        configEntries: [{ name: 'retention.ms', value: '60000' }],
      },
    ],
  });
  await admin.createPartitions({ topicPartitions: [{ topic: 'audited', count: 3 }] });
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      { type: 2, name: 'audited', configEntries: [{ name: 'retention.ms', value: '120000' }] },
    ],
  });
  await admin
    .createTopics({ topics: [{ topic: 'audited', numPartitions: 1 }] })
    .catch(() => undefined);

  await consumer.connect();
  await consumer.subscribe({ topic: 'audited' });
  await consumer.run({ eachMessage: async () => undefined });
  await waitFor(
    () =>
      lines.some(
        (line) => line.message === 'group rebalance completed' && line.fields.members === 1,
      ),
    'the rebalance line',
    { timeoutMs: 20_000 },
  );
  await admin.deleteTopics({ topics: ['audited'] });

  const admins = lines.filter((line) => line.fields.component === 'admin');
  assert.deepEqual(
    admins.map((line) => line.message),
    ['topic created', 'partitions added', 'configs changed', 'topic deleted'],
    'one line per change; the refused second create leaves none',
  );
  assert.ok(admins.every((line) => line.level === 'info' && line.fields.clientId === 'ops-audit'));
  assert.deepEqual(admins[0].fields.configs, { 'retention.ms': '60000' });
  assert.equal(admins[0].fields.partitions, 2);
  assert.equal(admins[1].fields.partitions, 3);
  assert.deepEqual(admins[2].fields.configs, { 'retention.ms': '120000' });
  const started = lines.find((line) => line.message === 'group rebalance started');
  assert.equal(started?.fields.component, 'group');
  assert.equal(started?.fields.group, 'audited-group');
});

test('connections refused by max.connections are logged once, not once per connection', async (t) => {
  const { logger, lines } = capturingLogger();
  const broker = await startBroker({ logger, settings: { 'max.connections': 1 } });
  t.after(() => broker.stop());
  const { host, port } = broker.listeners[0];
  const sockets: Socket[] = [];
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(socket));
      socket.once('error', reject);
      sockets.push(socket);
    });
  await open();
  for (let attempt = 0; attempt < 5; attempt++) {
    const socket = await open();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  }
  const refusals = lines.filter((line) => line.message.startsWith('refusing connection'));
  assert.equal(refusals.length, 1, JSON.stringify(refusals));
  assert.equal(refusals[0].level, 'warn');
  assert.equal(refusals[0].fields.component, 'server');
  assert.equal(refusals[0].fields.limit, 'max.connections');
});

test('the logger writes JSON lines at its level, masks secrets, and a readable line for a terminal', () => {
  const written: string[] = [];
  const logger = createLogger({
    level: 'info',
    pretty: false,
    write: (line) => written.push(line),
  });
  const storage = logger.child({ component: 'storage' });
  storage.debug('not at info');
  storage.warn('disk nearly full', { log: 'orders-0', password: 'hunter2' });
  assert.equal(written.length, 1);
  const entry = JSON.parse(written[0]) as LogFields;
  assert.equal(entry.level, 'warn');
  assert.equal(entry.component, 'storage');
  assert.equal(entry.msg, 'disk nearly full');
  assert.equal(entry.log, 'orders-0');
  assert.equal(entry.password, '[redacted]');
  assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT/);

  assert.match(
    prettyLine(written[0]),
    /^\d\d:\d\d:\d\d\.\d{3} WARN {2}storage {2}disk nearly full log=orders-0 password=\[redacted\]\n$/,
  );
  const pretty: string[] = [];
  createLogger({ level: 'debug', pretty: true, write: (line) => pretty.push(line) })
    .child({ component: 'group' })
    .debug('group rebalance started', { group: 'a b' });
  assert.match(pretty[0], / DEBUG group {4}group rebalance started group="a b"\n$/);
});

test('brook start logs JSON lines to stderr at log.level', async (t) => {
  const logDir = temporaryDirectory(t);
  const broker = await startBrokerProcess({ logDir, args: ['--log-level', 'debug'] });
  t.after(() => broker.stop());
  const socket = connect(broker.port, broker.host);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.destroy();
  const line = await waitFor(
    () =>
      broker
        .output()
        .split('\n')
        .find((candidate) => candidate.includes('"connection opened"')),
    'a debug line for the connection',
    { timeoutMs: 10_000 },
  );
  const entry = JSON.parse(line) as LogFields;
  assert.equal(entry.level, 'debug');
  assert.equal(entry.component, 'server');
  assert.equal(entry.pid, broker.child.pid);
});
