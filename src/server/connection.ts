// One client connection: frames in, handlers called, responses out in request order.
//
//   socket ──read──► FrameReader ──frame──► header ─► handler lookup ─► body decode ─► handle()
//                                                                                     │ (async)
//   socket ◄──cork/write/uncork── head of `pending` while ready ◄── encode ◄───────────┘
//
// Many requests may be in flight at once (clients pipeline), but `pending` is drained only from
// its head, so a fast handler's response waits for a slower one that came before it. Responses
// made ready in one turn of the event loop are written together at its end, in one syscall.
// Reading pauses while the requests in flight or the response bytes not yet written exceed the
// limits, so a client that sends without reading cannot grow the broker's memory; and while the
// memory all connections share is used up (request-memory.ts), a connection starts one request
// at a time.
//
// A quota's throttle (KIP-219) goes the same way: the response carries throttle_time_ms and goes
// out at once, and the connection then starts no further request for that long (`mute`), so a
// client that ignores the field is held back all the same. What is known when a request starts
// (a produce's size) is charged then, so requests a client pipelined behind it wait for the
// throttle instead of all being let through before the first one's response.
//
// An API's codecs load on its first use (protocol/api-message.ts). A frame whose codecs are not
// loaded yet stays at the head of the received frames, with everything that came after it, until
// the load is done: a first use costs a wait, never the order of requests or responses.
//
// A Metadata request is the exception: its handler starts only once every request before it on
// the connection is answered, as if the connection handled one request at a time (Kafka's own
// rule). Answered at arrival, it would describe the cluster as it was before the slow request
// ahead of it (an acks=all produce waiting for the ISR) and arrive seconds late: a client that
// learned of a new leader meanwhile would be sent back to the old one, perhaps a dead broker.
//
// All state here is touched only from socket events and handler completions on the event loop;
// nothing is held across an await except through `pending` slots, which are resolved in place.

import { setMaxListeners } from 'node:events';
import { errorCodesIn } from '../observability/error-codes.js';
import type { RequestObservation } from '../observability/metrics.js';
import type { RequestTimes } from '../observability/request-metrics.js';
import { type ApiMessage, loadedCodecs } from '../protocol/api-message.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import {
  decodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
} from '../protocol/headers.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import {
  type AnyHandler,
  CLOSE_CONNECTION,
  type HandlerRegistry,
  NO_RESPONSE,
  type RequestContext,
} from '../handlers/registry.js';
import type { ConnectionAuthentication } from '../security/connection-authentication.js';
import type { FrameReader } from '../protocol/frame-reader.js';
import { FrameSizeError, requestFrameReader } from './request-frames.js';
import { type ReusedBlock, reusedBlockOf } from '../util/reused-memory.js';
import type { ServerLimits } from './limits.js';
import type { ServerLogger } from './logger.js';
import type { RequestLineWanted, RequestLog } from './request-log.js';
import { RequestMemory } from './request-memory.js';

interface PendingResponse {
  readonly requestBytes: number;
  /** performance.now() when the request's frame arrived, for the request log's queue time. */
  readonly receivedMs: number;
  /** performance.now() when the request's frame was taken, for the request-latency metric. */
  readonly startedMs: number;
  /** performance.now() when the handler's answer was encoded; 0 until then. */
  answeredMs: number;
  /** performance.now() when the response was handed to the socket; 0 until then. */
  writtenMs: number;
  /** performance.now() when the socket took its last byte; undefined until then, or never. */
  sentMs: number | undefined;
  /** The version the response is encoded in (v0 for an ApiVersions of a version not served). */
  responseVersion: number;
  /** Whether (and why) the request log may want this request's line once the response is sent. */
  logged: RequestLineWanted | null;
  ready: boolean;
  /** The handler asked for the connection to close once this slot reaches the head. */
  closeConnection: boolean;
  chunks: Buffer[];
  responseBytes: number;
  /** Set once the request is decoded: what a throttler is told of it. */
  context?: RequestContext;
  request?: unknown;
  /** Event-loop time spent in the handler before its first await, and encoding its response. */
  localMs: number;
  /** The throttle decided when the request started, if any. */
  startThrottleMs: number;
  /** A request whose handler waits until this slot is at the head of `pending` (Metadata). */
  startAtHead?: () => void;
  /** The throttle the response carried. */
  throttleMs: number;
  /** The handler's response object, kept for the request log. */
  response: unknown;
}

/**
 * What a connection uses of its socket: a net.Socket or tls.TLSSocket, or a socket served by the
 * network thread (port-socket.ts). Events: 'data' (unless frames are read in place or elsewhere),
 * 'drain', 'error', 'close'; 'finish' after end() where the socket has one.
 */
