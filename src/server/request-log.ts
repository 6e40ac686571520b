// The request log (Kafka's kafka.request.logger): one structured line per answered request when
// `request.log.enabled` is set (or for a random `request.log.sample.rate` of them), and one
// warning per slow request whatever those settings say.
//
//   frame received ─► started ─► handler answered ─► response written ─► response sent
//   └─ queueMs ─────┘└─ localMs + remoteMs ─┘└ responseQueueMs ┘└─ sendMs ─────┘
//   └──────────────────────────────── totalMs ────────────────────────────────────┘
//
//   queueMs          waiting behind the connection's in-flight limits or a quota's mute
//   localMs          on the event loop: the handler up to its first await, and encoding
//   remoteMs         the rest of the handler: fsyncs, replication, a parked fetch or join
//   responseQueueMs  ready, but behind an earlier request of the same connection
//   sendMs           handed to the socket until the kernel took the last byte
//
// A request is slow when it took longer than `request.log.slow.ms` beyond the wait it asked for
// itself (a Fetch's or ShareFetch's max wait, a JoinGroup's rebalance timeout); a SyncGroup waits
// for its group's leader and is never slow on its own account. Slow lines are rate-limited (a
// client hammering an overloaded broker must not also fill its disk with log lines); the next
// line written says how many were left out.
//
// Cheap when off: the connection asks `wants` (a few comparisons, no allocation) once per
// request, which also draws the request's place in the sample, and only a request that will be
// logged builds its line. Owned by the server; used
// from connection callbacks on the event loop only.

import { errorCodesIn } from '../observability/error-codes.js';
import type { RequestTimes } from '../observability/request-metrics.js';
import { errorName } from '../protocol/errors.js';
import { ApiKey, apiMessages } from '../protocol/generated/index.js';
import type { RequestContext } from '../handlers/registry.js';
import type { Logger } from '../util/logger.js';

export interface RequestLogOptions {
  readonly logger: Logger;
  /** request.log.enabled: every answered request gets a line (at info). */
  readonly allRequests: boolean;
  /** request.log.sample.rate: with `allRequests`, the fraction of requests that do (default 1). */
  readonly sampleRate?: number;
  /** request.log.slow.ms: a request slower than this is logged at warn; 0 turns that off. */
  readonly slowMs: number;
  /** At most this many slow-request lines per second (default 10). */
  readonly slowLinesPerSecondMax?: number;
}

export interface LoggedRequest {
  readonly context: RequestContext;
  readonly request: unknown;
  /** The handler's response object; undefined when none was sent. */
  readonly response: unknown;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly throttleMs: number;
  readonly times: RequestTimes;
  /** What `wants` answered for it. */
  readonly wanted: RequestLineWanted;
}

/** Why a request may get a line: it is in the sample, or it may be slow (decided once sent). */
export type RequestLineWanted = 'sampled' | 'maybe slow';

const SLOW_LINES_PER_SECOND_MAX = 10;

export class RequestLog {
  private readonly logger: Logger;
  private readonly allRequests: boolean;
  private readonly sampleRate: number;
  private readonly slowMs: number;
  private readonly slowLinesPerSecondMax: number;
  private slowWindowStartedMs = -Infinity;
  private slowLinesInWindow = 0;
  private slowLinesLeftOut = 0;

  constructor(options: RequestLogOptions) {
    this.logger = options.logger;
    this.allRequests = options.allRequests;
    this.sampleRate = options.allRequests ? (options.sampleRate ?? 1) : 0;
    this.slowMs = options.slowMs;
    this.slowLinesPerSecondMax = options.slowLinesPerSecondMax ?? SLOW_LINES_PER_SECOND_MAX;
  }

  /** Whether the log writes anything at all; a server without it skips every check. */
  get enabled(): boolean {
    return this.allRequests || this.slowMs > 0;
  }

