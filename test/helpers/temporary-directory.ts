// Temporary directories for tests, removed when the test (or suite) that made them ends, whether
// it passed or failed. One place, so every test cleans up the same way.

import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of a node:test context (a test's `t`, or a suite's) that runs cleanup at its end. */
export interface CleanupContext {
  after(cleanup: () => void | Promise<void>): void;
}

/** A fresh empty directory under the system's temporary directory, removed when `t` ends. */
export function temporaryDirectory(t: CleanupContext, prefix = 'brook-test-'): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** Runs `body` with a fresh empty directory and removes the directory afterwards, however `body` ends. */
export async function withTemporaryDirectory<T>(
  prefix: string,
  body: (directory: string) => Promise<T>,
): Promise<T> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
