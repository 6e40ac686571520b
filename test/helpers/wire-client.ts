// A minimal Kafka wire client for tests: it frames requests with the project's own header
// encoder and splits responses with the frame reader both ends use, so a test can send exactly the
// bytes it means to (split, pipelined, malformed) and read exactly what came back. `callBroker`
// sends one well-formed request at an exact version (versions and fields real clients do not
// reach) through src/client's connection.

import { type Socket, connect } from 'node:net';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/headers.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { waitFor } from './poll.js';

export interface WireClient {
  readonly socket: Socket;
  /** Response frames received so far, in arrival order (correlation id first). */
  readonly frames: Buffer[];
  readonly closed: Promise<void>;
  isClosed(): boolean;
  send(bytes: Buffer): Promise<void>;
  /** Waits for the next unread response frame. */
  nextFrame(timeoutMs?: number): Promise<Buffer>;
  close(): void;
}

export async function connectWireClient(port: number, host = '127.0.0.1'): Promise<WireClient> {
  const socket = connect({ port, host, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const frames: Buffer[] = [];
  let read = 0;
  let closed = false;
  // Any length down to 0: after SaslHandshake v0 the broker answers bare tokens, some empty.
  const decoder = new FrameReader({
    frameBytesMax: 1 << 30,
    frameBytesMin: 0,
    refuse: (frameBytes) => new Error(`frame of ${frameBytes} bytes`),
  });
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (frame) => frames.push(frame)));
  socket.on('error', () => {});
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  return {
    socket,
    frames,
    closed: closedPromise,
    isClosed: () => closed,
    send: (bytes) =>
      new Promise((resolve, reject) =>
        socket.write(bytes, (error) => (error ? reject(error) : resolve())),
      ),
    async nextFrame(timeoutMs = 5000) {
      await waitFor(() => frames.length > read || closed, 'a response frame', {
        timeoutMs,
        intervalMs: 5,
      });
      if (frames.length <= read) throw new Error('connection closed before a response arrived');
      return frames[read++];
    },
    close: () => socket.destroy(),
  };
}

/** A whole request frame: length, header, then the body the callback writes. */
export function requestFrame(
  header: { apiKey: number; apiVersion: number; correlationId: number; clientId?: string | null },
  writeBody: (writer: Writer) => void,
): Buffer {
  const writer = new Writer({ frameLength: true });
  encodeRequestHeader(writer, { clientId: 'brook-test', ...header });
  writeBody(writer);
  return writer.toBuffer();
}

export function correlationIdOf(frame: Buffer): number {
  return new Reader(frame).readInt32();
}

/**
 * One request on a fresh connection to the broker's first listener, encoded and decoded by the
 * given codec functions, so the request and response stay typed (unlike `callBroker`).
 */
export async function exchange<T>(
  broker: { readonly listeners: ReadonlyArray<{ readonly port: number }> },
  apiKey: number,
  apiVersion: number,
  encode: (writer: Writer) => void,
  decode: (reader: Reader) => T,
): Promise<T> {
  const client = await connectWireClient(broker.listeners[0].port);
  try {
    await client.send(requestFrame({ apiKey, apiVersion, correlationId: 1 }, encode));
    const reader = new Reader(await client.nextFrame(10_000));
    decodeResponseHeader(reader, apiKey, apiVersion);
    return decode(reader);
  } finally {
    client.close();
  }
}

/**
 * One request at an exact version on a fresh connection; resolves with the decoded response.
 * It goes through Brook's own client connection (src/client), the one the CLI and the replica
 * fetcher use; the wire client above is for bytes a client would never send.
 */
export async function callBroker<Response>(
  bootstrapServers: string,
  apiKey: number,
  apiVersion: number,
  request: unknown,
): Promise<Response> {
  const connection = await KafkaConnection.open(bootstrapServers.split(',')[0], {
    clientId: 'brook-test',
    requestTimeoutMs: 10_000,
  });
  try {
    return await connection.request<Response>(apiKey, apiVersion, request);
  } finally {
    connection.close();
  }
}
