import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

function bytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ''), 'hex');
}

function written(write: (writer: Writer) => void): Buffer {
  const writer = new Writer();
  write(writer);
  return writer.toBuffer();
}

function assertDecodeError(
  read: (reader: Reader) => unknown,
  input: Buffer,
  pattern: RegExp,
): void {
  assert.throws(
    () => read(new Reader(input)),
    (error: unknown) => {
      assert.ok(error instanceof ProtocolDecodeError, `expected ProtocolDecodeError, got ${error}`);
      assert.match(error.message, pattern);
      assert.match(error.message, /at byte \d+/);
      return true;
    },
  );
}

describe('fixed-width primitives', () => {
  test('integers and floats are big-endian and round-trip at their limits', () => {
    const buffer = written((writer) => {
      writer.writeInt8(-128);
      writer.writeInt16(-32768);
      writer.writeUint16(65535);
      writer.writeInt32(-2147483648);
      writer.writeUint32(4294967295);
      writer.writeInt64(-9223372036854775808n);
      writer.writeInt64(9223372036854775807n);
      writer.writeFloat64(-1.25);
      writer.writeBool(true);
      writer.writeBool(false);
    });
    assert.equal(
      buffer.toString('hex'),
      '80' +
        '8000' +
        'ffff' +
        '80000000' +
        'ffffffff' +
        '8000000000000000' +
        '7fffffffffffffff' +
        'bff4000000000000' +
        '01' +
        '00',
    );
    const reader = new Reader(buffer);
    assert.equal(reader.readInt8(), -128);
    assert.equal(reader.readInt16(), -32768);
    assert.equal(reader.readUint16(), 65535);
    assert.equal(reader.readInt32(), -2147483648);
    assert.equal(reader.readUint32(), 4294967295);
    assert.equal(reader.readInt64(), -9223372036854775808n);
    assert.equal(reader.readInt64(), 9223372036854775807n);
    assert.equal(reader.readFloat64(), -1.25);
    assert.equal(reader.readBool(), true);
    assert.equal(reader.readBool(), false);
    assert.equal(reader.remaining, 0);
  });

  test('a bool byte other than 0 reads as true', () => {
    assert.equal(new Reader(bytes('02')).readBool(), true);
  });

  test('uuids are 16 raw bytes, copied out of the frame', () => {
    const uuid = bytes('00112233445566778899aabbccddeeff');
    const buffer = written((writer) => writer.writeUuid(uuid));
    assert.deepEqual(buffer, uuid);
    const decoded = new Reader(buffer).readUuid();
    assert.deepEqual(decoded, uuid);
    buffer[0] = 0xff;
    assert.equal(decoded[0], 0x00, 'a decoded uuid must not alias the frame');
    assert.throws(() => written((writer) => writer.writeUuid(Buffer.alloc(15))), RangeError);
  });

  for (const [name, read, size] of [
    ['int8', (reader: Reader) => reader.readInt8(), 1],
    ['int16', (reader: Reader) => reader.readInt16(), 2],
    ['uint16', (reader: Reader) => reader.readUint16(), 2],
    ['int32', (reader: Reader) => reader.readInt32(), 4],
    ['uint32', (reader: Reader) => reader.readUint32(), 4],
    ['int64', (reader: Reader) => reader.readInt64(), 8],
    ['float64', (reader: Reader) => reader.readFloat64(), 8],
    ['bool', (reader: Reader) => reader.readBool(), 1],
    ['uuid', (reader: Reader) => reader.readUuid(), 16],
  ] as const) {
    test(`a truncated ${name} is refused`, () => {
      assertDecodeError(read, Buffer.alloc(size - 1), new RegExp(`${name} needs ${size} bytes`));
    });
  }

  test('a reader never reads past its end even when the buffer continues', () => {
    const reader = new Reader(bytes('0000000100000002'), 0, 6);
    assert.equal(reader.readInt32(), 1);
    assert.throws(() => reader.readInt32(), ProtocolDecodeError);
  });
});

