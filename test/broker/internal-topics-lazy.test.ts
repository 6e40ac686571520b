// Internal topics open their partitions on first use: an empty broker writes no
// __consumer_offsets or __transaction_state directory, a group or a transactional id creates only
// the partition it hashes to, and a restart reloads state from those partitions.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startBroker } from '../../src/broker.js';
import { offsetsPartitionFor } from '../../src/coordinator/group/group-coordinator.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { RecordingConsumer, TestBroker, produce } from '../coordinator/kafkajs-helpers.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

async function internalDirectories(logDir: string): Promise<string[]> {
  return (await readdir(logDir)).filter((name) => name.startsWith('__')).sort();
}

describe('internal topics opened on first use', () => {
  let broker: TestBroker;

  before(async () => {
    broker = await TestBroker.start();
  });

  after(async () => {
    await broker.destroy();
  });

  it('an empty broker creates no internal partition directory, even after a produce', async () => {
    await produce(broker.kafka('empty'), 'plain', 'p', 3);
    assert.deepEqual(await internalDirectories(broker.logDir), []);
  });

  it('Metadata lists the internal topics whole without opening them; a client reading one opens it', async (t) => {
    const logDir = temporaryDirectory(t, 'brook-internal-listed-');
    const listed = await startBroker({ logDirs: logDir });
    const admin = kafkajsClient(listed.bootstrapServers, 'brook-internal-listed').admin();
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
      assert.equal(topics[0]?.partitions.length, 50);
      const all = await admin.fetchTopicMetadata();
      assert.ok(all.topics.some((topic) => topic.name === '__transaction_state'));
      assert.deepEqual(await internalDirectories(logDir), [], 'Metadata opens nothing');
      // Their configs are described like any topic's (kcat -L, UIs and `brook topics describe` ask).
      const described = await admin.describeConfigs({
        resources: [{ type: 2, name: '__consumer_offsets' }],
        includeSynonyms: false,
      });
      const cleanupPolicy = described.resources[0]?.configEntries.find(
        (entry) => entry.configName === 'cleanup.policy',
      );
      assert.equal(cleanupPolicy?.configValue, 'compact');
      // ListOffsets, as a lag checker reading __consumer_offsets sends it.
      const offsets = await admin.fetchTopicOffsets('__consumer_offsets');
      assert.equal(offsets.length, 50);
      assert.ok(offsets.every((partition) => partition.high === '0'));
      assert.equal((await internalDirectories(logDir)).length, 50);
    } finally {
      await admin.disconnect();
      await listed.stop();
    }
  });

  it('a group creates only its own __consumer_offsets partition, and a restart reloads its offsets', async () => {
    const groupId = 'lazy-group';
    const topic = 'lazy-topic';
    const kafka = broker.kafka('lazy');
    await produce(kafka, topic, 'r', 4);
    const consumer = new RecordingConsumer(kafka, { groupId }, topic);
    await consumer.start();
    await waitFor(() => consumer.received.length === 4, 'four records', { timeoutMs: 30_000 });
    await consumer.consumer.commitOffsets(
      consumer.received.map(({ partition, offset }) => ({
        topic,
        partition,
        offset: String(offset + 1),
      })),
    );
    await consumer.consumer.disconnect();
    assert.deepEqual(await internalDirectories(broker.logDir), [
      `__consumer_offsets-${offsetsPartitionFor(groupId, 50)}`,
    ]);

    await broker.stop();
    await broker.startAgain();
    const admin = broker.kafka('lazy-admin').admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map(committed.partitions.map((p) => [p.partition, p.offset]));
      for (const { partition, offset } of consumer.received) {
        assert.equal(byPartition.get(partition), String(offset + 1), `partition ${partition}`);
      }
    } finally {
      await admin.disconnect();
    }
    // The restart opened the existing partition and created no other.
    assert.deepEqual(await internalDirectories(broker.logDir), [
      `__consumer_offsets-${offsetsPartitionFor(groupId, 50)}`,
    ]);
  });

  it('a committed transaction creates one __transaction_state partition and its records are read', async () => {
    const kafka = broker.kafka('lazy-txn');
    const producer = kafka.producer({
      transactionalId: 'lazy-txn-id',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const transaction = await producer.transaction();
      await transaction.send({ topic: 'lazy-txn-topic', messages: [{ value: 'committed' }] });
      await transaction.commit();
    } finally {
      await producer.disconnect();
    }
    const states = (await internalDirectories(broker.logDir)).filter((name) =>
      name.startsWith('__transaction_state-'),
    );
    assert.equal(states.length, 1, `one partition, got ${states.join(', ')}`);
    const consumer = new RecordingConsumer(
      kafka,
      { groupId: 'lazy-txn-reader', readUncommitted: false },
      'lazy-txn-topic',
    );
    await consumer.start();
    await waitFor(() => consumer.received.length === 1, 'the committed record', {
      timeoutMs: 30_000,
    });
    assert.equal(consumer.received[0].value, 'committed');
    await consumer.consumer.disconnect();
  });
});

describe('startBroker with an invalid setting', () => {
  it('rejects and leaves no temporary directory behind', async (t) => {
    const scratch = temporaryDirectory(t, 'brook-invalid-');
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    try {
      await assert.rejects(startBroker({ settings: { 'num.partitions': 'many' } }));
      assert.deepEqual(await readdir(scratch), []);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });
});
