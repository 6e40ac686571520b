// The process metrics read cheaply (src/observability/process-metrics.ts): the descriptor count
// taken from the size Linux reports for /proc/self/fd is the count a listing gives, and follows
// descriptors opened and closed.

import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { openDescriptorCount } from '../../src/observability/process-metrics.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

/** The descriptors a listing of /proc/self/fd shows, less the one the listing itself holds. */
const listed = (): number => readdirSync('/proc/self/fd').length - 1;

test('the open descriptor count is what a listing of /proc/self/fd shows, as files open and close', (t) => {
  const directory = temporaryDirectory(t);
  const before = openDescriptorCount();
  assert.equal(before, listed());
  const descriptors = Array.from({ length: 50 }, (_, index) =>
    openSync(join(directory, `file-${index}`), 'w'),
  );
  try {
    assert.equal(openDescriptorCount(), before! + 50);
    assert.equal(openDescriptorCount(), listed());
  } finally {
    for (const descriptor of descriptors) closeSync(descriptor);
  }
  assert.equal(openDescriptorCount(), before);
});