export interface ConnectionSocket {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly writableLength: number;
  setNoDelay(noDelay: boolean): unknown;
  // A listener's arguments depend on the event, as in Node's own typings of sockets.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  once(event: string, listener: (...args: any[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(): unknown;
  destroy(): unknown;
}

/** Requests answered from the state at the time they are answered, not at their arrival. */
const STARTED_AT_HEAD: ReadonlySet<number> = new Set([ApiKey.Metadata]);

export interface ConnectionOptions {
  readonly id: number;
  readonly socket: ConnectionSocket;
  /**
   * The socket reads in place into this reader (its `onread`, set up by the server, which calls
   * `bytesRead`); without it, the connection takes the socket's data events (TLS).
   */
  readonly frames?: FrameReader;
  /**
   * Another thread reads the socket and splits it into frames (network-thread.ts): frames arrive
   * whole through `framesReceived`, and the reader over there is told whenever the largest frame
   * this connection accepts changes (a SASL listener's, once the client is authenticated).
   */
  readonly framedElsewhere?: { frameBytesMaxChanged(bytes: number): void };
  readonly listenerName: string;
  readonly registry: HandlerRegistry;
  readonly apiMessages: ReadonlyMap<number, ApiMessage>;
  readonly limits: ServerLimits;
  readonly logger: ServerLogger;
  /** Told of every answered request (the broker's metrics); none when metrics are off. */
  readonly observer?: RequestObserver;
  /** SSL and SASL listeners: who the client is, and the SASL exchange; none on PLAINTEXT. */
  readonly authentication?: ConnectionAuthentication;
  /** Client quotas: asked once per answered request how long to throttle the client. */
  readonly throttler?: RequestThrottler;
  /** The audit log: told of every answered request; none when the audit log is off. */
  readonly auditor?: RequestAuditor;
  /** Told of answered requests it wants (all, or the slow ones); none when it writes nothing. */
  readonly requestLog?: RequestLog;
  /** The memory for requests in flight that every connection of the server shares. */
  readonly memory?: RequestMemory;
}

/** What the server knows of a request once its response is ready, for client quotas. */
export interface RequestUsage {
  readonly context: RequestContext;
  readonly request: unknown;
  /** The handler's result (the response object); undefined when none is sent. */
  readonly response: unknown;
  /** The request frame's size: what a produce is charged. */
  readonly requestBytes: number;
  /** The encoded response's size: what a fetch is charged. */
  readonly responseBytes: number;
  /** Event-loop time spent handling and encoding, for request_percentage. */
  readonly handlerMs: number;
}

/** Decides how long a client is throttled (0 = not at all), charging what each request used. */
export interface RequestThrottler {
  /** Charges what is known as a request starts (a produce's bytes). */
  requestStarted(context: RequestContext, requestBytes: number): number;
  /** Charges the rest once its response is ready (a fetch's bytes, handler time). */
  requestAnswered(usage: RequestUsage): number;
}

/**
 * What the server tells the audit log of each request it answered: the one dispatch hook, so no
 * handler writes audit lines itself (src/security/audit-apis.ts decides what is an admin action).
 */
export interface RequestAuditor {
  requestAnswered(context: RequestContext, request: unknown, response: unknown): void;
}

/** What the server tells the metrics of each request it answered. */
export interface RequestObserver {
  /** The handler answered: the errors its response carries. */
  requestAnswered(observation: RequestObservation): void;
  /** The response went out (or none was due, or the connection closed first): its times. */
  requestCompleted(apiKey: number, version: number, times: RequestTimes): void;
}

export class Connection {
  readonly id: number;
  readonly listenerName: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Resolves once the socket has closed, whatever the reason. */
  readonly closed: Promise<void>;

  private readonly socket: ConnectionSocket;
  private readonly registry: HandlerRegistry;
  private readonly apiMessages: ReadonlyMap<number, ApiMessage>;
  private readonly limits: ServerLimits;
  private readonly logger: ServerLogger;
  private readonly observer: RequestObserver | undefined;
  private readonly authentication: ConnectionAuthentication | undefined;
  private readonly throttler: RequestThrottler | undefined;
  private readonly auditor: RequestAuditor | undefined;
  private readonly requestLog: RequestLog | undefined;
  private readonly decoder: FrameReader;
  private readonly framedElsewhere: ConnectionOptions['framedElsewhere'];
  /** The largest frame the other thread's reader was last told of (framedElsewhere only). */
  private frameBytesMaxElsewhere: number;
  /** Whether the other thread holds bytes of an unfinished frame (framedElsewhere only). */
  private partialFrameElsewhere = false;
  private readonly abortController = new AbortController();

