// `brook start`: resolve the configuration, start one broker, print where it listens, and stop it
// cleanly (flush, checkpoints, clean-shutdown marker: all inside broker.stop()) on SIGINT/SIGTERM.

import type { BrokerConfig } from '../config/broker-config.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { formatHostPort } from '../config/listeners.js';

/** What the CLI needs of src/broker.ts's startBroker. */
export interface RunningBroker {
  readonly bootstrapServers: string;
  readonly listeners: ReadonlyArray<{
    readonly name: string;
    readonly host: string;
    readonly port: number;
  }>;
  stop(): Promise<void>;
}
export type StartBroker = (options: { config: BrokerConfig }) => Promise<RunningBroker>;

export interface CommandOutput {
  out(line: string): void;
  error(line: string): void;
}

// The broker assembly (src/broker.ts) is written alongside the CLI; it is loaded by a computed
// specifier so the CLI compiles whether or not it has landed yet.
const brokerModule = '../broker.js';

async function loadStartBroker(): Promise<StartBroker> {
  const module = (await import(brokerModule)) as { startBroker: StartBroker };
  return module.startBroker;
}

/**
 * Starts the broker and resolves once it is serving; returns a function that stops it. Signal
 * handling is left to the caller so tests can drive this in-process.
 */
export async function startCommand(
  args: readonly string[],
  output: CommandOutput,
  startBroker?: StartBroker,
): Promise<RunningBroker> {
  const { config, warnings } = loadBrokerConfig({ args });
  for (const warning of warnings) output.error(`brook: warning: ${warning}`);
  const start = startBroker ?? (await loadStartBroker());
  const startedMs = performance.now();
  const broker = await start({ config });
  const elapsedMs = Math.round(performance.now() - startedMs);
  for (const listener of broker.listeners) {
    output.out(
      `brook: listening on ${listener.name}://${formatHostPort(listener.host, listener.port)}`,
    );
  }
  output.out(
    `brook: node ${config.nodeId} started in ${elapsedMs} ms, data in ${config.logDirs.join(',')}`,
  );
  output.out(`brook: bootstrap servers ${broker.bootstrapServers}`);
  return broker;
}
