// A small Kafka client connection on the generated codecs: one TCP connection to one broker,
// requests encoded and responses decoded by the same definitions the broker serves, so the wire
// format is written down once. It is what `brook groups` speaks, and works against any
// Kafka-compatible broker, over TLS and with SASL PLAIN or SCRAM when asked. It may import only
// protocol/, record/, util/ and security/ (eslint.config.js).
//
// Requests may be pipelined: each waits for the response with its correlation id, and a broker
// answers in request order. A connection that fails (socket error, close, a malformed frame, a
// response out of order) fails every pending request and every later one: the error is sticky,
// and the caller opens a new connection.

import { connect, type Socket } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { nodeTls } from '../util/node-tls.js';
import { type SaslCredentials, SaslClientError, authenticateSasl } from './sasl-client.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { apiMessages } from '../protocol/generated/index.js';
import { decodeResponseHeader, encodeRequestHeader } from '../protocol/headers.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { BrookError, type BrookErrorCode } from '../util/errors.js';
import { assert } from '../util/assert.js';

export const KafkaClientErrorCode = {
  /** HOST:PORT could not be parsed. */
  BAD_ADDRESS: 'BROOK_CLIENT_BAD_ADDRESS',
  /** Connecting failed or timed out, or the connection closed or failed. */
  CONNECTION: 'BROOK_CLIENT_CONNECTION',
  /** A request got no response within the request timeout. */
  TIMEOUT: 'BROOK_CLIENT_TIMEOUT',
  /** The broker sent something this client cannot read (a frame too large, a wrong id). */
  PROTOCOL: 'BROOK_CLIENT_PROTOCOL',
  /** SASL authentication failed (wrong password, mechanism not offered). */
  AUTHENTICATION: 'BROOK_CLIENT_AUTHENTICATION',
  /** A response carried a Kafka error code (admin-client.ts's KafkaResponseError). */
  KAFKA_ERROR: 'BROOK_CLIENT_KAFKA_ERROR',
} as const satisfies Record<string, BrookErrorCode>;

export type KafkaClientErrorCode = (typeof KafkaClientErrorCode)[keyof typeof KafkaClientErrorCode];

export class KafkaClientError extends BrookError {
  declare readonly code: KafkaClientErrorCode;

  /** `kafkaErrorCode`: the Kafka error a response carried (KAFKA_ERROR only). */
  constructor(code: KafkaClientErrorCode, message: string, kafkaErrorCode?: number) {
    super(code, message, { kafkaErrorCode });
    this.name = 'KafkaClientError';
  }
}

export interface KafkaConnectionOptions {
  /** Sent in every request header. */
  readonly clientId: string;
  /** For connecting and for each request. */
  readonly requestTimeoutMs?: number;
  /** Larger response frames are refused as a protocol error. */
  readonly responseBytesMax?: number;
  /** Connect over TLS with these options (ca, cert, key, ...); plaintext when absent. */
  readonly tls?: TlsConnectionOptions;
  /** Authenticate with SASL once connected. */
  readonly sasl?: SaslCredentials;
}

const defaultRequestTimeoutMs = 30_000;
const defaultResponseBytesMax = 100 * 1024 * 1024;

/** `host:port`, `[::1]:9092`; throws KafkaClientError (BAD_ADDRESS). */
export function parseBrokerAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !/^\d+$/.test(address.slice(colon + 1)) || port <= 0 || port > 65535) {
    throw new KafkaClientError(
      KafkaClientErrorCode.BAD_ADDRESS,
      `bad address ${address}: expected HOST:PORT`,
    );
  }
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

type ResolvedOptions = Required<Omit<KafkaConnectionOptions, 'tls' | 'sasl'>>;

interface PendingRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly resolve: (frame: Buffer) => void;
  readonly reject: (error: Error) => void;
}

export class KafkaConnection {
  private correlationId = 0;
  /** In request order; the broker answers in that order. */
  private readonly pending = new Map<number, PendingRequest>();
  private failure: KafkaClientError | null = null;
  /** Settles once the last request waiting for its API's codecs has them (or failed to load). */
  private codecsAwaited: Promise<void> | null = null;

