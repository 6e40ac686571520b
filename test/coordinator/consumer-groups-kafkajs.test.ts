// End to end with kafkajs 2.2.4 against a real broker: rebalancing over a 10-partition topic,
// members leaving and dying, commits surviving a restart, a new group's first record.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { RecordingConsumer, TestBroker, produce } from './kafkajs-helpers.js';
import { waitFor } from '../helpers/poll.js';

const allPartitions = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

describe('consumer groups with kafkajs', () => {
  let broker: TestBroker;

  before(async () => {
    broker = await TestBroker.start();
  });

  after(async () => {
    await broker.destroy();
  });

  it("a brand-new group's first consumer reads the first record without an initial rebalance delay", async (t) => {
    const kafka = broker.kafka('first-record');
    await produce(kafka, 'first-record', 'r', 1, 1);
    // Warm the offsets topic with another group, so the figure below is a group's, not the
    // creation of __consumer_offsets.
    const warm = new RecordingConsumer(kafka, { groupId: 'warm-up' }, 'first-record');
    await warm.start();
    await waitFor(() => warm.received.length === 1, 'the warm-up group to read', {
      timeoutMs: 20_000,
    });
    await warm.consumer.disconnect();

    const consumer = new RecordingConsumer(
      kafka,
      { groupId: 'first-record-group' },
      'first-record',
    );
    await consumer.start();
    await waitFor(() => consumer.received.length === 1, 'the first record', { timeoutMs: 20_000 });
    t.diagnostic(
      `subscribe to first record: ${(consumer.firstRecordAtMs! - consumer.startedAtMs).toFixed(0)} ms`,
    );
    assert.equal(consumer.received[0].value, 'r-0');
    assert.equal(consumer.generations, 1);
    await consumer.consumer.disconnect();
  });

  it('two members split ten partitions; when one leaves the other takes all ten from the committed offsets', async () => {
    const topic = 'split-and-leave';
    const kafka = broker.kafka('split');
    await produce(kafka, topic, 'first', 100);
    const a = new RecordingConsumer(kafka, { groupId: 'split-group' }, topic);
    const b = new RecordingConsumer(kafka, { groupId: 'split-group' }, topic);
    await a.start();
    await b.start();
    try {
      await waitFor(
        () => a.assignment.length === 5 && b.assignment.length === 5,
        'an even split of the ten partitions',
        { timeoutMs: 30_000 },
      );
      assert.deepEqual(
        [...a.assignment, ...b.assignment].sort((x, y) => x - y),
        allPartitions,
      );
      await waitFor(
        () => new Set([...a.values(), ...b.values()]).size === 100,
        'all first-round records',
        { timeoutMs: 30_000 },
      );

      const bPartitions = b.assignment;
      await b.consumer.disconnect(); // LeaveGroup: a rebalances at once
      await waitFor(() => a.assignment.length === 10, 'a to own all ten partitions', {
        timeoutMs: 30_000,
      });

      const admin = kafka.admin();
      await admin.connect();
      const committed = await admin.fetchOffsets({ groupId: 'split-group', topics: [topic] });
      await admin.disconnect();
      for (const partition of committed[0].partitions) assert.equal(partition.offset, '10');

      const readBefore = a.received.length;
      await produce(kafka, topic, 'second', 100);
      await waitFor(
        () =>
          [...a.values(), ...b.values()].filter((value) => value.startsWith('second-')).length ===
          100,
        'all second-round records',
        { timeoutMs: 30_000 },
      );
      // On b's former partitions, a continued from the committed offsets: nothing re-read.
      const takenOver = a.received
        .slice(readBefore)
        .filter((record) => bPartitions.includes(record.partition));
      assert.ok(takenOver.length > 0);
      for (const record of takenOver)
        assert.ok(record.offset >= 10, `re-read offset ${record.offset}`);
    } finally {
      await a.consumer.disconnect();
      await b.consumer.disconnect().catch(() => undefined);
    }
  });

  it('when a member is killed the other owns all ten partitions after the session timeout, with no record lost', async (t) => {
    const topic = 'split-and-die';
    const kafka = broker.kafka('survivor');
    await produce(kafka, topic, 'first', 50);
    const survivor = new RecordingConsumer(
      kafka,
      { groupId: 'die-group', sessionTimeout: 6_000 },
      topic,
    );
    await survivor.start();
    await waitFor(() => survivor.assignment.length === 10, 'the survivor to own the topic alone', {
      timeoutMs: 30_000,
    });

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/coordinator/fixtures/kafkajs-member.ts',
        broker.bootstrapServers,
        'die-group',
        topic,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let childAssignment: number[] = [];
    const childValues = new Set<string>();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { assigned?: number[]; value?: string };
      if (event.assigned !== undefined) childAssignment = event.assigned;
      if (event.value !== undefined) childValues.add(event.value);
    });
    try {
      await waitFor(
        () => survivor.assignment.length === 5 && childAssignment.length === 5,
        'the two members to split the topic',
        { timeoutMs: 40_000 },
      );
      await produce(kafka, topic, 'second', 50);
      child.kill('SIGKILL');
      const killedAtMs = performance.now();
      await waitFor(() => survivor.assignment.length === 10, 'the survivor to take all ten back', {
        timeoutMs: 30_000,
      });
      t.diagnostic(
        `kill to takeover: ${(performance.now() - killedAtMs).toFixed(0)} ms (session timeout 6000 ms)`,
      );
      await produce(kafka, topic, 'third', 50);
      await waitFor(
        () => {
          // Whatever the killed member read without committing is read again by the survivor.
          const values = new Set([...survivor.values(), ...childValues]);
          for (let index = 0; index < 50; index++) {
            if (!values.has(`second-${index}`) || !survivor.values().has(`third-${index}`))
              return false;
          }
          return true;
        },
        'every record after the kill',
        { timeoutMs: 30_000 },
      );
    } finally {
      child.kill('SIGKILL');
      await survivor.consumer.disconnect();
    }
  });

  it('committed offsets survive a broker restart and the group resumes from them', async () => {
    const topic = 'restart-commits';
    let kafka = broker.kafka('restart');
    await produce(kafka, topic, 'before', 30);
    const first = new RecordingConsumer(kafka, { groupId: 'restart-group' }, topic);
    await first.start();
    await waitFor(() => first.received.length === 30, 'all records before the restart', {
      timeoutMs: 30_000,
    });
    await first.consumer.disconnect();

    await broker.stop();
    await broker.startAgain();
    kafka = broker.kafka('restart');

    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: 'restart-group', topics: [topic] });
    await admin.disconnect();
    assert.deepEqual(
      committed[0].partitions.map((partition) => partition.offset),
      Array(10).fill('3'),
    );

    await produce(kafka, topic, 'after', 10);
    const second = new RecordingConsumer(kafka, { groupId: 'restart-group' }, topic);
    await second.start();
    try {
      await waitFor(() => second.received.length >= 10, 'the records after the restart', {
        timeoutMs: 30_000,
      });
      assert.deepEqual(
        [...second.values()].sort(),
        Array.from({ length: 10 }, (_, index) => `after-${index}`).sort(),
      );
    } finally {
      await second.consumer.disconnect();
    }
  });
});