  /** Frames received but not yet started because the in-flight limits were reached. */
  private readonly receivedFrames: Buffer[] = [];
  /** When each of `receivedFrames` arrived (performance.now()), in the same order. */
  private readonly receivedFrameTimesMs: number[] = [];
  /** Requests in arrival order whose responses are not yet written. */
  private readonly pending: PendingResponse[] = [];
  /** Written responses whose send time is wanted, in write order, until the socket took them. */
  private readonly awaitingSent: PendingResponse[] = [];
  /** Request bytes of `pending` plus response bytes encoded but not yet handed to the socket. */
  private inFlightBytes = 0;
  private readonly memory: RequestMemory;
  private readonly wakeOnFreedMemory = (): void => this.updateFlowControl();
  private paused = false;
  private startingFrames = false;
  /** A writeReady is queued for the end of this turn (see `complete`). */
  private writeScheduled = false;
  /** Set while the frame at the head of `receivedFrames` waits for its API's codecs to load. */
  private awaitingCodecs = false;
  private closing = false;
  /** Set by stop(): no more reading; close once `pending` drains. */
  private draining = false;
  private lastActivityMs: number;
  private partialFrameSinceMs: number | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Set while a quota's throttle holds the connection: no request is started until it fires. */
  private muteTimer: NodeJS.Timeout | null = null;
  private muteUntilMs = 0;
  private drainedWaiters: Array<() => void> = [];

