// WebSocket consumers (issue 12): records, acknowledgements and credits on one socket, driven by
// the `ws` client; a socket that stops reading stops receiving, and what it did not take goes to
// another consumer; an unknown subscription is refused before the upgrade.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Socket } from 'node:net';

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

  test('a socket that stops reading stops receiving; another consumer gets the rest, and what it held once its locks expire', async () => {
    await createTopic(broker, 'stalled');
    await client.subscribe('stalled-ws', {
      topic: 'stalled',
      ackTimeoutMs: 15_000,
      maxInFlight: 100000,
    });
    const stalled = new SocketConsumer(
      `${client.base.replace('http', 'ws')}/v1/subscriptions/stalled-ws/ws?consumer=stuck`,
    );
    const total = 4000;
    try {
      await stalled.opened;
      // The client stops reading: its TCP socket is paused, so what the broker sends piles up in
      // the kernel's buffers and then in the broker's.
      (stalled.socket as unknown as { _socket: Socket })._socket.pause();
      const value = 'x'.repeat(10_000);
      for (let first = 0; first < total; first += 50)
        await produce(
          broker,
          'stalled',
          Array.from({ length: 50 }, (_, index) => ({ value: `${first + index}:${value}` })),
        );
      // What the stalled socket holds stops growing far short of everything (40 MB produced).
      let held = -1;
      await waitFor(
        async () => {
          const now = (await client.stats('stalled-ws')).inFlight;
          const settled = now === held && now > 0;
          held = now;
          return settled;
        },
        'the stalled socket to stop taking records',
        { intervalMs: 500 },
      );
      assert.ok(held < total / 2, `the stalled socket holds ${held} of ${total} records`);

      const reader = client.events('stalled-ws');
      try {
        // Another consumer takes the rest, acknowledging as it goes: first up to the window
        // (share.partition.max.record.locks records from the oldest unsettled one), then, once
        // the stalled socket's locks expire, what it held (delivery count 2) and the rest.
        let acknowledged = 0;
        const ids = new Set<string>();
        await waitFor(
          async () => {
            const got = reader.records.length;
            if (got > acknowledged) {
              const fresh = reader.records.slice(acknowledged, got).map((record) => record.id);
              await client.acks('stalled-ws', { ack: fresh });
              for (const id of fresh) ids.add(id);
              acknowledged = got;
            }
            return ids.size >= total;
          },
          () => `all ${total} records beside the stalled socket, have ${ids.size}`,
          { timeoutMs: 90_000, intervalMs: 100 },
        );
        const { records } = reader;
        assert.equal(records.length, total, 'each record delivered to the reader once');
        const again = records.filter((record) => record.deliveryCount === 2);
        assert.deepEqual(
          again.map((record) => record.offset).sort((x, y) => x - y),
          Array.from({ length: held }, (_, offset) => offset),
          'what the stalled socket held came back with delivery count 2',
        );
        assert.ok(records.every((record) => record.deliveryCount <= 2));
        const stats = await client.stats('stalled-ws');
        assert.equal(stats.acknowledged, total);
        assert.equal(stats.inFlight, 0);
      } finally {
        reader.close();
      }
    } finally {
      stalled.socket.terminate();
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
