// num.io.threads 3 on Node 22: two network threads bind each listener's port with SO_REUSEPORT
// and the kernel spreads the connections over them (Node 20, which runs the other tests, cannot
// share a port between threads, so there it is one network thread). The brokers and the server's
// own tests run on the Node 22 that .ci/install-node22.sh installs, as child processes; real
// clients (kafkajs, kcat on librdkafka) drive them from here. That both threads serve is read from
// the broker's metrics, which count each thread's connections.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { runChecked, runProcess } from '../helpers/clients.js';
import { newerNode, newerNodeSkip } from '../helpers/newer-node.js';
import { readBackByKey } from '../helpers/kafkajs-read.js';
import { waitFor } from '../helpers/poll.js';
import { sample } from '../helpers/prometheus-text.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const node22 = newerNode();
const skip = newerNodeSkip(node22);

test("the server's tests pass with two network threads sharing each port", { skip }, async () => {
  assert.ok(node22 !== null, 'CI installs Node 22: bash .ci/install-node22.sh');
  const { exitCode, stdout, stderr } = await runProcess(
    node22.node,
    [...node22.nodeArgs, '--import', 'tsx', '--test', 'test/server/server.test.ts'],
    {
      timeoutMs: 180_000,
      // NODE_TEST_CONTEXT would make the child report to this runner instead of running.
      env: {
        ...process.env,
        NODE_TEST_CONTEXT: undefined,
        BROOK_TEST_SERVER_IO_THREADS: '3',
        BROOK_TEST_SERVER_NETWORK_THREADS: '2',
      },
    },
  );
  const output = stdout + stderr;
  assert.equal(exitCode, 0, output);
  // Among them: 'connections spread over the network threads', which asks for two threads here.
  assert.match(output, /^ok \d+ - connections spread over the network threads/m, output);
  assert.match(output, /^# fail 0$/m, output);
});

test(
  'a broker of num.io.threads 3 on Node 22: clients spread over both network threads, every record read back, a clean stop',
  { skip },
  async (t) => {
    assert.ok(node22 !== null, 'CI installs Node 22: bash .ci/install-node22.sh');
    const broker = await startBrokerProcess({
      logDir: temporaryDirectory(t, 'brook-reuse-port-'),
      node: node22.node,
      nodeArgs: node22.nodeArgs,
      args: ['--num-io-threads', '3', '--http-listeners', 'http://127.0.0.1:0'],
    });
    t.after(() => broker.kill());
    assert.match(broker.output(), /"networkThreads":2/, broker.output());
    const http = await waitFor(
      () => /HTTP on http:\/\/([^\s]+) /.exec(broker.output())?.[1],
      () => `the HTTP listener in the broker's output:\n${broker.output()}`,
    );
    const metric = async (name: string, labels: Record<string, string> = {}) =>
      sample(await (await fetch(`http://${http}/metrics`)).text(), name, labels) ?? 0;

    const kafka = (clientId: string) =>
      new Kafka({ clientId, brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
    const admin = kafka('admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 4 }] });
    await admin.disconnect();

    // Twelve producers, each its own client and connections, all open at once.
    const producers = Array.from({ length: 12 }, (_, index) => kafka(`p${index}`).producer());
    await Promise.all(producers.map((producer) => producer.connect()));
    const sent = new Map<string, string>();
    await Promise.all(
      producers.map((producer, index) => {
        const messages = Array.from({ length: 50 }, (_, record) => {
          const key = `p${index}-${record}`;
          const value = `${key}:${'v'.repeat(record * 40)}`;
          sent.set(key, value);
          return { key, value };
        });
        return producer.send({ topic: 'spread', acks: -1, messages });
      }),
    );
    const counts = [
      await metric('brook_network_thread_connections', { thread: '0' }),
      await metric('brook_network_thread_connections', { thread: '1' }),
    ];
    assert.equal(counts[0] + counts[1], await metric('brook_connections'));
    // The kernel hashes each connection to one of the two sockets; twelve clients are connected.
    assert.ok(counts[0] > 0 && counts[1] > 0, `connections per network thread: ${counts}`);
    await Promise.all(producers.map((producer) => producer.disconnect()));

    // librdkafka too, through the same port.
    const lines = Array.from({ length: 1_000 }, (_, index) => `kcat-${index}`);
    await runChecked(
      'kcat',
      ['-b', broker.bootstrapServers, '-P', '-t', 'kcat-spread', '-X', 'acks=all'],
      {
        input: lines.join('\n'),
        timeoutMs: 60_000,
      },
    );
    const read = await runChecked(
      'kcat',
      ['-b', broker.bootstrapServers, '-C', '-t', 'kcat-spread', '-o', 'beginning', '-e'],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(read.trim().split('\n'), lines);

    const received = await readBackByKey(kafka('reader'), 'spread', sent.size, {
      groupId: 'spread-readers',
    });
    assert.deepEqual(received, sent);

    assert.equal(await broker.stop(), 0, broker.output());
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(broker.port, broker.host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    assert.ok(refused, 'the port accepts nothing once the broker has stopped');
  },
);