describe('varints', () => {
  const unsignedCases: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2147483647, 'ffffffff07'],
    [4294967295, 'ffffffff0f'],
  ];
  for (const [value, hex] of unsignedCases) {
    test(`unsigned varint ${value} is ${hex}`, () => {
      assert.equal(written((writer) => writer.writeUnsignedVarint(value)).toString('hex'), hex);
      const reader = new Reader(bytes(hex));
      assert.equal(reader.readUnsignedVarint(), value);
      assert.equal(reader.remaining, 0);
    });
  }

  const zigzagCases: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  for (const [value, hex] of zigzagCases) {
    test(`zigzag varint ${value} is ${hex}`, () => {
      assert.equal(written((writer) => writer.writeVarint(value)).toString('hex'), hex);
      assert.equal(new Reader(bytes(hex)).readVarint(), value);
    });
  }

  const varlongCases: [bigint, string][] = [
    [0n, '00'],
    [-1n, '01'],
    [1n, '02'],
    [1700000000000n, '80a0abfef962'],
    [9223372036854775807n, 'feffffffffffffffff01'],
    [-9223372036854775808n, 'ffffffffffffffffff01'],
  ];
  for (const [value, hex] of varlongCases) {
    test(`zigzag varlong ${value} is ${hex}`, () => {
      assert.equal(written((writer) => writer.writeVarlong(value)).toString('hex'), hex);
      assert.equal(new Reader(bytes(hex)).readVarlong(), value);
    });
  }

  test('a varint longer than 5 bytes is refused', () => {
    assertDecodeError((reader) => reader.readUnsignedVarint(), bytes('ffffffffff01'), /32 bits/);
    assertDecodeError((reader) => reader.readUnsignedVarint(), bytes('8080808080808080'), /varint/);
    assertDecodeError((reader) => reader.readVarint(), bytes('ffffffff1f'), /32 bits/);
  });

  test('a varlong longer than 10 bytes is refused', () => {
    assertDecodeError((reader) => reader.readVarlong(), bytes('ffffffffffffffffff7f'), /64 bits/);
    assertDecodeError((reader) => reader.readVarlong(), bytes('8080808080808080808001'), /varlong/);
  });

  test('a truncated varint or varlong is refused', () => {
    assertDecodeError((reader) => reader.readUnsignedVarint(), bytes('8080'), /truncated/);
    assertDecodeError((reader) => reader.readVarlong(), bytes('ff'), /truncated/);
    assertDecodeError((reader) => reader.readUnsignedVarint(), Buffer.alloc(0), /truncated/);
  });

  test('values outside the varint ranges are refused when writing', () => {
    assert.throws(() => written((writer) => writer.writeUnsignedVarint(-1)), RangeError);
    assert.throws(() => written((writer) => writer.writeUnsignedVarint(2 ** 32)), RangeError);
    assert.throws(() => written((writer) => writer.writeVarint(2 ** 31)), RangeError);
  });
});

