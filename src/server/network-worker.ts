// The network thread (num.io.threads ≥ 2): accepts the listeners' connections (terminating TLS
// where a listener has it), reads their bytes (a plaintext socket's in place) and splits them into
// frames, and writes the responses the event loop sends back. It knows sockets and frame lengths,
// nothing of requests: admission, ordering, authentication and every handler stay on the event
// loop (network-thread.ts, connection.ts). Where there are several (Node ≥ 22.12), each binds every
// listener's port with SO_REUSEPORT and the kernel spreads the connections over them.
//
//   socket ──onread──► FrameReader ──frames of one read──► port ──► event loop
//   socket ◄──write── port ◄── responses (one buffer per uncork) ◄── event loop
//
// Reading waits for the loop's 'start', so a connection the loop refuses never sends it a
// frame. Whether bytes of an unfinished frame are held goes to the loop with each read's frames,
// or alone when a read began one and finished none, so the loop times a half-sent frame as it
// does its own (connection.ts, `partialFrameSinceMs`). A socket's backlog of unsent bytes is
// reported only when it grows past a step or drains, so a client that keeps up costs no message
// beyond its frames and responses.

import { type ListenOptions, type Server, type Socket, createServer } from 'node:net';
import type { TLSSocket, Server as TlsServer, TlsOptions } from 'node:tls';
import { parentPort } from 'node:worker_threads';
import type { FrameReader } from '../protocol/frame-reader.js';
import { requestFrameReader } from './request-frames.js';
import { readingInPlace } from './read-in-place.js';
import type { FromNetworkThread, PeerCertificate, ToNetworkThread } from './network-messages.js';

/** A backlog is reported again once it has grown by this much since the last report. */
const QUEUED_REPORT_STEP_BYTES = 64 * 1024;
/** Frames at least this large travel as their own buffer; smaller ones are packed together. */
const OWN_BUFFER_BYTES_MIN = 4096;

interface Served {
  /** The accepted socket until 'start'; then, on plaintext, the socket reading in place. */
  socket: Socket;
  readonly tls: boolean;
  readonly frames: FrameReader;
  started: boolean;
  reportedQueued: number;
  /** Whether the loop was last told that bytes of an unfinished frame are held. */
  partial: boolean;
}

const port = parentPort!;
const servers: Server[] = [];
const tlsServers = new Map<number, TlsServer>();
/** tls-context.ts's, loaded with the first TLS listener (as node:tls is). */
let applyTlsOptions: ((server: TlsServer, options: TlsOptions) => void) | undefined;
const connections = new Map<number, Served>();
let nextId = 1;

