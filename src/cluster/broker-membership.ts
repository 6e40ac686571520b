// Cluster mode as the broker starts it: nothing when etcd.endpoints is unset; otherwise the
// membership, after checking that the log directory belongs to the cluster in etcd.
//
// A log directory remembers its cluster in `<log dir>/meta/cluster-id`, written the first time
// the broker joins. A directory holding another cluster's data (copied from elsewhere, or a
// broker pointed at the wrong etcd.prefix) is refused before any log is opened, instead of
// mixing two clusters' partitions.

import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerConfig } from '../config/index.js';
import type { ClusterMember } from './cluster-member.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { clusterSettings } from './settings.js';

export const CLUSTER_ID_FILE = join('meta', 'cluster-id');

export async function openBrokerMembership(
  config: BrokerConfig,
  logDir: string,
  options: {
    onRetry?: (message: string) => void;
    onWarning?: (message: string) => void;
    connectTimeoutMs?: number;
  } = {},
): Promise<ClusterMember | null> {
  const settings = clusterSettings(config);
  if (settings === null) return null;
  const path = join(logDir, CLUSTER_ID_FILE);
  const kept = await readClusterId(path);
  if (kept !== null && config.clusterId !== null && kept !== config.clusterId) {
    throw new ClusterError(
      ClusterErrorCode.CLUSTER_ID_MISMATCH,
      `log directory ${logDir} belongs to cluster ${kept}, but cluster.id is ${config.clusterId}; use that cluster's settings or an empty log directory`,
    );
  }
  // Loaded here, not at the top: a broker without etcd.endpoints never loads the etcd-facing code.
  const { ClusterMember } = await import('./cluster-member.js');
  const member = await ClusterMember.open(settings, {
    clusterId: kept ?? config.clusterId,
    onRetry: options.onRetry,
    onWarning: options.onWarning,
    connectTimeoutMs: options.connectTimeoutMs,
  });
  try {
    if (kept === null) await writeClusterId(path, member.store.clusterId);
  } catch (error) {
    await member.leave();
    throw error;
  }
  return member;
}

async function readClusterId(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Written whole or not at all: a temporary file, fsynced, renamed over, directory fsynced. */
async function writeClusterId(path: string, clusterId: string): Promise<void> {
  const directory = join(path, '..');
  await mkdir(directory, { recursive: true });
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(`${clusterId}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
