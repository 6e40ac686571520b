// The frame reader both ends use (src/protocol/frame-reader.ts): frames come out whole and in
// order however the stream is cut, streamed (TLS data events) or read in place (a plaintext
// socket's onread); no frame aliases the reused scratch buffer; memory follows the bytes received,
// not what a length prefix claims; a length outside the bounds is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FrameReader, SCRATCH_READ_BYTES } from '../../src/protocol/frame-reader.js';
import { FrameSizeError, requestFrameReader } from '../../src/server/request-frames.js';

function framed(...bodies: Buffer[]): Buffer {
  return Buffer.concat(
    bodies.flatMap((body) => {
      const length = Buffer.alloc(4);
      length.writeInt32BE(body.length);
      return [length, body];
    }),
  );
}

const bodies = [
  Buffer.from('first frame'),
  Buffer.alloc(0),
  Buffer.from('x'),
  Buffer.alloc(3000, 7),
  Buffer.alloc(70_000, 8),
  Buffer.from('after the large one'),
  Buffer.alloc(300_000, 9),
];
const stream = framed(...bodies);

/** Feeds `stream` in read mode, each read at most `sizes[i % n]` bytes; returns the frames. */
function readInPlace(reader: FrameReader, bytes: Buffer, sizes: number[]): Buffer[] {
  const frames: Buffer[] = [];
  for (let position = 0, next = 0; position < bytes.length; next++) {
    const target = reader.nextReadBuffer();
    const landed = bytes.copy(target, 0, position, position + sizes[next % sizes.length]);
    reader.read(landed, (frame) => frames.push(frame));
    position += landed;
  }
  return frames;
}

test('frames come out whole whatever two points the stream is cut at, streamed', () => {
  for (let first = 0; first <= stream.length; first += 997) {
    for (let second = first; second <= stream.length; second += 13_001) {
      const reader = requestFrameReader(1_000_000);
      const frames: Buffer[] = [];
      for (const chunk of [
        stream.subarray(0, first),
        stream.subarray(first, second),
        stream.subarray(second),
      ])
        reader.push(chunk, (frame) => frames.push(frame));
      assert.deepEqual(frames, bodies, `cut at ${first} and ${second}`);
      assert.equal(reader.hasPartialFrame, false);
    }
  }
});

test('frames come out whole one byte at a time, streamed and read in place', () => {
  const streamed = requestFrameReader(1_000_000);
  const frames: Buffer[] = [];
  for (const byte of stream) streamed.push(Buffer.from([byte]), (frame) => frames.push(frame));
  assert.deepEqual(frames, bodies);
  assert.deepEqual(readInPlace(requestFrameReader(1_000_000), stream, [1]), bodies);
});

test('read in place, reads of any size give whole frames, large ones read into themselves', () => {
  for (const sizes of [[1, 3, 2, 4096], [SCRATCH_READ_BYTES], [7, 65_536, 100_000, 5]]) {
    const reader = requestFrameReader(1_000_000);
    let directReads = 0;
    const frames: Buffer[] = [];
    for (let position = 0, next = 0; position < stream.length; next++) {
      const target = reader.nextReadBuffer();
      if (target.length !== SCRATCH_READ_BYTES) directReads++;
      const landed = stream.copy(target, 0, position, position + sizes[next % sizes.length]);
      reader.read(landed, (frame) => frames.push(frame));
      position += landed;
    }
    assert.deepEqual(frames, bodies, `reads of ${sizes.join(', ')} bytes`);
    assert.ok(directReads > 0, 'the large frames were read into themselves');
  }
});

test('read in place, no frame is a view of the scratch buffer the next read overwrites', () => {
  const reader = requestFrameReader(1_000_000);
  const small = framed(Buffer.from('one'), Buffer.from('two'), Buffer.from('three'));
  const frames = readInPlace(reader, small, [small.length]);
  reader.nextReadBuffer().fill(0xff);
  assert.deepEqual(frames.map(String), ['one', 'two', 'three']);
});

