// A real etcd per test file, on free ports with a temporary data directory, stopped after.

import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  const dataDir = await mkdtemp(join(memoryBackedTmpdir(), 'brook-test-etcd-'));
  const etcd = await EtcdProcess.start({ dataDir });
  beforeStop.set(etcd.endpoint, []);
  after(async () => {
    await Promise.all((beforeStop.get(etcd.endpoint) ?? []).map((cleanup) => cleanup()));
    await etcd.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return etcd;
}

/**
 * Where the shared test etcd keeps its data: memory (/dev/shm) where there is one. etcd renews a
 * lease only once its own log is applied, so on a disk busy with the brokers' fsyncs a renewal
 * can wait past a test's short session timeout, and a broker loses its session in the middle of
 * a test about something else. What the tests check is Brook's durability, not etcd's; the tests
 * that kill and restart etcd start their own, on disk.
 */
function memoryBackedTmpdir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
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
