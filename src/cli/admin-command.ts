// What the admin commands (`brook topics`, `configs`, `produce`, `consume`, `users`, `acls`,
// `quotas`) share: one admin client per run (src/client/admin-client.ts), a deadline for the whole
// command (--timeout-ms), the common options' usage, tables and JSON, and the mapping of every
// failure to one line with a code and an exit status:
// 0 success, 1 a Kafka error or an unreachable or silent broker, 2 a usage error.

import { AdminClient, type ClientSecurity } from '../client/admin-client.js';
import { readCommandConfig } from './command-config.js';
import {
  KafkaClientError,
  KafkaClientErrorCode,
  parseBrokerAddress,
} from '../client/kafka-connection.js';
import {
  AdminCommandError,
  AdminCommandErrorCode,
  type CommonArguments,
} from './admin-arguments.js';

export interface AdminCommandOutput {
  out(line: string): void;
  error(line: string): void;
  /** Standard input's lines, for `brook produce` without --value. */
  input?(): AsyncIterable<string>;
  /** Where a long operation reports how far it got; given only when stderr is a terminal. */
  progress?(text: string): void;
}

/** Progress on a terminal: one line rewritten in place, cleared with an empty text. */
export function terminalProgress(stream: NodeJS.WriteStream): ((text: string) => void) | undefined {
  if (stream.isTTY !== true) return undefined;
  return (text) => {
    stream.write(`\r\x1b[K${text}`);
  };
}

export const defaultAdminOutput: AdminCommandOutput = {
  out: (line) => process.stdout.write(line + '\n'),
  error: (line) => process.stderr.write(line + '\n'),
};

/** Columns padded to their widest cell; the first row is the heading. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** JSON with bigints as numbers when exact, as strings otherwise. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, item: unknown) =>
    typeof item === 'bigint'
      ? item <= BigInt(Number.MAX_SAFE_INTEGER) && item >= BigInt(Number.MIN_SAFE_INTEGER)
        ? Number(item)
        : item.toString()
      : item,
  );
}

/** The options every admin command takes, as its usage lists them (last). */
export const commonOptionsUsage = `common options:
  --bootstrap-server HOST:PORT   the broker to ask (default 127.0.0.1:9092)
  --command-config FILE          Kafka client properties (security.protocol, sasl.*, ssl.*)
  --output table|json            a readable table (default) or JSON
  --timeout-ms MS                the whole command ends within this, or fails (default 30000)`;

export interface AdminCommand<Arguments> {
  /** `brook <name>`: the prefix of every error line. */
  readonly name: string;
  readonly usage: string;
  readonly parse: (argv: readonly string[]) => Arguments | { readonly command: 'help' };
  /**
   * Whether this run has no end of its own (`consume --follow`): --timeout-ms then bounds each
   * request, not the whole command.
   */
  readonly runsUntilStopped?: (request: Arguments) => boolean;
  readonly run: (
    client: AdminClient,
    request: Arguments & CommonArguments,
    output: AdminCommandOutput,
  ) => Promise<void>;
}

/** Parses, runs within the deadline, reports; resolves with the exit code. */
export async function runAdminCommand<
  Arguments extends CommonArguments & { readonly command: string },
>(
  command: AdminCommand<Arguments>,
  argv: readonly string[],
  output: AdminCommandOutput,
): Promise<number> {
  const prefix = `brook ${command.name}`;
  let request: Arguments | { readonly command: 'help' };
  let security: ClientSecurity | undefined;
  try {
    request = command.parse(argv);
    if (request.command !== 'help') {
      const { bootstrapServer, commandConfig } = request as Arguments;
      parseBrokerAddress(bootstrapServer);
      if (commandConfig !== null) security = readCommandConfig(commandConfig);
    }
  } catch (error) {
    if (!(error instanceof AdminCommandError || error instanceof KafkaClientError)) throw error;
    output.error(`${prefix}: ${error.message} [${AdminCommandErrorCode.USAGE}]\n${command.usage}`);
    return 2;
  }
  if (request.command === 'help') {
    output.out(command.usage);
    return 0;
  }
  const arguments_ = request as Arguments;
  const client = new AdminClient({
    bootstrapServer: arguments_.bootstrapServer,
    clientId: `brook-${command.name}`,
    requestTimeoutMs: arguments_.timeoutMs,
    security,
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    if (command.runsUntilStopped?.(arguments_) === true) return;
    timer = setTimeout(
      () =>
        reject(
          new AdminCommandError(
            AdminCommandErrorCode.TIMEOUT,
            `${arguments_.bootstrapServer} did not finish within --timeout-ms ${arguments_.timeoutMs}`,
          ),
        ),
      arguments_.timeoutMs,
    );
  });
  try {
    await Promise.race([command.run(client, arguments_, output), deadline]);
    return 0;
  } catch (error) {
    const [code, message] = describeFailure(error);
    output.error(`${prefix}: ${message} [${code}]`);
    return code === AdminCommandErrorCode.USAGE ? 2 : 1;
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

/** `brook <command> ...` as a function of its argv (without the command's name): the exit code. */
export function adminCommandRunner<
  Arguments extends CommonArguments & { readonly command: string },
>(
  command: AdminCommand<Arguments>,
): (argv: readonly string[], output?: AdminCommandOutput) => Promise<number> {
  return (argv, output = defaultAdminOutput) => runAdminCommand(command, argv, output);
}

function describeFailure(error: unknown): [AdminCommandErrorCode, string] {
  if (error instanceof AdminCommandError) return [error.code, error.message];
  if (error instanceof KafkaClientError) {
    // The broker refused, is unreachable or went silent: an operating condition, not a bug.
    switch (error.code) {
      case KafkaClientErrorCode.KAFKA_ERROR:
      case KafkaClientErrorCode.AUTHENTICATION:
        return [AdminCommandErrorCode.KAFKA_ERROR, error.message];
      case KafkaClientErrorCode.TIMEOUT:
        return [AdminCommandErrorCode.TIMEOUT, error.message];
      case KafkaClientErrorCode.BAD_ADDRESS:
        return [AdminCommandErrorCode.USAGE, error.message];
      default:
        return [AdminCommandErrorCode.CONNECTION, error.message];
    }
  }
  // A bug: keep the stack.
  return [
    AdminCommandErrorCode.INTERNAL,
    error instanceof Error ? (error.stack ?? error.message) : String(error),
  ];
}