function send(message: FromNetworkThread, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

port.on('message', (message: ToNetworkThread) => {
  switch (message.t) {
    case 'listen':
      void listen(message).catch((error: Error) =>
        send({ t: 'listenFailed', listener: message.listener, message: error.message }),
      );
      return;
    case 'tlsOptions': {
      const server = tlsServers.get(message.listener);
      if (server !== undefined) applyTlsOptions!(server, message.options);
      return;
    }
    case 'unlisten':
      void Promise.all(servers.map((server) => closeServer(server))).then(() =>
        send({ t: 'unlistened' }),
      );
      return;
  }
  const served = connections.get(message.id);
  if (served === undefined) return;
  switch (message.t) {
    case 'start':
      start(message.id, served);
      return;
    case 'write':
      write(message.id, served, Buffer.from(message.data));
      return;
    case 'pause':
      served.socket.pause();
      return;
    case 'resume':
      served.socket.resume();
      return;
    case 'limit':
      served.frames.frameBytesMax = message.frameBytesMax;
      return;
    case 'end':
      served.socket.once('finish', () => served.socket.destroy());
      served.socket.end();
      // A client that stopped reading would keep 'finish' from ever coming.
      setTimeout(() => served.socket.destroy(), 1000).unref();
      return;
    case 'destroy':
      served.socket.destroy();
      return;
  }
});

async function listen(message: Extract<ToNetworkThread, { t: 'listen' }>): Promise<void> {
  const { listener, frameBytesMax } = message;
  let server: Server;
  if (message.tls === null) {
    // Paused: the accepted socket never reads; its handle moves to one that reads in place.
    server = createServer({ noDelay: true, pauseOnConnect: true }, (accepted) =>
      accept(listener, accepted, frameBytesMax, null),
    );
  } else {
    // Loaded only for a TLS listener, as on the event loop (util/node-tls.ts).
    const tls = await import('node:tls');
    ({ applyServerOptions: applyTlsOptions } = await import('../security/tls-context.js'));
    const tlsServer = tls.createServer(
      { ...message.tls, handshakeTimeout: message.handshakeTimeoutMs },
      (accepted: TLSSocket) => accept(listener, accepted, frameBytesMax, peerOf(accepted)),
    );
    tlsServer.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      send({
        t: 'tlsFailed',
        listener,
        clientAddress: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`,
        reason: error.code ?? error.message,
      });
      socket.destroy();
    });
    tlsServers.set(listener, tlsServer);
    server = tlsServer;
  }
  servers.push(server);
  const onError = (error: Error): void => {
    send({ t: 'listenFailed', listener, message: error.message });
  };
  server.once('error', onError);
  // `reusePort` is Node 22.12's (its types here are Node 20's); only asked for where it exists.
  const options: ListenOptions & { reusePort?: boolean } = {
    port: message.port,
    host: message.host === '' ? undefined : message.host,
  };
  if (message.reusePort) options.reusePort = true;
  server.listen(options, () => {
    server.off('error', onError);
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : message.port;
    send({ t: 'listening', listener, port: bound });
  });
}

/** What the loop's principal mapping needs of a TLS client; the socket itself stays here. */
function peerOf(socket: TLSSocket): PeerCertificate {
  const certificate = socket.getPeerX509Certificate();
  const raw = certificate === undefined ? null : new Uint8Array(certificate.raw).buffer;
  const error = socket.authorizationError as unknown;
  return {
    raw,
    authorized: socket.authorized,
    authorizationError: error === null || error === undefined ? null : String(error),
  };
}

function accept(
  listener: number,
  accepted: Socket,
  frameBytesMax: number,
  peer: PeerCertificate | null,
): void {
  const id = nextId++;
  const frames = requestFrameReader(frameBytesMax);
  connections.set(id, {
    socket: accepted,
    tls: peer !== null,
    frames,
    started: false,
    reportedQueued: 0,
    partial: false,
  });
  accepted.once('close', () => {
    // Until 'start', the accepted socket's close is the connection's (a refused one's).
    const served = connections.get(id);
    if (served !== undefined && !served.started) closed(id);
  });
  send(
    {
      t: 'accepted',
      id,
      listener,
      remoteAddress: accepted.remoteAddress ?? '',
      remotePort: accepted.remotePort ?? 0,
      peer,
    },
    peer?.raw ? [peer.raw] : undefined,
  );
}

function start(id: number, served: Served): void {
  if (served.started) return;
  served.started = true;
  let socket: Socket;
  if (served.tls) {
    // A TLS socket's plaintext comes as data events (a view of each is kept only when large).
    socket = served.socket;
    socket.on('data', (chunk: Buffer) =>
      onFrames(id, served, (onFrame) => served.frames.push(chunk, onFrame)),
    );
  } else {
    socket = readingInPlace(served.socket, served.frames, (count) =>
      onFrames(id, served, (onFrame) => served.frames.read(count, onFrame)),
    );
    served.socket = socket;
  }
  socket.setNoDelay(true);
  socket.on('drain', () => {
    if (served.reportedQueued === 0) return;
    served.reportedQueued = 0;
    send({ t: 'queued', id, bytes: 0 });
  });
  socket.on('error', (error: NodeJS.ErrnoException) =>
    send({ t: 'error', id, code: error.code, message: error.message }),
  );
  socket.once('close', () => closed(id));
}

function closed(id: number): void {
  if (!connections.delete(id)) return;
  send({ t: 'closed', id });
}

/** Hands the frames one read completed (`take`) to the event loop in a single message. */
function onFrames(
  id: number,
  served: Served,
  take: (onFrame: (frame: Buffer) => void) => void,
): void {
  if (!connections.has(id)) return;
  const completed: Buffer[] = [];
  try {
    take((frame) => completed.push(frame));
  } catch (error) {
    served.socket.pause();
    send({ t: 'badFrame', id, message: (error as Error).message });
    return;
  }
  const partial = served.frames.hasPartialFrame;
  if (completed.length === 0) {
    if (partial && !served.partial) send({ t: 'partial', id });
    served.partial = partial;
    return;
  }
  served.partial = partial;
  let packedBytes = 0;
  for (const frame of completed) if (!ownsItsMemory(frame)) packedBytes += frame.length;
  const packed = packedBytes === 0 ? null : new ArrayBuffer(packedBytes);
  const items: Array<ArrayBuffer | number> = [];
  const transfer: ArrayBuffer[] = [];
  let packedFilled = 0;
  for (const frame of completed) {
    if (ownsItsMemory(frame)) {
      items.push(frame.buffer as ArrayBuffer);
      transfer.push(frame.buffer as ArrayBuffer);
    } else {
      new Uint8Array(packed!, packedFilled, frame.length).set(frame);
      packedFilled += frame.length;
      items.push(frame.length);
    }
  }
  if (packed !== null) transfer.push(packed);
  send({ t: 'frames', id, items, packed, partial }, transfer);
}

/** A frame that is its whole ArrayBuffer can be transferred; a slice of a shared pool cannot. */
function ownsItsMemory(frame: Buffer): boolean {
  return (
    frame.length >= OWN_BUFFER_BYTES_MIN &&
    frame.byteOffset === 0 &&
    frame.byteLength === frame.buffer.byteLength
  );
}

function write(id: number, served: Served, bytes: Buffer): void {
  const socket = served.socket;
  if (socket.destroyed) return;
  socket.write(bytes);
  const queued = socket.writableLength;
  if (queued > 0 && queued >= served.reportedQueued + QUEUED_REPORT_STEP_BYTES) {
    served.reportedQueued = queued;
    send({ t: 'queued', id, bytes: queued });
  } else if (queued === 0 && served.reportedQueued > 0) {
    served.reportedQueued = 0;
    send({ t: 'queued', id, bytes: 0 });
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}
