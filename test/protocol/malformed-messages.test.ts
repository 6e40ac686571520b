// Mutated and truncated encodings of every message: a decoder either returns a value or throws
// ProtocolDecodeError, and never allocates what the remaining bytes cannot back. A seeded
// generator keeps failures reproducible.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as generated from '../../src/protocol/generated/all.js';
import { messageSchemas } from '../../src/protocol/generated/schema.js';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import type { FieldSchema } from '../../src/protocol/schema-types.js';
import { Writer } from '../../src/protocol/writer.js';

type Decode = (reader: Reader, version: number) => unknown;
type Encode = (writer: Writer, version: number, value: unknown) => void;
const codecs = generated as unknown as Record<string, Decode | Encode>;

/** xorshift32: small, seeded, good enough to pick bytes. */
function randomSource(seed: number): (limit: number) => number {
  let state = seed >>> 0 || 1;
  return (limit) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % limit;
  };
}

/** A value with one element in every array and a string in every string, enough to mutate. */
function sample(fields: readonly FieldSchema[], version: number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of fields) {
    const present =
      field.versions !== null && version >= field.versions[0] && version <= field.versions[1];
    if (!present) continue;
    const element = (): unknown => {
      switch (field.type) {
        case 'struct':
          return sample(field.fields!, version);
        case 'int64':
          return 7n;
        case 'bool':
          return true;
        case 'string':
          return 'abc';
        case 'bytes':
        case 'records':
          return Buffer.from('xyz');
        case 'uuid':
          return Buffer.alloc(16, 1);
        default:
          return 7;
      }
    };
    value[field.name] = field.array ? [element(), element()] : element();
  }
  return value;
}

const heapLimitBytes = 256 * 1024 * 1024;

test('mutated frames of every message decode or throw ProtocolDecodeError', () => {
  const random = randomSource(20261122);
  let decoded = 0;
  let refused = 0;
  for (const schema of Object.values(messageSchemas)) {
    const decode = codecs[`decode${schema.name}`] as Decode;
    const encode = codecs[`encode${schema.name}`] as Encode;
    for (let version = schema.validVersions[0]; version <= schema.validVersions[1]; version++) {
      const writer = new Writer();
      encode(writer, version, sample(schema.fields, version));
      const original = writer.toBuffer();
      for (let round = 0; round < 40; round++) {
        const frame = Buffer.from(original);
        const kind = random(4);
        let input: Buffer = frame;
        if (kind === 0) {
          input = frame.subarray(0, random(frame.length));
        } else if (kind === 1) {
          for (let flips = 1 + random(3); flips > 0 && frame.length > 0; flips--) {
            frame[random(frame.length)] = random(256);
          }
        } else if (kind === 2 && frame.length >= 4) {
          // A huge or negative length or count somewhere.
          const at = random(frame.length - 3);
          frame.writeInt32BE([0x7fffffff, -2, 0x10000000][random(3)], at);
        } else if (frame.length > 0) {
          // A run of 0xff: varints that never end, -1 lengths.
          const at = random(frame.length);
          frame.fill(0xff, at, Math.min(frame.length, at + 1 + random(8)));
        }
        try {
          decode(new Reader(input), version);
          decoded++;
        } catch (error) {
          if (!(error instanceof ProtocolDecodeError)) {
            assert.fail(
              `${schema.name} v${version} threw ${String(error)} for ${input.toString('hex')}`,
            );
          }
          refused++;
        }
      }
    }
  }
  assert.ok(refused > 1000, `only ${refused} frames were refused`);
  assert.ok(decoded > 100, `only ${decoded} frames decoded`);
  assert.ok(process.memoryUsage().heapUsed < heapLimitBytes, 'no huge allocation happened');
});
