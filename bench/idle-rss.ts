// Idle RSS of a broker process, as `npm run bench:broker` reads it ("broker RSS idle"): the
// compiled CLI of a checkout (`node CHECKOUT/dist/cli/main.js start`, one PLAINTEXT listener on a
// free port, an empty log directory), VmRSS from /proc/PID/status a while after it printed its
// listener (bench/broker-process.ts, as the other benches start it). Several checkouts are
// measured in turn, one start each per round, so that a busy machine weighs on all of them alike;
// each checkout's own build runs (an older commit's, for an A/B), nothing is built here.
//
//   npm run bench:idle-rss -- [--starts N] [--wait-ms MS] CHECKOUT...
//
// Prints each checkout's readings, sorted, and their median, in MB.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { startBrokerProcess } from './broker-process.js';

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

function residentMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function idleResidentMegabytes(checkout: string): Promise<number> {
  const logDir = mkdtempSync(join(tmpdir(), 'brook-idle-rss-'));
  try {
    const { child } = await startBrokerProcess(checkout, logDir);
    try {
      await new Promise((waited) => setTimeout(waited, waitMs));
      return residentMegabytes(child.pid!);
    } finally {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

const readings = new Map(checkouts.map((checkout) => [checkout, [] as number[]]));
for (let round = 0; round < starts; round++) {
  for (const checkout of checkouts)
    readings.get(checkout)!.push(await idleResidentMegabytes(checkout));
}
for (const [checkout, megabytes] of readings) {
  const sorted = [...megabytes].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `${checkout}: broker RSS idle ${waitMs} ms after start, ${sorted.map((value) => value.toFixed(1)).join(' ')} MB; median ${median.toFixed(1)} MB`,
  );
}
