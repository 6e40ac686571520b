// A tiny Kafka-speaking server for codec tests: it records every request frame a real client
// sends and answers ApiVersions, Metadata, Produce and CreateTopics with Brook's own encoders (one
// broker, one partition per topic, every produce accepted at offset 0, every topic created). Whether the client goes on to its next
// request is itself a check of those encoders.

import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import {
  encodeApiVersionsResponse,
  encodeCreateTopicsResponse,
  encodeMetadataResponse,
  type CreateTopicsRequest,
  encodeProduceResponse,
  type MetadataRequest,
  type ProduceRequest,
} from '../../src/protocol/generated/all.js';
import { apiMessages } from '../../src/protocol/generated/all.js';
import { decodeRequestHeader, encodeResponseHeader } from '../../src/protocol/headers.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { codecsOf } from '../helpers/codecs.js';

export interface CapturedRequest {
  apiKey: number;
  apiVersion: number;
  /** The frame without its 4-byte length: header and body. */
  frame: Buffer;
}

export interface CaptureBroker {
  port: number;
  requests: CapturedRequest[];
  /** Resolves when a request with `apiKey` has been captured. */
  waitFor(apiKey: number, timeoutMs?: number): Promise<CapturedRequest>;
  close(): Promise<void>;
}

/** What the capture broker advertises; clients pick their highest version in these ranges. */
export const advertisedVersions: ReadonlyMap<number, [number, number]> = new Map([
  [0, [0, 11]],
  [3, [0, 12]],
  [18, [0, 3]],
  [19, [0, 7]],
]);

export const capturedTopicId = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

