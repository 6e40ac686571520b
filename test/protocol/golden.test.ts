// Exact bytes. Request frames captured from real clients (fixtures/client-requests.json, and live
// from the clients in node_modules) decode to the expected structure and re-encode to the same
// bytes; a few responses are pinned to bytes derived by hand from the protocol's layout.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  apiMessages,
  decodeFetchResponse,
  encodeApiVersionsResponse,
  encodeFetchResponse,
  encodeMetadataResponse,
  type ApiVersionsRequest,
  type CreateTopicsRequest,
  type MetadataRequest,
  type ProduceRequest,
} from '../../src/protocol/generated/all.js';
import {
  decodeRequestHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
} from '../../src/protocol/headers.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import {
  captureClientId,
  capturedTimestampMs,
  createdTopic,
  createTopicWithKafkajs,
  createTopicWithPlatformatic,
  produceWithKafkajs,
  produceWithPlatformatic,
  startCaptureBroker,
} from './capture-broker.js';
import { codecsOf } from '../helpers/codecs.js';

interface Capture {
  client: string;
  conversation: string;
  apiKey: number;
  apiVersion: number;
  frameHex: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('fixtures/client-requests.json', import.meta.url), 'utf8'),
) as { captures: Capture[] };

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** Decodes a request frame completely, then checks that encoding it again gives the same bytes. */
function decodeFrame(frame: Buffer): { header: RequestHeader; body: unknown } {
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader);
  const api = apiMessages.get(header.apiKey);
  assert.ok(api, `API key ${header.apiKey} has a codec`);
  const body = codecsOf(header.apiKey).request.decode(reader, header.apiVersion);
  assert.equal(reader.remaining, 0, 'the whole frame is consumed');
  const writer = new Writer();
  encodeRequestHeader(writer, header);
  codecsOf(header.apiKey).request.encode(writer, header.apiVersion, body as never);
  assert.equal(writer.toBuffer().toString('hex'), frame.toString('hex'), 're-encodes identically');
  return { header, body };
}

/** The one record batch both clients send: magic 2, one record, the fixed timestamp. */
function assertCapturedBatch(records: Buffer | null): void {
  assert.ok(records !== null);
  assert.equal(records.readBigInt64BE(0), 0n, 'baseOffset');
  assert.equal(records.readInt32BE(8), records.length - 12, 'batchLength');
  assert.equal(records.readInt8(16), 2, 'magic');
  assert.equal(records.readInt32BE(23), 0, 'lastOffsetDelta');
  assert.equal(records.readBigInt64BE(27), BigInt(capturedTimestampMs), 'baseTimestamp');
  assert.equal(records.readBigInt64BE(43), -1n, 'producerId');
  assert.equal(records.readInt32BE(57), 1, 'recordsCount');
}

function assertCreatedTopic(request: CreateTopicsRequest): void {
  assert.deepEqual(request.topics, [
    {
      name: createdTopic.name,
      numPartitions: createdTopic.partitions,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: createdTopic.configName, value: createdTopic.configValue }],
    },
  ]);
  assert.equal(request.validateOnly, false);
}

function capture(client: string, apiKey: number, conversation = 'produce'): Buffer {
  const found = fixture.captures.find(
    (candidate) =>
      candidate.client.startsWith(client) &&
      candidate.conversation === conversation &&
      candidate.apiKey === apiKey,
  );
  assert.ok(found, `fixture for ${client} API ${apiKey} (${conversation})`);
  return hex(found.frameHex);
}

