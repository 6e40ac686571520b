// kafkajs over SASL/SCRAM against a broker with the authorizer on: allowed exactly what the ACLs
// created through CreateAcls grant, refused with its own TOPIC_AUTHORIZATION_FAILED otherwise.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { waitFor } from '../helpers/poll.js';

const { Kafka, logLevel } = kafkajs;

test('kafkajs produces and consumes what its ACLs grant and gets TOPIC_AUTHORIZATION_FAILED elsewhere', async (t) => {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-acl-kafkajs-'));
  const broker = await startBroker({
    logDirs: logDir,
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    settings: {
      'authorizer.enabled': true,
      'super.users': 'User:ANONYMOUS',
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  // Clients leave before the broker stops: kafkajs retries a LeaveGroup to a stopped broker forever.
  const clients: { disconnect(): Promise<void> }[] = [];
  t.after(async () => {
    for (const client of clients.reverse()) await client.disconnect();
    await broker.stop();
    rmSync(logDir, { recursive: true, force: true });
  });
  const plaintext = broker.listeners.find((listener) => listener.name === 'PLAINTEXT')!;
  const sasl = broker.listeners.find((listener) => listener.name === 'SASL_PLAINTEXT')!;
  const superKafka = new Kafka({
    clientId: 'admin',
    brokers: [`127.0.0.1:${plaintext.port}`],
    logLevel: logLevel.NOTHING,
  });
  const admin = superKafka.admin();
  await admin.connect();
  clients.push(admin);
  await new AdminClient({
    bootstrapServer: `127.0.0.1:${plaintext.port}`,
    clientId: 'admin',
    requestTimeoutMs: 10_000,
  }).upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'secret' }] });
  const allow = (resourceType: number, resourceName: string, operation: number) => ({
    resourceType,
    resourceName,
    resourcePatternType: 3,
    principal: 'User:alice',
    host: '*',
    operation,
    permissionType: 3,
  });
  // kafkajs' own enums: TOPIC 2, GROUP 3; READ 3, WRITE 4, DESCRIBE 8.
  await admin.createAcls({
    acl: [allow(2, 'orders', 4), allow(2, 'orders', 3), allow(3, 'orders-group', 3)],
  });
  const described = await admin.describeAcls({
    resourceType: 1,
    resourcePatternType: 1,
    operation: 1,
    permissionType: 1,
  });
  assert.equal(described.resources.length, 2);

  const kafka = new Kafka({
    clientId: 'alice',
    brokers: [`127.0.0.1:${sasl.port}`],
    sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  clients.push(producer);
  await producer.send({ topic: 'orders', messages: [{ value: 'one' }, { value: 'two' }] });
  await assert.rejects(
    producer.send({ topic: 'secret', messages: [{ value: 'nope' }] }),
    (error: Error & { type?: string }) => {
      assert.match(
        `${error.name} ${error.type ?? ''} ${error.message}`,
        /TOPIC_AUTHORIZATION_FAILED|authoriz/i,
      );
      return true;
    },
  );

  const consumer = kafka.consumer({ groupId: 'orders-group' });
  await consumer.connect();
  clients.push(consumer);
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  const consumed: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      consumed.push(message.value!.toString());
    },
  });
  await waitFor(() => consumed.length >= 2, 'two records consumed', { timeoutMs: 30_000 });
  assert.deepEqual(consumed, ['one', 'two']);

  // Revoked, the same producer is refused on its next send.
  await admin.deleteAcls({
    filters: [
      {
        resourceType: 2,
        resourceName: 'orders',
        resourcePatternType: 3,
        principal: 'User:alice',
        host: '*',
        operation: 4,
        permissionType: 3,
      },
    ],
  });
  await assert.rejects(producer.send({ topic: 'orders', messages: [{ value: 'three' }] }));
});