  /**
   * Whether a request that has taken `elapsedMs` so far may get a line, and why; null if not.
   * Draws the request's place in the sample, so it is asked once per request. Allocates nothing.
   */
  wants(apiKey: number, request: unknown, elapsedMs: number): RequestLineWanted | null {
    if (this.sampleRate >= 1 || (this.sampleRate > 0 && Math.random() < this.sampleRate))
      return 'sampled';
    return this.isSlow(apiKey, request, elapsedMs) ? 'maybe slow' : null;
  }

  write(logged: LoggedRequest): void {
    const { context, times } = logged;
    const endMs = times.sentMs ?? times.writtenMs;
    const totalMs = endMs - times.receivedMs;
    const slow = this.isSlow(context.apiKey, logged.request, totalMs);
    const sampled = logged.wanted === 'sampled';
    if (!slow && !sampled) return;
    let leftOut = 0;
    if (slow && !sampled) {
      if (!this.slowLineAllowed(endMs)) return;
      leftOut = this.slowLinesLeftOut;
      this.slowLinesLeftOut = 0;
    }
    const fields = {
      api: apiMessages.get(context.apiKey)?.name ?? String(context.apiKey),
      version: context.apiVersion,
      correlationId: context.correlationId,
      clientId: context.clientId,
      principal: context.principal,
      client: `${context.remoteAddress}:${context.remotePort}`,
      listener: context.listenerName,
      requestBytes: logged.requestBytes,
      responseBytes: logged.responseBytes,
      totalMs: round(totalMs),
      queueMs: round(times.startedMs - times.receivedMs),
      localMs: round(times.localMs),
      remoteMs: round(Math.max(0, times.answeredMs - times.startedMs - times.localMs)),
      throttleMs: logged.throttleMs,
      responseQueueMs: round(times.writtenMs - times.answeredMs),
      sendMs: times.sentMs === undefined ? null : round(times.sentMs - times.writtenMs),
      errors: errorSummary(logged.response),
      ...(leftOut > 0 ? { slowRequestsNotLogged: leftOut } : {}),
    };
    if (slow) this.logger.warn('slow request', { ...fields, slowMs: this.slowMs });
    else this.logger.info('request', fields);
  }

  private isSlow(apiKey: number, request: unknown, elapsedMs: number): boolean {
    if (this.slowMs <= 0 || elapsedMs <= this.slowMs) return false;
    return elapsedMs - waitAskedForMs(apiKey, request) > this.slowMs;
  }

  private slowLineAllowed(nowMs: number): boolean {
    if (nowMs - this.slowWindowStartedMs >= 1000) {
      this.slowWindowStartedMs = nowMs;
      this.slowLinesInWindow = 0;
    }
    if (this.slowLinesInWindow >= this.slowLinesPerSecondMax) {
      this.slowLinesLeftOut++;
      return false;
    }
    this.slowLinesInWindow++;
    return true;
  }
}

/** How long a request asked the broker to hold it before answering (0 for most). */
function waitAskedForMs(apiKey: number, request: unknown): number {
  const fields = request as Record<string, unknown> | undefined;
  const number = (name: string): number =>
    typeof fields?.[name] === 'number' ? (fields[name] as number) : 0;
  switch (apiKey) {
    case ApiKey.Fetch:
    case ApiKey.ShareFetch:
      return number('maxWaitMs');
    case ApiKey.JoinGroup:
      return Math.max(number('rebalanceTimeoutMs'), number('sessionTimeoutMs'));
    case ApiKey.SyncGroup:
      return Infinity;
    default:
      return 0;
  }
}

/** Error names with how often each was answered, `{}` when none; the walk the metrics use. */
function errorSummary(response: unknown): Record<string, number> {
  const summary: Record<string, number> = {};
  if (typeof response !== 'object' || response === null) return summary;
  for (const code of errorCodesIn(response)) {
    const name = errorName(code);
    summary[name] = (summary[name] ?? 0) + 1;
  }
  return summary;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
