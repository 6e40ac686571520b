// Idle RSS of a broker process, as `npm run bench:broker` reads it ("broker RSS idle"): a
// checkout's broker started as `brook start` starts it and as bench:broker does (`CHECKOUT/bin/brook
// start`, which chooses node's options for the machine; one PLAINTEXT listener on a free port, an
// empty log directory), VmRSS from /proc/PID/status at each of `--wait-ms` after it printed its
// listener (bench/broker-process.ts). Several checkouts are measured in turn, one start each per
// round, so that a busy machine weighs on all of them alike; each checkout's own build runs (an
// older commit's, for an A/B), nothing is built here.
// Each round also starts a bare `node -e 'setInterval(() => {}, 1000)'` and reads it at the same
// times: the floor of any Node process on this machine.
//
//   npm run bench:idle-rss -- [--starts N] [--wait-ms MS[,MS...]] CHECKOUT...
//
// Two readings by default. At 1 s (bench:broker's) the young generation V8 grew while the broker's
// modules loaded is still committed; V8's memory reducer gives it back some 8 s later, without a
// request: the 15 s reading is the broker settled in idleness, and the one issue 14's 60 MB goal
// is checked against. Prints each checkout's readings, sorted, and their median, in MB.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { startBrokerProcess } from './broker-process.js';

const { values, positionals } = parseArgs({
  options: {
    starts: { type: 'string', default: '5' },
    'wait-ms': { type: 'string', default: '1000,15000' },
  },
  allowPositionals: true,
});
const starts = Number(values.starts);
const waitsMs = values['wait-ms']
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const checkouts =
  positionals.length > 0 ? positionals.map((path) => resolve(path)) : [process.cwd()];

function residentMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** VmRSS of `pid` at each of `waitsMs` from now. */
async function readingsOf(pid: number): Promise<number[]> {
  const startedMs = performance.now();
  const megabytes: number[] = [];
  for (const waitMs of waitsMs) {
    await new Promise((waited) => setTimeout(waited, waitMs - (performance.now() - startedMs)));
    megabytes.push(residentMegabytes(pid));
  }
  return megabytes;
}

async function brokerReadings(checkout: string): Promise<number[]> {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-idle-rss-'));
  try {
    const { child } = await startBrokerProcess(checkout, logDir, { launcher: true });
    return await readingsThenStop(child);
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

async function bareNodeReadings(): Promise<number[]> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    stdio: 'ignore',
  });
  await new Promise((spawned) => child.once('spawn', spawned));
  return await readingsThenStop(child);
}

/** The readings of a running process, which is then stopped (SIGTERM) and waited for. */
async function readingsThenStop(child: ChildProcess): Promise<number[]> {
  try {
    return await readingsOf(child.pid!);
  } finally {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }
}

const bareNode = 'bare node';
const readings = new Map(
  [...checkouts, bareNode].map((name) => [name, waitsMs.map(() => [] as number[])]),
);
for (let round = 0; round < starts; round++) {
  for (const name of [...checkouts, bareNode]) {
    const megabytes = name === bareNode ? await bareNodeReadings() : await brokerReadings(name);
    megabytes.forEach((value, index) => readings.get(name)![index].push(value));
  }
}
for (const [index, waitMs] of waitsMs.entries()) {
  for (const [name, byWait] of readings) {
    const sorted = [...byWait[index]].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const what = name === bareNode ? 'bare node RSS' : 'broker RSS idle';
    console.log(
      `${name}: ${what} ${waitMs} ms after start, ${sorted.map((value) => value.toFixed(1)).join(' ')} MB; median ${median.toFixed(1)} MB`,
    );
  }
}
