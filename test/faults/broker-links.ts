// The network between a cluster's brokers, made of TCP proxies a scenario can cut (tcp-proxy.ts).
// Each broker gets a second listener, REPLICATION, for inter.broker.listener.name, and advertises
// it at a proxy's port; its etcd.endpoints names another proxy in front of etcd. Clients keep
// reaching every broker directly on PLAINTEXT, so a cut separates brokers, never the producer:
//
//   follower ─┐                                   broker ──▶ etcd proxy ──▶ etcd
//   follower ─┴─▶ replication proxy ──▶ leader's REPLICATION listener
//   producer ─────────────────────────▶ leader's PLAINTEXT listener
//
// Cutting a broker's replication proxy stops every follower fetching from it (and any marker sent
// to it); `cutFollower` cuts only one follower's fetches from it (the proxy tells connections apart
// by the Kafka client id of their first request); cutting its etcd proxy lets its lease lapse while
// its data ports stay open.

import { freePort } from '../../src/cluster/etcd-process.js';
import type { StartClusterOptions } from '../../src/cluster/start-cluster.js';
import { type TcpProxy, startTcpProxy } from './tcp-proxy.js';

export interface BrokerLinks {
  /** In front of the broker's REPLICATION listener: what other brokers connect to it through. */
  readonly replication: TcpProxy;
  /** Between the broker and etcd: its lease keep-alives, watches and writes. */
  readonly etcd: TcpProxy;
}

/**
 * The client id of the Kafka request that starts `firstBytes`, if the header is all there:
 * size (int32), api key (int16), api version (int16), correlation id (int32), client id (int16
 * length, then that many bytes).
 */
export function kafkaClientId(firstBytes: Buffer): string | undefined {
  if (firstBytes.length < 14) return undefined;
  const length = firstBytes.readInt16BE(12);
  if (length < 0 || firstBytes.length < 14 + length) return undefined;
  return firstBytes.toString('utf8', 14, 14 + length);
}

/** The client id a broker's replica fetcher connects with (src/cluster/replica-fetcher.ts). */
const replicaFetcherClientId = (brokerId: number): string => `brook-replica-fetcher-${brokerId}`;

export interface ClusterLinks {
  links(brokerId: number): BrokerLinks;
  /** Cuts `follower`'s fetches from `leader` only; heal with links(leader).replication.heal(). */
  cutFollower(leader: number, follower: number): void;
  /** For startCluster: the listeners, advertised listeners and etcd endpoint of each broker. */
  readonly brokerSettings: NonNullable<StartClusterOptions['brokerSettings']>;
  /** Heals every link (a scenario that failed midway leaves none cut). */
  healAll(): void;
  close(): Promise<void>;
}

/** Proxies for brokers 1..`brokers`, forwarding once startCluster has told them where to. */
export async function startClusterLinks(brokers: number): Promise<ClusterLinks> {
  const links = new Map<number, BrokerLinks & { replicationPort: number }>();
  for (let id = 1; id <= brokers; id++) {
    links.set(id, {
      replication: await startTcpProxy(),
      etcd: await startTcpProxy(),
      // Chosen once: a restarted broker listens where its proxy forwards.
      replicationPort: await freePort(),
    });
  }
  const linksOf = (id: number) => {
    const found = links.get(id);
    if (found === undefined) throw new RangeError(`no links for broker ${id} (1..${brokers})`);
    return found;
  };
  return {
    links: linksOf,
    cutFollower(leader, follower) {
      const clientId = replicaFetcherClientId(follower);
      linksOf(leader).replication.partitionSome(
        (firstBytes) => kafkaClientId(firstBytes) === clientId,
      );
    },
    brokerSettings({ id, host, port, etcdEndpoint }) {
      const { replication, etcd, replicationPort } = linksOf(id);
      replication.setTarget({ host: '127.0.0.1', port: replicationPort });
      const etcdUrl = new URL(etcdEndpoint);
      etcd.setTarget({ host: etcdUrl.hostname, port: Number(etcdUrl.port) });
      return {
        listeners: `PLAINTEXT://${host}:${port},REPLICATION://127.0.0.1:${replicationPort}`,
        'advertised.listeners': `PLAINTEXT://${host}:${port},REPLICATION://127.0.0.1:${replication.port}`,
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT',
        'inter.broker.listener.name': 'REPLICATION',
        'etcd.endpoints': `http://127.0.0.1:${etcd.port}`,
      };
    },
    healAll() {
      for (const { replication, etcd } of links.values()) {
        if (replication.partitioned) replication.heal();
        if (etcd.partitioned) etcd.heal();
      }
    },
    async close() {
      await Promise.all(
        [...links.values()].flatMap(({ replication, etcd }) => [replication.close(), etcd.close()]),
      );
    },
  };
}
