// The event loop's side of the network thread (num.io.threads ≥ 2; network-worker.ts is the other
// side): starts the worker, asks it to listen, and gives each connection it accepts a PortSocket,
// the part of a socket a Connection uses (connection.ts's ConnectionSocket), whose bytes go over
// the worker's port. The event loop keeps everything but the sockets: admission, frames in order,
// handlers, responses; the worker keeps the reads, the framing and the writes.
//
// A response's chunks are copied into one buffer per uncork, which is transferred: the chunks may
// be views of memory the broker keeps (a cached tail of a log), so none is handed away. A write's
// callback runs once the bytes are handed to the worker, so a response's "sent" time (metrics,
// request log) is when it left the event loop, not when the kernel took it.

import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TlsOptions } from 'node:tls';
import { Worker } from 'node:worker_threads';
import type { ConnectionSocket } from './connection.js';
import type { FromNetworkThread, PeerCertificate, ToNetworkThread } from './network-messages.js';

export interface NetworkThreadEvents {
  /** A connection the worker accepted on listener `listener` (the index given to listen). */
  accepted(listener: number, socket: PortSocket): void;
  /** The worker stopped or failed: every connection is closed, no listener serves. */
  failed(error: Error): void;
  /** A TLS handshake on listener `listener` failed; the worker closed the socket. */
  tlsFailed(listener: number, clientAddress: string, reason: string): void;
}

/**
 * Whether several network threads can share a listening port: `reusePort` (SO_REUSEPORT) came
 * with Node 22.12 and 23.1, on Linux. Without it the one sound shape is a single network thread
 * that owns the listeners (a descriptor shared between threads would be closed by each).
 */
export function reusePortAvailable(
  version = process.versions.node,
  platform = process.platform,
): boolean {
  if (platform !== 'linux') return false;
  const [major, minor] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export class NetworkThread {
  private readonly worker: Worker;
  private readonly sockets = new Map<number, PortSocket>();
  private readonly listening = new Map<
    number,
    { resolve(port: number): void; reject(error: Error): void }
  >();
  private unlistened: (() => void) | null = null;
  private exited = false;
  readonly exit: Promise<void>;

  /** `name`: the worker's, as the inspector and diagnostics show it. */
  constructor(
    private readonly events: NetworkThreadEvents,
    name = 'brook-network',
  ) {
    // Compiled, the worker is network-worker.js beside this file. Run from source under tsx (the
    // tests), it is the .ts one, and a worker thread must register tsx itself: Node 20 does not
    // carry `--import tsx` into workers.
    const here = import.meta.url;
    this.worker = here.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./network-worker.ts', here).href)}); })`,
          { eval: true, name },
        )
      : new Worker(new URL('./network-worker.js', here), { name });
    this.worker.on('message', (message: FromNetworkThread) => this.onMessage(message));
    this.worker.on('error', (error) => this.fail(error));
    this.exit = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.exited = true;
        this.fail(new Error(`the network thread exited (code ${code})`));
        resolve();
      }),
    );
  }

  /** Connections this thread serves now. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /**
   * Listens on host:port (with TLS when `tls` is given); resolves with the bound port. With
   * `reusePort` (see `reusePortAvailable`) other threads may bind the same port.
   */
  listen(
    listener: number,
    address: { readonly host: string; readonly port: number },
    frameBytesMax: number,
    tls: { readonly options: TlsOptions; readonly handshakeTimeoutMs: number } | null,
    reusePort = false,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      this.listening.set(listener, { resolve, reject });
      this.post({
        t: 'listen',
        listener,
        host: address.host,
        port: address.port,
        frameBytesMax,
        tls: tls?.options ?? null,
        handshakeTimeoutMs: tls?.handshakeTimeoutMs ?? 0,
        reusePort,
      });
    });
  }

  /** A TLS listener's reloaded certificates, for the connections it accepts from now on. */
  reloadTls(listener: number, options: TlsOptions): void {
    this.post({ t: 'tlsOptions', listener, options });
  }

  /** Stops accepting; connections already accepted stay until they close. */
  unlisten(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.unlistened = resolve;
      this.post({ t: 'unlisten' });
    });
  }

  /** Ends the worker (after every connection has closed). */
  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
    await this.exit;
  }

  /** @internal PortSocket's way to the worker. */
  post(message: ToNetworkThread, transfer?: ArrayBuffer[]): void {
    if (!this.exited) this.worker.postMessage(message, transfer);
  }

  private onMessage(message: FromNetworkThread): void {
    switch (message.t) {
      case 'listening':
        this.listening.get(message.listener)?.resolve(message.port);
        this.listening.delete(message.listener);
        return;
      case 'listenFailed':
        this.listening.get(message.listener)?.reject(new Error(message.message));
        this.listening.delete(message.listener);
        return;
      case 'unlistened':
        this.unlistened?.();
        this.unlistened = null;
        return;
      case 'tlsFailed':
        this.events.tlsFailed(message.listener, message.clientAddress, message.reason);
        return;
      case 'accepted': {
        const socket = new PortSocket(
          this,
          message.id,
          message.remoteAddress,
          message.remotePort,
          message.peer,
        );
        this.sockets.set(message.id, socket);
        this.events.accepted(message.listener, socket);
        return;
      }
    }
    const socket = this.sockets.get(message.id);
    if (socket === undefined) return;
    switch (message.t) {
      case 'frames':
        socket.onFrames(message.items, message.packed, message.partial);
        return;
      case 'partial':
        socket.onFrames([], null, true);
        return;
      case 'badFrame':
        socket.emit('badFrame', message.message);
        return;
      case 'queued':
        socket.onQueued(message.bytes);
        return;
      case 'error':
        socket.emit('error', Object.assign(new Error(message.message), { code: message.code }));
        return;
      case 'closed':
        this.sockets.delete(message.id);
        socket.onClosed();
        return;
    }
  }

  private fail(error: Error): void {
    for (const pending of this.listening.values()) pending.reject(error);
    this.listening.clear();
    this.unlistened?.();
    this.unlistened = null;
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    for (const socket of sockets) socket.onClosed();
    if (sockets.length > 0 || !this.exited) this.events.failed(error);
  }
}