export async function startCaptureBroker(
  options: { answer?: boolean } = {},
): Promise<CaptureBroker> {
  const answer = options.answer ?? true;
  const requests: CapturedRequest[] = [];
  const waiters: { apiKey: number; resolve: (request: CapturedRequest) => void }[] = [];
  const sockets = new Set<Socket>();
  let port = 0;

  function record(request: CapturedRequest): void {
    requests.push(request);
    for (const waiter of waiters.filter((candidate) => candidate.apiKey === request.apiKey)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(request);
    }
  }

  function respond(socket: Socket, frame: Buffer): void {
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    record({ apiKey: header.apiKey, apiVersion: header.apiVersion, frame });
    if (!answer) {
      socket.destroy();
      return;
    }
    const api = apiMessages.get(header.apiKey);
    if (api === undefined || !advertisedVersions.has(header.apiKey)) {
      socket.destroy();
      return;
    }
    const request = codecsOf(header.apiKey).request.decode(reader, header.apiVersion);
    const writer = new Writer({ frameLength: true });
    encodeResponseHeader(writer, header.apiKey, header.apiVersion, header.correlationId);
    switch (header.apiKey) {
      case 18:
        encodeApiVersionsResponse(writer, header.apiVersion, {
          errorCode: 0,
          apiKeys: [...advertisedVersions].map(([apiKey, [minVersion, maxVersion]]) => ({
            apiKey,
            minVersion,
            maxVersion,
          })),
          throttleTimeMs: 0,
        });
        break;
      case 3: {
        const topics = (request as MetadataRequest).topics ?? [];
        encodeMetadataResponse(writer, header.apiVersion, {
          brokers: [{ nodeId: 0, host: '127.0.0.1', port, rack: null }],
          clusterId: 'capture',
          controllerId: 0,
          topics: topics.map((topic) => ({
            errorCode: 0,
            name: topic.name,
            topicId: capturedTopicId,
            isInternal: false,
            partitions: [
              {
                errorCode: 0,
                partitionIndex: 0,
                leaderId: 0,
                leaderEpoch: 0,
                replicaNodes: [0],
                isrNodes: [0],
                offlineReplicas: [],
              },
            ],
          })),
        });
        break;
      }
      case 0: {
        const produce = request as ProduceRequest;
        if (produce.acks === 0) return;
        encodeProduceResponse(writer, header.apiVersion, {
          responses: produce.topicData.map((topic) => ({
            name: topic.name,
            partitionResponses: topic.partitionData.map((partition) => ({
              index: partition.index,
              errorCode: 0,
              baseOffset: 0n,
            })),
          })),
          throttleTimeMs: 0,
        });
        break;
      }
      case 19: {
        const create = request as CreateTopicsRequest;
        encodeCreateTopicsResponse(writer, header.apiVersion, {
          topics: create.topics.map((topic) => ({
            name: topic.name,
            topicId: capturedTopicId,
            errorCode: 0,
            errorMessage: null,
            numPartitions: topic.numPartitions,
            replicationFactor: topic.replicationFactor,
            configs: [],
          })),
        });
        break;
      }
    }
    const { chunks } = writer.finish();
    socket.write(Buffer.concat(chunks));
  }

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4 && !socket.destroyed) {
        const length = pending.readInt32BE(0);
        if (pending.length < 4 + length) break;
        const frame = Buffer.from(pending.subarray(4, 4 + length));
        pending = pending.subarray(4 + length);
        respond(socket, frame);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;

  return {
    port,
    requests,
    waitFor(apiKey, timeoutMs = 10_000) {
      const found = requests.find((request) => request.apiKey === apiKey);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no request with API key ${apiKey} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          apiKey,
          resolve: (request) => {
            clearTimeout(timer);
            resolve(request);
          },
        });
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

// The clients' scripted conversations: connect, produce one record, disconnect.

export const captureClientId = 'brook-capture';
/** The record every capture produces, with a fixed timestamp so the batch bytes are stable. */
export const capturedRecord = { key: 'k', value: 'v', headerKey: 'h', headerValue: 'x' };
export const capturedTimestampMs = 1700000000000;

export async function produceWithKafkajs(port: number): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: captureClientId,
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: 'golden',
      messages: [
        {
          key: capturedRecord.key,
          value: capturedRecord.value,
          headers: { [capturedRecord.headerKey]: capturedRecord.headerValue },
          timestamp: String(capturedTimestampMs),
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

export async function produceWithPlatformatic(port: number): Promise<void> {
  installPromiseWithResolvers();
  const { Producer, stringSerializers } = await import('@platformatic/kafka');
  const producer = new Producer({
    clientId: captureClientId,
    bootstrapBrokers: [`127.0.0.1:${port}`],
    serializers: stringSerializers,
    retries: 0,
  });
  try {
    await producer.send({
      messages: [
        {
          topic: 'golden',
          key: capturedRecord.key,
          value: capturedRecord.value,
          headers: { [capturedRecord.headerKey]: capturedRecord.headerValue },
          timestamp: BigInt(capturedTimestampMs),
        },
      ],
    });
  } finally {
    await producer.close();
  }
}

/** The topic both admin conversations create: three partitions and one config. */
export const createdTopic = {
  name: 'golden-created',
  partitions: 3,
  configName: 'cleanup.policy',
  configValue: 'compact',
};

export async function createTopicWithKafkajs(port: number): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: captureClientId,
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [
        {
          topic: createdTopic.name,
          numPartitions: createdTopic.partitions,
          replicationFactor: 1,
          configEntries: [{ name: createdTopic.configName, value: createdTopic.configValue }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

export async function createTopicWithPlatformatic(port: number): Promise<void> {
  installPromiseWithResolvers();
  const { Admin } = await import('@platformatic/kafka');
  const admin = new Admin({
    clientId: captureClientId,
    bootstrapBrokers: [`127.0.0.1:${port}`],
    retries: 0,
  });
  try {
    await admin.createTopics({
      topics: [createdTopic.name],
      partitions: createdTopic.partitions,
      replicas: 1,
      configs: [{ name: createdTopic.configName, value: createdTopic.configValue }],
    });
  } finally {
    await admin.close();
  }
}

/** @platformatic/kafka 2.x calls Promise.withResolvers, which Node.js 20 lacks. */
function installPromiseWithResolvers(): void {
  const promiseStatics = Promise as unknown as { withResolvers?: unknown };
  if (promiseStatics.withResolvers !== undefined) return;
  promiseStatics.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((resolvePromise, rejectPromise) => {
      resolve = resolvePromise;
      reject = rejectPromise;
    });
    return { promise, resolve, reject };
  };
}
