// @platformatic/kafka transactions against Brook (AddPartitionsToTxn v3, the flexible versions of
// the other transactional APIs): a committed and an aborted transaction, read back by librdkafka
// with read_committed and read_uncommitted.

import '../helpers/client-platformatic-node20.js';

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Producer } from '@platformatic/kafka';

import { startBroker } from '../../src/broker.js';
import { requireClient } from '../helpers/clients.js';
import { killChildren, runPython } from './helpers.js';

after(killChildren);

type ConsumedRecord = [partition: number, offset: number, value: string];

test('@platformatic/kafka commits and aborts transactions; read_committed readers see only the committed ones', async (t) => {
  if (!requireClient(t, 'confluent-kafka-python')) return;
  const broker = await startBroker({ settings: { 'transaction.state.log.num.partitions': 3 } });
  const topic = 'platformatic-txn';
  const producer = new Producer({
    clientId: 'txn-platformatic',
    bootstrapBrokers: [broker.bootstrapServers],
    transactionalId: 'platformatic-txn-1',
    idempotent: true,
    timeout: 15_000,
    retries: 3,
  });
  try {
    await broker.replicas.createTopic({ name: topic, partitionCount: 2 });
    let transaction = await producer.beginTransaction();
    await transaction.send({
      messages: [
        { topic, partition: 0, value: Buffer.from('p1') },
        { topic, partition: 1, value: Buffer.from('p2') },
      ],
    });
    await transaction.commit();

    transaction = await producer.beginTransaction();
    await transaction.send({ messages: [{ topic, partition: 0, value: Buffer.from('aborted') }] });
    await transaction.abort();

    transaction = await producer.beginTransaction();
    await transaction.send({ messages: [{ topic, partition: 1, value: Buffer.from('p3') }] });
    await transaction.commit();

    const committed = (await runPython([
      'consume',
      broker.bootstrapServers,
      topic,
      '2',
      'read_committed',
    ])) as ConsumedRecord[];
    assert.deepEqual(committed.map((record) => record[2]).sort(), ['p1', 'p2', 'p3']);
    const all = (await runPython([
      'consume',
      broker.bootstrapServers,
      topic,
      '2',
      'read_uncommitted',
    ])) as ConsumedRecord[];
    assert.deepEqual(all.map((record) => record[2]).sort(), ['aborted', 'p1', 'p2', 'p3']);
  } finally {
    await producer.close().catch(() => undefined);
    await broker.stop();
  }
});
