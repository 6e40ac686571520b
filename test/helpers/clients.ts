// What the compatibility tests (test/compat) need to drive real Kafka clients: finding out whether
// a client is installed (skip on a developer machine, fail in CI), running client programs as
// child processes with a bounded time, and bounded waits. Every child process started here is
// killed when the test process exits, so a hung client never outlives its test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const compatDirectory = join(repositoryRoot, 'test', 'compat');
/** Debian's python3-confluent-kafka and python3-kafka import only under the system Python. */
export const systemPython = '/usr/bin/python3';
export const ckjsDirectory = join(compatDirectory, 'ckjs');

/** CI=true (or 1): a client that is not installed fails its test instead of skipping it. */
export const inContinuousIntegration = process.env.CI === 'true' || process.env.CI === '1';

export type ClientName =
  | 'kcat'
  | 'confluent-kafka-python'
  | 'kafka-python'
  | 'kafkajs'
  | 'platformatic-kafka'
  | 'confluent-kafka-javascript'
  | 'sarama'
  | 'burrow';

const installHints: Record<ClientName, string> = {
  kcat: 'apt-get install kcat (bash .ci/install-compat-clients.sh)',
  'confluent-kafka-python':
    'apt-get install python3-confluent-kafka (bash .ci/install-compat-clients.sh)',
  'kafka-python':
    'apt-get install python3-kafka python3-lz4 python3-snappy python3-zstandard (bash .ci/install-compat-clients.sh)',
  kafkajs: 'npm ci',
  'platformatic-kafka': 'npm ci',
  'confluent-kafka-javascript': 'bash .ci/install-ckjs.sh',
  sarama:
    'apt-get install golang-go golang-github-shopify-sarama-dev (bash .ci/install-compat-clients.sh)',
  burrow:
    'apt-get install burrow zookeeper default-jre-headless (bash .ci/install-compat-clients.sh)',
};

/** Debian's golang-github-shopify-sarama-dev and the zstd binding it builds with (cgo). */
const saramaSources = [
  '/usr/share/gocode/src/github.com/Shopify/sarama',
  '/usr/share/gocode/src/github.com/DataDog/zstd',
];
/** Debian's zookeeper: the server jar, whose manifest names its dependencies. */
export const zookeeperJar = '/usr/share/java/zookeeper.jar';

function commandSucceeds(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 });
  return result.status === 0;
}

function pythonImports(modules: string[]): boolean {
  if (!existsSync(systemPython)) return false;
  return commandSucceeds(systemPython, ['-c', modules.map((name) => `import ${name}`).join('; ')]);
}

function nodePackageLoads(directory: string, name: string): boolean {
  try {
    createRequire(join(directory, 'package.json')).resolve(name);
    return (
      commandSucceeds(process.execPath, ['-e', `require(${JSON.stringify(name)})`]) ||
      // An ESM-only package cannot be required; resolving it is enough for those.
      name === '@platformatic/kafka'
    );
  } catch {
    return false;
  }
}

const availabilityCache = new Map<ClientName, boolean>();

/** Whether the client and what its driver needs (codec modules included) can run here. */
export function clientInstalled(name: ClientName): boolean {
  const cached = availabilityCache.get(name);
  if (cached !== undefined) return cached;
  let installed: boolean;
  switch (name) {
    case 'kcat':
      installed = commandSucceeds('kcat', ['-V']);
      break;
    case 'confluent-kafka-python':
      installed = pythonImports(['confluent_kafka']);
      break;
    case 'kafka-python':
      installed = pythonImports(['kafka', 'lz4.frame', 'snappy', 'zstandard']);
      break;
    case 'kafkajs':
      installed = nodePackageLoads(repositoryRoot, 'kafkajs');
      break;
    case 'platformatic-kafka':
      installed = nodePackageLoads(repositoryRoot, '@platformatic/kafka');
      break;
    case 'confluent-kafka-javascript':
      installed =
        existsSync(join(ckjsDirectory, 'node_modules', '@confluentinc', 'kafka-javascript')) &&
        commandSucceeds(process.execPath, [
          '-e',
          `require(${JSON.stringify(join(ckjsDirectory, 'node_modules', '@confluentinc', 'kafka-javascript'))})`,
        ]);
      break;
    case 'sarama':
      installed =
        commandSucceeds('go', ['version']) && saramaSources.every((path) => existsSync(path));
      break;
    case 'burrow':
      // Burrow has no version flag; its usage text (-help) proves the binary runs.
      installed =
        spawnSync('Burrow', ['-help'], { encoding: 'utf8', timeout: 20_000 }).stderr?.includes(
          '-config-dir',
        ) === true &&
        existsSync(zookeeperJar) &&
        commandSucceeds('java', ['-version']);
      break;
  }
  availabilityCache.set(name, installed);
  return installed;
}

/**
 * Returns true when the test may go on. When the client is missing it skips the test with a
 * message naming what to install, or, in CI, throws so the run fails: CI must really check.
 */
export function requireClient(t: TestContext, name: ClientName): boolean {
  if (clientInstalled(name)) return true;
  const message = `${name} is not installed (${installHints[name]})`;
  if (inContinuousIntegration) throw new Error(`${message}; CI=true, so this is a failure`);
  t.skip(message);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Child processes

const runningChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of runningChildren) child.kill('SIGKILL');
});

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a program to completion; kills it and rejects when it takes longer than timeoutMs. */
export function runProcess(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repositoryRoot,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    runningChildren.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${command} ${args.join(' ')} did not finish within ${options.timeoutMs} ms; ` +
            `stderr: ${Buffer.concat(stderr).toString().slice(-2000)}`,
        ),
      );
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      runningChildren.delete(child);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      runningChildren.delete(child);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
    child.stdin.on('error', () => {
      // The program may exit before reading its input; its exit status tells what happened.
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a program that must exit 0; returns its stdout, or throws with its stderr. */
export async function runChecked(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<string> {
  const result = await runProcess(command, args, options);
  if (result.exitCode !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${result.exitCode ?? result.signal}: ` +
        `${result.stderr.slice(-4000)}${result.stdout.slice(-1000)}`,
    );
  }
  return result.stdout;
}

/** A long-running child (a consumer-group member) whose stdout is JSON lines. */
export class ChildClient {
  readonly events: Record<string, unknown>[] = [];
  readonly process: ChildProcess;
  private stderrTail = '';
  private stdoutPartial = '';
  exited = false;

  constructor(command: string, args: string[], env?: NodeJS.ProcessEnv) {
    this.process = spawn(command, args, {
      cwd: repositoryRoot,
      env: env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runningChildren.add(this.process);
    this.process.stdout!.on('data', (chunk: Buffer) => {
      this.stdoutPartial += chunk.toString();
      const lines = this.stdoutPartial.split('\n');
      this.stdoutPartial = lines.pop()!;
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          this.events.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.stderrTail = (this.stderrTail + `stdout not JSON: ${line}\n`).slice(-8000);
        }
      }
    });
    this.process.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-8000);
    });
    this.process.on('exit', () => {
      this.exited = true;
      runningChildren.delete(this.process);
    });
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Resolves once the process has exited and all it wrote to stdout has been read. */
  closed(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) {
      if (this.process.stdout!.readableEnded || this.process.stdout!.destroyed)
        return Promise.resolve();
    }
    return new Promise((resolve) => this.process.once('close', () => resolve()));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.process.kill(signal);
  }

  /** Asks the member to leave cleanly (SIGTERM), then kills it if it is still there. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Bounded waiting

/** Rejects with a message naming what took too long, instead of letting a test hang. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