  /** `frames` is fed by the socket's `onread` (plaintext) or, with `streamed`, by its data events (TLS). */
  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly options: ResolvedOptions,
    frames: FrameReader,
    streamed: boolean,
  ) {
    if (streamed)
      socket.on('data', (data: Buffer) => this.receive((onFrame) => frames.push(data, onFrame)));
    socket.on('error', (error) =>
      this.fail(
        new KafkaClientError(KafkaClientErrorCode.CONNECTION, `${address}: ${error.message}`),
      ),
    );
    socket.on('close', () =>
      this.fail(
        new KafkaClientError(KafkaClientErrorCode.CONNECTION, `${address}: connection closed`),
      ),
    );
  }

  /** Connects to `address` (HOST:PORT), over TLS and authenticated when the options say so. */
  static async open(address: string, options: KafkaConnectionOptions): Promise<KafkaConnection> {
    const connection = await KafkaConnection.connect(address, options);
    if (options.sasl !== undefined) {
      try {
        await authenticateSasl(
          (apiKey, apiVersion, body) => connection.request(apiKey, apiVersion, body),
          options.sasl,
        );
      } catch (error) {
        connection.close();
        if (error instanceof SaslClientError) {
          throw new KafkaClientError(
            KafkaClientErrorCode.AUTHENTICATION,
            `${address}: ${error.message}`,
            error.kafkaErrorCode,
          );
        }
        throw error;
      }
    }
    return connection;
  }

  private static connect(
    address: string,
    options: KafkaConnectionOptions,
  ): Promise<KafkaConnection> {
    const { host, port } = parseBrokerAddress(address);
    const resolved: ResolvedOptions = {
      clientId: options.clientId,
      requestTimeoutMs: options.requestTimeoutMs ?? defaultRequestTimeoutMs,
      responseBytesMax: options.responseBytesMax ?? defaultResponseBytesMax,
    };
    const tls = options.tls;
    const frames = responseFrameReader(resolved.responseBytesMax);
    let connection: KafkaConnection | null = null;
    return new Promise((resolve, reject) => {
      const socket =
        tls === undefined
          ? connect({
              host,
              port,
              onread: {
                buffer: () => frames.nextReadBuffer(),
                callback: (bytesRead: number) => {
                  // A broker sends nothing unasked, so nothing arrives before the constructor ran.
                  if (connection === null) socket.destroy();
                  else connection.receive((onFrame) => frames.read(bytesRead, onFrame));
                  return true;
                },
              },
            })
          : nodeTls().connect({
              servername: /^[\d.:]+$/.test(host) ? undefined : host,
              ...tls,
              host,
              port,
            });
      const connectedEvent = tls === undefined ? 'connect' : 'secureConnect';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new KafkaClientError(KafkaClientErrorCode.CONNECTION, `${address}: connect timed out`),
        );
      }, resolved.requestTimeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(
          new KafkaClientError(KafkaClientErrorCode.CONNECTION, `${address}: ${error.message}`),
        );
      };
      socket.once('error', onError);
      socket.once(connectedEvent, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        connection = new KafkaConnection(socket, address, resolved, frames, tls !== undefined);
        resolve(connection);
      });
    });
  }

  /** Sends one request and resolves with its decoded response. */
  async request<Response>(apiKey: number, apiVersion: number, body: unknown): Promise<Response> {
    if (this.failure !== null) throw this.failure;
    const codec = apiMessages.get(apiKey);
    assert(codec !== undefined, `no codec for API key ${apiKey}`);
    // The codecs load on the API's first use. Requests go out in the order they were made: one
    // made while an earlier one waits for its codecs waits behind it, loaded or not. The
    // correlation id is taken after that, with the write, so ids follow the same order.
    let codecs = codec.codecs;
    if (codecs === null || this.codecsAwaited !== null) {
      const earlier = this.codecsAwaited;
      const loaded = (async () => {
        await earlier;
        return codec.codecs ?? (await codec.loadCodecs());
      })();
      const settled = loaded.then(
        () => undefined,
        () => undefined,
      );
      this.codecsAwaited = settled;
      try {
        codecs = await loaded;
      } finally {
        if (this.codecsAwaited === settled) this.codecsAwaited = null;
      }
    }
    const { request, response } = codecs;
    if (this.failure !== null) throw this.failure;
    const correlationId = ++this.correlationId;
    const writer = new Writer({ frameLength: true });
    encodeRequestHeader(writer, {
      apiKey,
      apiVersion,
      correlationId,
      clientId: this.options.clientId,
    });
    request.encode(writer, apiVersion, body as never);
    const { chunks } = writer.finish();
    const frame = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        // A late response would now be out of order: the connection cannot be used further.
        this.fail(
          new KafkaClientError(
            KafkaClientErrorCode.TIMEOUT,
            `${this.address}: ${codec.name} v${apiVersion} got no response within ${this.options.requestTimeoutMs} ms`,
          ),
        );
        reject(this.failure!);
      }, this.options.requestTimeoutMs);
      this.pending.set(correlationId, {
        apiKey,
        apiVersion,
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      for (const chunk of chunks) this.socket.write(chunk);
    });
    const reader = new Reader(frame);
    decodeResponseHeader(reader, apiKey, apiVersion);
    return response.decode(reader, apiVersion) as Response;
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: KafkaClientError): void {
    if (this.failure === null) this.failure = error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) request.reject(this.failure);
    this.socket.destroy();
  }

  /** Resolves the requests whose responses `take` (the frame reader, fed what arrived) completes. */
  private receive(take: (onFrame: (frame: Buffer) => void) => void): void {
    const frames: Buffer[] = [];
    try {
      take((frame) => frames.push(frame));
    } catch (error) {
      this.fail(
        new KafkaClientError(
          KafkaClientErrorCode.PROTOCOL,
          `${this.address}: ${(error as Error).message}`,
        ),
      );
      return;
    }
    for (const frame of frames) {
      const correlationId = frame.readInt32BE(0);
      const [oldest] = this.pending.keys();
      const request = this.pending.get(correlationId);
      if (request === undefined || correlationId !== oldest) {
        this.fail(
          new KafkaClientError(
            KafkaClientErrorCode.PROTOCOL,
            `${this.address}: response correlation id ${correlationId}, expected ${oldest ?? 'none'}`,
          ),
        );
        return;
      }
      this.pending.delete(correlationId);
      request.resolve(frame);
    }
  }
}

/** Splits a connection's bytes into response frames (src/protocol/frame-reader.ts). */
export function responseFrameReader(responseBytesMax: number): FrameReader {
  return new FrameReader({
    frameBytesMax: responseBytesMax,
    // Every response holds its correlation id.
    frameBytesMin: 4,
    refuse: (frameBytes) => new Error(`response frame of ${frameBytes} bytes`),
  });
}
