// A Brook broker in a child process, started through the real CLI (`brook start`), for tests that
// kill it, measure its memory, or must not share a process with the broker they attack.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const repositoryRoot = new URL('../..', import.meta.url).pathname;

export interface BrokerProcess {
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly bootstrapServers: string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** What the broker printed so far, for failure messages. */
  output(): string;
  /** Resident set size from /proc, in bytes. */
  residentBytes(): number;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

export async function startBrokerProcess(options: {
  logDir: string;
  /** Defaults to PLAINTEXT://127.0.0.1:0 (a free port). */
  listeners?: string;
  args?: readonly string[];
  /** A command line to run the broker under (`['unshare', '--pid', '--fork']`); `child` is it. */
  wrapper?: readonly string[];
  /** The node binary; the one running the tests when not given. */
  node?: string;
  /** Node options placed before the CLI (`['--import', preloadPath]`), after tsx is loaded. */
  nodeArgs?: readonly string[];
  /** Extra environment variables for the broker process. */
  env?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}): Promise<BrokerProcess> {
  const [command, ...commandArgs] = [
    ...(options.wrapper ?? []),
    options.node ?? process.execPath,
    '--import',
    'tsx',
    ...(options.nodeArgs ?? []),
    join(repositoryRoot, 'src', 'cli', 'main.ts'),
    'start',
    '--log-dirs',
    options.logDir,
    '--listeners',
    options.listeners ?? 'PLAINTEXT://127.0.0.1:0',
    ...(options.args ?? []),
  ];
  const child = spawn(command, commandArgs, {
    cwd: repositoryRoot,
    env: options.env === undefined ? process.env : { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`broker did not start within ${options.timeoutMs ?? 20_000} ms:\n${output}`),
        ),
      options.timeoutMs ?? 20_000,
    );
    const check = (): void => {
      const match = /listening on PLAINTEXT:\/\/([^:\s]+):(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ host: match[1], port: Number(match[2]) });
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    child,
    host: address.host,
    port: address.port,
    bootstrapServers: `${address.host}:${address.port}`,
    exited,
    output: () => output,
    residentBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (!match) throw new Error('no VmRSS in /proc status');
      return Number(match[1]) * 1024;
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
