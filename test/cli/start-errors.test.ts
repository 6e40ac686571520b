// `brook start` failing for an operator's reason: one line naming the setting, a stable code, a
// non-zero exit, no stack trace, and no directory left behind that the failed start created.
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { StartupErrorCode, startupProblem } from '../../src/cli/startup-errors.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { type BrookRun, repositoryRoot, runBrook } from '../helpers/brook-cli.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

function assertOneLine(run: BrookRun, setting: string, code: string): void {
  assert.equal(run.exitCode, 1, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${run.stderr}`);
  assert.match(lines[0], new RegExp(`^brook: cannot start: ${setting}: .*\\[${code}\\]$`));
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

test('a port in use is one line naming listeners, and the log directory it created is removed', async (t) => {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const parent = temporaryDirectory(t, 'brook-start-errors-');
    const logDir = join(parent, 'new', 'data');
    const run = await runBrook([
      'start',
      '--log-dirs',
      logDir,
      '--listeners',
      `PLAINTEXT://127.0.0.1:${port}`,
    ]);
    assertOneLine(run, 'listeners', 'BROOK_START_PORT_IN_USE');
    assert.match(run.stderr, new RegExp(`port ${port} is already in use`));
    assert.deepEqual(readdirSync(parent), [], 'the created directories are gone');
  } finally {
    server.close();
  }
});

test('a locked log directory is one line naming log.dirs, and the directory is kept', async (t) => {
  const logDir = temporaryDirectory(t, 'brook-start-errors-');
  const first = await startBrokerProcess({ logDir });
  try {
    const run = await runBrook([
      'start',
      '--log-dirs',
      logDir,
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
    ]);
    assertOneLine(run, 'log.dirs', 'BROOK_LOG_DIRECTORY_LOCKED');
    for (const name of ['.lock', 'meta']) {
      assert.ok(existsSync(join(logDir, name)), `the first broker keeps its ${name}`);
    }
  } finally {
    assert.equal(await first.stop(), 0, first.output());
  }
});

test('a partition with a log in two log directories is one line naming log.dirs, and both are kept', async (t) => {
  const parent = temporaryDirectory(t, 'brook-start-errors-');
  const directories = [join(parent, 'first'), join(parent, 'second')];
  for (const directory of directories) mkdirSync(join(directory, 'orders-0'), { recursive: true });
  const run = await runBrook([
    'start',
    '--log-dirs',
    directories.join(','),
    '--listeners',
    'PLAINTEXT://127.0.0.1:0',
  ]);
  assertOneLine(run, 'log.dirs', 'BROOK_DUPLICATE_LOG');
  assert.match(run.stderr, /orders-0 is in two log directories/);
  for (const directory of directories) {
    assert.ok(existsSync(join(directory, 'orders-0')), `${directory} keeps its copy`);
    assert.ok(!existsSync(join(directory, '.lock')), `${directory} is unlocked`);
  }
});

test('a file given as the log directory is one line naming log.dirs, and the file is untouched', async (t) => {
  const file = join(temporaryDirectory(t, 'brook-start-errors-'), 'not-a-directory');
  writeFileSync(file, 'keep me');
  const run = await runBrook([
    'start',
    '--log-dirs',
    file,
    '--listeners',
    'PLAINTEXT://127.0.0.1:0',
  ]);
  assertOneLine(run, 'log.dirs', 'BROOK_START_NOT_A_DIRECTORY');
  assert.equal(readFileSync(file, 'utf8'), 'keep me');
});

test('permission denied on the log directory is one line naming log.dirs', async (t) => {
  const parent = temporaryDirectory(t, 'brook-start-errors-');
  const logDir = join(parent, 'data');
  // Root ignores permissions: run brook as nobody when the test runs as root.
  const asRoot = process.getuid?.() === 0;
  chmodSync(parent, asRoot ? 0o700 : 0o500);
  try {
    const run = await runBrook(
      ['start', '--log-dirs', logDir, '--listeners', 'PLAINTEXT://127.0.0.1:0'],
      asRoot ? { uid: 65534, gid: 65534 } : {},
    );
    assertOneLine(run, 'log.dirs', 'BROOK_START_PERMISSION_DENIED');
    assert.ok(!existsSync(logDir));
  } finally {
    chmodSync(parent, 0o700);
  }
});

test('a listener host that does not resolve is one line naming listeners', async (t) => {
  const parent = temporaryDirectory(t, 'brook-start-errors-');
  const run = await runBrook([
    'start',
    '--log-dirs',
    join(parent, 'data'),
    '--listeners',
    'PLAINTEXT://no-such-host.invalid:0',
  ]);
  assertOneLine(run, 'listeners', 'BROOK_START_HOST_UNRESOLVABLE');
  assert.match(run.stderr, /no-such-host\.invalid/);
  assert.deepEqual(readdirSync(parent), []);
});

test('an error that is not an expected operator error is left to be reported as a bug', () => {
  assert.equal(startupProblem(new TypeError('x is undefined'), ['/data']), null);
  const outside = Object.assign(new Error('EACCES: permission denied'), {
    code: 'EACCES',
    path: '/etc/elsewhere',
  });
  assert.equal(startupProblem(outside, ['/data']), null);
});

test('every start-up error code is documented in docs/errors.md', () => {
  const readme = readFileSync(join(repositoryRoot, 'docs', 'errors.md'), 'utf8');
  // main.ts runs the command when imported, so its two codes are named here.
  const cliCodes = ['BROOK_CLI_UNKNOWN_COMMAND', 'BROOK_CLI_START_FAILED'];
  for (const code of [...Object.values(StartupErrorCode), ...cliCodes]) {
    assert.ok(readme.includes(`\`${code}\``), `${code} is not documented`);
  }
});
