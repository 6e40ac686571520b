// Every version of every generated message, encoded and decoded again. Sample values come from
// the generator's schema summary: every field a version has gets a value different from its
// default, so a field the codec drops or misplaces changes the decoded object.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ProtocolEncodeError } from '../../src/protocol/codec-runtime.js';
import * as generated from '../../src/protocol/generated/all.js';
import { messageSchemas } from '../../src/protocol/generated/schema.js';
import { Reader } from '../../src/protocol/reader.js';
import type { FieldSchema, MessageSchema, VersionRange } from '../../src/protocol/schema-types.js';
import { Writer } from '../../src/protocol/writer.js';

type Decode = (reader: Reader, version: number) => unknown;
type Encode = (writer: Writer, version: number, value: unknown) => void;
type Value = Record<string, unknown>;

const codecs = generated as unknown as Record<string, Decode | Encode>;

function codecOf(name: string): { decode: Decode; encode: Encode } {
  const decode = codecs[`decode${name}`] as Decode | undefined;
  const encode = codecs[`encode${name}`] as Encode | undefined;
  assert.ok(decode !== undefined && encode !== undefined, `no codec exported for ${name}`);
  return { decode, encode };
}

function inRange(range: VersionRange | null, version: number): boolean {
  return range !== null && version >= range[0] && version <= range[1];
}

function parseInteger(text: string | number | boolean | undefined): number {
  if (text === undefined || text === '') return 0;
  if (typeof text === 'number') return text;
  const value = String(text);
  const negative = value.startsWith('-');
  const body = negative ? value.slice(1) : value;
  const parsed = body.startsWith('0x') ? parseInt(body.slice(2), 16) : Number(body);
  return negative ? -parsed : parsed;
}

function defaultOf(field: FieldSchema): unknown {
  if (field.default === 'null') return null;
  if (field.array) return [];
  if (field.type === 'struct') return defaultsOf(field.fields!);
  switch (field.type) {
    case 'int64':
      return BigInt(parseInteger(field.default));
    case 'bool':
      return field.default === true || field.default === 'true';
    case 'string':
      return field.default === undefined ? '' : String(field.default);
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    case 'uuid':
      return Buffer.alloc(16);
    default:
      return parseInteger(field.default);
  }
}

function defaultsOf(fields: readonly FieldSchema[]): Value {
  const value: Value = {};
  for (const field of fields) value[field.name] = defaultOf(field);
  return value;
}

/** Builds a sample that differs from the default in every field `version` has. */
class SampleBuilder {
  private sequence = 0;

  constructor(private readonly nulls: boolean) {}

  struct(fields: readonly FieldSchema[], version: number): Value {
    const value: Value = {};
    for (const field of fields) {
      value[field.name] = inRange(field.versions, version)
        ? this.field(field, version)
        : defaultOf(field);
    }
    return value;
  }

  private field(field: FieldSchema, version: number): unknown {
    if (this.nulls && inRange(field.nullableVersions, version) && field.default !== 'null') {
      return null;
    }
    if (field.array) {
      const element = { ...field, array: false, default: undefined };
      return [this.element(element, version), this.element(element, version)];
    }
    return this.element(field, version);
  }

  private element(field: FieldSchema, version: number): unknown {
    const sequence = ++this.sequence;
    const defaultValue = defaultOf(field);
    const differentFrom = <T>(candidates: T[]): T =>
      candidates.find((candidate) => candidate !== defaultValue)!;
    switch (field.type) {
      case 'struct':
        return this.struct(field.fields!, version);
      case 'int8':
        return differentFrom([(sequence % 100) + 3, 1]);
      case 'int16':
        return differentFrom([1000 + sequence, -2]);
      case 'uint16':
        return differentFrom([60000 + (sequence % 5000), 1]);
      case 'int32':
        return differentFrom([100000 + sequence, -3]);
      case 'uint32':
        return differentFrom([3000000000 + sequence, 1]);
      case 'int64':
        return differentFrom([1099511627776n + BigInt(sequence), -5n]);
      case 'float64':
        return differentFrom([0.5 + sequence, 2]);
      case 'bool':
        return !defaultValue;
      case 'string':
        return `${field.name}-${sequence}${sequence % 3 === 0 ? '-ünï' : ''}`;
      case 'bytes':
        return Buffer.from([1, 2, 3, sequence & 0xff]);
      case 'records':
        return Buffer.from(`records-${sequence}`);
      case 'uuid':
        return Buffer.from(Array.from({ length: 16 }, (_, index) => (index + sequence) & 0xff));
      default:
        throw new Error(`no sample for type ${field.type}`);
    }
  }
}

