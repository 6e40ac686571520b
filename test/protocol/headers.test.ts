import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/headers.js';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function encoded(write: (writer: Writer) => void): string {
  const writer = new Writer();
  write(writer);
  return writer.toBuffer().toString('hex');
}

describe('request headers', () => {
  test('a non-flexible request uses header v1 and leaves the reader at the body', () => {
    // Produce v7, correlation id 5, client id "ab", then a body byte.
    const reader = new Reader(hex('0000 0007 00000005 0002 6162 99'));
    assert.deepEqual(decodeRequestHeader(reader), {
      apiKey: 0,
      apiVersion: 7,
      correlationId: 5,
      clientId: 'ab',
      headerVersion: 1,
    });
    assert.equal(reader.readUint8(), 0x99);
  });

  test('a flexible request uses header v2: int16 client id, then tagged fields (unknown ones skipped)', () => {
    // Metadata v12; the tagged section holds tag 3 with two bytes.
    const reader = new Reader(hex('0003 000c 00000006 0002 6162 01 03 02 ffff 99'));
    assert.deepEqual(decodeRequestHeader(reader), {
      apiKey: 3,
      apiVersion: 12,
      correlationId: 6,
      clientId: 'ab',
      headerVersion: 2,
    });
    assert.equal(reader.readUint8(), 0x99);
  });

  test('a null client id is an int16 -1 in both header versions', () => {
    assert.equal(
      encoded((writer) =>
        encodeRequestHeader(writer, {
          apiKey: 3,
          apiVersion: 12,
          correlationId: 1,
          clientId: null,
        }),
      ),
      '0003000c00000001ffff00',
    );
    assert.equal(
      encoded((writer) =>
        encodeRequestHeader(writer, { apiKey: 3, apiVersion: 8, correlationId: 1 }),
      ),
      '0003000800000001ffff',
    );
    const reader = new Reader(hex('0003000c00000001ffff00'));
    assert.equal(decodeRequestHeader(reader).clientId, null);
    assert.equal(reader.remaining, 0);
  });

  test('the client id is never compact, even in header v2', () => {
    const bytes = encoded((writer) =>
      encodeRequestHeader(writer, { apiKey: 18, apiVersion: 3, correlationId: 9, clientId: 'abc' }),
    );
    assert.equal(bytes, '0012' + '0003' + '00000009' + '0003' + '616263' + '00');
  });

  test('an unknown API key still yields its key, version and correlation id', () => {
    const reader = new Reader(hex('03e7 0001 0000002a 0001 78'));
    assert.deepEqual(decodeRequestHeader(reader), {
      apiKey: 999,
      apiVersion: 1,
      correlationId: 42,
      clientId: 'x',
      headerVersion: 1,
    });
  });

  test('a version above the highest known one of a flexible API reads as header v2', () => {
    // ApiVersions v9 from a newer client: flexible ranges are open-ended.
    assert.equal(requestHeaderVersion(18, 9), 2);
    const reader = new Reader(hex('0012 0009 00000001 0000 00'));
    const header = decodeRequestHeader(reader);
    assert.equal(header.apiVersion, 9);
    assert.equal(header.headerVersion, 2);
    assert.equal(reader.remaining, 0);
  });

  test("header versions follow each API's first flexible version", () => {
    assert.equal(requestHeaderVersion(0, 8), 1);
    assert.equal(requestHeaderVersion(0, 9), 2);
    assert.equal(requestHeaderVersion(1, 11), 1);
    assert.equal(requestHeaderVersion(1, 12), 2);
    assert.equal(requestHeaderVersion(18, 2), 1);
    assert.equal(requestHeaderVersion(18, 3), 2);
    assert.equal(requestHeaderVersion(17, 1), 1, 'SaslHandshake is never flexible');
  });

  test('a truncated header is refused', () => {
    assert.throws(
      () => decodeRequestHeader(new Reader(hex('0000 0007 0000'))),
      ProtocolDecodeError,
    );
    assert.throws(
      () => decodeRequestHeader(new Reader(hex('0000 0007 00000001 0005 61'))),
      ProtocolDecodeError,
    );
  });
});

describe('response headers', () => {
  test('ApiVersions responses always use header v0, whatever the version', () => {
    for (const version of [0, 1, 2, 3, 4, 7]) {
      assert.equal(responseHeaderVersion(18, version), 0);
      assert.equal(
        encoded((writer) => encodeResponseHeader(writer, 18, version, 3)),
        '00000003',
      );
    }
  });

  test('flexible responses use header v1 with an empty tagged section, others v0', () => {
    assert.equal(
      encoded((writer) => encodeResponseHeader(writer, 0, 9, 3)),
      '0000000300',
    );
    assert.equal(
      encoded((writer) => encodeResponseHeader(writer, 0, 8, 3)),
      '00000003',
    );
    assert.equal(
      encoded((writer) => encodeResponseHeader(writer, 1, 12, 3)),
      '0000000300',
    );
  });

  test('decodeResponseHeader reads what encodeResponseHeader wrote', () => {
    const writer = new Writer();
    encodeResponseHeader(writer, 3, 12, 77);
    writer.writeInt8(5);
    const reader = new Reader(writer.toBuffer());
    assert.deepEqual(decodeResponseHeader(reader, 3, 12), { correlationId: 77, headerVersion: 1 });
    assert.equal(reader.readInt8(), 5);
  });
});
