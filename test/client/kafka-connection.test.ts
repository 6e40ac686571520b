// src/client's connection against a real broker and against sockets that misbehave.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Socket, createServer } from 'node:net';
import { test } from 'node:test';
import { startBroker } from '../../src/broker.js';
import {
  KafkaClientError,
  KafkaClientErrorCode,
  KafkaConnection,
  parseBrokerAddress,
} from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ApiVersionsResponse } from '../../src/protocol/generated/api-versions.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import type { ListGroupsResponse } from '../../src/protocol/generated/list-groups.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { makeBatch } from '../helpers/storage-batches.js';

function isClientError(code: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof KafkaClientError && error.code === code;
}

test('pipelined requests each get their own response, decoded by the generated codecs', async () => {
  const broker = await startBroker();
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'test' });
  try {
    const [versions, metadata, groups] = await Promise.all([
      connection.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
        clientSoftwareName: 'brook-test',
        clientSoftwareVersion: '1',
      }),
      connection.request<MetadataResponse>(ApiKey.Metadata, 4, {
        topics: null,
        allowAutoTopicCreation: false,
      }),
      connection.request<ListGroupsResponse>(ApiKey.ListGroups, 4, { statesFilter: [] }),
    ]);
    assert.equal(versions.errorCode, 0);
    assert.ok(versions.apiKeys.some((entry) => entry.apiKey === ApiKey.Metadata));
    assert.equal(metadata.brokers[0].nodeId, broker.nodeId);
    assert.equal(groups.errorCode, 0);
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('a refused connection and a bad address are client errors with their codes', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await assert.rejects(
    KafkaConnection.open(`127.0.0.1:${port}`, { clientId: 'test' }),
    isClientError(KafkaClientErrorCode.CONNECTION),
  );
  assert.throws(
    () => parseBrokerAddress('localhost'),
    isClientError(KafkaClientErrorCode.BAD_ADDRESS),
  );
  assert.deepEqual(parseBrokerAddress('[::1]:9092'), { host: '::1', port: 9092 });
});

test('a broker that does not answer times the request out, and the failure is sticky', async () => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const connection = await KafkaConnection.open(`127.0.0.1:${port}`, {
    clientId: 'test',
    requestTimeoutMs: 200,
  });
  try {
    const body = { topics: null, allowAutoTopicCreation: false };
    await assert.rejects(
      connection.request(ApiKey.Metadata, 4, body),
      isClientError(KafkaClientErrorCode.TIMEOUT),
    );
    await assert.rejects(
      connection.request(ApiKey.Metadata, 4, body),
      isClientError(KafkaClientErrorCode.TIMEOUT),
    );
  } finally {
    connection.close();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test('a response frame with a wrong correlation id fails the connection as a protocol error', async () => {
  const server = createServer((socket) => {
    socket.once('data', () => {
      const frame = Buffer.alloc(12);
      frame.writeInt32BE(8, 0);
      frame.writeInt32BE(999, 4);
      socket.write(frame);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const connection = await KafkaConnection.open(`127.0.0.1:${port}`, { clientId: 'test' });
  try {
    await assert.rejects(
      connection.request(ApiKey.Metadata, 4, { topics: null, allowAutoTopicCreation: false }),
      isClientError(KafkaClientErrorCode.PROTOCOL),
    );
  } finally {
    connection.close();
    server.close();
  }
});

test('a fetch of megabytes pipelined with small requests is answered whole', async () => {
  const broker = await startBroker();
  await broker.replicas.createTopic({ name: 'rechunked', partitionCount: 1 });
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'test' });
  try {
    const batches = await Promise.all(
      [1, 2, 3].map((seed) => makeBatch({ seed, recordsCount: 40, valueBytes: 10_000 })),
    );
    const produced = await Promise.all(
      batches.map((records) =>
        connection.request<ProduceResponse>(ApiKey.Produce, 9, {
          acks: -1,
          timeoutMs: 10_000,
          topicData: [{ name: 'rechunked', partitionData: [{ index: 0, records }] }],
        }),
      ),
    );
    assert.deepEqual(
      produced.map((response) => response.responses[0].partitionResponses[0].errorCode),
      [0, 0, 0],
    );
    const [fetched, metadata] = await Promise.all([
      connection.request<FetchResponse>(ApiKey.Fetch, 12, {
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 10 * 1024 * 1024,
        isolationLevel: 0,
        topics: [
          {
            topic: 'rechunked',
            partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 10 * 1024 * 1024 }],
          },
        ],
      }),
      connection.request<MetadataResponse>(ApiKey.Metadata, 4, {
        topics: null,
        allowAutoTopicCreation: false,
      }),
    ]);
    const records = fetched.responses[0].partitions[0].records;
    const expectedBytes = batches.reduce((sum, batch) => sum + batch.length, 0);
    assert.ok(expectedBytes > 1024 * 1024, 'the response spans many socket reads');
    assert.equal(records?.length, expectedBytes);
    // The log stamps offsets into the batches; their payloads (past the 61-byte header) are as sent.
    let position = 0;
    for (const batch of batches) {
      assert.ok(
        records!.subarray(position + 61, position + batch.length).equals(batch.subarray(61)),
      );
      position += batch.length;
    }
    assert.equal(metadata.brokers[0].nodeId, broker.nodeId);
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('every client error code is documented in docs/errors.md', () => {
  const readme = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of Object.values(KafkaClientErrorCode)) {
    assert.ok(readme.includes(`\`${code}\``), `${code} is not documented`);
  }
});
