// GET /v1/subscriptions in cluster mode: every subscription of the cluster, whichever broker
// serves it. A broker knows the definitions of the subscriptions it serves only (those of the
// __share_group_state partitions it leads and has loaded), so the broker asked lists its own and
// asks every other leader of a state partition for theirs over that broker's HTTP listener of the
// same scheme, with `?served=here` (which lists only the subscriptions served there and asks no
// one further), all at once, within `peerTimeoutMs`. Each subscription is answered with the broker
// that serves it. A broker that does not answer in time, or a state partition without a leader,
// leaves its subscriptions out; the answer then names the brokers (`unreachable`) or state
// partitions (`unavailable`) missing, so a caller can tell a partial list from a whole one.
//
// Authorization: the caller's Authorization header (HTTP Basic) is passed on, so the other broker
// filters its list by the same principal; the names gathered are filtered again here by the
// caller's Group Describe (ACLs are the cluster's, in etcd), so a peer that saw another principal
// (a caller known by its client certificate is seen as this broker) never widens the answer.
//
// Stateless: one call per request; nothing outlives it.

import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TlsOptions } from 'node:tls';

export interface ClusterSubscriptionSource {
  readonly brokerId: number;
  /** Whether this broker has loaded a state partition it leads (its subscriptions are listed). */
  servesStatePartition(statePartition: number): boolean;
  /** By state partition: the broker the view names its leader, undefined while it has none. */
  statePartitionLeaders(): ReadonlyArray<number | undefined>;
  /** A broker's HTTP listener (scheme://host:port) of the scheme asked on; undefined if unknown. */
  httpListenerOf(brokerId: number, secure: boolean): string | undefined;
  /** For https peers: the HTTPS listener's CA (and certificate, presented as a client's). */
  peerTls?(): PeerTls | undefined;
  readonly peerTimeoutMs: number;
}

/** What an https request to a peer takes of this broker's HTTPS listener settings. */
export type PeerTls = Pick<TlsOptions, 'ca' | 'cert' | 'key' | 'passphrase'>;

export interface ClusterSubscriptionList {
  readonly subscriptions: string[];
  /** Subscription name → the broker serving it. */
  readonly servedBy: Record<string, number>;
  /** Brokers serving state partitions that did not answer: their subscriptions are missing. */
  readonly unreachable: number[];
  /** State partitions without a leader, or still loading here: their subscriptions are missing. */
  readonly unavailable: number[];
}

/** How long a listing waits for the other brokers (a paused broker must not hold it longer). */
export const PEER_LIST_TIMEOUT_MS = 5_000;

/** The query parameter that asks a broker for only what it serves itself. */
export const SERVED_HERE_PARAMETER = 'served';

export async function listClusterSubscriptions(
  source: ClusterSubscriptionSource,
  servedHere: readonly string[],
  caller: { readonly authorization: string | undefined; readonly secure: boolean },
): Promise<ClusterSubscriptionList> {
  const servedBy: Record<string, number> = {};
  for (const name of servedHere) servedBy[name] = source.brokerId;
  const unavailable: number[] = [];
  const peers = new Set<number>();
  source.statePartitionLeaders().forEach((leader, statePartition) => {
    if (leader === undefined) unavailable.push(statePartition);
    else if (leader !== source.brokerId) peers.add(leader);
    else if (!source.servesStatePartition(statePartition)) unavailable.push(statePartition);
  });
  const unreachable: number[] = [];
  await Promise.all(
    [...peers].map(async (peer) => {
      const base = source.httpListenerOf(peer, caller.secure);
      const names =
        base === undefined
          ? undefined
          : await servedByPeer(base, caller.authorization, source).catch(() => undefined);
      if (names === undefined) {
        unreachable.push(peer);
        return;
      }
      for (const name of names.subscriptions) servedBy[name] = peer;
      unavailable.push(...names.unavailable);
    }),
  );
  return {
    subscriptions: Object.keys(servedBy).sort(),
    servedBy,
    unreachable: unreachable.sort((a, b) => a - b),
    unavailable: [...new Set(unavailable)].sort((a, b) => a - b),
  };
}

/** The state partitions this broker leads but has not loaded yet (answered with `served=here`). */
export function loadingHere(source: ClusterSubscriptionSource): number[] {
  const loading: number[] = [];
  source.statePartitionLeaders().forEach((leader, statePartition) => {
    if (leader === source.brokerId && !source.servesStatePartition(statePartition))
      loading.push(statePartition);
  });
  return loading;
}

/**
 * The names a peer serves and the state partitions it is loading (`GET
 * /v1/subscriptions?served=here`), or a rejection.
 */
function servedByPeer(
  base: string,
  authorization: string | undefined,
  source: ClusterSubscriptionSource,
): Promise<{ subscriptions: string[]; unavailable: number[] }> {
  const url = new URL(`/v1/subscriptions?${SERVED_HERE_PARAMETER}=here`, base);
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const signal = AbortSignal.timeout(source.peerTimeoutMs);
    const answered = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        if (response.statusCode !== 200) {
          reject(new Error(`${base} answered ${response.statusCode}`));
          return;
        }
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            subscriptions?: unknown;
            unavailable?: unknown;
          };
          const names = body.subscriptions;
          if (!Array.isArray(names) || !names.every((name) => typeof name === 'string'))
            throw new Error(`${base} answered no list of names`);
          const loading = Array.isArray(body.unavailable)
            ? body.unavailable.filter((index): index is number => Number.isInteger(index))
            : [];
          resolve({ subscriptions: names as string[], unavailable: loading });
        } catch (error) {
          reject(error);
        }
      });
    };
    const asked = secure
      ? httpsRequest(url, { headers, signal, ...source.peerTls?.() }, answered)
      : httpRequest(url, { headers, signal }, answered);
    asked.on('error', reject);
    asked.end();
  });
}
