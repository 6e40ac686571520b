// Cluster mode: ShareFetch and ShareAcknowledge sent to a broker that does not serve the share
// group. A Kafka share consumer sends them to each partition's leader, and only one broker (the
// leader of the group's __share_group_state partition) holds the group's records and states, so
// the others pass the request on to it over the inter-broker listener and pass its answer back.
//
//   client ──ShareFetch──► leader of p (not the owner) ──same request──► owner ──► engine
//          ◄──────────────── its answer, as it came ◄────────────────────┘
//
// Each client connection gets its own inter-broker connection (opened at its first forwarded
// request, closed with it): the owner keys a forwarded share session by the connection it came
// on (`forwardedOrigin`), so the epochs a client keeps with this broker never meet those it keeps
// with the owner or another broker, and one client's long poll never holds another's answer (a
// connection answers in order).
//
// Kafka clients find a share group's coordinator with FindCoordinator key type 0 (GROUP), which
// names the id's classic coordinator (the leader of its __consumer_offsets partition), not the
// group's owner. That one broker passes the group's coordinator requests (ShareGroupHeartbeat,
// ShareGroupDescribe, the share-group offsets APIs) on to the owner the same way
// (`viaClassicCoordinator`), and DeleteGroups of ids it holds no classic group of
// (`deleteGroupsViaOwners`); every other broker answers them NOT_COORDINATOR.
//
// Owned by the broker (broker.ts); closed with it.

import type { KafkaConnection } from '../../client/kafka-connection.js';
import type { InterBrokerConnector } from '../../cluster/inter-broker-connection.js';
import type { ApiHandler, RequestContext } from '../../handlers/registry.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js';
import { ApiKey, type RequestOf, type ResponseInputOf } from '../../protocol/generated/index.js';

/**
 * The client id of forwarding connections; the owner tells forwarded requests by it. A
 * connection forwarding one client's requests carries that client's id and address after it
 * (`brook-share-forwarder/<host>/<client id>`, each part URI-encoded), so the owner shows the
 * member's own client in ShareGroupDescribe, not the broker that passed its heartbeats on.
 */
export const SHARE_FORWARDER_CLIENT_ID = 'brook-share-forwarder';

/** The client id of the connection forwarding `context`'s client's requests. */
function forwardingClientId(context: RequestContext): string {
  const host = encodeURIComponent(context.remoteAddress);
  return `${SHARE_FORWARDER_CLIENT_ID}/${host}/${encodeURIComponent(context.clientId ?? '')}`;
}

/** Whether a request came through another broker's forwarding connection. */
function isForwarded(context: RequestContext): boolean {
  const clientId = context.clientId ?? '';
  return (
    clientId === SHARE_FORWARDER_CLIENT_ID || clientId.startsWith(`${SHARE_FORWARDER_CLIENT_ID}/`)
  );
}

/**
 * The client a request comes from: its own connection's, or for one forwarded by another broker,
 * the client that broker forwards for.
 */
export function originalClient(context: RequestContext): { clientId: string; clientHost: string } {
  const own = { clientId: context.clientId ?? '', clientHost: context.remoteAddress };
  if (!isForwarded(context)) return own;
  const [, host, clientId] = (context.clientId ?? '').split('/');
  if (host === undefined || clientId === undefined) return own;
  try {
    return { clientId: decodeURIComponent(clientId), clientHost: decodeURIComponent(host) };
  } catch {
    return own;
  }
}

/** How much longer than a request's own wait (ShareFetch's MaxWaitMs) its forward may take. */
const FORWARD_GRACE_MS = 10_000;

export interface ShareForwarder {
  /**
   * Sends `request` (as decoded) to broker `owner` with the same API and version and resolves
   * to its answer; rejects when the owner cannot be reached (the client retries).
   */
  forward<Response>(
    owner: number,
    context: RequestContext,
    request: unknown,
    waitMs?: number,
  ): Promise<Response>;
  close(): void;
}

/**
 * The share session key of a request: '' for a client's own connection, the connection for one
 * forwarded by another broker (one inter-broker connection per client connection).
 */
export function forwardedOrigin(context: RequestContext): string {
  return isForwarded(context) ? `forwarded:${context.connectionId}` : '';
}

