// librdkafka's transactional producer and read_committed / read_uncommitted consumers against
// Brook: committed and aborted transactions, the last stable offset holding readers while a
// transaction is open, and consume-transform-produce across a broker SIGKILL.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { requireClient } from '../helpers/clients.js';
import {
  CuttingProxy,
  killChildren,
  readStoredRecords,
  runPython,
  startBrokerProcess,
  startPython,
} from './helpers.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

after(killChildren);

type ConsumedRecord = [partition: number, offset: number, value: string];

function valuesOf(records: unknown): string[] {
  return (records as ConsumedRecord[]).map((record) => record[2]).sort();
}

test('read_committed consumers see exactly the committed records; read_uncommitted ones all data records and no markers', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 3 } });
  const topic = 'txn-outcomes';
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 2 });
    const plan = [
      {
        records: [
          [0, 'a1'],
          [1, 'a2'],
          [0, 'a3'],
        ],
        commit: true,
      },
      {
        records: [
          [0, 'b1'],
          [1, 'b2'],
        ],
        commit: false,
      },
      {
        records: [
          [1, 'c1'],
          [0, 'c2'],
        ],
        commit: true,
      },
      { records: [[0, 'd1']], commit: false },
    ];
    const done = (await runPython([
      'transactions',
      broker.bootstrapServers,
      topic,
      'txn-outcomes-1',
      JSON.stringify(plan),
    ])) as { done: number };
    assert.equal(done.done, plan.length);

    const committed = valuesOf(
      await runPython(['consume', broker.bootstrapServers, topic, '2', 'read_committed']),
    );
    assert.deepEqual(committed, ['a1', 'a2', 'a3', 'c1', 'c2']);
    const uncommitted = valuesOf(
      await runPython(['consume', broker.bootstrapServers, topic, '2', 'read_uncommitted']),
    );
    assert.deepEqual(uncommitted, ['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'c2', 'd1']);

    // One marker per partition per transaction, stored as control batches, never as records.
    let controlBatches = 0;
    for (const partition of [0, 1])
      controlBatches += (await readStoredRecords(broker, topic, partition)).controlBatches;
    assert.equal(controlBatches, 2 + 2 + 2 + 1);
    for (const partition of broker.replicas.topic(topic)!.partitions) {
      assert.equal(partition.lastStableOffset, partition.highWatermark, 'no transaction is open');
    }
  } finally {
    await broker.stop();
  }
});

test('an open transaction holds read_committed readers at its first offset until it commits', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 3 } });
  const topic = 'txn-lso';
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    const plan = [
      {
        records: [
          [0, 'x1'],
          [0, 'x2'],
        ],
        commit: true,
      },
      { records: [[0, 'y1']], commit: true, hold: true },
    ];
    const run = startPython(
      ['transactions', broker.bootstrapServers, topic, 'txn-lso-1', JSON.stringify(plan)],
      null,
    );
    const line = await run.lines.next();
    assert.deepEqual(JSON.parse(line.value as string), { holding: true });
    const partition = broker.replicas.partition(topic, 0)!;
    // x1, x2 at 0-1, their marker at 2, y1 at 3: the open transaction starts at 3.
    await waitFor(() => partition.highWatermark === 4, 'y1 to be durable', { timeoutMs: 10_000 });
    assert.equal(partition.lastStableOffset, 3);

    const whileOpen = valuesOf(
      await runPython(['consume', broker.bootstrapServers, topic, '1', 'read_committed']),
    );
    assert.deepEqual(whileOpen, ['x1', 'x2']);
    const uncommittedWhileOpen = valuesOf(
      await runPython(['consume', broker.bootstrapServers, topic, '1', 'read_uncommitted']),
    );
    assert.deepEqual(uncommittedWhileOpen, ['x1', 'x2', 'y1']);

    run.child.stdin!.end('go\n');
    await run.result;
    assert.equal(partition.lastStableOffset, partition.highWatermark);
    assert.equal(partition.highWatermark, 5);
    const afterCommit = valuesOf(
      await runPython(['consume', broker.bootstrapServers, topic, '1', 'read_committed']),
    );
    assert.deepEqual(afterCommit, ['x1', 'x2', 'y1']);
  } finally {
    await broker.stop();
  }
});

