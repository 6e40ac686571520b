// num.io.threads 2: a network thread owns the listeners' sockets (accept, TLS, reads, framing,
// writes) and the event loop serves their requests. Real brokers, real clients (kafkajs,
// kcat on librdkafka) and raw frames; that the sockets really are another thread's is checked by
// the event loop's own handles (process.getActiveResourcesInfo lists this thread's only).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import {
  handshakeOnWire,
  listenerAddress,
  plainToken,
  sendRequest,
  startSaslBroker,
} from '../helpers/sasl.js';
import { connectWireClient, correlationIdOf, requestFrame } from '../helpers/wire-client.js';
import { codecsOf } from '../helpers/codecs.js';
import { readBackByKey } from '../helpers/kafkajs-read.js';
import { waitFor } from '../helpers/poll.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { makeTestCertificates } from '../security/certificates.js';
import { mutualTls } from '../security/mutual-tls.js';
import { silentLogger, startServer } from '../../src/server/index.js';
import { reusePortAvailable } from '../../src/server/network-thread.js';

function tcpServersOfThisThread(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPServerWrap').length;
}

async function startThreaded(t: { after(fn: () => Promise<void>): void }, ioThreads = 2) {
  const broker = await startBroker({
    settings: { 'num.io.threads': ioThreads, 'message.max.bytes': 8 * 1024 * 1024 },
  });
  t.after(() => broker.stop());
  return broker;
}

function kafkaOf(broker: Broker, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [`127.0.0.1:${broker.listeners[0].port}`],
    logLevel: logLevel.NOTHING,
  });
}

function runKcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr}`));
    });
    child.stdin.end(input ?? '');
  });
}

test('with num.io.threads 1 the event loop listens itself; with 2 it holds no listening socket', async (t) => {
  const before = tcpServersOfThisThread();
  await startThreaded(t, 1);
  assert.equal(tcpServersOfThisThread(), before + 1);
  await startThreaded(t, 2);
  assert.equal(tcpServersOfThisThread(), before + 1, 'the second broker listens on another thread');
});

test('kafkajs produces and reads back records of every size, through a group, over the network thread', async (t) => {
  const broker = await startThreaded(t);
  const kafka = kafkaOf(broker, 'network-thread');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'sizes', numPartitions: 3 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  // Small frames travel packed, large ones (above 4 KiB) as their own buffer, and 3 MiB spans
  // many socket reads.
  const sizes = [1, 100, 4_000, 5_000, 70_000, 3 * 1024 * 1024];
  const sent = new Map<string, string>();
  for (const [index, size] of sizes.entries()) {
    const messages = Array.from({ length: 5 }, (_, copy) => {
      const key = `k${index}-${copy}`;
      const value = String.fromCharCode(97 + ((index + copy) % 26)).repeat(size);
      sent.set(key, value);
      return { key, value };
    });
    await producer.send({ topic: 'sizes', messages });
  }
  await producer.disconnect();
  const received = await readBackByKey(kafka, 'sizes', sent.size, {
    groupId: 'sizes-readers',
    maxBytes: 64 * 1024 * 1024,
  });
  for (const [key, value] of sent) assert.equal(received.get(key), value, key);
});

test('kcat (librdkafka) produces and consumes over the network thread', async (t) => {
  const broker = await startThreaded(t);
  const bootstrap = `127.0.0.1:${broker.listeners[0].port}`;
  const lines = Array.from({ length: 2_000 }, (_, index) => `record-${index}`);
  await runKcat(['-b', bootstrap, '-P', '-t', 'kcat-topic', '-X', 'acks=all'], lines.join('\n'));
  const read = await runKcat(['-b', bootstrap, '-C', '-t', 'kcat-topic', '-o', 'beginning', '-e']);
  assert.deepEqual(read.trim().split('\n'), lines);
});

test('frames pipelined in one write are answered in order; a negative length closes only its connection', async (t) => {
  const broker = await startThreaded(t);
  const port = broker.listeners[0].port;
  const codec = codecsOf(ApiKey.ApiVersions);
  const frames = Array.from({ length: 60 }, (_, index) =>
    requestFrame({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: index + 1 }, (w) =>
      codec.request.encode(w, 3, {
        clientSoftwareName: 'pipe',
        clientSoftwareVersion: '1',
      } as never),
    ),
  );
  const client = await connectWireClient(port);
  t.after(() => client.close());
  await client.send(Buffer.concat(frames));
  await waitFor(() => client.frames.length === frames.length, 'every response', {
    timeoutMs: 10_000,
  });
  assert.deepEqual(
    client.frames.map((frame) => correlationIdOf(frame)),
    frames.map((_, index) => index + 1),
  );

  const bad = await connectWireClient(port);
  t.after(() => bad.close());
  await bad.send(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  await bad.closed;
  await client.send(frames[0]);
  await waitFor(() => client.frames.length === frames.length + 1, 'the other connection served', {
    timeoutMs: 10_000,
  });
});

test('SASL_PLAINTEXT over the network thread: small frames until authenticated, then a 2 MiB produce', async (t) => {
  const { admin, broker } = await startSaslBroker(t, {
    'num.io.threads': 2,
    'sasl.server.max.receive.size': 1024,
    'message.max.bytes': 8 * 1024 * 1024,
  });
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  const address = listenerAddress(broker, 'SASL_PLAINTEXT');

  // Above the limit before authentication: the frame is refused and the connection closed.
  const client = await connectWireClient(Number(address.split(':')[1]));
  t.after(() => client.close());
  await sendRequest(
    client,
    { apiKey: ApiKey.SaslHandshake, apiVersion: 1, correlationId: 1 },
    { mechanism: 'PLAIN' },
  );
  await client.nextFrame();
  await sendRequest(
    client,
    { apiKey: ApiKey.SaslAuthenticate, apiVersion: 1, correlationId: 2 },
    { authBytes: Buffer.alloc(4096, 0x61) },
  );
  await client.closed;
  assert.equal(client.frames.length, 1);

  // The first request after authenticating may be far above it: the new limit reached the other
  // thread before the answer that allowed it reached the client.
  const authenticated = await connectWireClient(Number(address.split(':')[1]));
  t.after(() => authenticated.close());
  await handshakeOnWire(authenticated, 1, 'PLAIN');
  await sendRequest(
    authenticated,
    { apiKey: ApiKey.SaslAuthenticate, apiVersion: 1, correlationId: 2 },
    { authBytes: plainToken('alice', 'alice-secret') },
  );
  await authenticated.nextFrame(10_000);
  await sendRequest(
    authenticated,
    { apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 3 },
    {
      topics: Array.from({ length: 100 }, (_, index) => ({
        topicId: null,
        name: `a-topic-with-a-rather-long-name-${index}`,
      })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    },
  );
  const metadata = await authenticated.nextFrame(10_000);
  assert.equal(correlationIdOf(metadata), 3);

  // And through a real client, a 2 MiB produce.
  const kafka = new Kafka({
    clientId: 'sasl-network-thread',
    brokers: [address],
    sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const [result] = await producer.send({
      topic: 'after-auth',
      messages: [{ value: Buffer.alloc(2 * 1024 * 1024, 0x62) }],
    });
    assert.equal(result.errorCode, 0);
  } finally {
    await producer.disconnect();
  }
});

test('stop closes the network thread: open connections end and the port stops accepting', async () => {
  const broker = await startBroker({ settings: { 'num.io.threads': 2 } });
  const port = broker.listeners[0].port;
  const idle = await connectWireClient(port);
  await broker.stop();
  await idle.closed;
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
  assert.equal(refused, true, 'nothing listens on the port after stop');
});

test('an SSL listener on the network thread: mutual TLS principals mapped, a client without a certificate refused and logged', async (t) => {
  const { registry, tls, principals, heartbeat } = mutualTls(
    makeTestCertificates(temporaryDirectory(t)),
  );
  const warnings: string[] = [];
  const infos: string[] = [];
  const before = tcpServersOfThisThread();
  const server = await startServer({
    listeners: [{ name: 'SSL', host: '127.0.0.1', port: 0 }],
    registry,
    security: new Map([['SSL', { protocol: 'SSL', tls, sasl: null }]]),
    logger: {
      ...silentLogger,
      info: (message) => infos.push(message),
      warn: (message) => warnings.push(message),
    },
    ioThreads: 2,
  });
  t.after(() => server.stop());
  assert.ok(
    infos.some((message) => message.startsWith('network threads serve the Kafka listeners')),
    'the start says the setting took a network thread',
  );
  assert.equal(tcpServersOfThisThread(), before, 'the TLS listener is the network thread’s');
  const address = `127.0.0.1:${server.listeners[0].port}`;
  await heartbeat(address, 'Alice');
  await heartbeat(address, 'Bob');
  assert.deepEqual(principals, ['User:alice', 'User:CN=Bob,OU=sales,O=Brook']);

  await assert.rejects(heartbeat(address, null));
  assert.equal(principals.length, 2);
  await waitFor(() => warnings.includes('TLS handshake failed'), 'the failed handshake logged');
});

test('several network threads only where Node shares a port between them (22.12, 23.1, on Linux)', () => {
  for (const [version, platform, expected] of [
    ['20.20.2', 'linux', false],
    ['22.11.0', 'linux', false],
    ['22.12.0', 'linux', true],
    ['23.0.0', 'linux', false],
    ['23.1.0', 'linux', true],
    ['24.0.0', 'linux', true],
    ['24.0.0', 'darwin', false],
  ] as const)
    assert.equal(reusePortAvailable(version, platform), expected, `${version} on ${platform}`);
});
