import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';

import { startBroker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';

const { Kafka, logLevel } = kafkajs;

test("a tenant's topics past their storage quota refuse produce with POLICY_VIOLATION until deletion frees space", async (t) => {
  const quotaBytes = 64 * 1024;
  const broker = await startBroker({
    settings: { 'storage.quota.topic.prefixes': `tenant-a.:${quotaBytes}` },
  });
  t.after(() => broker.stop());
  const kafka = new Kafka({
    clientId: 'storage-quota',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({
    topics: ['tenant-a.one', 'tenant-a.two', 'tenant-b.one'].map((topic) => ({
      topic,
      numPartitions: 1,
    })),
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.after(() => producer.disconnect());
  const value = Buffer.alloc(8 * 1024, 3);
  const send = (topic: string) => producer.send({ topic, acks: 1, messages: [{ value }] });

  // Fill tenant-a through one topic until the broker refuses.
  let refusal: (Error & { type?: string }) | undefined;
  for (let index = 0; index < 20 && refusal === undefined; index++) {
    await send('tenant-a.one').catch((error: Error) => {
      refusal = error;
    });
  }
  assert.ok(refusal !== undefined, 'tenant-a was never refused');
  assert.equal(refusal.type, 'POLICY_VIOLATION');
  // The quota is shared by the tenant's topics, and other tenants are not affected.
  await assert.rejects(send('tenant-a.two'), /POLICY_VIOLATION|policy/i);
  await send('tenant-b.one');

  await admin.deleteTopics({ topics: ['tenant-a.one'] });
  await waitFor(
    () => send('tenant-a.two').then(() => true),
    'tenant-a to accept produce once the topic holding its bytes is deleted',
  );
});
