// The TCP proxy as a fault driver: it forwards, a partition makes the link silent (bytes vanish,
// no reset), and healing restores it. Then the scenario: idempotent producers reach the broker
// only through the proxy (the broker advertises the proxy's port), and the link is partitioned
// and healed at seeded moments. Nothing acknowledged may be lost, duplicated or reordered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { startSingleBroker } from './fault-cluster.js';
import { repeatFaults, singleBrokerLoad } from './fault-schedule.js';
import { seededDelay, runUnderLoad } from './scenario.js';
import { waitFor } from '../helpers/poll.js';
import { faultDurationMs, faultSeeds } from './seeds.js';
import { startTcpProxy } from './tcp-proxy.js';

const file = 'test/faults/tcp-proxy.test.ts';

interface ProxiedConnection {
  socket: Socket;
  received: () => string;
  closed: () => boolean;
}

/** An echo server behind a proxy; `open` connects to it through the proxy. */
async function echoBehindProxy() {
  const echoed = { bytes: 0 };
  const echo = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => (echoed.bytes += chunk.length));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  const echoPort = (echo.address() as { port: number }).port;
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: echoPort });
  const sockets: Socket[] = [];
  const open = async (): Promise<ProxiedConnection> => {
    const socket = connect(proxy.port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    return { socket, received: () => received, closed: () => closed };
  };
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  };
  return { proxy, open, close, serverBytes: () => echoed.bytes };
}

test('the proxy forwards, goes silent while partitioned, and forwards again once healed', async () => {
  const { proxy, open, close, serverBytes: echoedBytes } = await echoBehindProxy();
  try {
    const before = await open();
    before.socket.write('one');
    await waitFor(() => before.received() === 'one', 'the echo through the proxy', {
      timeoutMs: 5_000,
    });

    proxy.partition();
    before.socket.write('two');
    const during = await open();
    during.socket.write('three');
    // Once the proxy has swallowed both writes, nothing of them may have reached the server or
    // come back, and neither connection may have been reset.
    await waitFor(
      () => proxy.discardedBytes >= 'twothree'.length,
      'the proxy to swallow the writes',
      { timeoutMs: 5_000 },
    );
    assert.deepEqual(
      {
        serverBytes: echoedBytes(),
        before: before.received(),
        during: during.received(),
        closed: before.closed() || during.closed(),
      },
      { serverBytes: 'one'.length, before: 'one', during: '', closed: false },
    );

    proxy.heal();
    await waitFor(
      () => before.closed() && during.closed(),
      'the partitioned connections to be dropped',
      { timeoutMs: 5_000 },
    );
    const after = await open();
    after.socket.write('four');
    await waitFor(() => after.received() === 'four', 'the echo after healing', {
      timeoutMs: 5_000,
    });
    assert.equal(proxy.connectionCount, 3);
  } finally {
    await close();
  }
});

test('a partial partition cuts only the connections whose first bytes match, open or new', async () => {
  const { proxy, open, close } = await echoBehindProxy();
  try {
    const [cutBefore, keptBefore] = [await open(), await open()];
    cutBefore.socket.write('cut:1');
    keptBefore.socket.write('keep:1');
    await waitFor(
      () => cutBefore.received() === 'cut:1' && keptBefore.received() === 'keep:1',
      'both echoes before the cut',
      { timeoutMs: 5_000 },
    );
    proxy.partitionSome((firstBytes) => firstBytes.toString().startsWith('cut:'));
    assert.equal(proxy.partitioned, true);
    const [cutAfter, keptAfter] = [await open(), await open()];
    cutBefore.socket.write('+lost');
    cutAfter.socket.write('cut:2');
    keptBefore.socket.write('+kept');
    keptAfter.socket.write('keep:2');
    await waitFor(
      () => keptBefore.received() === 'keep:1+kept' && keptAfter.received() === 'keep:2',
      'the echoes of the connections that do not match',
      { timeoutMs: 5_000 },
    );
    await waitFor(
      () => proxy.discardedBytes >= '+lostcut:2'.length,
      'the proxy to swallow what the matching connections sent',
      { timeoutMs: 5_000 },
    );
    assert.deepEqual([cutBefore.received(), cutAfter.received()], ['cut:1', '']);

    proxy.heal();
    await waitFor(
      () => cutBefore.closed() && cutAfter.closed(),
      'the cut connections to be dropped',
      { timeoutMs: 5_000 },
    );
    assert.equal(keptBefore.closed() || keptAfter.closed(), false, 'the others stay open');
  } finally {
    await close();
  }
});

for (const seed of faultSeeds('tcp-proxy')) {
  test(`acknowledged records survive partitions between clients and the broker (seed ${seed})`, async () => {
    const proxy = await startTcpProxy();
    const cluster = await startSingleBroker({ advertisedPort: proxy.port });
    const [broker] = cluster.brokers;
    const [host, port] = broker.address.split(':');
    proxy.setTarget({ host, port: Number(port) });
    try {
      let partitions = 0;
      const { acknowledged, read, history } = await runUnderLoad({
        cluster,
        seed,
        file,
        ...singleBrokerLoad,
        requestTimeoutMs: 1_500,
        async faults({ history, random }) {
          partitions = await repeatFaults(faultDurationMs(5_000), 2, async () => {
            await seededDelay(random, 200, 800);
            history.record({ type: 'fault', description: 'partition clients from the broker' });
            proxy.partition();
            await seededDelay(random, 300, 3_000);
            history.record({ type: 'fault', description: 'heal the partition' });
            proxy.heal();
          });
        },
      });
      assert.ok(partitions >= 2, `only ${partitions} partitions happened`);
      assert.ok(proxy.connectionCount > 0, 'no client connected through the proxy');
      console.log(
        `seed ${seed}: ${partitions} partitions, ${acknowledged} acknowledged, ` +
          `${history.count('fail')} sends given up, ${read} read`,
      );
    } finally {
      await cluster.stop();
      await proxy.close();
    }
  });
}