function encode(codec: { encode: Encode }, version: number, value: unknown): Buffer {
  const writer = new Writer();
  codec.encode(writer, version, value);
  const { chunks, byteLength } = writer.finish();
  const joined = Buffer.concat(chunks);
  assert.equal(byteLength, joined.length, 'finish() reports the bytes it returns');
  return joined;
}

function decodeAll(codec: { decode: Decode }, version: number, bytes: Buffer): unknown {
  const reader = new Reader(bytes);
  const value = codec.decode(reader, version);
  assert.equal(reader.remaining, 0, `version ${version} left ${reader.remaining} bytes unread`);
  return value;
}

function versionsOf(schema: MessageSchema): number[] {
  const versions: number[] = [];
  for (let version = schema.validVersions[0]; version <= schema.validVersions[1]; version++) {
    versions.push(version);
  }
  return versions;
}

const schemas = Object.values(messageSchemas);

test('the schema summary covers every API in the registry, both directions', () => {
  assert.ok(generated.apiMessages.size >= 60, `only ${generated.apiMessages.size} APIs`);
  for (const api of generated.apiMessages.values()) {
    assert.ok(messageSchemas[`${api.name}Request`], `${api.name}Request has a schema`);
    assert.ok(messageSchemas[`${api.name}Response`], `${api.name}Response has a schema`);
  }
  assert.ok(messageSchemas.ConsumerProtocolSubscription);
  assert.ok(messageSchemas.ConsumerProtocolAssignment);
});

describe('every version of every message round-trips', () => {
  for (const schema of schemas) {
    test(`${schema.name} v${schema.validVersions[0]}-${schema.validVersions[1]}`, () => {
      const codec = codecOf(schema.name);
      for (const version of versionsOf(schema)) {
        for (const nulls of [false, true]) {
          const value = new SampleBuilder(nulls).struct(schema.fields, version);
          const bytes = encode(codec, version, value);
          const decoded = decodeAll(codec, version, bytes);
          assert.deepStrictEqual(decoded, value, `${schema.name} v${version} nulls=${nulls}`);
          assert.deepEqual(
            encode(codec, version, decoded),
            bytes,
            `${schema.name} v${version} re-encodes to the same bytes`,
          );
        }
      }
    });
  }
});

describe('defaults and unknown tags', () => {
  for (const schema of schemas) {
    test(`${schema.name}: an empty input encodes the defaults, which decode complete`, () => {
      const codec = codecOf(schema.name);
      for (const version of versionsOf(schema)) {
        const defaults = defaultsOf(schema.fields);
        // Fields without a default must be given; giving every field its default is the same.
        const bytes = encode(codec, version, defaults);
        assert.deepStrictEqual(decodeAll(codec, version, bytes), defaults, `v${version}`);
        const flexible = inRange(schema.flexibleVersions, version);
        if (!flexible) continue;
        // The top-level tagged section is last and empty: replace it with two unknown tags.
        assert.equal(bytes[bytes.length - 1], 0);
        const withUnknownTags = Buffer.concat([
          bytes.subarray(0, bytes.length - 1),
          Buffer.from('02e80701ffe90700', 'hex'),
        ]);
        assert.deepStrictEqual(
          decodeAll(codec, version, withUnknownTags),
          defaults,
          `v${version} skips unknown tags`,
        );
      }
    });
  }
});

