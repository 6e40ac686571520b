// A signal that aborts when any of several signals does or when a time limit passes: what
// `AbortSignal.any([...signals, AbortSignal.timeout(ms)])` says, without its flaw on Node 20. There
// the composite signal holds its sources only weakly and the timeout signal's timer holds its
// signal only weakly too, so once nothing else refers to the timeout signal a garbage collection
// can take it and the time limit never fires (nodejs/node#57736): under GC pressure an acks=all
// produce, a transaction's marker wait or a request to a stalled broker would wait without end.
// Here the timer, held by the event loop until it fires or is cleared, holds the controller.
//
// `clear()` must be called once the caller stops waiting: it stops the timer and removes the
// listeners from the given signals, which may live much longer (a connection's).

/** What `deadline` returns: the signal, and the way to release its timer and listeners. */
export interface Deadline {
  readonly signal: AbortSignal;
  clear(): void;
}

/**
 * Aborts after `ms` with a TimeoutError (as AbortSignal.timeout's reason), or as soon as one of
 * `signals` aborts, with its reason.
 */
export function deadline(ms: number, ...signals: readonly AbortSignal[]): Deadline {
  const controller = new AbortController();
  const already = signals.find((signal) => signal.aborted);
  if (already !== undefined) {
    controller.abort(already.reason);
    return { signal: controller.signal, clear: () => undefined };
  }
  const listeners: [AbortSignal, () => void][] = [];
  const clear = (): void => {
    clearTimeout(timer);
    for (const [signal, listener] of listeners) signal.removeEventListener('abort', listener);
    listeners.length = 0;
  };
  const timer = setTimeout(
    () => {
      clear();
      controller.abort(
        new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      );
    },
    Math.max(0, ms),
  );
  // Like AbortSignal.timeout's: the limit alone keeps no process alive.
  timer.unref();
  for (const signal of signals) {
    const listener = (): void => {
      clear();
      controller.abort(signal.reason);
    };
    signal.addEventListener('abort', listener, { once: true });
    listeners.push([signal, listener]);
  }
  return { signal: controller.signal, clear };
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error as Error)),
    );
  });
}
