// Reading a plaintext socket in place: an accepted socket's reads land where a FrameReader says
// (its `onread`), with no fresh buffer per read. Used by the server's own listeners and by the
// network thread's.

import { Socket } from 'node:net';
import type { FrameReader } from '../protocol/frame-reader.js';

/**
 * The accepted socket's connection, read in place into `frames`' buffers (frame-reader.ts): Node
 * offers a socket's `onread` only where the socket is constructed, and a server constructs the
 * sockets it accepts, so the accepted one (created paused, `pauseOnConnect`, never having read)
 * gives its handle to a socket constructed with `onread`, and is destroyed without it. Destroying
 * it also takes it off the net.Server's count, which nothing here reads: connections are
 * counted, limited and closed by this server itself.
 */
export function readingInPlace(
  accepted: Socket,
  frames: FrameReader,
  bytesRead: (count: number) => void,
): Socket {
  const shell = accepted as unknown as { _handle: unknown };
  const handle = shell._handle;
  shell._handle = null;
  accepted.destroy();
  return new Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: () => frames.nextReadBuffer(),
      callback: (count: number) => {
        bytesRead(count);
        return true;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
}