describe('strings and bytes', () => {
  test('classic and compact strings round-trip, including multi-byte UTF-8', () => {
    const values = ['', 'a', 'topic-1', 'żółć ✓ 🚀', 'x'.repeat(300)];
    for (const value of values) {
      const classic = written((writer) => writer.writeString(value));
      assert.equal(classic.readInt16BE(0), Buffer.byteLength(value));
      assert.equal(new Reader(classic).readString(), value);
      const compact = written((writer) => writer.writeCompactString(value));
      const reader = new Reader(compact);
      assert.equal(reader.readUnsignedVarint(), Buffer.byteLength(value) + 1);
      assert.equal(new Reader(compact).readCompactString(), value);
    }
  });

  test('null strings and bytes use -1 (classic) and 0 (compact)', () => {
    assert.equal(written((writer) => writer.writeNullableString(null)).toString('hex'), 'ffff');
    assert.equal(
      written((writer) => writer.writeCompactNullableString(null)).toString('hex'),
      '00',
    );
    assert.equal(written((writer) => writer.writeNullableBytes(null)).toString('hex'), 'ffffffff');
    assert.equal(written((writer) => writer.writeCompactNullableBytes(null)).toString('hex'), '00');
    assert.equal(new Reader(bytes('ffff')).readNullableString(), null);
    assert.equal(new Reader(bytes('00')).readCompactNullableString(), null);
    assert.equal(new Reader(bytes('ffffffff')).readNullableBytes(), null);
    assert.equal(new Reader(bytes('00')).readCompactNullableBytes(), null);
  });

  test('a null where the field is not nullable is refused', () => {
    assertDecodeError((reader) => reader.readString(), bytes('ffff'), /negative/);
    assertDecodeError((reader) => reader.readCompactString(), bytes('00'), /is null/);
    assertDecodeError((reader) => reader.readBytes(), bytes('ffffffff'), /negative/);
    assertDecodeError((reader) => reader.readCompactBytes(), bytes('00'), /are null/);
  });

  test('negative lengths other than -1 are refused', () => {
    assertDecodeError((reader) => reader.readNullableString(), bytes('fffe'), /invalid/);
    assertDecodeError((reader) => reader.readNullableBytes(), bytes('80000000'), /invalid/);
  });

  test('lengths beyond the remaining bytes are refused before any allocation', () => {
    // Two gigabytes claimed by an 8-byte frame.
    assertDecodeError(
      (reader) => reader.readBytes(),
      bytes('7fffffff00000000'),
      /exceeds the 4 bytes/,
    );
    assertDecodeError((reader) => reader.readNullableBytes(), bytes('7fffffff'), /exceeds/);
    assertDecodeError((reader) => reader.readString(), bytes('7fff41'), /exceeds the 1 bytes/);
    assertDecodeError((reader) => reader.readCompactString(), bytes('ffffffff0f41'), /exceeds/);
    assertDecodeError((reader) => reader.readCompactNullableBytes(), bytes('0541'), /exceeds/);
    assertDecodeError((reader) => reader.readString(), bytes('00'), /int16 needs 2 bytes/);
  });

  test('decoded bytes are views of the frame, not copies', () => {
    const frame = bytes('00000003 616263');
    const value = new Reader(frame).readBytes();
    assert.equal(value.toString(), 'abc');
    assert.equal(value.buffer, frame.buffer);
    assert.equal(value.byteOffset, frame.byteOffset + 4);
  });

  test('a string longer than an int16 length can hold is refused when writing', () => {
    assert.throws(() => written((writer) => writer.writeString('x'.repeat(32768))), RangeError);
  });
});

describe('arrays', () => {
  test('classic and compact counts, with null', () => {
    const classic = written((writer) => {
      writer.writeArrayCount(2);
      writer.writeInt32(7);
      writer.writeInt32(8);
      writer.writeInt32(-1);
    });
    const reader = new Reader(classic);
    assert.deepEqual(
      reader.readArray((element) => element.readInt32(), 4),
      [7, 8],
    );
    assert.equal(
      reader.readNullableArray((element) => element.readInt32(), 4),
      null,
    );
    const compact = written((writer) => {
      writer.writeCompactArrayCount(2);
      writer.writeInt8(1);
      writer.writeInt8(2);
      writer.writeUnsignedVarint(0);
    });
    const compactReader = new Reader(compact);
    assert.deepEqual(
      compactReader.readCompactArray((element) => element.readInt8()),
      [1, 2],
    );
    assert.equal(
      compactReader.readCompactNullableArray((element) => element.readInt8()),
      null,
    );
  });

  test('a count larger than the remaining bytes is refused before the array is created', () => {
    assertDecodeError(
      (reader) => reader.readArrayCount(),
      bytes('7fffffff 00'),
      /2147483647 elements/,
    );
    assertDecodeError(
      (reader) => reader.readNullableArrayCount(),
      bytes('00000002 00'),
      /2 elements/,
    );
    assertDecodeError((reader) => reader.readCompactArrayCount(), bytes('ffffffff0f'), /elements/);
    assertDecodeError(
      (reader) => reader.readCompactNullableArrayCount(),
      bytes('03 00'),
      /2 elements/,
    );
    // Minimum element sizes tighten the check: three int32s need twelve bytes.
    assertDecodeError(
      (reader) => reader.readArray((element) => element.readInt32(), 4),
      bytes('00000003 0000000000000000'),
      /at least 12 bytes/,
    );
  });

  test('negative counts other than -1, and null where not nullable, are refused', () => {
    assertDecodeError((reader) => reader.readArrayCount(), bytes('ffffffff'), /negative/);
    assertDecodeError((reader) => reader.readNullableArrayCount(), bytes('fffffffe'), /invalid/);
    assertDecodeError((reader) => reader.readCompactArrayCount(), bytes('00'), /is null/);
  });
});

