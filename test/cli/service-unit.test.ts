// deploy/systemd/brook.service: it runs `brook start` itself (npm would not pass SIGTERM on), its
// settings are ones brook accepts, and the broker it describes stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repositoryRoot, spawnBrook } from '../helpers/brook-cli.js';
import { waitFor } from '../helpers/poll.js';

const unitPath = join(repositoryRoot, 'deploy', 'systemd', 'brook.service');

/** The unit's [Service] entries, in order, without comments. */
function serviceEntries(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    const equals = line.indexOf('=');
    if (section === '[Service]') entries.push([line.slice(0, equals), line.slice(equals + 1)]);
  }
  return entries;
}

test('the systemd unit runs brook start directly and stops it with SIGTERM', () => {
  const entries = new Map(serviceEntries(readFileSync(unitPath, 'utf8')));
  const [program, command] = (entries.get('ExecStart') ?? '').split(/\s+/);
  assert.match(program, /\/brook$/, 'ExecStart runs the brook command, not npm');
  assert.equal(command, 'start');
  assert.equal(entries.get('KillSignal') ?? 'SIGTERM', 'SIGTERM');
  assert.equal(entries.get('RestartPreventExitStatus'), '2', 'a configuration error is final');
});

test('systemd-analyze accepts the unit', (context) => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
  } catch {
    context.skip('systemd-analyze is not installed');
    return;
  }
  // ExecStart must name an executable that exists here; the rest is checked as shipped.
  const copy = join(mkdtempSync(join(tmpdir(), 'brook-unit-')), 'brook.service');
  writeFileSync(
    copy,
    readFileSync(unitPath, 'utf8').replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`),
  );
  const output = execFileSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
  assert.equal(output.trim(), '');
});

test('the broker the unit describes starts with its settings and stops cleanly on SIGTERM', async () => {
  const entries = serviceEntries(readFileSync(unitPath, 'utf8'));
  const environment: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [name, value] of entries) {
    if (name !== 'Environment') continue;
    const equals = value.indexOf('=');
    environment[value.slice(0, equals)] = value.slice(equals + 1);
  }
  assert.ok(environment.BROOK_LOG_DIRS !== undefined && environment.BROOK_LISTENERS !== undefined);
  // Here, not /var/lib/brook and port 9092.
  environment.BROOK_LOG_DIRS = mkdtempSync(join(tmpdir(), 'brook-unit-data-'));
  environment.BROOK_LISTENERS = 'PLAINTEXT://127.0.0.1:0';
  const { child, output } = spawnBrook(['start'], { environment });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => /bootstrap servers/.test(output().stdout), 'the broker to start', {
      timeoutMs: 30_000,
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output().stderr);
    assert.match(output().stdout, /brook: stopped/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
