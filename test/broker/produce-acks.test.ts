// Produce's acknowledgement modes on the wire: acks=0 gets no response (a refused partition
// closes the connection instead), acks=1 and acks=-1 are answered once the append is durable, and
// a batch with a bad CRC is refused with CORRUPT_MESSAGE and leaves nothing in the log.

import assert from 'node:assert/strict';
import { type Socket, connect } from 'node:net';
import { test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import * as generated from '../../src/protocol/generated/index.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/headers.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { buildBatch } from '../../src/record/records.js';

const PRODUCE_VERSION = 9;

class RawClient {
  private received = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | null = null;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.deliver();
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async connect(broker: Broker): Promise<RawClient> {
    const port = broker.listeners[0].port;
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private deliver(): void {
    if (this.waiting === null || this.received.length < 4) return;
    const length = this.received.readInt32BE(0);
    if (this.received.length < 4 + length) return;
    const frame = this.received.subarray(4, 4 + length);
    this.received = this.received.subarray(4 + length);
    const waiting = this.waiting;
    this.waiting = null;
    waiting(frame);
  }

  send(correlationId: number, acks: number, topic: string, records: Buffer): void {
    const writer = new Writer({ frameLength: true });
    encodeRequestHeader(writer, {
      apiKey: 0,
      apiVersion: PRODUCE_VERSION,
      correlationId,
      clientId: 'acks-test',
    });
    generated.encodeProduceRequest(writer, PRODUCE_VERSION, {
      acks,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    this.socket.write(writer.toBuffer());
  }

  nextResponse(
    timeoutMs = 10_000,
  ): Promise<{ correlationId: number; response: generated.ProduceResponse }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response')), timeoutMs);
      this.waiting = (frame) => {
        clearTimeout(timer);
        const reader = new Reader(frame);
        const header = decodeResponseHeader(reader, 0, PRODUCE_VERSION);
        resolve({
          correlationId: header.correlationId,
          response: generated.decodeProduceResponse(reader, PRODUCE_VERSION),
        });
      };
      this.deliver();
    });
  }
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('acks=0 gets no response, and the next request on the connection is answered in order', async () => {
  const broker = await startBroker();
  try {
    await broker.replicas.createTopic({ name: 'acks', partitionCount: 1 });
    const client = await RawClient.connect(broker);
    client.send(
      1,
      0,
      'acks',
      await buildBatch({ records: [{ key: null, value: Buffer.from('fire-and-forget') }] }),
    );
    client.send(
      2,
      1,
      'acks',
      await buildBatch({ records: [{ key: null, value: Buffer.from('leader-ack') }] }),
    );
    client.send(
      3,
      -1,
      'acks',
      await buildBatch({ records: [{ key: null, value: Buffer.from('all-ack') }] }),
    );
    const second = await client.nextResponse();
    assert.equal(second.correlationId, 2, 'the acks=0 request got no response of its own');
    assert.equal(second.response.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(second.response.responses[0].partitionResponses[0].baseOffset, 1n);
    const third = await client.nextResponse();
    assert.equal(third.correlationId, 3);
    assert.equal(third.response.responses[0].partitionResponses[0].baseOffset, 2n);
    const partition = broker.replicas.partition('acks', 0)!;
    assert.ok(partition.log.flushedOffset >= 3, 'acknowledged records are flushed');
    client.socket.destroy();
  } finally {
    await broker.stop();
  }
});

test('acks=0 to a partition that does not exist closes the connection', async () => {
  const broker = await startBroker();
  try {
    const client = await RawClient.connect(broker);
    client.send(
      1,
      0,
      'no-such-topic',
      await buildBatch({ records: [{ key: null, value: Buffer.from('lost') }] }),
    );
    await waitFor(() => client.closed, 'the connection to close');
  } finally {
    await broker.stop();
  }
});

test('a batch with a bad CRC is refused with CORRUPT_MESSAGE and nothing is written', async () => {
  const broker = await startBroker();
  try {
    await broker.replicas.createTopic({ name: 'crc', partitionCount: 1 });
    const client = await RawClient.connect(broker);
    const batch = await buildBatch({ records: [{ key: null, value: Buffer.from('flipped') }] });
    batch[batch.length - 1] ^= 0xff;
    client.send(1, -1, 'crc', batch);
    const { response } = await client.nextResponse();
    assert.equal(response.responses[0].partitionResponses[0].errorCode, 2);
    assert.equal(broker.replicas.partition('crc', 0)!.logEndOffset, 0);
    client.socket.destroy();
  } finally {
    await broker.stop();
  }
});
