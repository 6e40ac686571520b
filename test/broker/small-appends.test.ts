// Many small produce requests (linger 0, one record each, acks=all) with a consumer long-polling
// the same partition, through real kafkajs clients against an in-process broker whose file I/O is
// observed (FaultyFileIo, no faults): the appends go through the group-commit writer's synchronous
// write (storage/group-commit.ts, "Small groups"; some through the thread pool when it backs off),
// each acknowledgement follows an fdatasync covering it, and the consumer's parked fetch
// (maxWaitTimeInMs far above the wait the test allows) is answered as each record becomes
// durable, so every record arrives, in order, once.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Kafka, logLevel } from 'kafkajs';

import { startBroker } from '../../src/broker.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { waitFor } from '../helpers/poll.js';

const topic = 'small-appends';
const RECORDS = 60;

test('one-record produces are written on the event loop, acknowledged after an fsync, and wake a parked fetch', async (t) => {
  const io = new FaultyFileIo();
  const broker = await startBroker({ logDirs: temporaryDirectory(t), fileIo: io });
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  // A fetch parks for up to a minute when nothing is new: only a wake-up when the high
  // watermark moves brings each record in within the test's wait.
  const consumer = kafka.consumer({ groupId: 'small-appends', maxWaitTimeInMs: 60_000 });
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 1 });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => void received.push(message.value!.toString()),
    });

    const syncWritesBefore = io.syncWriteCount;
    const sent: string[] = [];
    for (let index = 0; index < RECORDS; index++) {
      const value = `record-${index}`;
      const datasyncsBefore = io.datasyncCount;
      await producer.send({ topic, acks: -1, messages: [{ value }] });
      sent.push(value);
      assert.ok(io.datasyncCount > datasyncsBefore, `${value} was acknowledged with no fsync`);
      // One at a time: each record's fetch is parked before it is produced, most of the time.
      await waitFor(
        () => received.length === sent.length,
        () => `${value} to reach the consumer (has ${received.length} of ${sent.length})`,
      );
    }
    assert.deepEqual(received, sent);
    // Not every one: on a busy machine a write that held the loop a millisecond sends the next
    // ones through the thread pool for a second (the back-off), which is timing, not behaviour.
    assert.ok(
      io.syncWriteCount - syncWritesBefore >= 1,
      `no write on the event loop for ${RECORDS} appends`,
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await broker.stop();
  }
});
