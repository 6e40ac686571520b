// A Kafka KRaft server.properties names a CONTROLLER listener in controller.listener.names. Brook
// has no controller quorum: it must not open that listener for clients, and says so.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ConfigErrorCode, loadBrokerConfig } from '../../src/config/index.js';
import { spawnBrook } from '../helpers/brook-cli.js';
import { waitFor } from '../helpers/poll.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The settings of Kafka's KRaft quickstart file that concern listeners, on the given ports. */
function kraftProperties(clientPort: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${clientPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'inter.broker.listener.name=PLAINTEXT',
    `advertised.listeners=PLAINTEXT://127.0.0.1:${clientPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'num.partitions=1',
    '',
  ].join('\n');
}

test('brook start with a KRaft server.properties serves clients only on the client listener', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'brook-kraft-'));
  const clientPort = await freePort();
  const controllerPort = await freePort();
  const file = join(directory, 'server.properties');
  writeFileSync(file, kraftProperties(clientPort, controllerPort) + `log.dirs=${directory}/data\n`);
  const { child, output } = spawnBrook(['start', '--config', file]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => /bootstrap servers/.test(output().stdout), 'the broker to start', {
      timeoutMs: 30_000,
    });
    assert.doesNotMatch(output().stdout, /CONTROLLER/);
    assert.match(output().stderr, /listener CONTROLLER is named in controller\.listener\.names/);
    assert.equal(await connects(controllerPort), false, 'the controller port is not open');

    const admin = new Kafka({
      brokers: [`127.0.0.1:${clientPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(
        cluster.brokers.map((broker) => broker.port),
        [clientPort],
        'Metadata advertises the client listener only',
      );
    } finally {
      await admin.disconnect();
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output().stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('listeners that are all controller listeners are refused, naming listeners', () => {
  assert.throws(
    () =>
      loadBrokerConfig({
        environment: {},
        args: [
          '--listeners',
          'CONTROLLER://127.0.0.1:0',
          '--override',
          'controller.listener.names=CONTROLLER',
          '--listener-security-protocol-map',
          'CONTROLLER:PLAINTEXT',
        ],
      }),
    (error: unknown) =>
      (error as { code?: string }).code === ConfigErrorCode.CONFLICT &&
      /listeners names only controller listeners/.test((error as Error).message),
  );
});
