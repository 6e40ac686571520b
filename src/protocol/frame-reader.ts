// Splits a connection's byte stream into Kafka frames (a 4-byte big-endian length, then that many
// bytes): the server's request frames and the client's response frames, with one reader.
//
// Bytes come in one of two ways, fixed for a connection's life:
//
//   read mode (plaintext sockets, `onread`): the socket reads where `nextReadBuffer()` says and
//   `read(n)` takes what landed. Length prefixes and small frames land in a scratch buffer and
//   are copied out; once a large frame has its own buffer, the socket reads straight into it. A
//   frame of megabytes costs one allocation and one copy of its first read, instead of a fresh
//   64 KiB buffer per socket read joined into a fresh frame. The scratch buffer is one for every
//   connection of the thread (ten thousand idle connections hold none of their own): a socket's
//   read lands in it and its callback runs at once, on the event loop, and `read` copies out
//   every byte it keeps before returning, so no other connection's read can come in between.
//
//   stream mode (TLS sockets' data events): `push(chunk)`. A frame wholly inside one chunk is a
//   view of it (copied when small next to the chunk, so a view never pins much more memory than
//   itself); a frame spread over chunks is copied into its own buffer as they arrive.
//
//   scratch: [len|small frame|len|start of a large fra]  → copied out; the large frame allocated
//   large frame: [start ........ read directly, one socket read after another ........]
//
// Memory follows the bytes received, not what a length prefix claims: a frame's buffer holds at
// most GROWTH times the bytes of it received so far (growing, with a copy, as more arrive), so a
// client that announces 100 MiB and sends a few bytes holds a few hundred, and one that sends
// 64 KiB holds at most 1 MiB until it sends more.
//
// Every frame handed out is the caller's: in read mode none is a view of the scratch buffer, and
// no frame is written to afterwards (the log stamps a produced batch in place and keeps it). A
// frame from `allocate` is in memory the caller hands out again (util/reused-memory.ts).

const GROWTH = 16;
/** A frame's first buffer holds at least this much (or the whole frame, if smaller). */
const FIRST_CAPACITY_BYTES = 4 * 1024;
/** A frame whose unfilled room is smaller than this is read through the scratch buffer. */
const DIRECT_READ_BYTES_MIN = 16 * 1024;
/** The scratch buffer read-mode connections read into while no large frame is under way. */
export const SCRATCH_READ_BYTES = 64 * 1024;
let sharedScratch: Buffer | null = null;

export interface FrameReaderOptions {
  /** The largest frame accepted; may be changed between reads (a SASL listener's). */
  readonly frameBytesMax: number;
  /** The smallest frame accepted (a response holds at least its correlation id). */
  readonly frameBytesMin: number;
  /** The error thrown for a length outside the bounds; the stream cannot resynchronise after it. */
  readonly refuse: (frameBytes: number, frameBytesMax: number) => Error;
  /**
   * Offers the buffer a frame is read into once it is to hold the whole frame: `head` is the
   * frame's first bytes received (at least one), and a buffer of exactly `frameBytes` or null
   * (a fresh one, then) comes back. Its memory is the frame's until the caller takes it back.
   */
  readonly allocate?: (frameBytes: number, head: Buffer) => Buffer | null;
}

export class FrameReader {
  frameBytesMax: number;
  private readonly frameBytesMin: number;
  private readonly refuse: FrameReaderOptions['refuse'];
  private readonly allocate: FrameReaderOptions['allocate'];
  private readonly lengthPrefix = Buffer.alloc(4);
  private lengthPrefixBytes = 0;
  /** The length of the frame being received, or -1 between frames. */
  private frameBytes = -1;
  /** The frame's buffer so far: a prefix of it (`capacity` bytes), or null before its first byte. */
  private frame: Buffer | null = null;
  private frameFilled = 0;
  /** The last buffer `nextReadBuffer` gave is the frame's own, not the scratch buffer. */
  private readingDirect = false;

  constructor(options: FrameReaderOptions) {
    this.frameBytesMax = options.frameBytesMax;
    this.frameBytesMin = options.frameBytesMin;
    this.refuse = options.refuse;
    this.allocate = options.allocate;
  }

  /** Whether bytes of an unfinished frame (or of its length prefix) are held. */
  get hasPartialFrame(): boolean {
    return this.lengthPrefixBytes > 0 || this.frameBytes >= 0;
  }

  /** Bytes of the unfinished frame received so far. */
  get partialFrameBytes(): number {
    return this.lengthPrefixBytes + this.frameFilled;
  }