test('consume-transform-produce with offsets in the transaction is exactly once across a broker SIGKILL', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const logDir = temporaryDirectory(t, 'brook-ctp-');
  const proxy = new CuttingProxy(0);
  const proxyPort = await proxy.listen();
  let broker = await startBrokerProcess(logDir, 0, proxyPort);
  proxy.upstreamPort = broker.port;
  const bootstrap = `127.0.0.1:${proxyPort}`;
  const count = 1500;
  const partitions = 3;
  try {
    const produced = (await runPython([
      'produce-idempotent',
      bootstrap,
      'ctp-in',
      String(count),
      String(partitions),
    ])) as { ok: number };
    assert.equal(produced.ok, count);
    proxy.produceResponses = 0;
    const run = startPython(
      [
        'transform',
        bootstrap,
        'ctp-in',
        'ctp-out',
        'ctp-group',
        'ctp-txn',
        String(partitions),
        String(count),
      ],
      null,
    );
    await waitFor(
      () => proxy.produceResponses >= 6,
      'transactional produce traffic before the kill',
      { timeoutMs: 60_000 },
    );
    broker.child.kill('SIGKILL');
    await broker.exited;
    broker = await startBrokerProcess(logDir, broker.port, proxyPort);
    const result = (await run.result) as { committed: number; aborted: number };
    assert.equal(result.committed, count);
  } finally {
    broker.child.kill('SIGTERM');
    await broker.exited;
    await proxy.close();
  }

  const verifier = await startBroker({ logDirs: logDir });
  try {
    const output = valuesOf(
      await runPython([
        'consume',
        verifier.bootstrapServers,
        'ctp-out',
        String(partitions),
        'read_committed',
      ]),
    );
    const expected = Array.from({ length: count }, (_, index) => `out-${index}`).sort();
    assert.equal(output.length - new Set(output).size, 0, 'the output holds duplicates');
    assert.deepEqual(output, expected);
    const offsets = (await runPython([
      'committed',
      verifier.bootstrapServers,
      'ctp-group',
      'ctp-in',
      String(partitions),
    ])) as number[];
    const inputEnds = [0, 1, 2].map(
      (partition) => verifier.replicas.partition('ctp-in', partition)!.logEndOffset,
    );
    assert.deepEqual(offsets, inputEnds);
    assert.equal(
      inputEnds.reduce((sum, end) => sum + end, 0),
      count,
    );
  } finally {
    await verifier.stop();
  }
});

test('a transaction open across a broker SIGKILL stays open after the restart, holds read_committed readers, then commits', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const logDir = temporaryDirectory(t, 'brook-txn-kill-');
  const proxy = new CuttingProxy(0);
  const proxyPort = await proxy.listen();
  let broker = await startBrokerProcess(logDir, 0, proxyPort);
  proxy.upstreamPort = broker.port;
  const bootstrap = `127.0.0.1:${proxyPort}`;
  try {
    const plan = [
      {
        records: [
          [0, 'before-1'],
          [1, 'before-2'],
        ],
        commit: true,
      },
      {
        records: [
          [0, 'open-1'],
          [1, 'open-2'],
          [2, 'open-3'],
        ],
        commit: true,
        hold: true,
      },
    ];
    const run = startPython(
      ['transactions', bootstrap, 'txn-kill', 'txn-kill-1', JSON.stringify(plan)],
      null,
    );
    const line = await run.lines.next();
    assert.deepEqual(JSON.parse(line.value as string), { holding: true });
    broker.child.kill('SIGKILL');
    await broker.exited;
    broker = await startBrokerProcess(logDir, broker.port, proxyPort);

    const whileOpen = valuesOf(
      await runPython(['consume', bootstrap, 'txn-kill', '3', 'read_committed']),
    );
    assert.deepEqual(
      whileOpen,
      ['before-1', 'before-2'],
      'the open transaction was recovered and still holds the LSO',
    );
    run.child.stdin!.end('go\n');
    await run.result;
    const afterCommit = valuesOf(
      await runPython(['consume', bootstrap, 'txn-kill', '3', 'read_committed']),
    );
    assert.deepEqual(afterCommit, ['before-1', 'before-2', 'open-1', 'open-2', 'open-3']);
    const everything = valuesOf(
      await runPython(['consume', bootstrap, 'txn-kill', '3', 'read_uncommitted']),
    );
    assert.deepEqual(everything, afterCommit);
  } finally {
    broker.child.kill('SIGTERM');
    await broker.exited;
    await proxy.close();
  }
});
