// A real etcd per test file, on free ports with a temporary data directory, stopped after.

import { after } from 'node:test';
import { ClusterMember, type JoinClusterOptions } from '../../src/cluster/cluster-member.js';
import { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { type ClusterSettings, clusterSettings } from '../../src/cluster/settings.js';
import { type SettingsInput, resolveBrokerConfig } from '../../src/config/index.js';

export { EtcdProcess };
/** Kept for the cluster tests that import it from here; the one implementation is in poll.ts. */
export { waitFor } from './poll.js';

/** What must end while etcd still runs (members leaving), per etcd, run before it stops. */
const beforeStop = new Map<string, Array<() => Promise<void>>>();

/**
 * Starts etcd now and stops it when the test file ends, after the members joined through
 * joinMember() have left: call it at the top level of the file.
 */
export async function startEtcd(): Promise<EtcdProcess> {
  const etcd = await EtcdProcess.start();
  beforeStop.set(etcd.endpoint, []);
  after(async () => {
    await Promise.all((beforeStop.get(etcd.endpoint) ?? []).map((cleanup) => cleanup()));
    await etcd.stop();
  });
  return etcd;
}

let prefixCounter = 0;

/** A key prefix no other test in this process uses, so tests can share one etcd. */
export function uniquePrefix(): string {
  prefixCounter += 1;
  return `/brook-test/${process.pid}-${prefixCounter}`;
}

/** Cluster settings as a broker would resolve them from its config, with short test timeouts. */
export function memberSettings(
  etcd: { endpoint: string },
  prefix: string,
  brokerId: number,
  settings: SettingsInput = {},
): ClusterSettings {
  const config = resolveBrokerConfig({
    overrides: {
      'etcd.endpoints': etcd.endpoint,
      'etcd.prefix': prefix,
      'node.id': brokerId,
      'broker.session.timeout.ms': 2000,
      ...settings,
    },
  });
  return clusterSettings(config)!;
}

/**
 * Joins broker `brokerId` to the cluster under `prefix` (port 9000 + id as its advertised
 * endpoint; nothing listens there) and leaves when the test file ends, unless abandoned first.
 */
export async function joinMember(
  etcd: { endpoint: string },
  prefix: string,
  brokerId: number,
  settings: SettingsInput = {},
  options: Partial<JoinClusterOptions> = {},
): Promise<ClusterMember> {
  const member = await ClusterMember.join(memberSettings(etcd, prefix, brokerId, settings), {
    host: '127.0.0.1',
    port: 9000 + brokerId,
    connectTimeoutMs: 10_000,
    ...options,
  });
  const leave = () => member.leave().catch(() => undefined);
  const cleanups = beforeStop.get(etcd.endpoint);
  if (cleanups !== undefined) cleanups.push(leave);
  else after(leave);
  return member;
}
