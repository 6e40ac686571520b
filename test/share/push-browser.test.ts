// Push delivery in a real browser (issue 12): headless Chromium (Debian's `chromium`, driven by
// playwright-core) on a page of the broker's own origin opens an EventSource on a subscription's
// events and a WebSocket on another's, as a web application would, takes the records produced
// through Kafka, and acknowledges them (over fetch for SSE, on the socket for WebSocket); the
// subscriptions' stats, read from the test, show each record acknowledged once.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { type Browser, type Page, chromium } from 'playwright-core';

import type { Broker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';
import { PushClient, createTopic, produce, startPushBroker } from './push-helpers.js';

const CHROMIUM = process.env.BROOK_TEST_CHROMIUM ?? '/usr/bin/chromium';

let broker: Broker;
let client: PushClient;
let browser: Browser;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: apt-get install chromium (.ci/debian-packages.txt)`,
  );
  broker = await startPushBroker();
  client = new PushClient(broker);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root (CI containers) Chromium refuses to start with its sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  await broker?.stop();
});

/** A page on the broker's origin, so EventSource, fetch and WebSocket are same-origin. */
async function brokerPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${client.base}/v1/openapi.json`);
  return { page, problems };
}

test('an EventSource in Chromium receives the records and acknowledges them over fetch', async () => {
  await createTopic(broker, 'browser-sse');
  await client.subscribe('in-browser-sse', { topic: 'browser-sse' });
  await produce(
    broker,
    'browser-sse',
    Array.from({ length: 5 }, (_, index) => ({ key: `k${index}`, value: `event-${index}` })),
  );
  const { page, problems } = await brokerPage();
  const received = await page.evaluate(async () => {
    const source = new EventSource('/v1/subscriptions/in-browser-sse/events');
    const records = await new Promise<Array<{ id: string; value: string; deliveryCount: number }>>(
      (resolve, reject) => {
        const got: Array<{ id: string; value: string; deliveryCount: number }> = [];
        const timer = setTimeout(() => reject(new Error(`${got.length} records in 30 s`)), 30_000);
        source.addEventListener('record', (event) => {
          got.push(JSON.parse((event as unknown as { data: string }).data));
          if (got.length === 5) {
            clearTimeout(timer);
            resolve(got);
          }
        });
      },
    );
    source.close();
    const answer = await fetch('/v1/subscriptions/in-browser-sse/acks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ack: records.map((record) => record.id) }),
    });
    return { records, status: answer.status };
  });
  await page.close();
  assert.deepEqual(problems, []);
  assert.equal(received.status, 200);
  assert.deepEqual(
    received.records.map((record) => record.value),
    Array.from({ length: 5 }, (_, index) => `event-${index}`),
  );
  assert.ok(received.records.every((record) => record.deliveryCount === 1));
  await waitFor(
    async () => (await client.stats('in-browser-sse')).acknowledged === 5,
    'five records acknowledged',
  );
  assert.equal((await client.stats('in-browser-sse')).inFlight, 0);
});

test('a WebSocket in Chromium receives the records and acknowledges them on the socket', async () => {
  await createTopic(broker, 'browser-ws');
  await client.subscribe('in-browser-ws', { topic: 'browser-ws' });
  await produce(
    broker,
    'browser-ws',
    Array.from({ length: 5 }, (_, index) => ({ value: `message-${index}` })),
  );
  const { page, problems } = await brokerPage();
  const received = await page.evaluate(
    (socketBase) =>
      new Promise<{ values: string[]; consumer: string; acknowledged: number }>(
        (resolve, reject) => {
          const socket = new WebSocket(
            `${socketBase}/v1/subscriptions/in-browser-ws/ws?consumer=eve&maxInFlight=10`,
          );
          const timer = setTimeout(() => reject(new Error('no acknowledgement in 30 s')), 30_000);
          const records: Array<{ id: string; value: string }> = [];
          let consumer = '';
          socket.onerror = () => reject(new Error('the socket failed'));
          socket.onmessage = (event) => {
            const message = JSON.parse(event.data as string);
            if (message.type === 'consumer') consumer = message.consumer;
            if (message.type === 'records') {
              records.push(...message.records);
              if (records.length === 5)
                socket.send(
                  JSON.stringify({
                    type: 'ack',
                    requestId: 'browser',
                    ack: records.map((record) => record.id),
                  }),
                );
            }
            if (message.requestId === 'browser') {
              clearTimeout(timer);
              socket.close();
              resolve({
                values: records.map((record) => record.value),
                consumer,
                acknowledged: message.acknowledged,
              });
            }
          };
        },
      ),
    client.base.replace('http', 'ws'),
  );
  await page.close();
  assert.deepEqual(problems, []);
  assert.equal(received.consumer, 'eve');
  assert.deepEqual(
    received.values,
    Array.from({ length: 5 }, (_, index) => `message-${index}`),
  );
  assert.equal(received.acknowledged, 5);
  assert.equal((await client.stats('in-browser-ws')).acknowledged, 5);
});
