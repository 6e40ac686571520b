// The etcd client as cluster mode uses it. etcd3's defaults suit a long-lived application but not
// a broker that must notice a lost etcd quickly and get it back quickly: its per-host circuit
// breaker refuses every call for 5 s after three failures, and its watch reconnects back off up to
// 30 s. Here every call goes straight through (the callers that retry do so themselves, with a
// deadline and a message), and watches reconnect every 250 ms, so a restarted etcd is watched
// again within a fraction of a second.

import { createRequire } from 'node:module';
import type { Etcd3, IOptions } from 'etcd3';
import { ClusterError, ClusterErrorCode } from './errors.js';

// etcd3 (and gRPC under it) is loaded on the first client, not when the broker's modules are: a
// broker without etcd.endpoints never needs it, and loading it costs 150 ms on a quiet machine,
// over a second on a busy one, at the start of every process that embeds a broker.
const require = createRequire(import.meta.url);

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type Policy = ReturnType<NonNullable<FaultHandling['host']>>;
type WatchBackoff = NonNullable<FaultHandling['watchBackoff']>;

/**
 * A policy that runs the call once. It must answer with a promise even when the call throws
 * synchronously: etcd3 reports a failed stream with `execute(() => { throw }).catch(...)`.
 */
const passThrough = {
  execute: async <T>(call: (context: { attempt: number; signal: AbortSignal }) => T): Promise<T> =>
    call({ attempt: 0, signal: new AbortController().signal }),
} as unknown as Policy;

function constantBackoff(durationMs: number): WatchBackoff {
  const backoff = { duration: durationMs, next: () => backoff };
  return backoff as unknown as WatchBackoff;
}

/** How long one unary call may take before it fails (and the caller's own retry decides). */
const CALL_TIMEOUT_MS = 3000;

export function createEtcdClient(endpoints: readonly string[]): Etcd3 {
  const { Etcd3: Client } = require('etcd3') as typeof import('etcd3');
  return new Client({
    hosts: [...endpoints],
    dialTimeout: CALL_TIMEOUT_MS,
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS },
    faultHandling: {
      host: () => passThrough,
      global: passThrough,
      watchBackoff: constantBackoff(250),
    },
  });
}

export interface ConnectOptions {
  /** Give up (ETCD_UNAVAILABLE) after this long; the broker start uses a generous value. */
  readonly timeoutMs: number;
  /** Told of each failed attempt before the next: the message an operator sees in the log. */
  readonly onRetry?: (message: string) => void;
}

/**
 * Opens a client and proves etcd answers (one read), retrying with a growing delay (100 ms up to
 * 2 s) until `timeoutMs`: a broker started before its etcd waits for it instead of crash-looping.
 */
export async function connectEtcd(
  endpoints: readonly string[],
  options: ConnectOptions,
): Promise<Etcd3> {
  const client = createEtcdClient(endpoints);
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.get('/').exec();
      return client;
    } catch (error) {
      // grpc-js ends its messages with an empty 'Resolution note:'; it says nothing.
      const reason = (error as Error).message.replace(/\.?\s*Resolution note:\s*$/, '');
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        client.close();
        throw new ClusterError(
          ClusterErrorCode.ETCD_UNAVAILABLE,
          `etcd at ${endpoints.join(', ')} did not answer in ${options.timeoutMs} ms (${attempt} attempts; last: ${reason}); start etcd or fix etcd.endpoints`,
          { cause: error },
        );
      }
      options.onRetry?.(
        `etcd at ${endpoints.join(', ')} is not reachable (${reason}); retrying in ${Math.min(delayMs, remainingMs)} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, remainingMs)));
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }
}
