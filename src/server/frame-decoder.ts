// Splits a TCP byte stream into Kafka request frames: a 4-byte big-endian length, then that many
// bytes. Chunks arrive cut anywhere, one byte at a time from a slow client or many frames at once
// from a pipelining one.
//
//   chunk:  [ ..len|frame........|len|fra ]   [ me.....|len|frame... ]
//                   ^ emitted by reference      ^ pieces of one frame, joined once
//
// A frame that lies wholly inside one chunk is emitted as a view of that chunk; a frame spread
// over chunks is kept as a list of pieces and joined once when its last byte arrives, so each byte
// is copied at most once however the stream is cut. Nothing is allocated from the length prefix
// alone: a client that claims 100 MiB and sends one byte costs one byte. Because a view keeps the
// whole underlying buffer alive, a piece that is small next to its buffer is copied instead, so
// memory held is at most about twice the bytes actually received.

import { BrookError } from '../util/errors.js';

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

export class FrameDecoder {
  /** May be lowered and raised between pushes (a SASL listener reads small frames until authenticated). */
  frameBytesMax: number;
  private readonly lengthPrefix = Buffer.alloc(4);
  private lengthPrefixBytes = 0;
  /** The length of the frame being received, or -1 while its length prefix is incomplete. */
  private frameBytes = -1;
  private pieces: Buffer[] = [];
  private piecesBytes = 0;

  constructor(frameBytesMax: number) {
    this.frameBytesMax = frameBytesMax;
  }

  /** Whether bytes of an unfinished frame (or of its length prefix) are held. */
  get hasPartialFrame(): boolean {
    return this.lengthPrefixBytes > 0 || this.frameBytes >= 0;
  }

  /** Bytes of the unfinished frame held so far. */
  get partialFrameBytes(): number {
    return this.lengthPrefixBytes + this.piecesBytes;
  }

  /**
   * Consumes a chunk, calling `onFrame` with each frame body it completes, in order. Throws
   * FrameSizeError on a negative or oversized length; the stream cannot be resynchronised after
   * that, so the caller closes the connection.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let position = 0;
    while (position < chunk.length) {
      if (this.frameBytes < 0) {
        let length: number;
        if (this.lengthPrefixBytes === 0 && chunk.length - position >= 4) {
          length = chunk.readInt32BE(position);
          position += 4;
        } else {
          const take = Math.min(4 - this.lengthPrefixBytes, chunk.length - position);
          chunk.copy(this.lengthPrefix, this.lengthPrefixBytes, position, position + take);
          this.lengthPrefixBytes += take;
          position += take;
          if (this.lengthPrefixBytes < 4) return;
          length = this.lengthPrefix.readInt32BE(0);
        }
        if (length < 0 || length > this.frameBytesMax)
          throw new FrameSizeError(length, this.frameBytesMax);
        this.frameBytes = length;
        if (length === 0) {
          this.reset();
          onFrame(Buffer.alloc(0));
          continue;
        }
      }
      const available = chunk.length - position;
      if (this.piecesBytes === 0 && available >= this.frameBytes) {
        const frame = retained(chunk.subarray(position, position + this.frameBytes));
        position += this.frameBytes;
        this.reset();
        onFrame(frame);
        continue;
      }
      const take = Math.min(this.frameBytes - this.piecesBytes, available);
      this.pieces.push(retained(chunk.subarray(position, position + take)));
      this.piecesBytes += take;
      position += take;
      if (this.piecesBytes === this.frameBytes) {
        const frame = Buffer.concat(this.pieces, this.frameBytes);
        this.reset();
        onFrame(frame);
      }
    }
  }

  private reset(): void {
    this.lengthPrefixBytes = 0;
    this.frameBytes = -1;
    this.pieces = [];
    this.piecesBytes = 0;
  }
}

/** A view is kept only when it is at least half of the memory it would keep alive. */
function retained(view: Buffer): Buffer {
  if (view.length * 2 >= view.buffer.byteLength) return view;
  return Buffer.from(view);
}