export function shareForwarder(connector: InterBrokerConnector): ShareForwarder {
  const connections = new Map<number, { owner: number; open: Promise<KafkaConnection> }>();
  /** Client connections whose closing is watched (once each). */
  const watched = new Set<number>();
  let closed = false;

  const drop = (connectionId: number): void => {
    const entry = connections.get(connectionId);
    if (entry === undefined) return;
    connections.delete(connectionId);
    entry.open.then((connection) => connection.close()).catch(() => undefined);
  };

  const connectionFor = (owner: number, context: RequestContext): Promise<KafkaConnection> => {
    const existing = connections.get(context.connectionId);
    if (existing?.owner === owner) return existing.open;
    drop(context.connectionId);
    const open = connector.open(owner, forwardingClientId(context));
    const entry = { owner, open };
    connections.set(context.connectionId, entry);
    if (!watched.has(context.connectionId)) {
      watched.add(context.connectionId);
      context.signal.addEventListener(
        'abort',
        () => {
          watched.delete(context.connectionId);
          drop(context.connectionId);
        },
        { once: true },
      );
    }
    open.catch(() => {
      if (connections.get(context.connectionId) === entry) connections.delete(context.connectionId);
    });
    return open;
  };

  return {
    async forward<Response>(
      owner: number,
      context: RequestContext,
      request: unknown,
      waitMs = 0,
    ): Promise<Response> {
      if (closed) throw new Error('the share forwarder is closed');
      if (context.signal.aborted) throw new Error('the client connection closed');
      const connection = await connectionFor(owner, context);
      try {
        return await withTimeout(
          connection.request<Response>(context.apiKey, context.apiVersion, request),
          waitMs + FORWARD_GRACE_MS,
        );
      } catch (error) {
        // A failed connection fails every later request: the next forward opens a new one.
        drop(context.connectionId);
        throw error;
      }
    },
    close() {
      closed = true;
      for (const connectionId of [...connections.keys()]) drop(connectionId);
    },
  };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from the share group's broker in ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface CoordinatorRoute {
  /** The broker serving the share group when another one does. */
  readonly servedElsewhere: (groupId: string) => number | undefined;
  /** Whether this broker is the classic coordinator of the id (FindCoordinator key type 0). */
  readonly isClassicCoordinator: (groupId: string) => boolean;
}

/**
 * `handler`, except that a request this broker receives as the classic coordinator of its groups
 * (all served by one other broker) is answered by that broker. A request naming groups of
 * several owners, or forwarded itself, or whose forward fails, is answered here (NOT_COORDINATOR
 * for a group served elsewhere).
 */
export function viaClassicCoordinator<K extends ApiKey>(
  handler: ApiHandler<K>,
  groupIdsOf: (request: RequestOf<K>) => readonly string[],
  route: CoordinatorRoute,
  forwarder: ShareForwarder,
): ApiHandler<K> {
  const targetOf = (request: RequestOf<K>, context: RequestContext): number | undefined => {
    if (forwardedOrigin(context) !== '') return undefined;
    const groupIds = groupIdsOf(request);
    if (groupIds.length === 0) return undefined;
    const owners = new Set(groupIds.map((groupId) => route.servedElsewhere(groupId)));
    const [owner] = owners;
    if (owners.size !== 1 || owner === undefined) return undefined;
    return groupIds.every((groupId) => route.isClassicCoordinator(groupId)) ? owner : undefined;
  };
  return {
    ...handler,
    handle: async (request, context) => {
      const owner = targetOf(request, context);
      if (owner === undefined) return handler.handle(request, context);
      try {
        return await forwarder.forward<ResponseInputOf<K>>(owner, context, request);
      } catch {
        return handler.handle(request, context);
      }
    },
  };
}

/**
 * DeleteGroups at the classic coordinator of its ids: an id it does not know (GROUP_ID_NOT_FOUND)
 * whose share group another broker serves is asked of that broker, whose answer stands unless it
 * is NOT_COORDINATOR (it holds no share group of that id either, and is not the id's classic
 * coordinator) or the forward fails.
 */
export function deleteGroupsViaOwners(
  handler: ApiHandler<typeof ApiKey.DeleteGroups>,
  route: CoordinatorRoute,
  forwarder: ShareForwarder,
): ApiHandler<typeof ApiKey.DeleteGroups> {
  return {
    ...handler,
    handle: async (request, context) => {
      const answer = await handler.handle(request, context);
      if (typeof answer !== 'object' || forwardedOrigin(context) !== '') return answer;
      const byOwner = new Map<number, string[]>();
      for (const { groupId, errorCode } of answer.results) {
        if (errorCode !== ErrorCode.GROUP_ID_NOT_FOUND || !route.isClassicCoordinator(groupId))
          continue;
        const owner = route.servedElsewhere(groupId);
        if (owner !== undefined) byOwner.set(owner, [...(byOwner.get(owner) ?? []), groupId]);
      }
      if (byOwner.size === 0) return answer;
      const results = new Map(answer.results.map((result) => [result.groupId, result]));
      for (const [owner, groupsNames] of byOwner) {
        const forwarded = await forwarder
          .forward<DeleteGroupsResponse>(owner, context, { groupsNames })
          .catch(() => null);
        for (const result of forwarded?.results ?? [])
          if (results.has(result.groupId) && result.errorCode !== ErrorCode.NOT_COORDINATOR)
            results.set(result.groupId, result);
      }
      return { ...answer, results: [...results.values()] };
    },
  };
}
