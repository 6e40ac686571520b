// The server's side of frame reading (src/protocol/frame-reader.ts): request frames up to
// socket.request.max.bytes, and the error that closes a connection sending a length outside it.

import { FrameReader } from '../protocol/frame-reader.js';
import { ApiKey } from '../protocol/generated/index.js';
import { BrookError } from '../util/errors.js';
import { takeReused } from '../util/reused-memory.js';

export class FrameSizeError extends BrookError {
  declare readonly code: 'BROOK_SERVER_FRAME_SIZE';
  readonly frameBytes: number;

  constructor(frameBytes: number, frameBytesMax: number) {
    super(
      'BROOK_SERVER_FRAME_SIZE',
      frameBytes < 0
        ? `request frame length ${frameBytes} is negative`
        : `request frame of ${frameBytes} bytes is above socket.request.max.bytes (${frameBytesMax})`,
    );
    this.name = 'FrameSizeError';
    this.frameBytes = frameBytes;
  }
}

/**
 * Splits a client's bytes into request frames. An empty frame is handed on (the request header
 * decode refuses it, with the connection's usual close), not refused here.
 *
 * `reuseProduceFrames`: a large Produce frame (the bulk of what a broker receives) is read into a
 * reused block (util/reused-memory.ts); whoever handles the frame releases it. Frames that cross
 * to another thread must not be: their memory would leave this thread's blocks.
 */
export function requestFrameReader(
  frameBytesMax: number,
  options: { reuseProduceFrames?: boolean } = {},
): FrameReader {
  return new FrameReader({
    frameBytesMax,
    frameBytesMin: 0,
    refuse: (frameBytes, max) => new FrameSizeError(frameBytes, max),
    allocate: options.reuseProduceFrames === true ? reusedProduceFrame : undefined,
  });
}

function reusedProduceFrame(frameBytes: number, head: Buffer): Buffer | null {
  return head.length >= 2 && head.readInt16BE(0) === ApiKey.Produce ? takeReused(frameBytes) : null;
}
