#!/usr/bin/env node
// The `brook` command. Exit codes: 0 on success and clean shutdown, 1 when the broker fails at run
// time, 2 for a usage or configuration error (the message names the setting and its code).

import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { terminalProgress } from './admin-command.js';
import { runDevClusterCommand } from './dev-cluster-command.js';
import { runGroupsCommand } from './groups-command.js';
import { runShareGroupsCommand } from './share-groups-command.js';
import { runConsumeCommand, runProduceCommand } from './records-command.js';
import { runConfigsCommand, runTopicsCommand } from './topics-command.js';
import { runUsersCommand } from './users-command.js';
import { runQuotasCommand } from './quotas-command.js';
import { runAclsCommand } from './acls-command.js';
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
  if (command === 'groups') return runGroupsCommand(rest, output);
  if (command === 'share-groups') return runShareGroupsCommand(rest, output);
  if (command === 'topics') return runTopicsCommand(rest, output);
  if (command === 'configs') return runConfigsCommand(rest, output);
  if (command === 'quotas') return runQuotasCommand(rest, output);
  if (command === 'acls') return runAclsCommand(rest, output);
  if (command === 'produce') return runProduceCommand(rest, output);
  if (command === 'users') return runUsersCommand(rest, output);
  if (command === 'dev-cluster') return runDevClusterCommand(rest, output);
  if (command === 'consume') {
    return runConsumeCommand(rest, { ...output, progress: terminalProgress(process.stderr) });
  }
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
