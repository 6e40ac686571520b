// The `brook` command as a child process, run from source exactly as the built bin would run, for
// tests of what an operator sees: exit codes, the lines on stdout and stderr, signals.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const repositoryRoot = new URL('../..', import.meta.url).pathname;

/** The command line that runs `brook` from source: `[...brookCommand, 'start', ...]`. */
export const brookCommand: readonly string[] = [
  process.execPath,
  '--import',
  'tsx',
  join(repositoryRoot, 'src', 'cli', 'main.ts'),
];

export interface BrookRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface BrookOptions {
  /** The whole environment of the child: PATH only unless given (no stray BROOK_* variables). */
  readonly environment?: NodeJS.ProcessEnv;
  /** Kills the child (SIGKILL) if it has not exited by then, and fails. */
  readonly timeoutMs?: number;
  /** Run as this user and group (the test runs as root and needs an unprivileged brook). */
  readonly uid?: number;
  readonly gid?: number;
}

/** Starts `brook ARGS` and returns the child with its output collected so far. */
export function spawnBrook(
  args: readonly string[],
  options: BrookOptions = {},
): { child: ChildProcess; output: () => { stdout: string; stderr: string } } {
  const [command, ...commandArgs] = brookCommand;
  const child = spawn(command, [...commandArgs, ...args], {
    cwd: repositoryRoot,
    env: options.environment ?? { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, output: () => ({ stdout, stderr }) };
}

/** Runs `brook ARGS` to completion. */
export function runBrook(args: readonly string[], options: BrookOptions = {}): Promise<BrookRun> {
  const { child, output } = spawnBrook(args, options);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`brook ${args.join(' ')} ran past ${timeoutMs} ms: ${output().stderr}`));
    }, timeoutMs);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, ...output() });
    });
  });
}
