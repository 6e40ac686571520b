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
import { type ConnectionOptions as TlsConnectionOptions, connect as connectTls } from 'node:tls';
import { type SaslCredentials, SaslClientError, authenticateSasl } from './sasl-client.js';
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
  private readonly frames: ResponseFramer;
  private correlationId = 0;
  /** In request order; the broker answers in that order. */
  private readonly pending = new Map<number, PendingRequest>();
  private failure: KafkaClientError | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly options: ResolvedOptions,
  ) {
    this.frames = new ResponseFramer(options.responseBytesMax);
    socket.on('data', (data: Buffer) => this.onData(data));
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
    return new Promise((resolve, reject) => {
      const socket =
        tls === undefined
          ? connect({ host, port })
          : connectTls({
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
        resolve(new KafkaConnection(socket, address, resolved));
      });
    });
  }

  /** Sends one request and resolves with its decoded response. */
  async request<Response>(apiKey: number, apiVersion: number, body: unknown): Promise<Response> {
    if (this.failure !== null) throw this.failure;
    const codec = apiMessages.get(apiKey);
    assert(codec !== undefined, `no codec for API key ${apiKey}`);
    const correlationId = ++this.correlationId;
    const writer = new Writer({ frameLength: true });
    encodeRequestHeader(writer, {
      apiKey,
      apiVersion,
      correlationId,
      clientId: this.options.clientId,
    });
    codec.request.encode(writer, apiVersion, body as never);
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
    return codec.response.decode(reader, apiVersion) as Response;
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

  private onData(data: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(data);
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

/**
 * Splits the bytes of a connection into response frames (a 4-byte length, then the frame). The
 * chunks are kept as they arrived and a frame spread over many (a replica fetch of megabytes
 * arrives in 64 KiB reads) is joined once when its last byte is in: joining on every chunk
 * copied a megabyte response hundreds of times over.
 */
export class ResponseFramer {
  private received: Buffer[] = [];
  private receivedBytes = 0;

  constructor(private readonly frameBytesMax: number) {}

  /** The frames `chunk` completes, in order; throws on a length below 4 or above the maximum. */
  push(chunk: Buffer): Buffer[] {
    this.received.push(chunk);
    this.receivedBytes += chunk.length;
    const frames: Buffer[] = [];
    while (this.receivedBytes >= 4) {
      // A length prefix cut between chunks is rare and 4 bytes long: join the chunks it spans.
      if (this.received[0].length < 4) this.join();
      const length = this.received[0].readInt32BE(0);
      if (length < 4 || length > this.frameBytesMax)
        throw new Error(`response frame of ${length} bytes`);
      if (this.receivedBytes < 4 + length) break;
      if (this.received[0].length < 4 + length) this.join();
      const first = this.received[0];
      frames.push(first.subarray(4, 4 + length));
      if (first.length === 4 + length) this.received.shift();
      else this.received[0] = first.subarray(4 + length);
      this.receivedBytes -= 4 + length;
    }
    return frames;
  }

  private join(): void {
    this.received = [Buffer.concat(this.received, this.receivedBytes)];
  }
}
