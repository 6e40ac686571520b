// librdkafka's idempotent producer against Brook through a proxy that swallows Produce responses
// and cuts the connection: every swallowed batch is sent again, and the log must still hold each
// record exactly once, in order. Then the same with the broker SIGKILLed and restarted mid-run.

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

const partitions = 3;

/** Each partition holds exactly the values i ≡ p (mod partitions), i < count, once each, ascending. */
async function assertExactlyOnceInOrder(
  logDir: string,
  topic: string,
  count: number,
): Promise<void> {
  const broker = await startBroker({ logDirs: logDir });
  try {
    for (let partition = 0; partition < partitions; partition += 1) {
      const { records } = await readStoredRecords(broker, topic, partition);
      const values = records.map((record) => Number(record.value));
      const expected: number[] = [];
      for (let value = partition; value < count; value += partitions) expected.push(value);
      const duplicates = values.length - new Set(values).size;
      assert.equal(duplicates, 0, `partition ${partition} holds ${duplicates} duplicate records`);
      assert.deepEqual(values, expected, `partition ${partition} lost or reordered records`);
    }
  } finally {
    await broker.stop();
  }
}

test('an idempotent producer whose produce responses are cut writes every record once, in order', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const logDir = temporaryDirectory(t, 'brook-idempotent-');
  const proxy = new CuttingProxy(7);
  const proxyPort = await proxy.listen();
  const broker = await startBroker({
    logDirs: logDir,
    settings: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}` },
  });
  proxy.upstreamPort = broker.listeners[0].port;
  const topic = 'idempotent-cut';
  const count = 3000;
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: partitions });
    const result = (await runPython([
      'produce-idempotent',
      `127.0.0.1:${proxyPort}`,
      topic,
      String(count),
      String(partitions),
    ])) as {
      ok: number;
      errors: string[];
      unflushed: number;
    };
    assert.deepEqual(result.errors, []);
    assert.equal(result.ok, count);
    assert.ok(proxy.cuts > 0, 'the proxy never cut a connection after a produce');
  } finally {
    await broker.stop();
    await proxy.close();
  }
  await assertExactlyOnceInOrder(logDir, topic, count);
});

test('an idempotent producer keeps exactly-once order across a broker SIGKILL and restart', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const logDir = temporaryDirectory(t, 'brook-idempotent-kill-');
  const proxy = new CuttingProxy(11);
  const proxyPort = await proxy.listen();
  // Small segments: producer state is recovered from a snapshot taken at a roll plus the tail.
  const smallSegments = ['--log-segment-bytes', '65536'];
  let broker = await startBrokerProcess(logDir, 0, proxyPort, smallSegments);
  proxy.upstreamPort = broker.port;
  const topic = 'idempotent-kill';
  const count = 6000;
  try {
    // The topic is created by the producer's metadata request (auto-create), on the child broker.
    const run = startPython(
      ['produce-idempotent', `127.0.0.1:${proxyPort}`, topic, String(count), String(partitions)],
      null,
    );
    await waitFor(() => proxy.produceResponses >= 40, 'produce traffic before the kill', {
      timeoutMs: 60_000,
    });
    broker.child.kill('SIGKILL');
    await broker.exited;
    broker = await startBrokerProcess(logDir, broker.port, proxyPort, smallSegments);
    const result = (await run.result) as { ok: number; errors: string[] };
    assert.deepEqual(result.errors, []);
    assert.equal(result.ok, count);
  } finally {
    broker.child.kill('SIGTERM');
    await broker.exited;
    await proxy.close();
  }
  await assertExactlyOnceInOrder(logDir, topic, count);
});