  constructor(options: ConnectionOptions) {
    this.id = options.id;
    this.socket = options.socket;
    this.listenerName = options.listenerName;
    this.registry = options.registry;
    this.apiMessages = options.apiMessages;
    this.limits = options.limits;
    this.logger = options.logger;
    this.observer = options.observer;
    this.authentication = options.authentication;
    this.throttler = options.throttler;
    this.auditor = options.auditor;
    this.requestLog = options.requestLog?.enabled === true ? options.requestLog : undefined;
    this.memory = options.memory ?? new RequestMemory(-1);
    this.remoteAddress = options.socket.remoteAddress ?? '';
    this.remotePort = options.socket.remotePort ?? 0;
    this.decoder =
      options.frames ??
      requestFrameReader(options.limits.requestBytesMax, {
        reuseProduceFrames: true,
      });
    this.framedElsewhere = options.framedElsewhere;
    this.frameBytesMaxElsewhere = -1;
    this.lastActivityMs = performance.now();
    // Every request in flight may listen on the connection's signal (a parked Fetch does), so the
    // default warning threshold of 10 listeners would fire on a healthy pipelining client.
    setMaxListeners(Math.max(10, this.limits.inFlightRequestsMax * 2), this.abortController.signal);

    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.setNoDelay(true);
    if (options.frames === undefined && options.framedElsewhere === undefined)
      this.socket.on('data', (chunk: Buffer) =>
        this.onBytes((onFrame) => this.decoder.push(chunk, onFrame)),
      );
    this.socket.on('drain', () => this.updateFlowControl());
    this.socket.on('error', (error: NodeJS.ErrnoException) => {
      // Resets and broken pipes are how clients leave; they are not the broker's problem.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') {
        this.logger.warn('connection error', { connectionId: this.id, error: error.message });
      }
    });
    this.socket.once('close', () => this.onClose());
    this.scheduleIdleCheck(this.limits.connectionsMaxIdleMs);
  }

  /** Requests received whose responses are not yet written (for tests and metrics). */
  get inFlightRequests(): number {
    return this.pending.length;
  }

  /**
   * Stops reading, lets requests in flight finish and their responses go out (up to graceMs),
   * then closes. Handlers see their signal aborted at once, so parked ones can return early.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.closing) {
      this.draining = true;
      this.socket.pause();
      this.abortController.abort();
      const drained = new Promise<void>((resolve) => {
        if (this.pending.length === 0) resolve();
        else this.drainedWaiters.push(resolve);
      });
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, graceMs);
      });
      await Promise.race([drained, grace]);
      clearTimeout(graceTimer);
      this.finish();
    }
    await this.closed;
  }

  /** The socket read `count` bytes where the frame reader said (a socket reading in place). */
  bytesRead(count: number): void {
    this.onBytes((onFrame) => this.decoder.read(count, onFrame));
  }

  /**
   * Whole frames the network thread split off (framedElsewhere), in arrival order, and whether
   * bytes of a further frame are held there (timed as a half-sent frame is here).
   */
  framesReceived(frames: readonly Buffer[], partialFrameHeld: boolean): void {
    this.partialFrameElsewhere = partialFrameHeld;
    this.onBytes((onFrame) => {
      for (const frame of frames) {
        // The other thread may not have heard of a lower limit yet; it holds here all the same.
        if (frame.length > this.decoder.frameBytesMax)
          throw new FrameSizeError(frame.length, this.decoder.frameBytesMax);
        onFrame(frame);
      }
    });
  }

  /**
   * The largest frame accepted follows the authentication (small until a SASL client is
   * authenticated). A reader on the network thread is told before any response goes out, so
   * it knows the new limit before the client can act on the answer that changed it.
   */
  private updateFrameBytesMax(): void {
    if (this.authentication === undefined) return;
    this.decoder.frameBytesMax = this.authentication.frameBytesMax(this.limits.requestBytesMax);
    if (
      this.framedElsewhere !== undefined &&
      this.decoder.frameBytesMax !== this.frameBytesMaxElsewhere
    ) {
      this.frameBytesMaxElsewhere = this.decoder.frameBytesMax;
      this.framedElsewhere.frameBytesMaxChanged(this.frameBytesMaxElsewhere);
    }
  }

  /** Feeds what arrived to the frame reader (`take`), then starts what the limits allow. */
  private onBytes(take: (onFrame: (frame: Buffer) => void) => void): void {
    if (this.closing || this.draining) return;
    this.lastActivityMs = performance.now();
    this.updateFrameBytesMax();
    try {
      const receivedMs = this.lastActivityMs;
      take((frame) => {
        this.receivedFrames.push(frame);
        this.receivedFrameTimesMs.push(receivedMs);
      });
    } catch (error) {
      this.close(`invalid frame: ${(error as Error).message}`);
      return;
    }
    const partialFrame =
      this.framedElsewhere === undefined
        ? this.decoder.hasPartialFrame
        : this.partialFrameElsewhere;
    if (!partialFrame) this.partialFrameSinceMs = null;
    else if (this.partialFrameSinceMs === null) this.partialFrameSinceMs = this.lastActivityMs;
    this.updateFlowControl();
  }

  /**
   * Starts the frames already received, in order, for as long as the limits allow. Frames beyond
   * the limits stay queued (they are in memory already: at most one socket read's worth) and are
   * started as responses go out, so the limits hold exactly even for a client that packs a
   * hundred small requests into one TCP segment.
   */
  private startReceivedFrames(): void {
    // A handler that answers synchronously re-enters here through writeReady; the outer loop
    // carries on instead, so the stack stays flat however many frames one read brought.
    if (this.startingFrames) return;
    this.startingFrames = true;
    try {
      while (
        this.receivedFrames.length > 0 &&
        !this.closing &&
        !this.draining &&
        !this.overLimits() &&
        !this.awaitsCodecs(this.receivedFrames[0])
      ) {
        const frame = this.receivedFrames.shift()!;
        const receivedMs = this.receivedFrameTimesMs.shift()!;
        try {
          this.onFrame(frame, receivedMs);
        } catch (error) {
          // A throw here would escape a socket event and take the process down; a bug in one
          // request's handling must cost at most its connection.
          this.logger.error('request processing failed', {
            connectionId: this.id,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          });
          this.close(null);
        }
      }
    } finally {
      this.startingFrames = false;
    }
  }

  /**
   * Whether `frame`, the next to start, must wait for its API's codecs or handler to load: then
   * their loads are started (or already under way) and the frames are started again once both are
   * done. An API without a handler loads nothing: onFrame refuses it.
   */
  private awaitsCodecs(frame: Buffer): boolean {
    if (this.awaitingCodecs) return true;
    if (this.authentication?.expectsRawToken === true || frame.length < 2) return false;
    const apiKey = frame.readInt16BE(0);
    const api = this.apiMessages.get(apiKey);
    if (
      api === undefined ||
      (api.codecs !== null && this.registry.loaded(apiKey) !== undefined) ||
      this.registry.served(apiKey) === undefined
    ) {
      return false;
    }
    this.awaitingCodecs = true;
    Promise.all([api.loadCodecs(), this.registry.load(apiKey)]).then(
      () => {
        this.awaitingCodecs = false;
        this.updateFlowControl();
      },
      (error: unknown) => {
        this.awaitingCodecs = false;
        this.logger.error('cannot load the codecs or handler of an API', {
          connectionId: this.id,
          apiKey,
          error: error instanceof Error ? error.message : String(error),
        });
        this.close(null);
      },
    );
    return true;
  }

  private overLimits(): boolean {
    if (this.muteTimer !== null) return true;
    const bytes = this.inFlightBytes + this.socket.writableLength;
    if (this.limits.inFlightBytesMax >= 0 && bytes > this.limits.inFlightBytesMax) return true;
    if (this.pending.length >= this.limits.inFlightRequestsMax) return true;
    // The server's shared memory is used up: one request at a time (request-memory.ts).
    if (this.pending.length > 0 && this.memory.exhausted) {
      this.memory.onFreed(this.wakeOnFreedMemory);
      return true;
    }
    return false;
  }

  /** Every change of `inFlightBytes` goes through here, so the server's sum stays exact. */
  private adjustInFlight(bytes: number): void {
    this.inFlightBytes += bytes;
    this.memory.adjust(bytes);
  }

  private onFrame(frame: Buffer, receivedMs: number): void {
    if (this.authentication?.expectsRawToken === true) {
      this.onRawSaslToken(frame, receivedMs);
      return;
    }
    const reader = new Reader(frame);
    let header: RequestHeader;
    try {
      header = decodeRequestHeader(reader);
    } catch (error) {
      this.close(`undecodable request header: ${(error as Error).message}`);
      return;
    }
    const { apiKey, apiVersion } = header;
    const refusal = this.authentication?.refusal(apiKey) ?? null;
    if (refusal !== null) {
      this.close(refusal, header);
      return;
    }
    // Loaded by now if registered: the frame waited for it (awaitsCodecs).
    const handler = this.registry.loaded(apiKey);
    const api = this.apiMessages.get(apiKey);
    if (handler === undefined || api === undefined) {
      this.close(`unsupported API key ${apiKey} (version ${apiVersion})`, header);
      return;
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions && handler.errorResponse !== undefined) {
        // KIP-511: answer in v0 (which every client can read) with the versions Brook has, so
        // the client retries at one of them. The body of an unknown version is not read at all;
        // the handler sees an empty v0 request (v0 has no fields), as Kafka's does.
        const emptyRequest = loadedCodecs(api).request.decode(new Reader(Buffer.alloc(0)), 0);
        const context = this.context(header);
        const slot = this.enqueue(frame.length, receivedMs);
        slot.context = context;
        this.complete(
          slot,
          handler,
          header,
          0,
          handler.errorResponse(emptyRequest, ErrorCode.UNSUPPORTED_VERSION, context),
        );
        return;
      }
      this.close(
        `unsupported version ${apiVersion} of API key ${apiKey} (${handler.minVersion}-${handler.maxVersion} served)`,
        header,
      );
      return;
    }

    let request: unknown;
    try {
      request = loadedCodecs(api).request.decode(reader, apiVersion);
    } catch (error) {
      this.close(
        `undecodable ${api.name} v${apiVersion} request: ${(error as Error).message}`,
        header,
      );
      return;
    }

    const context = this.context(header);
    const slot = this.enqueue(frame.length, receivedMs);
    slot.context = context;
    slot.request = request;
    if (this.throttler !== undefined) {
      slot.startThrottleMs = this.throttler.requestStarted(context, frame.length);
      if (slot.startThrottleMs > 0) this.mute(slot.startThrottleMs);
    }
    if (handler.refusedBelow !== undefined && apiVersion < handler.refusedBelow) {
      this.complete(
        slot,
        handler,
        header,
        apiVersion,
        handler.errorResponse!(request, ErrorCode.UNSUPPORTED_VERSION, context),
      );
      return;
    }
    // A frame in a reused block (a large Produce: request-frames.ts) is released once its handler
    // has settled: the request's views of it are dead then, and whatever the handler kept (the
    // log's appends) holds the block on its own. A frame whose handler never runs is left to the
    // collector.
    const block = reusedBlockOf(frame);
    if (STARTED_AT_HEAD.has(apiKey) && this.pending[0] !== slot) {
      slot.startAtHead = () => this.startHandler(slot, handler, header, request, context, block);
      return;
    }
    this.startHandler(slot, handler, header, request, context, block);
  }

  private startHandler(
    slot: PendingResponse,
    handler: AnyHandler,
    header: RequestHeader,
    request: unknown,
    context: RequestContext,
    block: ReusedBlock | null,
  ): void {
    const { apiVersion } = header;
    let result: unknown;
    const handlerStartedMs = performance.now();
    try {
      result = handler.handle(request, context);
      slot.localMs = performance.now() - handlerStartedMs;
    } catch (error) {
      this.fail(slot, handler, header, request, context, error);
      block?.release();
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value: unknown) => {
          this.complete(slot, handler, header, apiVersion, value);
          block?.release();
        },
        (error: unknown) => {
          this.fail(slot, handler, header, request, context, error);
          block?.release();
        },
      );
    } else {
      this.complete(slot, handler, header, apiVersion, result);
      block?.release();
    }
  }

  private context(header: RequestHeader): RequestContext {
    return {
      connectionId: this.id,
      listenerName: this.listenerName,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      clientId: header.clientId,
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      principal: this.authentication?.principal ?? 'User:ANONYMOUS',
      authentication: this.authentication,
      signal: this.abortController.signal,
    };
  }

  private enqueue(requestBytes: number, receivedMs: number): PendingResponse {
    const slot: PendingResponse = {
      requestBytes,
      receivedMs,
      startedMs: performance.now(),
      answeredMs: 0,
      writtenMs: 0,
      sentMs: undefined,
      responseVersion: 0,
      logged: null,
      ready: false,
      closeConnection: false,
      chunks: [],
      responseBytes: 0,
      localMs: 0,
      startThrottleMs: 0,
      throttleMs: 0,
      response: undefined,
    };
    this.pending.push(slot);
    this.adjustInFlight(requestBytes);
    return slot;
  }

  /** Encodes a handler's result into its slot, then writes whatever is ready at the head. */
  private complete(
    slot: PendingResponse,
    handler: AnyHandler,
    header: RequestHeader,
    responseVersion: number,
    result: unknown,
  ): void {
    if (this.closing) return;
    // A failed authentication is answered, then the connection closes.
    if (this.authentication?.takeCloseRequest() === true) slot.closeConnection = true;
    if (result === CLOSE_CONNECTION) {
      slot.closeConnection = true;
    } else if (result !== NO_RESPONSE) {
      const encodeStartedMs = performance.now();
      if (!this.encodeInto(slot, handler, header, responseVersion, result)) return;
      slot.localMs += performance.now() - encodeStartedMs;
    }
    const throttleMs = Math.max(slot.startThrottleMs, this.answeredThrottleMs(slot, result));
    if (throttleMs > 0) {
      if (slot.chunks.length > 0 && typeof result === 'object' && result !== null) {
        // Rare (only a client over its quota gets here), so the response is simply encoded again.
        const { throttleTimeMs } = result as { throttleTimeMs?: number };
        const throttled = { ...result, throttleTimeMs: Math.max(throttleTimeMs ?? 0, throttleMs) };
        this.adjustInFlight(-slot.responseBytes);
        if (!this.encodeInto(slot, handler, header, responseVersion, throttled)) return;
      }
      this.mute(throttleMs);
    }
    if (
      this.auditor !== undefined &&
      slot.context !== undefined &&
      result !== NO_RESPONSE &&
      result !== CLOSE_CONNECTION
    ) {
      this.auditor.requestAnswered(slot.context, slot.request, result);
    }
    slot.answeredMs = performance.now();
    slot.throttleMs = throttleMs;
    slot.responseVersion = responseVersion;
    if (this.requestLog !== undefined) slot.response = result;
    if (this.observer !== undefined) {
      this.observer.requestAnswered({
        api: this.apiMessages.get(header.apiKey)?.name ?? String(header.apiKey),
        errorCodes: typeof result === 'object' && result !== null ? errorCodesIn(result) : [],
      });
    }
    this.responseReady(slot);
  }

  /**
   * Marks `slot` ready and writes what is ready at the end of the turn, not at once: the
   * acknowledgements one fsync releases resolve one after another in the same drain of the
   * microtask queue, and then leave together, one writev instead of a write each (a nextTick
   * queued from a microtask runs once that queue is empty). Responses of handlers that answer
   * synchronously to the frames of one read go out in the same batch.
   */
  private responseReady(slot: PendingResponse): void {
    slot.ready = true;
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    process.nextTick(this.writeScheduledResponses);
  }

  private readonly writeScheduledResponses = (): void => {
    this.writeScheduled = false;
    if (!this.closing) this.writeReady();
  };

  /**
   * After SaslHandshake v0 the client sends bare SASL tokens, each a length-prefixed frame with no
   * request header, and reads the broker's challenges framed the same way; a failed exchange is
   * answered by closing the connection.
   */
  private onRawSaslToken(token: Buffer, receivedMs: number): void {
    const authentication = this.authentication!;
    const slot = this.enqueue(token.length, receivedMs);
    authentication.rawToken(token).then(
      (challenge) => {
        if (this.closing) return;
        if (challenge === null) {
          authentication.takeCloseRequest();
          slot.closeConnection = true;
        } else {
          const length = Buffer.alloc(4);
          length.writeInt32BE(challenge.length);
          slot.chunks = [length, challenge];
          slot.responseBytes = 4 + challenge.length;
          this.adjustInFlight(slot.responseBytes);
        }
        this.responseReady(slot);
      },
      (error: unknown) => {
        this.logger.error('SASL token processing failed', {
          connectionId: this.id,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        this.close(null);
      },
    );
  }

  /** Encodes a response into its slot; false (and the connection closed) when the codec refuses. */
  private encodeInto(
    slot: PendingResponse,
    handler: AnyHandler,
    header: RequestHeader,
    responseVersion: number,
    result: unknown,
  ): boolean {
    const api = this.apiMessages.get(header.apiKey)!;
    try {
      const writer = new Writer({ frameLength: true });
      encodeResponseHeader(writer, header.apiKey, responseVersion, header.correlationId);
      loadedCodecs(api).response.encode(writer, responseVersion, result as never);
      const { chunks, byteLength } = writer.finish();
      slot.chunks = chunks;
      slot.responseBytes = byteLength;
      this.adjustInFlight(byteLength);
      return true;
    } catch (error) {
      // A response the codec refuses is a handler bug; the client cannot be answered correctly.
      this.logger.error('cannot encode response', {
        connectionId: this.id,
        apiKey: header.apiKey,
        apiVersion: responseVersion,
        handlerApiKey: handler.apiKey,
        error: (error as Error).message,
      });
      this.close(null);
      return false;
    }
  }

  private answeredThrottleMs(slot: PendingResponse, result: unknown): number {
    if (this.throttler === undefined || slot.context === undefined) return 0;
    return this.throttler.requestAnswered({
      context: slot.context,
      request: slot.request,
      response: result === NO_RESPONSE || result === CLOSE_CONNECTION ? undefined : result,
      requestBytes: slot.requestBytes,
      responseBytes: slot.responseBytes,
      handlerMs: slot.localMs,
    });
  }

  /**
   * Starts no further request from this client for `durationMs` (a quota's throttle, KIP-219).
   * Requests already started still complete and their responses still go out; a longer mute
   * replaces a shorter one.
   */
  mute(durationMs: number): void {
    if (this.closing) return;
    const untilMs = performance.now() + durationMs;
    if (this.muteTimer !== null && untilMs <= this.muteUntilMs) return;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteUntilMs = untilMs;
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.updateFlowControl();
    }, durationMs);
    this.updateFlowControl();
  }

  private fail(
    slot: PendingResponse,
    handler: AnyHandler,
    header: RequestHeader,
    request: unknown,
    context: RequestContext,
    error: unknown,
  ): void {
    if (this.closing) return;
    this.logger.error('request handler failed', {
      connectionId: this.id,
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    if (handler.errorResponse === undefined) {
      this.close(null);
      return;
    }
    let response: unknown;
    try {
      response = handler.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, context);
    } catch (secondError) {
      this.logger.error('errorResponse failed', {
        connectionId: this.id,
        error: (secondError as Error).message,
      });
      this.close(null);
      return;
    }
    this.complete(slot, handler, header, header.apiVersion, response);
  }

  private writeReady(): void {
    if (this.pending.length === 0 || !this.pending[0].ready) return;
    if (this.framedElsewhere !== undefined) this.updateFrameBytesMax();
    // One cork around every response that is ready turns them into a single writev.
    this.socket.cork();
    const writtenMs = performance.now();
    while (this.pending.length > 0 && this.pending[0].ready) {
      const slot = this.pending.shift()!;
      this.adjustInFlight(-(slot.requestBytes + slot.responseBytes));
      slot.writtenMs = writtenMs;
      if (
        slot.context !== undefined &&
        (this.observer !== undefined || this.requestLog !== undefined)
      )
        this.writeTimed(slot);
      else for (const chunk of slot.chunks) this.socket.write(chunk);
      if (slot.closeConnection) {
        this.socket.uncork();
        this.finish();
        return;
      }
    }
    this.socket.uncork();
    this.lastActivityMs = performance.now();
    const head = this.pending[0];
    if (head?.startAtHead !== undefined) {
      const start = head.startAtHead;
      head.startAtHead = undefined;
      // Answered at once, it re-enters writeReady and goes out there.
      start();
      if (this.closing) return;
    }
    if (this.pending.length === 0 && this.drainedWaiters.length > 0) {
      for (const resolve of this.drainedWaiters.splice(0)) resolve();
    }
    this.updateFlowControl();
  }

  /**
   * Writes a response whose send time is wanted (by the metrics, or the request log for a request
   * it wants a line of): the socket's callback for its last chunk reports when the kernel took it.
   * Write callbacks run in write order, so one callback per connection and a queue of the slots
   * awaiting it tell which response each call is for, without a closure per request.
   */
  private writeTimed(slot: PendingResponse): void {
    const context = slot.context!;
    slot.logged =
      this.requestLog?.wants(context.apiKey, slot.request, slot.writtenMs - slot.receivedMs) ??
      null;
    const chunks = slot.chunks;
    if (chunks.length === 0) {
      this.responseDone(slot);
      return;
    }
    for (let index = 0; index < chunks.length - 1; index++) this.socket.write(chunks[index]);
    this.awaitingSent.push(slot);
    this.socket.write(chunks[chunks.length - 1], this.onResponseSent);
  }

  /** The socket took (or, on an error, dropped) the response at the head of `awaitingSent`. */
  private readonly onResponseSent = (error?: Error | null): void => {
    const slot = this.awaitingSent.shift();
    if (slot === undefined) return;
    if (error === null || error === undefined) slot.sentMs = performance.now();
    this.responseDone(slot);
  };

  /** Reports a response that went out, or was never sent (`sentMs` undefined). */
  private responseDone(slot: PendingResponse): void {
    const context = slot.context!;
    this.observer?.requestCompleted(context.apiKey, slot.responseVersion, slot);
    if (slot.logged === null) return;
    this.requestLog!.write({
      wanted: slot.logged,
      context,
      request: slot.request,
      response: slot.response,
      requestBytes: slot.requestBytes,
      responseBytes: slot.responseBytes,
      throttleMs: slot.throttleMs,
      times: slot,
    });
  }

  /**
   * Starts queued frames the limits now allow, then pauses reading while over the limits or while
   * frames are still queued, and resumes it once everything received has been started.
   */
  private updateFlowControl(): void {
    if (this.closing || this.draining) return;
    this.startReceivedFrames();
    if (this.closing) return;
    const mustWait = this.receivedFrames.length > 0 || this.overLimits();
    if (mustWait && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!mustWait && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private scheduleIdleCheck(delayMs: number): void {
    this.idleTimer = setTimeout(() => this.checkIdle(), Math.max(1, Math.ceil(delayMs)));
    this.idleTimer.unref();
  }

  private checkIdle(): void {
    this.idleTimer = null;
    if (this.closing) return;
    const now = performance.now();
    const idleMs = this.limits.connectionsMaxIdleMs;
    if (this.partialFrameSinceMs !== null && now - this.partialFrameSinceMs >= idleMs) {
      this.close(
        `partial request frame not completed within connections.max.idle.ms (${idleMs} ms)`,
      );
      return;
    }
    if (this.pending.length === 0 && now - this.lastActivityMs >= idleMs) {
      this.logger.debug?.('closing idle connection', { connectionId: this.id, idleMs });
      this.close(null);
      return;
    }
    // Check again when the earliest of the two deadlines could next be reached.
    let nextCheckMs = idleMs;
    if (this.pending.length === 0)
      nextCheckMs = Math.min(nextCheckMs, idleMs - (now - this.lastActivityMs));
    if (this.partialFrameSinceMs !== null)
      nextCheckMs = Math.min(nextCheckMs, idleMs - (now - this.partialFrameSinceMs));
    this.scheduleIdleCheck(nextCheckMs);
  }

  /** Closes the connection at once; `reason` (a protocol violation) is logged when given. */
  close(reason: string | null, header?: RequestHeader): void {
    if (this.closing) return;
    this.closing = true;
    if (reason !== null) {
      this.logger.warn(`closing connection: ${reason}`, {
        connectionId: this.id,
        listener: this.listenerName,
        remote: `${this.remoteAddress}:${this.remotePort}`,
        clientId: header?.clientId,
        correlationId: header?.correlationId,
      });
    }
    this.abortController.abort();
    this.socket.destroy();
  }

  /** Closes after the responses already written reach the operating system. */
  private finish(): void {
    if (this.closing) return;
    this.closing = true;
    this.abortController.abort();
    this.socket.once('finish', () => this.socket.destroy());
    this.socket.end();
    // A client that stopped reading would keep 'finish' from ever coming.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onClose(): void {
    this.closing = true;
    this.abortController.abort();
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteTimer = null;
    this.pending.length = 0;
    this.receivedFrames.length = 0;
    this.receivedFrameTimesMs.length = 0;
    this.adjustInFlight(-this.inFlightBytes);
    this.memory.forget(this.wakeOnFreedMemory);
    for (const resolve of this.drainedWaiters.splice(0)) resolve();
  }
}
