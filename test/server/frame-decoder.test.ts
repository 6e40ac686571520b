import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder, FrameSizeError } from '../../src/server/frame-decoder.js';

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
];
const stream = framed(...bodies);

test('frames come out whole whatever two points the stream is cut at', () => {
  for (let first = 0; first <= stream.length; first += 7) {
    for (let second = first; second <= stream.length; second += 131) {
      const decoder = new FrameDecoder(10_000);
      const frames: Buffer[] = [];
      for (const chunk of [
        stream.subarray(0, first),
        stream.subarray(first, second),
        stream.subarray(second),
      ]) {
        decoder.push(chunk, (frame) => frames.push(frame));
      }
      assert.deepEqual(frames, bodies, `cut at ${first} and ${second}`);
      assert.equal(decoder.hasPartialFrame, false);
    }
  }
});

test('frames come out whole when the stream arrives one byte at a time', () => {
  const decoder = new FrameDecoder(10_000);
  const frames: Buffer[] = [];
  for (const byte of stream) decoder.push(Buffer.from([byte]), (frame) => frames.push(frame));
  assert.deepEqual(frames, bodies);
});

test('a partial frame holds only the bytes received, not its announced length', () => {
  const decoder = new FrameDecoder(100 * 1024 * 1024);
  const prefix = Buffer.alloc(5);
  prefix.writeInt32BE(100 * 1024 * 1024);
  decoder.push(prefix, () => assert.fail('no frame yet'));
  assert.equal(decoder.hasPartialFrame, true);
  assert.equal(decoder.partialFrameBytes, 1);
});

test('a frame wholly inside a large chunk is a view of it; a small one is copied so it does not pin the chunk', () => {
  // Buffer.alloc, not a pooled buffer: the chunk must own its memory, as a socket read's does.
  const large = Buffer.alloc(1018);
  framed(Buffer.alloc(1000, 1), Buffer.alloc(10, 2)).copy(large);
  const frames: Buffer[] = [];
  new FrameDecoder(10_000).push(large, (frame) => frames.push(frame));
  assert.equal(frames[0].buffer, large.buffer);
  assert.notEqual(frames[1].buffer, large.buffer);
  assert.deepEqual(frames[1], Buffer.alloc(10, 2));
});

test('an oversized or negative length is refused as soon as the prefix is complete', () => {
  const oversized = Buffer.alloc(4);
  oversized.writeInt32BE(10_001);
  assert.throws(() => new FrameDecoder(10_000).push(oversized, () => {}), FrameSizeError);
  assert.throws(
    () => new FrameDecoder(10_000).push(Buffer.from([0x80, 0, 0, 0]), () => {}),
    /negative/,
  );
  const exact = framed(Buffer.alloc(10_000));
  let count = 0;
  new FrameDecoder(10_000).push(exact, () => count++);
  assert.equal(count, 1);
});
