// `brook start`: resolve the configuration, start one broker, print where it listens, and stop it
// cleanly (flush, checkpoints, clean-shutdown marker: all inside broker.stop()) on SIGINT/SIGTERM.

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { startBroker as defaultStartBroker } from '../broker.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { formatHostPort } from '../config/listeners.js';
import { StartupError, startupProblem } from './startup-errors.js';

/** What the CLI needs of src/broker.ts's startBroker (tests substitute a stand-in). */
export interface RunningBroker {
  readonly bootstrapServers: string;
  readonly listeners: ReadonlyArray<{
    readonly name: string;
    readonly host: string;
    readonly port: number;
  }>;
  /** The HTTP endpoint's addresses (HTTP or HTTPS); absent or empty when http.listeners is unset. */
  readonly httpListeners?: ReadonlyArray<{
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
  const created = config.logDirs.map(topmostMissingDirectory).filter((path) => path !== null);
  let broker: RunningBroker;
  try {
    broker = await start({ config });
  } catch (error) {
    // A failed start leaves nothing behind that it created; a directory that existed is kept.
    for (const path of created) {
      // Not there (the start failed before making it) or not ours to remove: nothing to undo.
      await rm(path, { recursive: true, force: true }).catch(() => undefined);
    }
    const problem = startupProblem(error, config.logDirs);
    throw problem === null ? error : new StartupError(problem, error);
  }
  const elapsedMs = Math.round(performance.now() - startedMs);
  for (const listener of broker.listeners) {
    output.out(
      `brook: listening on ${listener.name}://${formatHostPort(listener.host, listener.port)}`,
    );
  }
  for (const http of broker.httpListeners ?? []) {
    output.out(
      `brook: HTTP on ${http.name.toLowerCase()}://${formatHostPort(http.host, http.port)} (/metrics /healthz /readyz /ui)`,
    );
  }
  output.out(
    `brook: node ${config.nodeId} started in ${elapsedMs} ms, data in ${config.logDirs.join(', ')}`,
  );
  output.out(`brook: bootstrap servers ${broker.bootstrapServers}`);
  return broker;
}

/** The first directory on `path`'s way down that does not exist yet, or null if `path` exists. */
function topmostMissingDirectory(path: string): string | null {
  let missing: string | null = null;
  for (let current = resolve(path); !existsSync(current); current = dirname(current)) {
    missing = current;
    if (dirname(current) === current) break;
  }
  return missing;
}
