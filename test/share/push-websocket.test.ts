// WebSocket consumers (issue 12): records, acknowledgements and credits on one socket, driven by
// the `ws` client; an unknown subscription is refused before the upgrade.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';

import type { Broker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';
import {
  type DeliveredRecord,
  type Json,
  PushClient,
  createTopic,
  produce,
  startPushBroker,
} from './push-helpers.js';

/** A WebSocket consumer that keeps every message it is sent. */
class SocketConsumer {
  readonly messages: Json[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  get records(): DeliveredRecord[] {
    return this.messages
      .filter((message) => message.type === 'records')
      .flatMap((message) => message.records as DeliveredRecord[]);
  }

  async waitForRecords(count: number): Promise<DeliveredRecord[]> {
    await waitFor(
      () => this.records.length >= count,
      () => `${count} records, have ${this.records.length}`,
    );
    return this.records;
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  async answer(requestId: string): Promise<Json> {
    return waitFor(
      () => this.messages.find((message) => message.requestId === requestId),
      `the answer to ${requestId}`,
    );
  }

  close(): void {
    this.socket.close();
  }
}

describe('push delivery over WebSocket', () => {
  let broker: Broker;
  let client: PushClient;

  before(async () => {
    broker = await startPushBroker();
    client = new PushClient(broker);
  });
  after(async () => {
    await broker.stop();
  });

  test('records arrive on the socket, acks on it settle them, credits bound what is held', async () => {
    await createTopic(broker, 'socket');
    await client.subscribe('socket-ws', { topic: 'socket', ackTimeoutMs: 600000 });
    await produce(
      broker,
      'socket',
      Array.from({ length: 10 }, (_, index) => ({ value: `s${index}` })),
    );
    const consumer = new SocketConsumer(
      `${client.base.replace('http', 'ws')}/v1/subscriptions/socket-ws/ws?consumer=dave&maxInFlight=4`,
    );
    try {
      await consumer.opened;
      const held = await consumer.waitForRecords(4);
      assert.deepEqual(consumer.messages[0], { type: 'consumer', consumer: 'dave' });
      assert.equal((await client.stats('socket-ws')).inFlight, 4);
      assert.equal(consumer.records.length, 4, 'no more than the credits');

      consumer.send({ type: 'ack', requestId: 'r1', ack: held.map((record) => record.id) });
      const answer = await consumer.answer('r1');
      assert.equal(answer.type, 'acks');
      assert.equal(answer.acknowledged, 4);
      await consumer.waitForRecords(8);
      assert.equal(consumer.records.length, 8);

      // More credits: the rest comes without another acknowledgement.
      consumer.send({ type: 'credits', maxInFlight: 10 });
      await consumer.waitForRecords(10);
      assert.deepEqual(
        consumer.records.map((record) => record.value),
        Array.from({ length: 10 }, (_, index) => `s${index}`),
      );
      consumer.send({ type: 'ack', requestId: 'bad', ack: ['nonsense'] });
      const refused = await consumer.answer('bad');
      assert.equal(refused.type, 'error');
      assert.equal(refused.code, 'invalid-request');
      consumer.send({
        type: 'ack',
        requestId: 'r2',
        ack: consumer.records.slice(4).map((record) => record.id),
      });
      assert.equal((await consumer.answer('r2')).acknowledged, 6);
      assert.equal((await client.stats('socket-ws')).acknowledged, 10);
    } finally {
      consumer.close();
    }
  });

  test('an upgrade for an unknown subscription is refused with its problem status', async () => {
    const consumer = new SocketConsumer(
      `${client.base.replace('http', 'ws')}/v1/subscriptions/nobody/ws`,
    );
    const status = await new Promise<number>((resolve) => {
      consumer.socket.on('unexpected-response', (_request, response) =>
        resolve(response.statusCode ?? 0),
      );
      consumer.socket.on('error', () => undefined);
    });
    assert.equal(status, 404);
    const plain = await client.request('GET', '/v1/subscriptions/nobody/ws');
    assert.equal(plain.body.code, 'upgrade-required');
  });
});
