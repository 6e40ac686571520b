// `brook dev-cluster`: a local cluster in one command, for trying cluster mode on one machine.
// etcd (from PATH) and N brokers run as child processes (src/cluster/start-cluster.ts), data under
// --data-dir (kept between runs, so a second run finds its topics again), brokers on consecutive
// ports from --base-port. SIGINT or SIGTERM stops the brokers (each hands its leaderships on) and
// then etcd, and the command exits 0. The children run in their own process groups, so a Ctrl-C
// in the terminal reaches this process only and the stop happens in that order.

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Cluster, startCluster } from '../cluster/start-cluster.js';
import { AdminCommandError, AdminCommandErrorCode } from './admin-arguments.js';
import type { CommandOutput } from './start.js';

export const devClusterUsage = `usage: brook dev-cluster [options]
  --brokers N            how many brokers (default 3), ids 1..N
  --data-dir DIR         etcd's and the brokers' data: DIR/etcd, DIR/broker-<id> (default ./data)
  --base-port PORT       broker i listens on 127.0.0.1:PORT+i-1 (default 9092)
  --quiet                do not echo the brokers' own output
Starts etcd (found on PATH; Debian: apt-get install etcd-server) and the brokers, prints the
bootstrap servers, and runs until SIGINT or SIGTERM, which stops everything cleanly.
Unknown options are errors (exit 2).`;

export interface DevClusterArguments {
  readonly brokers: number;
  readonly dataDir: string;
  readonly basePort: number;
  readonly quiet: boolean;
  readonly help: boolean;
}

function usageError(message: string): AdminCommandError {
  return new AdminCommandError(AdminCommandErrorCode.USAGE, message);
}

function integerOption(
  name: string,
  text: string | undefined,
  fallback: number,
  minimum: number,
  maximum: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < minimum || value > maximum) {
    throw usageError(`--${name} must be an integer from ${minimum} to ${maximum}, not ${text}`);
  }
  return value;
}

/** Parses `brook dev-cluster ARGS` (without "dev-cluster"); throws AdminCommandError (USAGE). */
export function parseDevClusterArguments(argv: readonly string[]): DevClusterArguments {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        brokers: { type: 'string' },
        'data-dir': { type: 'string' },
        'base-port': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageError(
      (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''),
    );
  }
  const brokers = integerOption('brokers', values.brokers, 3, 1, 64);
  const basePort = integerOption('base-port', values['base-port'], 9092, 1, 65535 - brokers + 1);
  return {
    brokers,
    dataDir: resolve(values['data-dir'] ?? './data'),
    basePort,
    quiet: values.quiet === true,
    help: values.help === true,
  };
}

/**
 * Runs the cluster until SIGINT or SIGTERM; resolves with the exit code. A second signal while
 * stopping exits at once (the operator will not wait).
 */
export async function runDevClusterCommand(
  argv: readonly string[],
  output: CommandOutput,
): Promise<number> {
  let parsed: DevClusterArguments;
  try {
    parsed = parseDevClusterArguments(argv);
  } catch (error) {
    output.error(`brook dev-cluster: ${(error as Error).message}; try brook dev-cluster --help`);
    return 2;
  }
  if (parsed.help) {
    output.out(devClusterUsage);
    return 0;
  }
  let cluster: Cluster | null = null;
  let stopRequested = false;
  let finish: (exitCode: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stop = (running: Cluster): void => {
    running.stop().then(
      () => {
        output.out('brook dev-cluster: stopped');
        finish(0);
      },
      (error: unknown) => {
        output.error(`brook dev-cluster: stop failed: ${(error as Error).message}`);
        finish(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      output.error(`brook dev-cluster: ${signal} again, exiting without a clean shutdown`);
      process.exit(1);
    }
    stopRequested = true;
    output.out(`brook dev-cluster: ${signal} received, stopping`);
    if (cluster !== null) stop(cluster);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  output.out(
    `brook dev-cluster: starting etcd and ${parsed.brokers} brokers, data in ${parsed.dataDir}`,
  );
  try {
    cluster = await startCluster({
      brokers: parsed.brokers,
      dataDir: parsed.dataDir,
      basePort: parsed.basePort,
      detached: true,
      onOutput: parsed.quiet
        ? undefined
        : (brokerId, line) => output.error(`broker ${brokerId}: ${line}`),
    });
  } catch (error) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const code = (error as { code?: unknown }).code;
    output.error(
      `brook dev-cluster: cannot start: ${(error as Error).message}${typeof code === 'string' ? ` [${code}]` : ''}`,
    );
    return 1;
  }
  output.out(`brook dev-cluster: etcd on ${cluster.etcdEndpoint} (pid ${cluster.etcdPid})`);
  for (const broker of cluster.brokers) {
    output.out(
      `brook dev-cluster: broker ${broker.id} on ${broker.host}:${broker.port} (pid ${broker.pid}), data in ${broker.logDir}`,
    );
  }
  output.out(`brook dev-cluster: bootstrap servers ${cluster.bootstrapServers}`);
  if (stopRequested) stop(cluster);
  return finished;
}
