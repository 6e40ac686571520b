// Bounded polling, the one way a test waits for something to become true. Tests never sleep a
// fixed time and hope: they poll a condition and fail, after a deadline, with a message that says
// what was awaited and what the state was when the wait gave up.

export interface PollOptions {
  /** How long to keep polling before failing (default 20 s: generous, the machine may be busy). */
  timeoutMs?: number;
  /** The pause between two polls (default 20 ms). */
  intervalMs?: number;
}

/**
 * Polls `condition` until it returns a value other than `undefined` or `false`, and resolves with
 * that value. A condition that throws counts as "not yet"; its last error is quoted if the wait
 * fails. `what` names what is awaited; given as a function it is called only at the failure, so
 * the message can describe the state then.
 */
export async function waitFor<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  what: string | (() => string),
  { timeoutMs = 20_000, intervalMs = 20 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      const described = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