/**
 * A connection served by the network thread, as a Connection sees its socket. Frames arrive
 * whole: `onFrames` hands them to whoever `receiveFrames` names (the Connection).
 */
export class PortSocket extends EventEmitter implements ConnectionSocket {
  private corked = 0;
  private readonly unsent: Uint8Array[] = [];
  private unsentBytes = 0;
  private readonly callbacks: Array<(error?: Error | null) => void> = [];
  private queuedInWorker = 0;
  private closed = false;
  private started = false;
  private frameReceiver: ((frames: Buffer[], partial: boolean) => void) | null = null;

  constructor(
    private readonly thread: NetworkThread,
    private readonly id: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
    private readonly peer: PeerCertificate | null,
  ) {
    super();
  }

  /** What a TLSSocket tells of its client, as the principal mapping reads it (tls-context.ts). */
  get encrypted(): boolean {
    return this.peer !== null;
  }

  get authorized(): boolean {
    return this.peer?.authorized === true;
  }

  get authorizationError(): string | null {
    return this.peer?.authorizationError ?? null;
  }

  getPeerX509Certificate(): X509Certificate | undefined {
    const raw = this.peer?.raw ?? null;
    return raw === null ? undefined : new X509Certificate(Buffer.from(raw));
  }

  /** Bytes handed to write() and not yet taken by the kernel, as far as this thread knows. */
  get writableLength(): number {
    return this.unsentBytes + this.queuedInWorker;
  }

  /**
   * Where frames go (with whether bytes of a further frame are held); the worker starts reading
   * the socket only once they have somewhere to go.
   */
  receiveFrames(receiver: (frames: Buffer[], partial: boolean) => void): void {
    this.frameReceiver = receiver;
    if (!this.started && !this.closed) {
      this.started = true;
      this.thread.post({ t: 'start', id: this.id });
    }
  }

  /** The largest frame the worker's reader accepts from now on. */
  limitFrames(frameBytesMax: number): void {
    if (!this.closed) this.thread.post({ t: 'limit', id: this.id, frameBytesMax });
  }

  setNoDelay(): this {
    // The worker's sockets are all set so at accept.
    return this;
  }

  pause(): this {
    if (!this.closed) this.thread.post({ t: 'pause', id: this.id });
    return this;
  }

  resume(): this {
    if (!this.closed) this.thread.post({ t: 'resume', id: this.id });
    return this;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked > 0 && --this.corked === 0) this.flush();
  }

  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    if (this.closed) {
      if (callback !== undefined) process.nextTick(callback, new Error('socket closed'));
      return false;
    }
    this.unsent.push(chunk);
    this.unsentBytes += chunk.length;
    if (callback !== undefined) this.callbacks.push(callback);
    if (this.corked === 0) this.flush();
    return true;
  }

  end(): this {
    this.flush();
    if (!this.closed) this.thread.post({ t: 'end', id: this.id });
    return this;
  }

  destroy(): this {
    if (!this.closed) this.thread.post({ t: 'destroy', id: this.id });
    return this;
  }

  /** @internal */
  onFrames(
    items: ReadonlyArray<ArrayBuffer | number>,
    packed: ArrayBuffer | null,
    partial: boolean,
  ): void {
    const frames: Buffer[] = [];
    let packedOffset = 0;
    for (const item of items) {
      if (typeof item === 'number') {
        frames.push(Buffer.from(packed!, packedOffset, item));
        packedOffset += item;
      } else {
        frames.push(Buffer.from(item));
      }
    }
    this.frameReceiver?.(frames, partial);
  }

  /** @internal */
  onQueued(bytes: number): void {
    this.queuedInWorker = bytes;
    if (bytes === 0) this.emit('drain');
  }

  /** @internal */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsent.length = 0;
    this.unsentBytes = 0;
    this.queuedInWorker = 0;
    const error = new Error('socket closed');
    for (const callback of this.callbacks.splice(0)) callback(error);
    this.emit('close', false);
  }

  /** One buffer for everything written since the last flush, transferred to the worker. */
  private flush(): void {
    if (this.unsentBytes === 0 || this.closed) {
      this.unsent.length = 0;
      return;
    }
    const data = new ArrayBuffer(this.unsentBytes);
    const view = new Uint8Array(data);
    let filled = 0;
    for (const chunk of this.unsent) {
      view.set(chunk, filled);
      filled += chunk.length;
    }
    this.unsent.length = 0;
    this.unsentBytes = 0;
    this.thread.post({ t: 'write', id: this.id, data }, [data]);
    if (this.callbacks.length > 0) {
      const callbacks = this.callbacks.splice(0);
      process.nextTick(() => {
        for (const callback of callbacks) callback(null);
      });
    }
  }
}
