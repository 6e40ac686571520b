// `brook` as a process an operator or a service manager runs: a clean stop on SIGTERM however
// early it comes, quiet output into a closed pipe, and every entry of log.dirs put to use.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBrook, spawnBrook } from '../helpers/brook-cli.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

test('SIGTERM while the broker is still starting stops it cleanly once started', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-process-');
  const { child, output } = spawnBrook([
    'start',
    '--log-dirs',
    logDir,
    '--listeners',
    'PLAINTEXT://127.0.0.1:0',
  ]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  try {
    // The broker has begun opening its log directory and is not listening yet: a service manager
    // stopping it now must get a clean stop, not the default action of SIGTERM.
    await waitFor(
      () => child.exitCode === null && existsSync(join(logDir, 'meta')),
      'the broker to begin opening its log directory',
      { timeoutMs: 30_000 },
    );
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(signal, null, `killed by ${signal}, not stopped: ${JSON.stringify(output())}`);
    assert.equal(code, 0, output().stderr);
    assert.match(output().stdout, /SIGTERM received, stopping\n(.*\n)*brook: stopped/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('output into a closed pipe ends quietly', async () => {
  for (const args of [['--help'], ['groups', '--help'], ['--version']]) {
    const { child, output } = spawnBrook(args);
    // The reader is gone before brook writes a byte (`brook --help | head -0`).
    child.stdout!.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(output().stderr, '', `${args.join(' ')} wrote to stderr`);
    assert.equal(code, 0, args.join(' '));
  }
});

test('every log.dirs entry is created, locked and named at start, with no warning', async (t) => {
  const parent = temporaryDirectory(t, 'brook-process-');
  const first = join(parent, 'first');
  const second = join(parent, 'deeper', 'second');
  const { child, output } = spawnBrook([
    'start',
    '--log-dirs',
    `${first},${second}`,
    '--listeners',
    'PLAINTEXT://127.0.0.1:0',
  ]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => /bootstrap servers/.test(output().stdout), 'the broker to start', {
      timeoutMs: 30_000,
    });
    assert.match(output().stdout, new RegExp(`data in ${first}, ${second}\\n`));
    assert.doesNotMatch(output().stderr, /warning/);
    for (const directory of [first, second])
      assert.ok(existsSync(join(directory, '.lock')), `${directory} is created and locked`);
    assert.ok(existsSync(join(first, 'meta')), 'the metadata lives in the first directory');
    assert.ok(!existsSync(join(second, 'meta')), 'and only there');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output().stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a usage error still exits with code 2 and one line', async () => {
  const run = await runBrook(['start', '--no-such-setting', '1']);
  assert.equal(run.exitCode, 2);
  assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
});
