// `brook` as a process an operator or a service manager runs: a clean stop on SIGTERM however
// early it comes, quiet output into a closed pipe, and what it says about unused log directories.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBrook, spawnBrook, waitUntil } from '../helpers/brook-cli.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'brook-process-'));
}

test('a second log.dirs entry is named as unused at start', async () => {
  const parent = scratch();
  const used = join(parent, 'used');
  const unused = join(parent, 'unused');
  const { child, output } = spawnBrook([
    'start',
    '--log-dirs',
    `${used},${unused}`,
    '--listeners',
    'PLAINTEXT://127.0.0.1:0',
  ]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitUntil(() => /bootstrap servers/.test(output().stdout), 'the broker to start', 30_000);
    assert.match(output().stdout, new RegExp(`data in ${used}\\n`));
    assert.match(
      output().stderr,
      new RegExp(`only the first, ${used}, is used and ${unused} is unused`),
    );
    assert.ok(!existsSync(unused), 'nothing is written to the unused directory');
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