  /** Memory held for the unfinished frame (its buffer, which may be larger than what arrived). */
  get partialFrameCapacity(): number {
    return this.frame?.length ?? 0;
  }

  /** Stream mode: consumes `chunk`, calling `onFrame` with each frame it completes, in order. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.consume(chunk, onFrame, false);
  }

  /** Read mode: where the socket's next read should land. */
  nextReadBuffer(): Buffer {
    const frame = this.frame;
    if (frame !== null && frame.length - this.frameFilled >= DIRECT_READ_BYTES_MIN) {
      this.readingDirect = true;
      return frame.subarray(this.frameFilled);
    }
    this.readingDirect = false;
    return (sharedScratch ??= Buffer.allocUnsafeSlow(SCRATCH_READ_BYTES));
  }

  /** Read mode: `bytesRead` bytes landed where `nextReadBuffer` said; calls `onFrame` per frame. */
  read(bytesRead: number, onFrame: (frame: Buffer) => void): void {
    if (this.readingDirect) {
      this.frameFilled += bytesRead;
      this.afterFill(onFrame);
    } else {
      this.consume(sharedScratch!.subarray(0, bytesRead), onFrame, true);
    }
  }

  /** `reused`: `bytes` will be overwritten, so no frame may be a view of them. */
  private consume(bytes: Buffer, onFrame: (frame: Buffer) => void, reused: boolean): void {
    let position = 0;
    while (position < bytes.length) {
      if (this.frameBytes < 0) {
        let length: number;
        if (this.lengthPrefixBytes === 0 && bytes.length - position >= 4) {
          length = bytes.readInt32BE(position);
          position += 4;
        } else {
          const take = Math.min(4 - this.lengthPrefixBytes, bytes.length - position);
          bytes.copy(this.lengthPrefix, this.lengthPrefixBytes, position, position + take);
          this.lengthPrefixBytes += take;
          position += take;
          if (this.lengthPrefixBytes < 4) return;
          this.lengthPrefixBytes = 0;
          length = this.lengthPrefix.readInt32BE(0);
        }
        if (length < this.frameBytesMin || length > this.frameBytesMax)
          throw this.refuse(length, this.frameBytesMax);
        if (length === 0) {
          onFrame(Buffer.alloc(0));
          continue;
        }
        if (!reused && bytes.length - position >= length) {
          onFrame(retained(bytes.subarray(position, position + length)));
          position += length;
          continue;
        }
        this.frameBytes = length;
        if (position === bytes.length) return;
      }
      const take = Math.min(this.frameBytes - this.frameFilled, bytes.length - position);
      this.reserve(this.frameFilled + take, bytes, position);
      bytes.copy(this.frame!, this.frameFilled, position, position + take);
      this.frameFilled += take;
      position += take;
      this.afterFill(onFrame);
    }
  }

  /**
   * Makes the frame's buffer hold at least `bytes`, growing it no further than GROWTH × them.
   * Before the frame has a buffer, its first bytes are `incoming[incomingAt..]` (for `allocate`).
   */
  private reserve(bytes: number, incoming?: Buffer, incomingAt = 0): void {
    const held = this.frame?.length ?? 0;
    if (held >= bytes) return;
    const capacity = Math.min(this.frameBytes, Math.max(FIRST_CAPACITY_BYTES, bytes * GROWTH));
    const offered =
      capacity === this.frameBytes && this.allocate !== undefined
        ? this.allocate(capacity, this.frame ?? incoming!.subarray(incomingAt))
        : null;
    const grown = offered ?? Buffer.allocUnsafe(capacity);
    if (this.frame !== null) this.frame.copy(grown, 0, 0, this.frameFilled);
    this.frame = grown;
  }

  /** Hands the frame out once whole; grows its buffer once full, so a direct read has room. */
  private afterFill(onFrame: (frame: Buffer) => void): void {
    if (this.frameFilled === this.frameBytes) {
      const frame = this.frame!;
      this.frame = null;
      this.frameFilled = 0;
      this.frameBytes = -1;
      onFrame(frame);
    } else if (this.frameFilled === this.frame!.length) {
      this.reserve(this.frameFilled + 1);
    }
  }
}

/** A view is kept only when it is at least half of the memory it would keep alive. */
function retained(view: Buffer): Buffer {
  if (view.length * 2 >= view.buffer.byteLength) return view;
  return Buffer.from(view);
}
