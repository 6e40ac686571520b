// A broker process for the benches: the compiled CLI (`dist/cli/main.js`) of a checkout, on a free
// port, one partition per topic by default; run by node under its defaults unless given options,
// or with `launcher` as `brook start` runs it (bin/brook, with the node options it chooses for the
// machine). A launched broker takes the bench's node options through BROOK_NODE_OPTIONS, and
// another node by PATH.
// Resolves once it prints its listener; its output is kept (and the pipes drained, so the broker
// never blocks on a full pipe).

import { type ChildProcess, spawn } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';

export interface BrokerProcess {
  readonly child: ChildProcess;
  /** host:port of its PLAINTEXT listener. */
  readonly bootstrap: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

export async function startBrokerProcess(
  checkout: string,
  logDir: string,
  options: {
    readonly startTimeoutMs?: number;
    /** More `brook start` flags (settings), after the bench's own. */
    readonly arguments?: readonly string[];
    /** Before the script (BROOK_NODE_OPTIONS with `launcher`): `--import` of a probe, `--trace-gc`, ... */
    readonly nodeArguments?: readonly string[];
    /** Runs the checkout's bin/brook instead of node itself. */
    readonly launcher?: boolean;
    /** The node binary; the one running the bench when not given. */
    readonly node?: string;
    /** Opens an IPC channel to the process (for a probe it loads). */
    readonly ipc?: boolean;
  } = {},
): Promise<BrokerProcess> {
  const launcher = options.launcher === true;
  const node = options.node ?? process.execPath;
  const env = launcher ? launcherEnvironment(node, options.nodeArguments ?? []) : process.env;
  const child = spawn(
    launcher ? join(checkout, 'bin', 'brook') : node,
    [
      ...(launcher
        ? []
        : [...(options.nodeArguments ?? []), join(checkout, 'dist', 'cli', 'main.js')]),
      'start',
      '--log-dirs',
      logDir,
      '--listeners',
      'PLAINTEXT://127.0.0.1:0',
      '--num-partitions',
      '1',
      ...(options.arguments ?? []),
    ],
    {
      env,
      stdio: options.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`broker did not start:\n${output}`)),
      options.startTimeoutMs ?? 60_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${output}`));
    });
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on PLAINTEXT:\/\/(\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  return { child, bootstrap, output: () => output };
}

/** bin/brook runs the `node` first on PATH, with BROOK_NODE_OPTIONS (split at spaces) too. */
function launcherEnvironment(node: string, nodeArguments: readonly string[]): NodeJS.ProcessEnv {
  const spaced = nodeArguments.find((argument) => /\s/.test(argument));
  if (spaced !== undefined)
    throw new Error(`bin/brook splits BROOK_NODE_OPTIONS at spaces: cannot pass ${spaced}`);
  return {
    ...process.env,
    PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}`,
    BROOK_NODE_OPTIONS: nodeArguments.join(' '),
  };
}