test('a partial frame holds a bounded multiple of the bytes received, not its announced length', () => {
  const claimed = 100 * 1024 * 1024;
  for (const mode of ['streamed', 'read in place'] as const) {
    const reader = requestFrameReader(claimed);
    const prefix = Buffer.alloc(4 + 1);
    prefix.writeInt32BE(claimed);
    let received = 0;
    for (const piece of [prefix, Buffer.alloc(SCRATCH_READ_BYTES), Buffer.alloc(300_000)]) {
      if (mode === 'streamed') reader.push(piece, () => assert.fail('no frame yet'));
      else readInPlace(reader, piece, [SCRATCH_READ_BYTES]);
      received += piece.length - (piece === prefix ? 4 : 0);
      assert.equal(reader.partialFrameBytes, received);
      assert.ok(
        reader.partialFrameCapacity <= Math.max(4096, 16 * received),
        `${mode}: ${reader.partialFrameCapacity} bytes held for ${received} received`,
      );
    }
    assert.equal(reader.hasPartialFrame, true);
  }
});

test('a frame wholly inside a large chunk is a view of it; a small one is copied so it does not pin the chunk', () => {
  // Buffer.alloc, not a pooled buffer: the chunk must own its memory, as a socket read's does.
  const large = Buffer.alloc(1018);
  framed(Buffer.alloc(1000, 1), Buffer.alloc(10, 2)).copy(large);
  const frames: Buffer[] = [];
  requestFrameReader(10_000).push(large, (frame) => frames.push(frame));
  assert.equal(frames[0].buffer, large.buffer);
  assert.notEqual(frames[1].buffer, large.buffer);
  assert.deepEqual(frames[1], Buffer.alloc(10, 2));
});

test('an oversized or negative length is refused as soon as the prefix is complete', () => {
  const oversized = Buffer.alloc(4);
  oversized.writeInt32BE(10_001);
  assert.throws(() => requestFrameReader(10_000).push(oversized, () => {}), FrameSizeError);
  assert.throws(
    () => requestFrameReader(10_000).push(Buffer.from([0x80, 0, 0, 0]), () => {}),
    /negative/,
  );
  const refusing = requestFrameReader(10_000);
  oversized.copy(refusing.nextReadBuffer());
  assert.throws(() => refusing.read(4, () => {}), FrameSizeError);
  let count = 0;
  requestFrameReader(10_000).push(framed(Buffer.alloc(10_000)), () => count++);
  assert.equal(count, 1);
  // A response holds at least its correlation id.
  const responses = new FrameReader({
    frameBytesMax: 100,
    frameBytesMin: 4,
    refuse: (frameBytes) => new Error(`response frame of ${frameBytes} bytes`),
  });
  assert.throws(() => responses.push(Buffer.from([0, 0, 0, 3]), () => {}), /3 bytes/);
});

test('a frame is read into the buffer `allocate` offers once it is to hold the whole frame', () => {
  const offered: Array<{ frameBytes: number; head: number }> = [];
  const reader = new FrameReader({
    frameBytesMax: 1 << 20,
    frameBytesMin: 0,
    refuse: (frameBytes) => new Error(`refused ${frameBytes}`),
    allocate: (frameBytes, head) => {
      offered.push({ frameBytes, head: head[0] });
      // Only frames starting with 9 get a buffer of the caller's (a marked one).
      if (head[0] !== 9) return null;
      const buffer = Buffer.alloc(frameBytes, 0xee);
      given.push(buffer);
      return buffer;
    },
  });
  const given: Buffer[] = [];
  for (const sizes of [[SCRATCH_READ_BYTES], [1, 7, 4096, 100_000]]) {
    offered.length = 0;
    const frames = readInPlace(reader, stream, sizes);
    assert.deepEqual(frames, bodies, `reads of ${sizes.join(', ')} bytes`);
    // Asked once per frame that grew to its whole length through `reserve` (not the small ones
    // copied whole out of a read), with the frame's first byte in hand.
    assert.ok(offered.some((offer) => offer.frameBytes === 300_000 && offer.head === 9));
    assert.ok(offered.every((offer) => bodies.some((body) => body.length === offer.frameBytes)));
    assert.equal(
      frames[6].buffer,
      given.at(-1)!.buffer,
      'the 9s were read into the offered buffer',
    );
    assert.ok(!given.some((buffer) => buffer.buffer === frames[4].buffer), 'the 8s into their own');
  }
});
