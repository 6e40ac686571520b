// The handlers a broker serves, one per API key. ApiVersions answers from this registry, so what
// Brook advertises is exactly what it has handlers for: adding a handler file, its row of
// served-versions.ts, and registering it is the whole of supporting an API. A handler may be
// registered by its versions alone and loaded on its API's first request (`DeferredHandler`).
//
// A handler file declares itself with `defineHandler(ApiKey.Heartbeat, { ... })`: the request and
// response types follow from the key through the generated `ApiTypes` map, so a handler cannot
// name one API and serve another's messages, and none needs a cast. The server holds handlers
// erased to `AnyHandler`, since it picks one by the key a frame carries at run time.

import type { ApiKey, RequestOf, ResponseInputOf } from '../protocol/generated/index.js';
import type { ConnectionAuthentication } from '../security/connection-authentication.js';
import { BrookError } from '../util/errors.js';

/** What a handler may learn about the connection a request came in on. A handler never touches the socket. */
export interface RequestContext {
  /** Unique within the process, for logs and per-connection state (fetch sessions, SASL). */
  readonly connectionId: number;
  readonly listenerName: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly clientId: string | null;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /**
   * Kafka's principal, for the authorizer: `User:name` once SASL authenticated the client (or its
   * TLS certificate named it), `User:ANONYMOUS` otherwise.
   */
  readonly principal: string;
  /** The connection's authentication state on SSL and SASL listeners (SaslHandshake, SaslAuthenticate). */
  readonly authentication?: ConnectionAuthentication;
  /**
   * Aborted when the connection closes or the server stops, so a handler that parks (a long-poll
   * Fetch, an acks=all Produce) can give up instead of finishing work nobody will read.
   */
  readonly signal: AbortSignal;
}

/** Returned by a handler to send no response at all: Produce with acks=0. */
export const NO_RESPONSE: unique symbol = Symbol('brook.noResponse');
export type NoResponse = typeof NO_RESPONSE;

/**
 * Returned by a handler to close the connection once the responses to earlier requests have gone
 * out, without answering this one: what Kafka does when an acks=0 Produce fails, so that the
 * producer, which reads no response, still notices and refreshes its metadata.
 */
export const CLOSE_CONNECTION: unique symbol = Symbol('brook.closeConnection');
export type CloseConnection = typeof CLOSE_CONNECTION;

export type HandlerResult<Response> = Response | NoResponse | CloseConnection;

/**
 * One Kafka API. `Request` is the decoded body type from the generated codecs, `Response` what the
 * response encoder accepts.
 *
 * Requests on one connection are started in arrival order and each runs synchronously up to its
 * first await before the next one starts; after that they interleave, and only their responses
 * are put back in order. Work whose order matters across pipelined requests (a producer's
 * sequence check and append) must therefore happen before a handler's first await.
 */
export interface Handler<Request = never, Response = unknown> {
  readonly apiKey: number;
  /** The versions advertised in ApiVersions, inclusive. Every one must be decodable. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Versions from minVersion up to (not including) this one are advertised but answered with
   * UNSUPPORTED_VERSION through `errorResponse`: librdkafka before 2.11.1 only enables gzip, snappy
   * and lz4 when Produce's range includes 0, yet Brook does not serve message formats v0/v1
   * (Kafka 4.0 does the same, KAFKA-18659).
   */
  readonly refusedBelow?: number;
  handle(
    request: Request,
    context: RequestContext,
  ): HandlerResult<Response> | Promise<HandlerResult<Response>>;
  /**
   * The response that reports `errorCode` for every part of `request` (Kafka's getErrorResponse).
   * Used for refused versions and when `handle` throws (with UNKNOWN_SERVER_ERROR, as Kafka
   * answers); without it, the server closes the connection in those cases, since not every
   * response has a top-level error slot. For ApiVersions at a version Brook does not know, the
   * body cannot be decoded and `request` is an empty v0 request, as in Kafka.
   */
  errorResponse?(request: Request, errorCode: number, context: RequestContext): Response;
}

/** The handler of Kafka API `K`: its request and response types are those the codecs of `K` use. */
export interface ApiHandler<K extends ApiKey> extends Handler<RequestOf<K>, ResponseInputOf<K>> {
  readonly apiKey: K;
}

/**
 * What a handler file declares besides its key (see `Handler` for each member). The functions
 * are properties, not methods, so TypeScript checks their parameters strictly: a `handle` that
 * takes another API's request does not compile.
 */
export interface HandlerDefinition<K extends ApiKey> {
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly refusedBelow?: number;
  readonly handle: (
    request: RequestOf<K>,
    context: RequestContext,
  ) => HandlerResult<ResponseInputOf<K>> | Promise<HandlerResult<ResponseInputOf<K>>>;
  readonly errorResponse?: (
    request: RequestOf<K>,
    errorCode: number,
    context: RequestContext,
  ) => ResponseInputOf<K>;
}

/** The handler of API `apiKey`, its request and response types inferred from the key. */
export function defineHandler<K extends ApiKey>(
  apiKey: K,
  definition: HandlerDefinition<K>,
): ApiHandler<K> {
  return { apiKey, ...definition };
}

/** A handler of any request type, as the registry and server hold them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = Handler<any, unknown>;

export interface AdvertisedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** The versions a handler serves (see `Handler`), known before its code is loaded. */
export interface ServedVersions {
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly refusedBelow?: number;
}

