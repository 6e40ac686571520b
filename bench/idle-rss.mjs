// Idle RSS of a broker process, as `npm run bench:broker` reads it ("broker RSS idle"): the
// compiled CLI of a checkout (`node CHECKOUT/dist/cli/main.js start`, one PLAINTEXT listener on a
// free port, an empty log directory), VmRSS from /proc/PID/status a while after it printed its
// listener. Several checkouts are measured in turn, one start each per round, so that a busy
// machine weighs on all of them alike. Plain JavaScript on node, built-ins only, so it runs against
// any checkout's build (an older commit's, for an A/B), and without building anything itself.
//
//   node bench/idle-rss.mjs [--starts N] [--wait-ms MS] CHECKOUT...
//
// Prints each checkout's readings, sorted, and their median, in MB.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: {
    starts: { type: 'string', default: '5' },
    'wait-ms': { type: 'string', default: '1000' },
  },
  allowPositionals: true,
});
const starts = Number(values.starts);
const waitMs = Number(values['wait-ms']);
const checkouts =
  positionals.length > 0 ? positionals.map((path) => resolve(path)) : [process.cwd()];
const START_TIMEOUT_MS = 60_000;

function residentMegabytes(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function idleResidentMegabytes(checkout) {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-idle-rss-'));
  const child = spawn(
    process.execPath,
    [
      join(checkout, 'dist', 'cli', 'main.js'),
      'start',
      '--log-dirs',
      logDir,
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
      '--num-partitions',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let output = '';
    await new Promise((resolveStarted, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`broker did not start:\n${output}`)),
        START_TIMEOUT_MS,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`broker exited with ${code}:\n${output}`));
      });
      const onData = (chunk) => {
        output += chunk.toString();
        if (/listening on PLAINTEXT:\/\//.test(output)) {
          clearTimeout(timer);
          resolveStarted();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    });
    await new Promise((resolveWaited) => setTimeout(resolveWaited, waitMs));
    return residentMegabytes(child.pid);
  } finally {
    const exited = new Promise((resolveExited) => child.once('exit', resolveExited));
    child.kill('SIGTERM');
    await exited;
    rmSync(logDir, { recursive: true, force: true });
  }
}

const readings = new Map(checkouts.map((checkout) => [checkout, []]));
for (let round = 0; round < starts; round++) {
  for (const checkout of checkouts)
    readings.get(checkout).push(await idleResidentMegabytes(checkout));
}
for (const [checkout, megabytes] of readings) {
  const sorted = [...megabytes].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `${checkout}: broker RSS idle ${waitMs} ms after start, ${sorted.map((value) => value.toFixed(1)).join(' ')} MB; median ${median.toFixed(1)} MB`,
  );
}
