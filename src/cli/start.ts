// `brook start`: resolve the configuration, start one broker, print where it listens, and stop it
// cleanly (flush, checkpoints, clean-shutdown marker: all inside broker.stop()) on SIGINT/SIGTERM.

import { startBroker as defaultStartBroker } from '../broker.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { formatHostPort } from '../config/listeners.js';

/** What the CLI needs of src/broker.ts's startBroker (tests substitute a stand-in). */
export interface RunningBroker {
  readonly bootstrapServers: string;
  readonly listeners: ReadonlyArray<{
    readonly name: string;
    readonly host: string;
    readonly port: number;
  }>;
  /** The HTTP endpoint's addresses; absent or empty when http.listeners is unset. */
  readonly httpListeners?: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  stop(): Promise<void>;
}
export type StartBroker = (options: { config: BrokerConfig }) => Promise<RunningBroker>;

export interface CommandOutput {
  out(line: string): void;
  error(line: string): void;
}

/**
 * Starts the broker and resolves with it once it is serving. Signal handling is left to the
 * caller so tests can drive this in-process.
 */
export async function startCommand(
  args: readonly string[],
  output: CommandOutput,
  startBroker?: StartBroker,
): Promise<RunningBroker> {
  const { config, warnings } = loadBrokerConfig({ args });
  for (const warning of warnings) output.error(`brook: warning: ${warning}`);
  const start = startBroker ?? defaultStartBroker;
  const startedMs = performance.now();
  const broker = await start({ config });
  const elapsedMs = Math.round(performance.now() - startedMs);
  for (const listener of broker.listeners) {
    output.out(
      `brook: listening on ${listener.name}://${formatHostPort(listener.host, listener.port)}`,
    );
  }
  for (const http of broker.httpListeners ?? []) {
    output.out(
      `brook: HTTP on http://${formatHostPort(http.host, http.port)} (/metrics /healthz /readyz)`,
    );
  }
  output.out(
    `brook: node ${config.nodeId} started in ${elapsedMs} ms, data in ${config.logDirs.join(',')}`,
  );
  output.out(`brook: bootstrap servers ${broker.bootstrapServers}`);
  return broker;
}
