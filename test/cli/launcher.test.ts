// bin/brook, the `brook` command npm links: it execs node on the built CLI (the broker keeps the
// pid a supervisor or a test started), finds dist/ through a symlink as npm's .bin makes, and
// gives V8 one helper thread on a machine of one or two cores unless NODE_OPTIONS chose a pool,
// and puts BROOK_NODE_OPTIONS on node's command line.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { repositoryRoot } from '../helpers/brook-cli.js';
import { waitFor } from '../helpers/poll.js';

const launcher = join(repositoryRoot, 'bin', 'brook');
const cores = Number(execFileSync('getconf', ['_NPROCESSORS_ONLN'], { encoding: 'utf8' }));

/** Starts `brook start` through the launcher; returns the command line of the process it started. */
async function startedCommandLine(
  environment: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): Promise<string[]> {
  const child = spawn(
    launcher,
    [
      'start',
      '--log-dirs',
      mkdtempSync(join(tmpdir(), 'brook-launcher-')),
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
    ],
    { cwd, env: { PATH: process.env.PATH, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => /bootstrap servers/.test(stdout), 'the broker to start', {
      timeoutMs: 30_000,
    });
    const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /brook: stopped/);
    return commandLine.filter((part) => part !== '');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

test('brook start through the launcher is node on the built CLI, under the pid that was started', async () => {
  const commandLine = await startedCommandLine({});
  assert.match(commandLine[0], /node$/);
  assert.ok(commandLine.some((part) => part.endsWith(join('dist', 'cli', 'main.js'))));
  assert.equal(
    commandLine.includes('--v8-pool-size=1'),
    cores <= 2,
    `${cores} cores: ${commandLine.join(' ')}`,
  );
});

test('a --v8-pool-size in NODE_OPTIONS is left to node', async () => {
  const commandLine = await startedCommandLine({ NODE_OPTIONS: '--v8-pool-size=3' });
  assert.ok(!commandLine.some((part) => part.startsWith('--v8-pool-size')), commandLine.join(' '));
});

test("BROOK_NODE_OPTIONS go on node's command line, V8's own flags and a pool size among them", async (t) => {
  // --stack-size is V8's (NODE_OPTIONS refuses it); the star must reach node as it was written,
  // though a file in the directory matches it as a pattern.
  const directory = mkdtempSync(join(tmpdir(), 'brook-launcher-cwd-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  writeFileSync(join(directory, '--report-filename=brook-1.json'), '');
  const commandLine = await startedCommandLine(
    { BROOK_NODE_OPTIONS: '--stack-size=900  --v8-pool-size=2 --report-filename=brook-*.json' },
    directory,
  );
  const main = commandLine.findIndex((part) => part.endsWith(join('dist', 'cli', 'main.js')));
  assert.deepEqual(
    commandLine.slice(1, main),
    ['--stack-size=900', '--v8-pool-size=2', '--report-filename=brook-*.json'],
    commandLine.join(' '),
  );
});

test('the launcher finds the CLI through a symlink, as npm links it into node_modules/.bin', () => {
  const bin = join(mkdtempSync(join(tmpdir(), 'brook-bin-')), 'brook');
  symlinkSync(relative(dirname(bin), launcher), bin);
  const packageJson = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  assert.equal(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(), packageJson.version);
});
