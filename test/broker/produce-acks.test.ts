// Produce's acknowledgement modes on the wire: acks=0 gets no response (a refused partition
// closes the connection instead), acks=1 and acks=-1 are answered once the append is durable, and
// a batch with a bad CRC is refused with CORRUPT_MESSAGE and leaves nothing in the log.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import * as generated from '../../src/protocol/generated/all.js';
import { decodeResponseHeader } from '../../src/protocol/headers.js';
import { Reader } from '../../src/protocol/reader.js';
import { buildBatch } from '../../src/record/records.js';
import { type WireClient, connectWireClient, requestFrame } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';

const PRODUCE_VERSION = 9;

function produceFrame(correlationId: number, acks: number, topic: string, records: Buffer): Buffer {
  return requestFrame({ apiKey: 0, apiVersion: PRODUCE_VERSION, correlationId }, (writer) =>
    generated.encodeProduceRequest(writer, PRODUCE_VERSION, {
      acks,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    }),
  );
}

async function nextProduceResponse(
  client: WireClient,
): Promise<{ correlationId: number; response: generated.ProduceResponse }> {
  const reader = new Reader(await client.nextFrame(10_000));
  const header = decodeResponseHeader(reader, 0, PRODUCE_VERSION);
  return {
    correlationId: header.correlationId,
    response: generated.decodeProduceResponse(reader, PRODUCE_VERSION),
  };
}

test('acks=0 gets no response, and the next request on the connection is answered in order', async () => {
  const broker = await startBroker();
  try {
    await broker.replicas.createTopic({ name: 'acks', partitionCount: 1 });
    const client = await connectWireClient(broker.listeners[0].port);
    await client.send(
      produceFrame(
        1,
        0,
        'acks',
        await buildBatch({ records: [{ key: null, value: Buffer.from('fire-and-forget') }] }),
      ),
    );
    await client.send(
      produceFrame(
        2,
        1,
        'acks',
        await buildBatch({ records: [{ key: null, value: Buffer.from('leader-ack') }] }),
      ),
    );
    await client.send(
      produceFrame(
        3,
        -1,
        'acks',
        await buildBatch({ records: [{ key: null, value: Buffer.from('all-ack') }] }),
      ),
    );
    const second = await nextProduceResponse(client);
    assert.equal(second.correlationId, 2, 'the acks=0 request got no response of its own');
    assert.equal(second.response.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(second.response.responses[0].partitionResponses[0].baseOffset, 1n);
    const third = await nextProduceResponse(client);
    assert.equal(third.correlationId, 3);
    assert.equal(third.response.responses[0].partitionResponses[0].baseOffset, 2n);
    const partition = broker.replicas.partition('acks', 0)!;
    assert.ok(partition.log.flushedOffset >= 3, 'acknowledged records are flushed');
    client.close();
  } finally {
    await broker.stop();
  }
});

test('acks=0 to a partition that does not exist closes the connection', async () => {
  const broker = await startBroker();
  try {
    const client = await connectWireClient(broker.listeners[0].port);
    await client.send(
      produceFrame(
        1,
        0,
        'no-such-topic',
        await buildBatch({ records: [{ key: null, value: Buffer.from('lost') }] }),
      ),
    );
    await waitFor(() => client.isClosed(), 'the connection to close', { timeoutMs: 10_000 });
  } finally {
    await broker.stop();
  }
});

test('a batch with a bad CRC is refused with CORRUPT_MESSAGE and nothing is written', async () => {
  const broker = await startBroker();
  try {
    await broker.replicas.createTopic({ name: 'crc', partitionCount: 1 });
    const client = await connectWireClient(broker.listeners[0].port);
    const batch = await buildBatch({ records: [{ key: null, value: Buffer.from('flipped') }] });
    batch[batch.length - 1] ^= 0xff;
    await client.send(produceFrame(1, -1, 'crc', batch));
    const { response } = await nextProduceResponse(client);
    assert.equal(response.responses[0].partitionResponses[0].errorCode, 2);
    assert.equal(broker.replicas.partition('crc', 0)!.logEndOffset, 0);
    client.close();
  } finally {
    await broker.stop();
  }
});
