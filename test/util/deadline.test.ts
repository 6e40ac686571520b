// deadline(): a time limit joined with other signals that fires even when nothing but the waiter
// refers to it (AbortSignal.any over AbortSignal.timeout can lose its timeout to a garbage
// collection on Node 20), and that leaves no listener behind on the longer-lived signals.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deadline } from '../../src/util/deadline.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * Resolves with the signal's reason once it aborts (the listener holds nothing but the resolver).
 * A deadline's timer keeps no process alive, so a referenced one does while the test waits.
 */
async function aborted(signal: AbortSignal): Promise<unknown> {
  const keepAlive = setTimeout(() => undefined, 10_000);
  try {
    return await new Promise((resolve) =>
      signal.addEventListener('abort', () => resolve(signal.reason), { once: true }),
    );
  } finally {
    clearTimeout(keepAlive);
  }
}

// The same loop over AbortSignal.any([controller.signal, AbortSignal.timeout(30)]) fires 0 of 20
// times on Node 20.
test('the time limit fires with a TimeoutError, through garbage collections', async () => {
  const reasons: Promise<unknown>[] = [];
  for (let index = 0; index < 20; index++) {
    const connection = new AbortController();
    reasons.push(aborted(deadline(30, connection.signal).signal));
  }
  for (let round = 0; round < 5; round++) {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const reason of await Promise.all(reasons)) {
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, 'TimeoutError');
  }
});

test('another signal aborting aborts it with that reason; an aborted one at once', async () => {
  const connection = new AbortController();
  const { signal } = deadline(60_000, connection.signal);
  const reason = aborted(signal);
  connection.abort(new Error('connection closed'));
  assert.equal(((await reason) as Error).message, 'connection closed');

  const gone = AbortSignal.abort(new Error('already'));
  const early = deadline(60_000, gone);
  assert.equal(early.signal.aborted, true);
  assert.equal((early.signal.reason as Error).message, 'already');
});

test('clear() stops the limit and takes its listener off the other signals', async () => {
  const connection = new AbortController();
  const waits = Array.from({ length: 3 }, () => deadline(20, connection.signal));
  assert.equal(getEventListeners(connection.signal, 'abort').length, 3);
  for (const wait of waits) wait.clear();
  assert.equal(getEventListeners(connection.signal, 'abort').length, 0);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.ok(waits.every((wait) => !wait.signal.aborted));
  // Firing removes it too, so a connection's signal does not collect one per request.
  const fired = deadline(10, connection.signal);
  await aborted(fired.signal);
  assert.equal(getEventListeners(connection.signal, 'abort').length, 0);
});