describe('tagged fields', () => {
  test('an empty section is one zero byte', () => {
    assert.equal(written((writer) => writer.writeEmptyTaggedFields()).toString('hex'), '00');
    const reader = new Reader(bytes('00'));
    reader.readTaggedFields();
    assert.equal(reader.remaining, 0);
  });

  test('known tags are decoded from their own bytes and unknown tags are skipped', () => {
    const field = new Writer();
    field.writeInt32(42);
    const buffer = written((writer) => {
      writer.writeUnsignedVarint(3);
      writer.writeTaggedField(0, field.finish());
      writer.writeUnsignedVarint(5);
      writer.writeUnsignedVarint(2);
      writer.writeInt16(-1);
      writer.writeUnsignedVarint(200);
      writer.writeUnsignedVarint(0);
    });
    const seen: number[] = [];
    const reader = new Reader(buffer);
    reader.readTaggedFields((tag, fieldReader) => {
      seen.push(tag);
      if (tag !== 0) return false;
      assert.equal(fieldReader.remaining, 4);
      assert.equal(fieldReader.readInt32(), 42);
      return true;
    });
    assert.deepEqual(seen, [0, 5, 200]);
    assert.equal(reader.remaining, 0);
  });

  test('a tagged field larger than the remaining bytes is refused', () => {
    assertDecodeError(
      (reader) => reader.readTaggedFields(),
      bytes('01 00 7f 00'),
      /tagged field 0/,
    );
  });

  test('a section count larger than the remaining bytes is refused', () => {
    assertDecodeError((reader) => reader.readTaggedFields(), bytes('ffffffff0f'), /elements/);
  });

  test('tags out of order or repeated are refused', () => {
    assertDecodeError(
      (reader) => reader.readTaggedFields(),
      bytes('02 01 00 01 00'),
      /out of order/,
    );
  });

  test('a known tag whose decoder leaves bytes unread is refused', () => {
    assertDecodeError(
      (reader) => reader.readTaggedFields((_tag, fieldReader) => (fieldReader.readInt8(), true)),
      bytes('01 00 02 0102'),
      /left over/,
    );
  });
});

describe('Writer', () => {
  test('records buffers are appended by reference, small values share a scratch buffer', () => {
    const records = Buffer.alloc(4096, 1);
    const other = Buffer.alloc(10, 2);
    const writer = new Writer();
    writer.writeInt32(1);
    writer.writeRecords([records, other], false);
    writer.writeInt16(2);
    writer.writeRecords(records, true);
    writer.writeRecords(null, true);
    const { chunks, byteLength } = writer.finish();
    assert.ok(chunks.includes(records), 'the records buffer itself is a chunk');
    assert.ok(chunks.includes(other), 'even a small records buffer is appended by reference');
    assert.equal(
      byteLength,
      chunks.reduce((total, chunk) => total + chunk.length, 0),
    );
    const joined = Buffer.concat(chunks);
    const reader = new Reader(joined);
    assert.equal(reader.readInt32(), 1);
    assert.deepEqual(reader.readBytes(), Buffer.concat([records, other]));
    assert.equal(reader.readInt16(), 2);
    assert.deepEqual(reader.readCompactBytes(), records);
    assert.equal(reader.readCompactNullableBytes(), null);
    assert.equal(reader.remaining, 0);
  });

  test('the scratch buffer grows without losing earlier bytes', () => {
    const writer = new Writer({ scratchBytes: 8 });
    for (let index = 0; index < 1000; index++) writer.writeInt32(index);
    writer.writeString('y'.repeat(100));
    const buffer = writer.toBuffer();
    assert.equal(buffer.length, 4000 + 2 + 100);
    const reader = new Reader(buffer);
    for (let index = 0; index < 1000; index++) assert.equal(reader.readInt32(), index);
    assert.equal(reader.readString(), 'y'.repeat(100));
  });

  test('a frame-length writer prefixes the length of what follows', () => {
    const writer = new Writer({ frameLength: true, scratchBytes: 4 });
    writer.writeInt32(7);
    writer.writeRecords(Buffer.alloc(1000), false);
    const { chunks, byteLength } = writer.finish();
    const joined = Buffer.concat(chunks);
    assert.equal(byteLength, 4 + 4 + 4 + 1000);
    assert.equal(joined.readInt32BE(0), byteLength - 4);
  });

  test('byteLength counts what has been written so far', () => {
    const writer = new Writer();
    writer.writeInt64(1n);
    writer.writeBytes(Buffer.alloc(2000));
    writer.writeInt8(1);
    assert.equal(writer.byteLength, 8 + 4 + 2000 + 1);
  });
});