describe('kafkajs 2.2.4 requests (fixture)', () => {
  test('ApiVersions v2: header v1 and an empty body', () => {
    const frame = capture('kafkajs', 18);
    assert.equal(
      frame.toString('hex'),
      '0012000200000000000d' + Buffer.from('brook-capture').toString('hex'),
    );
    const { header, body } = decodeFrame(frame);
    assert.deepEqual(header, {
      apiKey: 18,
      apiVersion: 2,
      correlationId: 0,
      clientId: captureClientId,
      headerVersion: 1,
    });
    assert.deepEqual(body as ApiVersionsRequest, {
      clientSoftwareName: '',
      clientSoftwareVersion: '',
    });
  });

  test('Metadata v6: one topic, auto-creation allowed', () => {
    const { header, body } = decodeFrame(capture('kafkajs', 3));
    assert.equal(header.apiVersion, 6);
    assert.equal(header.headerVersion, 1);
    const request = body as MetadataRequest;
    assert.deepEqual(
      request.topics?.map((topic) => topic.name),
      ['golden'],
    );
    assert.equal(request.allowAutoTopicCreation, true);
  });

  test('Produce v7: acks -1, one partition, one batch passed through untouched', () => {
    const frame = capture('kafkajs', 0);
    const { header, body } = decodeFrame(frame);
    assert.equal(header.apiVersion, 7);
    const request = body as ProduceRequest;
    assert.equal(request.transactionalId, null);
    assert.equal(request.acks, -1);
    assert.equal(request.timeoutMs, 30000);
    assert.equal(request.topicData.length, 1);
    assert.equal(request.topicData[0].name, 'golden');
    assert.equal(request.topicData[0].partitionData[0].index, 0);
    const records = request.topicData[0].partitionData[0].records;
    assertCapturedBatch(records);
    assert.equal(records!.buffer, frame.buffer, 'the records are a view of the frame');
  });

  test('CreateTopics v3: nested topic, assignment and config arrays', () => {
    const { header, body } = decodeFrame(capture('kafkajs', 19, 'create-topic'));
    assert.equal(header.apiVersion, 3);
    assert.equal(header.headerVersion, 1);
    assertCreatedTopic(body as CreateTopicsRequest);
  });
});

describe('@platformatic/kafka requests (fixture)', () => {
  test('ApiVersions v3: header v2 with an int16-length client id, compact body strings', () => {
    const frame = capture('@platformatic/kafka', 18);
    const { header, body } = decodeFrame(frame);
    assert.equal(header.apiVersion, 3);
    assert.equal(header.headerVersion, 2);
    assert.equal(header.clientId, captureClientId);
    // The client id's length is an int16 (000d) even though the body is compact.
    assert.equal(frame.subarray(8, 10).toString('hex'), '000d');
    const request = body as ApiVersionsRequest;
    assert.equal(request.clientSoftwareName, 'platformatic-kafka');
    assert.match(request.clientSoftwareVersion, /^2\.\d+\.\d+$/);
  });

  test('Metadata v12: compact topics with a zero topic id', () => {
    const { header, body } = decodeFrame(capture('@platformatic/kafka', 3));
    assert.equal(header.apiVersion, 12);
    const request = body as MetadataRequest;
    assert.equal(request.topics?.length, 1);
    assert.equal(request.topics![0].name, 'golden');
    assert.deepEqual(request.topics![0].topicId, Buffer.alloc(16));
    assert.equal(request.allowAutoTopicCreation, false);
  });

  test('Produce v11: flexible encoding of the same batch', () => {
    const { header, body } = decodeFrame(capture('@platformatic/kafka', 0));
    assert.equal(header.apiVersion, 11);
    assert.equal(header.headerVersion, 2);
    const request = body as ProduceRequest;
    assert.equal(request.topicData[0].name, 'golden');
    assertCapturedBatch(request.topicData[0].partitionData[0].records);
  });

  test('CreateTopics v7: the same request, flexible', () => {
    const { header, body } = decodeFrame(capture('@platformatic/kafka', 19, 'create-topic'));
    assert.equal(header.apiVersion, 7);
    assert.equal(header.headerVersion, 2);
    assertCreatedTopic(body as CreateTopicsRequest);
  });
});

