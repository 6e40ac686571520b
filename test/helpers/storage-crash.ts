// Runs the crash-appender child process and kills it with SIGKILL at a random moment.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Acknowledged } from './storage-verify.js';

const fixture = fileURLToPath(new URL('../storage/fixtures/crash-appender.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export interface CrashRound {
  acknowledged: Acknowledged[];
  logEndOffsetAtStart: number;
}

export async function runAppenderAndKill(options: {
  directory: string;
  seedStart: number;
  journalPath: string | null;
  segmentBytes: number;
  /** Milliseconds between the child's first acknowledgement and SIGKILL. */
  killAfterMs: number;
}): Promise<CrashRound> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fixture,
      options.directory,
      String(options.seedStart),
      options.journalPath ?? '-',
      String(options.segmentBytes),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acknowledged: Acknowledged[] = [];
  let logEndOffsetAtStart = -1;
  let stderr = '';
  let buffered = '';
  let killTimer: NodeJS.Timeout | null = null;
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const readyTimer = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  child.stdout.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, first, second] = line.split(' ');
      if (kind === 'ready') logEndOffsetAtStart = Number(first);
      if (kind === 'ack') {
        acknowledged.push({ baseOffset: Number(first), seed: Number(second) });
        if (killTimer === null) {
          clearTimeout(readyTimer);
          killTimer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
        }
      }
    }
  });
  await exited;
  clearTimeout(readyTimer);
  if (killTimer) clearTimeout(killTimer);
  if (logEndOffsetAtStart < 0 || acknowledged.length === 0) {
    throw new Error(`the crash appender never acknowledged anything; stderr:\n${stderr}`);
  }
  if (child.signalCode !== 'SIGKILL')
    throw new Error(`the crash appender exited on its own (${child.exitCode}); stderr:\n${stderr}`);
  return { acknowledged, logEndOffsetAtStart };
}
