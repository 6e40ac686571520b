import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConcurrencyGate } from '../../src/util/concurrency-gate.js';

test('a gate runs at most its limit at once, the rest in arrival order, and a failure frees its slot', async () => {
  const gate = new ConcurrencyGate(3);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const releases: Array<() => void> = [];
  const results = Array.from({ length: 10 }, (_, index) =>
    gate.run(async () => {
      started.push(index);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((release) => releases.push(release));
      running--;
      if (index === 4) throw new Error('task 4 failed');
      return index;
    }),
  );
  const settledAll = Promise.allSettled(results);
  for (let released = 0; released < 10; released++) {
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(releases.length > released, `task ${released} started`);
    releases[released]();
  }
  const settled = await settledAll;
  assert.equal(most, 3);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(settled[4].status, 'rejected');
  assert.deepEqual(
    settled.filter((result) => result.status === 'fulfilled').map((result) => result.value),
    [0, 1, 2, 3, 5, 6, 7, 8, 9],
  );
});