describe('fields a version does not have', () => {
  // Requests are strict, as Kafka's own codecs are. Responses drop what a version lacks, so a
  // handler builds one response for every version it serves (tested below).
  for (const schema of schemas.filter((candidate) => !candidate.name.endsWith('Response'))) {
    // Every (version, top-level field) pair where a non-ignorable field is missing.
    const cases = versionsOf(schema).flatMap((version) =>
      schema.fields
        .filter((field) => !field.ignorable && !inRange(field.versions, version))
        .map((field) => ({ version, field })),
    );
    if (cases.length === 0) continue;
    test(`${schema.name}: a non-default value for a missing, non-ignorable field is refused`, () => {
      const codec = codecOf(schema.name);
      for (const { version, field } of cases) {
        const value = new SampleBuilder(false).struct(schema.fields, version);
        const other = versionsOf(schema).find((candidate) => inRange(field.versions, candidate))!;
        value[field.name] = new SampleBuilder(false).struct([field], other)[field.name];
        assert.throws(
          () => encode(codec, version, value),
          ProtocolEncodeError,
          `${schema.name}.${field.name} at v${version}`,
        );
      }
    });
  }

  test('a response field a version lacks is dropped even when not ignorable', () => {
    // ListOffsetsResponse.Partition.LeaderEpoch exists from v4 and is not ignorable.
    const writer = new Writer();
    const response = {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'topic',
          partitions: [
            { partitionIndex: 0, errorCode: 0, timestamp: 5n, offset: 7n, leaderEpoch: 3 },
          ],
        },
      ],
    };
    generated.encodeListOffsetsResponse(writer, 3, response);
    const decoded = generated.decodeListOffsetsResponse(new Reader(writer.toBuffer()), 3);
    assert.equal(decoded.topics[0].partitions[0].offset, 7n);
    assert.equal(decoded.topics[0].partitions[0].leaderEpoch, -1);
    const newer = new Writer();
    generated.encodeListOffsetsResponse(newer, 4, response);
    assert.equal(
      generated.decodeListOffsetsResponse(new Reader(newer.toBuffer()), 4).topics[0].partitions[0]
        .leaderEpoch,
      3,
    );
  });

  test('ignorable fields a version lacks are dropped silently', () => {
    // ProduceResponse.PartitionProduceResponse.RecordErrors exists from v8 and is ignorable.
    const writer = new Writer();
    generated.encodeProduceResponse(writer, 7, {
      responses: [
        {
          name: 'topic',
          partitionResponses: [
            { index: 0, errorCode: 0, baseOffset: 5n, recordErrors: [{ batchIndex: 1 }] },
          ],
        },
      ],
      throttleTimeMs: 0,
    });
    const decoded = generated.decodeProduceResponse(new Reader(writer.toBuffer()), 7);
    assert.deepEqual(decoded.responses[0].partitionResponses[0].recordErrors, []);
  });
});

describe('records', () => {
  test('Produce request records decode as a view of the frame', () => {
    const records = Buffer.from('0011223344', 'hex');
    const writer = new Writer();
    generated.encodeProduceRequest(writer, 7, {
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    });
    const frame = writer.toBuffer();
    const decoded = generated.decodeProduceRequest(new Reader(frame), 7);
    const decodedRecords = decoded.topicData[0].partitionData[0].records!;
    assert.deepEqual(decodedRecords, records);
    assert.equal(decodedRecords.buffer, frame.buffer, 'records are not copied');
  });

  test('Fetch response records given as several buffers are written by reference, in order', () => {
    const first = Buffer.alloc(2000, 1);
    const second = Buffer.alloc(3000, 2);
    for (const version of [4, 11, 12, 16]) {
      const writer = new Writer();
      generated.encodeFetchResponse(writer, version, {
        responses: [
          {
            topic: 't',
            topicId: Buffer.alloc(16, 9),
            partitions: [
              { partitionIndex: 3, errorCode: 0, highWatermark: 10n, records: [first, second] },
            ],
          },
        ],
      });
      const { chunks } = writer.finish();
      assert.ok(chunks.includes(first) && chunks.includes(second), `v${version}`);
      const decoded = generated.decodeFetchResponse(new Reader(Buffer.concat(chunks)), version);
      assert.deepEqual(decoded.responses[0].partitions[0].records, Buffer.concat([first, second]));
      assert.equal(decoded.responses[0].partitions[0].preferredReadReplica, -1);
    }
  });
});
