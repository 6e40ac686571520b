// A broken invariant is a bug: it stops the process with its own error and is never reported
// as a disk failure (which would tell the operator to check a healthy disk).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvariantError, assert as invariant } from '../../src/util/assert.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Runs a fixture on a fresh directory until it exits (bounded); returns what it printed. */
async function runFixture(
  t: { after: (fn: () => void) => void },
  name: string,
): Promise<{ exitCode: number | null; stdout: string; stderr: string; output: string }> {
  const directory = temporaryDirectory(t, 'brook-invariant-');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(name), directory], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const safety = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exitCode = await new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  clearTimeout(safety);
  const output = `exit ${exitCode}\nstdout:\n${stdout}\nstderr:\n${stderr}`;
  return { exitCode, stdout, stderr, output };
}

test('assert throws an InvariantError that says what went wrong', () => {
  invariant(true, 'never thrown');
  assert.throws(
    () => invariant(1 > 2, 'one is not above two'),
    (error: unknown) =>
      error instanceof InvariantError &&
      error.name === 'InvariantError' &&
      error.message === 'invariant violated: one is not above two',
  );
});

test('an invariant failure in the write loop stops the process and is not reported as a storage failure', async (t) => {
  const { exitCode, stdout, stderr, output } = await runFixture(t, 'broken-writer-bookkeeping.ts');
  assert.notEqual(exitCode, 0, `the process went on after the broken invariant:\n${output}`);
  assert.match(stderr, /InvariantError: invariant violated: segment 0 size/, output);
  assert.doesNotMatch(stdout, /BROOK_STORAGE_FAILED|BROOK_STORAGE_FULL/, output);
});

test('an invariant failure in a background retention pass stops the process instead of being retried', async (t) => {
  const { exitCode, stdout, stderr, output } = await runFixture(t, 'broken-background-pass.ts');
  assert.notEqual(exitCode, 0, `the process went on after the broken invariant:\n${output}`);
  assert.match(stderr, /InvariantError: invariant violated: retention found segments/, output);
  assert.doesNotMatch(stdout, /survived/, output);
});

test('an invariant failure in exact expiry stops the process instead of becoming an error event', async (t) => {
  const { exitCode, stdout, stderr, output } = await runFixture(t, 'broken-expiry-timer.ts');
  assert.notEqual(exitCode, 0, `the process went on after the broken invariant:\n${output}`);
  assert.match(stderr, /InvariantError: invariant violated: append times go backwards/, output);
  assert.doesNotMatch(stdout, /survived|error InvariantError/, output);
});
