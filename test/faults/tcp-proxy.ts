// A TCP proxy (node:net) to put between clients and a broker, or between two brokers, and cut:
//
//   client ──▶ proxy (listens on `port`) ──▶ target host:port
//
// `partition()` black-holes every connection through it, open or new: bytes are read and thrown
// away in both directions, so each side sees silence, not a reset, as on a lost network, until
// `heal()`. Healing drops the black-holed connections (as a peer's timeout eventually would) and
// forwards new ones again. The target can change (a broker restarted on another port).
// `partitionSome(match)` cuts only the connections whose first bytes match (one broker's Kafka
// client id, say), open or new, so one peer is cut off while the others keep flowing.

import { createServer, type Server, type Socket, connect } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** True while partition() or partitionSome() holds, until heal(). */
  readonly partitioned: boolean;
  /** Connections accepted so far (a test checks traffic really went through the proxy). */
  readonly connectionCount: number;
  /** Bytes read from black-holed connections and thrown away. */
  readonly discardedBytes: number;
  setTarget(target: { host: string; port: number }): void;
  partition(): void;
  /** Black-holes only the connections, open or new, whose first bytes `match`, until heal(). */
  partitionSome(match: (firstBytes: Buffer) => boolean): void;
  heal(): void;
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** The first chunk the client sent, which partitionSome judges the connection by. */
  firstBytes: Buffer | undefined;
}

export async function startTcpProxy(target?: { host: string; port: number }): Promise<TcpProxy> {
  let destination = target;
  let partitioned = false;
  let selective: ((firstBytes: Buffer) => boolean) | undefined;
  let connectionCount = 0;
  let discardedBytes = 0;
  const live = new Set<Link>();
  const blackholed = new Set<Socket>();

  const server: Server = createServer((client) => {
    connectionCount++;
    client.on('error', () => client.destroy());
    if (partitioned || destination === undefined) {
      // Read and discard: the peer sees its bytes vanish, as on a partitioned network.
      silence(client);
      return;
    }
    const upstream = connect(destination.port, destination.host);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const link: Link = { client, upstream, firstBytes: undefined };
    // Forwarded by hand rather than piped, so a connection can be judged by its first bytes
    // before any of them reach the target.
    client.on('data', (chunk: Buffer) => {
      if (!live.has(link)) return;
      if (link.firstBytes === undefined) {
        link.firstBytes = chunk;
        if (selective?.(chunk)) {
          discardedBytes += chunk.length;
          cut(link);
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    live.add(link);
    client.on('close', () => live.delete(link));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('the TCP proxy has no port after listening');

  const dropAll = (sockets: Set<Socket>): void => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const silence = (socket: Socket): void => {
    socket.on('data', (chunk: Buffer) => (discardedBytes += chunk.length));
    socket.resume();
    blackholed.add(socket);
    socket.on('close', () => blackholed.delete(socket));
  };
  const cut = (link: Link): void => {
    live.delete(link);
    link.upstream.unpipe(link.client);
    silence(link.client);
    silence(link.upstream);
  };
  return {
    port: address.port,
    get partitioned() {
      return partitioned || selective !== undefined;
    },
    get connectionCount() {
      return connectionCount;
    },
    get discardedBytes() {
      return discardedBytes;
    },
    setTarget(next) {
      destination = next;
    },
    partition() {
      partitioned = true;
      for (const link of [...live]) cut(link);
    },
    partitionSome(match) {
      selective = match;
      for (const link of [...live])
        if (link.firstBytes !== undefined && match(link.firstBytes)) cut(link);
    },
    heal() {
      partitioned = false;
      selective = undefined;
      dropAll(blackholed);
    },
    async close() {
      for (const { client, upstream } of live) {
        client.destroy();
        upstream.destroy();
      }
      live.clear();
      dropAll(blackholed);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