/** An API the registry serves: its key and versions, whether or not its handler is loaded yet. */
export interface ServedApi extends ServedVersions {
  readonly apiKey: number;
}

/**
 * A handler registered by its versions alone, its code loaded on its API's first request:
 * `load` builds it (typically a dynamic import of its module). See `deferHandler` in
 * served-versions.ts.
 */
export interface DeferredHandler extends ServedApi {
  load(): Promise<AnyHandler>;
}

export class HandlerRegistryError extends BrookError {
  declare readonly code: 'BROOK_HANDLER_REGISTRATION';

  constructor(message: string) {
    super('BROOK_HANDLER_REGISTRATION', message);
    this.name = 'HandlerRegistryError';
  }
}

interface Entry {
  readonly served: ServedApi;
  handler: AnyHandler | undefined;
  /** The one load of a deferred handler, shared by every caller that asked before it settled. */
  loading: Promise<AnyHandler> | undefined;
  readonly load: (() => Promise<AnyHandler>) | undefined;
}

/**
 * The handlers by API key. A handler registered as a `DeferredHandler` is advertised at once and
 * loaded once, on first `load`: whoever calls a handler (the server's connections, the console)
 * awaits `load(apiKey)` or finds it through `loaded(apiKey)` after that resolved. The server starts
 * a request only once its handler is loaded (connection.ts), so a deferred handler's first
 * request runs exactly as a later one does.
 */
export class HandlerRegistry {
  private readonly entries = new Map<number, Entry>();

  /**
   * Adds a handler, or a deferred one; a second handler for the same API key is a wiring bug and
   * throws.
   */
  register(handler: AnyHandler | DeferredHandler): this {
    const { apiKey, minVersion, maxVersion, refusedBelow } = handler;
    if (this.entries.has(apiKey)) {
      throw new HandlerRegistryError(`a handler for API key ${apiKey} is already registered`);
    }
    if (
      !Number.isInteger(minVersion) ||
      !Number.isInteger(maxVersion) ||
      minVersion < 0 ||
      minVersion > maxVersion
    ) {
      throw new HandlerRegistryError(
        `handler for API key ${apiKey} has an invalid version range ${minVersion}-${maxVersion}`,
      );
    }
    if (refusedBelow !== undefined && (refusedBelow <= minVersion || refusedBelow > maxVersion)) {
      throw new HandlerRegistryError(
        `handler for API key ${apiKey}: refusedBelow ${refusedBelow} must be inside (${minVersion}, ${maxVersion}]`,
      );
    }
    const served: ServedApi = { apiKey, minVersion, maxVersion, refusedBelow };
    if ('load' in handler) {
      this.entries.set(apiKey, {
        served,
        handler: undefined,
        loading: undefined,
        load: handler.load,
      });
    } else {
      checkLoaded(served, handler);
      this.entries.set(apiKey, {
        served,
        handler,
        loading: Promise.resolve(handler),
        load: undefined,
      });
    }
    return this;
  }

  /** The API's key and versions if a handler is registered for it, loaded or not. */
  served(apiKey: number): ServedApi | undefined {
    return this.entries.get(apiKey)?.served;
  }

  /** The API's handler once it is loaded; undefined before, and for an API without a handler. */
  loaded(apiKey: number): AnyHandler | undefined {
    return this.entries.get(apiKey)?.handler;
  }

  /**
   * The API's handler, loading it on the first call (one load, however many callers). Rejects for
   * an API without a handler, and when the handler loaded is not the one registered (another key,
   * other versions): a wiring bug.
   */
  load(apiKey: number): Promise<AnyHandler> {
    const entry = this.entries.get(apiKey);
    if (entry === undefined) {
      return Promise.reject(
        new HandlerRegistryError(`no handler is registered for API key ${apiKey}`),
      );
    }
    entry.loading ??= entry.load!().then((handler) => {
      checkLoaded(entry.served, handler);
      entry.handler = handler;
      return handler;
    });
    return entry.loading;
  }

  /** Every API served, loaded or not, by increasing API key. */
  servedApis(): ServedApi[] {
    return [...this.entries.values()]
      .map((entry) => entry.served)
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  /** What ApiVersions advertises, by increasing API key. */
  advertisedApis(): AdvertisedApi[] {
    return this.servedApis().map(({ apiKey, minVersion, maxVersion }) => ({
      apiKey,
      minVersion,
      maxVersion,
    }));
  }
}

/** A handler (loaded now or registered so) must be the one `served` announced. */
function checkLoaded(served: ServedApi, handler: AnyHandler): void {
  const { apiKey } = served;
  if (
    handler.apiKey !== apiKey ||
    handler.minVersion !== served.minVersion ||
    handler.maxVersion !== served.maxVersion ||
    handler.refusedBelow !== served.refusedBelow
  ) {
    throw new HandlerRegistryError(
      `the handler loaded for API key ${apiKey} serves API key ${handler.apiKey} versions ${handler.minVersion}-${handler.maxVersion} (refused below ${handler.refusedBelow}), not the ${served.minVersion}-${served.maxVersion} (refused below ${served.refusedBelow}) registered`,
    );
  }
  if (handler.refusedBelow !== undefined && handler.errorResponse === undefined) {
    throw new HandlerRegistryError(
      `handler for API key ${apiKey} refuses versions below ${handler.refusedBelow} but has no errorResponse`,
    );
  }
}
