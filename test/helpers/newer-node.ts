// A Node.js newer than the one running the tests, for what only it can do (several network
// threads sharing a port: SO_REUSEPORT came with Node 22.12). `.ci/install-node22.sh` puts one in
// .bench/node22 with fs-ext, the one addon Brook loads that is not built on Node-API, compiled for
// it; a broker run there is started with `nodeArgs`, which load the project's code with that build
// of fs-ext in place of node_modules' (newer-node-hooks.mjs).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inContinuousIntegration } from './clients.js';

export interface NewerNode {
  /** The node binary. */
  readonly node: string;
  /** Options placed after `--import tsx` (startBrokerProcess's `nodeArgs`). */
  readonly nodeArgs: readonly string[];
}

const node = fileURLToPath(new URL('../../.bench/node22/bin/node', import.meta.url));
const hooks = fileURLToPath(new URL('./newer-node-hooks.mjs', import.meta.url));

/** The installed newer Node, or null when `.ci/install-node22.sh` has not run here. */
export function newerNode(): NewerNode | null {
  return existsSync(node) ? { node, nodeArgs: ['--import', hooks] } : null;
}

/** A test's skip reason when there is no newer Node; never in CI, which installs it. */
export function newerNodeSkip(installed: NewerNode | null): string | false {
  if (installed !== null || inContinuousIntegration) return false;
  return 'no Node.js 22 in .bench/node22: run bash .ci/install-node22.sh';
}
