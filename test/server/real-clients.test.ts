// ApiVersions through unmodified Kafka clients: kafkajs 2.2.4 (sends v2) and @platformatic/kafka
// (sends v3 with client software name and version, and nothing older).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Base } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { createApiVersionsHandler } from '../../src/handlers/api-versions.js';
import { HandlerRegistry, type RequestContext } from '../../src/handlers/registry.js';
import { type BrookServer, silentLogger, startServer } from '../../src/server/index.js';

const seen: RequestContext[] = [];
let server: BrookServer;
let bootstrap: string;

before(async () => {
  const registry = new HandlerRegistry();
  const apiVersions = createApiVersionsHandler(registry);
  registry.register({
    ...apiVersions,
    handle(request, context) {
      seen.push(context);
      return apiVersions.handle(request, context);
    },
  });
  server = await startServer({
    listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0 }],
    registry,
    logger: silentLogger,
  });
  bootstrap = `127.0.0.1:${server.listeners[0].port}`;
});

after(async () => {
  await server.stop();
});

test('kafkajs 2.2.4 connects: its ApiVersions v2 is answered', async () => {
  const kafka = new Kafka({
    clientId: 'kafkajs-api-versions',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.disconnect();
  const request = seen.find((context) => context.clientId === 'kafkajs-api-versions');
  assert.ok(request, 'the server saw kafkajs ApiVersions request');
  assert.equal(request.apiVersion, 2);
});

// @platformatic/kafka 2.x calls Promise.withResolvers, which Node.js has from 22 on.
const platformaticRuns =
  typeof (Promise as { withResolvers?: unknown }).withResolvers === 'function';

test(
  '@platformatic/kafka lists the APIs from its ApiVersions v3',
  { skip: !platformaticRuns && 'needs Node.js 22+' },
  async () => {
    const client = new Base({
      clientId: 'platformatic-api-versions',
      bootstrapBrokers: [bootstrap],
      retries: 0,
    });
    try {
      const apis = await client.listApis();
      assert.deepEqual(
        apis.map((api) => [api.apiKey, api.minVersion, api.maxVersion]),
        [[18, 0, 4]],
      );
    } finally {
      await client.close();
    }
    const request = seen.find((context) => context.clientId === 'platformatic-api-versions');
    assert.ok(request);
    assert.equal(request.apiVersion, 3);
  },
);
