// The web console in a real browser (issue 13): headless Chromium (Debian's `chromium`, driven
// by playwright-core) creates a topic, produces a message and sees it, sees a consumer group's lag
// change and reset, and deletes the topic; a real Kafka client (kafkajs) checks each change from
// the other side. A screenshot of each stage is kept under the test-output directory.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { type Browser, type Page, chromium } from 'playwright-core';

import { type Broker, startBroker } from '../../src/broker.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';

const CHROMIUM = process.env.BROOK_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots are kept here (not in the repository): BROOK_TEST_OUTPUT or the temp directory. */
const artifacts = join(
  process.env.BROOK_TEST_OUTPUT ?? join(tmpdir(), 'brook-test-output'),
  'console',
);

let broker: Broker;
let browser: Browser;
let base: string;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: apt-get install chromium (.ci/debian-packages.txt)`,
  );
  broker = await startBroker({
    settings: {
      'http.listeners': 'http://127.0.0.1:0',
      'console.writes.enabled': true,
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  base = `http://127.0.0.1:${broker.httpListeners[0].port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root (CI containers) Chromium refuses to start with its sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 60_000,
  });
  mkdirSync(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  await broker?.stop();
});

async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

async function cell(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent({ timeout: 10_000 })) ?? '';
}

test('create a topic, produce a message and see it, see a group lag change and reset, delete the topic', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  const kafka = kafkajsClient(broker.bootstrapServers, 'console-browser-test');
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());

  // Create a topic through the form; kafkajs sees it.
  await page.goto(`${base}/ui#/topics`);
  await page.locator('[data-testid=create-topic] input[name=name]').fill('browser-orders');
  await page.locator('[data-testid=create-topic] input[name=partitions]').fill('2');
  await page
    .locator('[data-testid=create-topic] textarea[name=configs]')
    .fill('retention.ms=3600000');
  await page.locator('[data-testid=create-topic] button[type=submit]').click();
  await page.locator('tr[data-topic=browser-orders]').waitFor({ timeout: 10_000 });
  const described = await admin.fetchTopicMetadata({ topics: ['browser-orders'] });
  assert.equal(described.topics[0].partitions.length, 2);
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: 2, name: 'browser-orders', configNames: ['retention.ms'] }],
  });
  assert.equal(configs.resources[0].configEntries[0].configValue, '3600000');

  // Produce through the page, and with kafkajs; both show up when browsing the partition.
  await page.goto(`${base}/ui#/topic/browser-orders`);
  await page.locator('[data-testid=produce] select[name=partition]').selectOption('0');
  await page.locator('[data-testid=produce] input[name=key]').fill('order-1');
  await page.locator('[data-testid=produce] textarea[name=value]').fill('{"amount":42}');
  await page.locator('[data-testid=produce] textarea[name=headers]').fill('source=browser');
  await page.locator('[data-testid=produce] button[type=submit]').click();
  await page.getByTestId('produced').getByText('produced at offset 0 of partition 0').waitFor();
  const producer = kafka.producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.send({
    topic: 'browser-orders',
    messages: [
      { partition: 0, key: 'order-2', value: 'from kafkajs', headers: { via: 'kafkajs' } },
    ],
  });
  await page.locator('[data-testid=browse] select[name=as]').selectOption('json');
  await page.getByTestId('browse-submit').click();
  const rows = page.locator('[data-testid=message-table] tbody tr');
  await waitFor(async () => (await rows.count()) === 2, 'two records in the browser', {
    timeoutMs: 10_000,
  });
  const first = await rows.nth(0).innerText();
  assert.match(first, /order-1/);
  assert.match(first, /"amount": 42/, 'the JSON value is shown as JSON');
  assert.match(first, /source: browser/);
  assert.match(await rows.nth(1).innerText(), /order-2[\s\S]*from kafkajs[\s\S]*via: kafkajs/);
  t.diagnostic(`screenshot: ${await screenshot(page, 'messages')}`);

  // A group consumes both records and leaves: lag 0. Three more records: the page shows lag 3.
  const consumer = kafka.consumer({ groupId: 'browser-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'browser-orders', fromBeginning: true });
  let consumed = 0;
  await consumer.run({ eachMessage: async () => void (consumed += 1) });
  await waitFor(() => consumed >= 2, 'the group to consume both records');
  await waitFor(
    async () =>
      (
        await admin.fetchOffsets({ groupId: 'browser-group', topics: ['browser-orders'] })
      )[0].partitions.find((partition) => partition.partition === 0)?.offset === '2',
    'the group to commit offset 2',
  );
  await consumer.disconnect();
  await page.goto(`${base}/ui#/group/browser-group`);
  const lagCell = '[data-testid="lag-browser-orders-0"]';
  assert.equal((await cell(page, lagCell)).trim(), '0');
  await producer.send({
    topic: 'browser-orders',
    messages: [1, 2, 3].map((n) => ({ partition: 0, value: `more ${n}` })),
  });
  // The group page refreshes its tables by itself.
  await page.locator(lagCell).getByText('3', { exact: true }).waitFor({ timeout: 20_000 });
  t.diagnostic(`screenshot: ${await screenshot(page, 'group-lag')}`);

  // Reset to the earliest offset: lag 5, as kafkajs sees it too.
  await page.locator('[data-testid=reset-offsets] input[name=topic]').fill('browser-orders');
  await page.locator('[data-testid=reset-offsets] select[name=to]').selectOption('earliest');
  await page.locator('[data-testid=reset-offsets] button[type=submit]').click();
  await page.locator(lagCell).getByText('5', { exact: true }).waitFor({ timeout: 10_000 });
  const offsets = await admin.fetchOffsets({
    groupId: 'browser-group',
    topics: ['browser-orders'],
  });
  assert.equal(offsets[0].partitions.find((partition) => partition.partition === 0)?.offset, '0');

  // The chart has samples, and the topic is deleted through its button.
  const history = (await (await fetch(`${base}/ui/api/history`)).json()) as { samples: unknown[] };
  assert.ok(history.samples.length >= 1);
  await page.goto(`${base}/ui#/topics`);
  await page.getByTestId('delete-browser-orders').click();
  await page
    .locator('tr[data-topic=browser-orders]')
    .waitFor({ state: 'detached', timeout: 10_000 });
  assert.ok(!(await admin.listTopics()).includes('browser-orders'));
  t.diagnostic(`screenshot: ${await screenshot(page, 'topics')}`);
  assert.deepEqual(problems, [], 'no script errors in the page');
  assert.equal(await cell(page, '[data-testid=problem]'), '');
  await page.close();
});
