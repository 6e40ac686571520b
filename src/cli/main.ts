#!/usr/bin/env node
// The `brook` command. Exit codes: 0 on success and clean shutdown, 1 when the broker fails at run
// time, 2 for a usage or configuration error (the message names the setting and its code).

import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { settingsHelp, usage } from './help.js';
import { type CommandOutput, type RunningBroker, startCommand } from './start.js';
import { StartupError } from './startup-errors.js';
import type { BrookErrorCode } from '../util/errors.js';

export const CliErrorCode = {
  UNKNOWN_COMMAND: 'BROOK_CLI_UNKNOWN_COMMAND',
  START_FAILED: 'BROOK_CLI_START_FAILED',
} as const satisfies Record<string, BrookErrorCode>;

/**
 * Output that ends quietly when the reader goes away (`brook --help | head -1`): the first EPIPE
 * marks the stream closed and later lines to it are dropped, instead of an unhandled 'error'
 * event printing a stack trace. A running broker keeps running; only its printing stops.
 */
function closableStream(stream: NodeJS.WriteStream): (line: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
      closed = true;
      return;
    }
    throw error;
  });
  return (line) => {
    if (!closed) stream.write(line + '\n');
  };
}

const output: CommandOutput = {
  out: closableStream(process.stdout),
  error: closableStream(process.stderr),
};

function packageVersion(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two levels below package.json.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * The client commands, each loaded when it is run: a broker (`brook start`) never loads the admin
 * client and the commands' code, which would only add to its resident memory.
 */
const clientCommands = new Map<string, (args: string[]) => Promise<number>>([
  ['groups', async (args) => (await import('./groups-command.js')).runGroupsCommand(args, output)],
  [
    'share-groups',
    async (args) => (await import('./share-groups-command.js')).runShareGroupsCommand(args, output),
  ],
  ['topics', async (args) => (await import('./topics-command.js')).runTopicsCommand(args, output)],
  [
    'configs',
    async (args) => (await import('./topics-command.js')).runConfigsCommand(args, output),
  ],
  ['quotas', async (args) => (await import('./quotas-command.js')).runQuotasCommand(args, output)],
  ['acls', async (args) => (await import('./acls-command.js')).runAclsCommand(args, output)],
  [
    'produce',
    async (args) => (await import('./records-command.js')).runProduceCommand(args, output),
  ],
  ['users', async (args) => (await import('./users-command.js')).runUsersCommand(args, output)],
  [
    'dev-cluster',
    async (args) => (await import('./dev-cluster-command.js')).runDevClusterCommand(args, output),
  ],
  [
    'consume',
    async (args) => {
      const [{ runConsumeCommand }, { terminalProgress }] = await Promise.all([
        import('./records-command.js'),
        import('./admin-command.js'),
      ]);
      return runConsumeCommand(args, { ...output, progress: terminalProgress(process.stderr) });
    },
  ],
]);

/**
 * Runs the broker until SIGINT or SIGTERM. The handlers are installed before the broker starts
 * listening: a supervisor that sends SIGTERM as soon as the port answers must get a clean stop,
 * not the default action (an immediate exit with logs unflushed). A signal during start-up stops
 * the broker as soon as it has started.
 */
async function runStart(args: string[]): Promise<number> {
  let broker: RunningBroker | null = null;
  let stopRequested = false;
  let finish: (exitCode: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stop = (running: RunningBroker): void => {
    running.stop().then(
      () => {
        output.out('brook: stopped');
        finish(0);
      },
      (error: unknown) => {
        output.error(
          `brook: stop failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        finish(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      // A second signal means the operator will not wait for a clean stop.
      output.error(`brook: ${signal} again, exiting without a clean shutdown`);
      process.exit(1);
    }
    stopRequested = true;
    output.out(`brook: ${signal} received, stopping`);
    if (broker !== null) stop(broker);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    broker = await startCommand(args, output);
  } catch (error) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw error;
  }
  if (stopRequested) stop(broker);
  return finished;
}

export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  // The client commands have their own options and help.
  const clientCommand = command === undefined ? undefined : clientCommands.get(command);
  if (clientCommand !== undefined) return clientCommand(rest);
  if (
    command === undefined ||
    command === '--help' ||
    command === '-h' ||
    command === 'help' ||
    rest.includes('--help')
  ) {
    output.out(usage());
    output.out(settingsHelp());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === 'version') {
    output.out(packageVersion());
    return 0;
  }
  try {
    if (command === 'start') return await runStart(rest);
    output.error(
      `brook: unknown command ${JSON.stringify(command)} [${CliErrorCode.UNKNOWN_COMMAND}]; try brook --help`,
    );
    return 2;
  } catch (error) {
    if (error instanceof ConfigError) {
      output.error(`brook: ${error.message} [${error.code}]`);
      return 2;
    }
    if (error instanceof StartupError) {
      // An operator's mistake or the machine's refusal, not a bug: one line, no stack trace.
      output.error(`brook: cannot start: ${error.message} [${error.code}]`);
      return 1;
    }
    const code = (error as { code?: unknown }).code;
    output.error(
      `brook: cannot start [${typeof code === 'string' ? code : CliErrorCode.START_FAILED}]: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (exitCode) => {
    process.exitCode = exitCode;
    // A stopped broker leaves nothing running; exit explicitly in case a stray handle remains.
    if (exitCode !== 0 || process.argv[2] === 'start' || process.argv[2] === 'dev-cluster')
      setImmediate(() => process.exit(exitCode));
  },
  (error: unknown) => {
    output.error(
      `brook: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
