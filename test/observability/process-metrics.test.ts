// The process metrics read cheaply (src/observability/process-metrics.ts): the descriptor count
// taken from the size Linux reports for /proc/self/fd is the count a listing gives, and follows
// descriptors opened and closed.

import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { openDescriptorCount } from '../../src/observability/process-metrics.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/** The descriptors a listing of /proc/self/fd shows, less the one the listing itself holds. */
const listed = (): number => readdirSync('/proc/self/fd').length - 1;

/**
 * The count and a listing taken back to back, once they agree: the test runner's own work may
 * open or close a descriptor between the two.
 */
const agreed = (): Promise<number> => {
  let last = '';
  return waitFor(
    () => {
      const counted = openDescriptorCount();
      const seen = listed();
      last = `${counted} counted, ${seen} listed`;
      return counted === seen ? counted : undefined;
    },
    () => `the count to agree with a listing (${last})`,
    { timeoutMs: 5_000, intervalMs: 5 },
  );
};

test('the open descriptor count is what a listing of /proc/self/fd shows, as files open and close', async (t) => {
  const directory = temporaryDirectory(t);
  const before = await agreed();
  const descriptors = Array.from({ length: 50 }, (_, index) =>
    openSync(join(directory, `file-${index}`), 'w'),
  );
  let during: number;
  try {
    during = await agreed();
  } finally {
    for (const descriptor of descriptors) closeSync(descriptor);
  }
  const after = await agreed();
  // Fifty opened, then closed; a descriptor or two of the runner's may come or go meanwhile.
  assert.ok(Math.abs(during - before - 50) <= 2, `${before} before, ${during} with 50 open`);
  assert.ok(Math.abs(during - after - 50) <= 2, `${during} with 50 open, ${after} after`);
});