describe('live clients from node_modules', () => {
  const conversations: [string, string, (port: number) => Promise<void>, [number, number][]][] = [
    [
      'kafkajs',
      'produces',
      produceWithKafkajs,
      [
        [18, 2],
        [3, 6],
        [0, 7],
      ],
    ],
    [
      'kafkajs',
      'creates a topic',
      createTopicWithKafkajs,
      [
        [18, 2],
        [19, 3],
      ],
    ],
    [
      '@platformatic/kafka',
      'produces',
      produceWithPlatformatic,
      [
        [18, 3],
        [3, 12],
        [0, 11],
      ],
    ],
    [
      '@platformatic/kafka',
      'creates a topic',
      createTopicWithPlatformatic,
      [
        [18, 3],
        [19, 7],
      ],
    ],
  ];
  for (const [client, conversation, run, expected] of conversations) {
    test(`${client} ${conversation} through Brook's encoders; its frames re-encode identically`, async () => {
      const broker = await startCaptureBroker();
      try {
        // Completing the conversation means the client accepted our responses.
        await run(broker.port);
      } finally {
        await broker.close();
      }
      const seen = broker.requests.map((request) => [request.apiKey, request.apiVersion]);
      for (const [apiKey, apiVersion] of expected) {
        assert.ok(
          seen.some((pair) => pair[0] === apiKey && pair[1] === apiVersion),
          `${client} sent API ${apiKey} v${apiVersion} (saw ${JSON.stringify(seen)})`,
        );
      }
      for (const request of broker.requests) decodeFrame(request.frame);
    });
  }
});

describe('pinned encodings', () => {
  function encoded(write: (writer: Writer) => void): string {
    const writer = new Writer();
    write(writer);
    return writer.toBuffer().toString('hex');
  }

  test('ApiVersions v0 error response (what an unsupported ApiVersions version gets)', () => {
    assert.equal(
      encoded((writer) =>
        encodeApiVersionsResponse(writer, 0, {
          errorCode: 35,
          apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
          throttleTimeMs: 0,
        }),
      ),
      // errorCode, int32 count, key/min/max
      '0023' + '00000001' + '0012' + '0000' + '0003',
    );
  });

  test('ApiVersions v3 response: compact array, tagged sections, finalized epoch as tag 1', () => {
    assert.equal(
      encoded((writer) =>
        encodeApiVersionsResponse(writer, 3, {
          errorCode: 0,
          apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 11 }],
          throttleTimeMs: 0,
          finalizedFeaturesEpoch: 7n,
        }),
      ),
      '0000' +
        '02' +
        '0000' +
        '0000' +
        '000b' +
        '00' +
        '00000000' +
        '01' +
        '01' +
        '08' +
        '0000000000000007',
    );
  });

  test('response headers: v0 for ApiVersions even when flexible, v1 for other flexible versions', () => {
    assert.equal(
      encoded((writer) => encodeResponseHeader(writer, 18, 3, 7)),
      '00000007',
    );
    assert.equal(
      encoded((writer) => encodeResponseHeader(writer, 3, 12, 7)),
      '0000000700',
    );
    assert.equal(
      encoded((writer) => encodeResponseHeader(writer, 3, 8, 7)),
      '00000007',
    );
  });

  test('Metadata v12 response layout', () => {
    assert.equal(
      encoded((writer) =>
        encodeMetadataResponse(writer, 12, {
          throttleTimeMs: 0,
          brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
          clusterId: null,
          controllerId: 1,
          topics: [],
        }),
      ),
      '00000000' + // throttleTimeMs
        '02' +
        '00000001' +
        '0268' +
        '00002384' +
        '00' +
        '00' + // brokers
        '00' + // clusterId null
        '00000001' + // controllerId
        '01' + // topics: empty
        '00', // tagged fields
    );
  });

  test('Fetch v11 partition: preferred read replica -1 and null aborted transactions', () => {
    const body = encoded((writer) =>
      encodeFetchResponse(writer, 11, {
        responses: [
          {
            topic: 't',
            partitions: [
              {
                partitionIndex: 0,
                errorCode: 0,
                highWatermark: 5n,
                lastStableOffset: 5n,
                logStartOffset: 0n,
                abortedTransactions: null,
                records: null,
              },
            ],
          },
        ],
      }),
    );
    assert.equal(
      body,
      '00000000' +
        '0000' +
        '00000000' + // throttle, error, session
        '00000001' +
        '000174' + // one topic "t"
        '00000001' +
        '00000000' +
        '0000' + // one partition, index, error
        '0000000000000005' +
        '0000000000000005' +
        '0000000000000000' + // hw, lso, log start
        'ffffffff' + // aborted transactions: null
        'ffffffff' + // preferred read replica
        'ffffffff', // records: null
    );
    assert.equal(
      decodeFetchResponse(new Reader(hex(body)), 11).responses[0].partitions[0].abortedTransactions,
      null,
    );
  });
});
