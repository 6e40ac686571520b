import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import type { ServerLogger } from '../../src/server/logger.js';
import { waitFor } from '../helpers/poll.js';
import { type WireClient, connectWireClient } from '../helpers/wire-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { AlterClientQuotasResponse } from '../../src/protocol/generated/alter-client-quotas.js';
import { callBroker, requestFrame } from '../helpers/wire-client.js';

function capturingLogger(): ServerLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    info() {},
    warn(message, fields) {
      warnings.push(`${message} ${JSON.stringify(fields ?? {})}`);
    },
    error() {},
  };
}

/** An ApiVersions v0 round trip: proves the connection is served, not merely accepted. */
async function assertServed(client: WireClient, correlationId: number): Promise<void> {
  await client.send(
    requestFrame({ apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId }, () => undefined),
  );
  const frame = await client.nextFrame(10_000);
  assert.equal(frame.readInt32BE(0), correlationId);
}

test('max.connections refuses the connection above it, logs once, and accepts again after one closes', async (t) => {
  const logger = capturingLogger();
  const broker = await startBroker({ settings: { 'max.connections': 2 }, logger });
  t.after(() => broker.stop());
  const port = broker.listeners[0].port;
  const first = await connectWireClient(port);
  const second = await connectWireClient(port);
  await assertServed(first, 1);
  await assertServed(second, 2);
  const refused: WireClient[] = [];
  for (let index = 0; index < 3; index++) refused.push(await connectWireClient(port));
  for (const client of refused) {
    await waitFor(() => client.isClosed(), 'a connection above max.connections to be closed', {
      timeoutMs: 10_000,
    });
  }
  // Three refusals within the log interval: one line.
  assert.equal(
    logger.warnings.filter((line) => line.includes('max.connections reached')).length,
    1,
  );
  first.close();
  await waitFor(async () => {
    const again = await connectWireClient(port);
    try {
      await assertServed(again, 3);
      return true;
    } catch {
      return false;
    } finally {
      again.close();
    }
  }, 'a connection to be accepted once one has closed');
  second.close();
});

test('max.connections.per.ip.overrides lifts max.connections.per.ip for one address', async (t) => {
  const broker = await startBroker({
    settings: {
      'max.connections.per.ip': 1,
      'max.connections.per.ip.overrides': '127.0.0.1:3,10.1.1.1:0',
    },
  });
  t.after(() => broker.stop());
  const port = broker.listeners[0].port;
  const clients: WireClient[] = [];
  for (let index = 0; index < 3; index++) {
    const client = await connectWireClient(port);
    clients.push(client);
    await assertServed(client, index);
  }
  const fourth = await connectWireClient(port);
  await waitFor(() => fourth.isClosed(), 'the fourth connection from 127.0.0.1 to be closed', {
    timeoutMs: 10_000,
  });
  clients[0].close();
  await waitFor(async () => {
    const again = await connectWireClient(port);
    try {
      await assertServed(again, 9);
      clients.push(again);
      return true;
    } catch {
      again.close();
      return false;
    }
  }, 'a connection to be accepted once one has closed');
  for (const client of clients) client.close();
});

test('max.connection.creation.rate closes connections opened faster than the rate, counted in the metrics', async (t) => {
  // Two windows of 10 s: the rate is measured over at least 10 s, so 2/s admits 20 connections
  // and refuses the 21st however slowly this machine opens them.
  const broker = await startBroker({
    settings: {
      'max.connection.creation.rate': 2,
      'quota.window.num': 2,
      'quota.window.size.seconds': 10,
      'http.listeners': 'http://127.0.0.1:0',
    },
  });
  t.after(() => broker.stop());
  const port = broker.listeners[0].port;
  const clients: WireClient[] = [];
  t.after(() => clients.forEach((client) => client.close()));
  for (let index = 0; index < 20; index++) {
    const client = await connectWireClient(port);
    clients.push(client);
    await assertServed(client, index);
  }
  const over = await connectWireClient(port);
  clients.push(over);
  await waitFor(() => over.isClosed(), 'the 21st connection to be closed', { timeoutMs: 10_000 });
  const metrics = await (
    await fetch(`http://127.0.0.1:${broker.httpListeners[0].port}/metrics`)
  ).text();
  assert.match(
    metrics,
    /brook_connections_refused_total\{limit="max.connection.creation.rate"\} 1/,
  );
});

test('an ip quota on connection_creation_rate closes connections from that address above it', async (t) => {
  const broker = await startBroker({
    settings: { 'quota.window.num': 2, 'quota.window.size.seconds': 10 },
  });
  t.after(() => broker.stop());
  const altered = await callBroker<AlterClientQuotasResponse>(
    broker.bootstrapServers,
    ApiKey.AlterClientQuotas,
    1,
    {
      entries: [
        {
          entity: [{ entityType: 'ip', entityName: '127.0.0.1' }],
          ops: [{ key: 'connection_creation_rate', value: 1, remove: false }],
        },
      ],
      validateOnly: false,
    },
  );
  assert.equal(altered.entries[0].errorCode, ErrorCode.NONE);
  const port = broker.listeners[0].port;
  const clients: WireClient[] = [];
  t.after(() => clients.forEach((client) => client.close()));
  // One a second over 10 s: ten more are admitted (callBroker's own connection came before the
  // quota), then one is refused.
  let refused: WireClient | undefined;
  for (let index = 0; index < 12 && refused === undefined; index++) {
    const client = await connectWireClient(port);
    clients.push(client);
    try {
      await assertServed(client, index);
    } catch {
      refused = client;
    }
  }
  assert.ok(refused !== undefined, 'no connection was refused within 12 attempts');
  assert.ok(clients.length >= 10, `refused after only ${clients.length - 1} connections`);
});
