// The console's JSON routes without a browser: read-only by default, clear problems for bad
// input, browsing by time, and the static page served from the package's ui/ folder.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';

async function consoleBroker(writes: boolean) {
  const broker = await startBroker({
    settings: { 'http.listeners': 'http://127.0.0.1:0', 'console.writes.enabled': writes },
  });
  const base = `http://127.0.0.1:${broker.httpListeners[0].port}`;
  const call = async (path: string, body?: unknown) => {
    const response = await fetch(
      `${base}${path}`,
      body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
    );
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      value: (await response.json()) as Record<string, unknown>,
    };
  };
  return { broker, base, call };
}

test('the console is read-only unless console.writes.enabled: changes get 403 with a JSON problem', async (t) => {
  const { broker, call } = await consoleBroker(false);
  t.after(() => broker.stop());
  const admin = kafkajsClient(broker.bootstrapServers).admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }] });

  for (const [path, body] of [
    ['/ui/api/topics', { name: 'sneaky' }],
    ['/ui/api/topics/delete', { name: 'kept' }],
    ['/ui/api/produce', { topic: 'kept', value: 'x' }],
    ['/ui/api/groups/reset-offsets', { group: 'g', topic: 'kept', to: 'earliest' }],
  ] as const) {
    const refused = await call(path, body);
    assert.equal(refused.status, 403, path);
    assert.equal(refused.type, 'application/problem+json');
    assert.equal(refused.value.title, 'console writes are off');
    assert.match(String(refused.value.detail), /console\.writes\.enabled=true/);
  }
  assert.deepEqual(
    (await admin.listTopics()).filter((name) => !name.startsWith('__')),
    ['kept'],
  );
  assert.equal((await call('/ui/api/topic?name=kept')).status, 200, 'reads still work');
  assert.equal((await call('/ui/api/overview')).value.writesEnabled, false);
});

test('bad input gets a 4xx problem naming what is wrong, and changes nothing', async (t) => {
  const { broker, base, call } = await consoleBroker(true);
  t.after(() => broker.stop());
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['/ui/api/topics', { partitions: 1 }, 400, /needs name/],
    ['/ui/api/topics', { name: 'bad name!' }, 400, /bad name!/],
    [
      '/ui/api/topics',
      { name: 'ok', partitions: 0 },
      400,
      /partitions must be an integer of at least 1/,
    ],
    ['/ui/api/topics', { name: 'ok', configs: { 'retention.ms': 'soon' } }, 400, /retention\.ms/],
    ['/ui/api/topics/delete', { name: 'missing' }, 404, /missing/],
    ['/ui/api/produce', { topic: 'missing', value: 'x' }, 404, /missing/],
  ];
  for (const [path, body, status, detail] of cases) {
    const result = await call(path, body);
    assert.equal(
      result.status,
      status,
      `${path} ${JSON.stringify(body)}: ${JSON.stringify(result.value)}`,
    );
    assert.match(String(result.value.detail), detail);
  }
  const notJson = await fetch(`${base}/ui/api/topics`, { method: 'POST', body: '{' });
  assert.equal(notJson.status, 400);
  assert.equal((await call('/ui/api/messages?topic=missing&partition=0')).status, 404);
  assert.equal((await call('/ui/api/messages?topic=missing&partition=-1')).status, 400);
  const topics = (await call('/ui/api/topics')).value as unknown as { name: string }[];
  assert.deepEqual(
    topics.filter((topic) => !topic.name.startsWith('__')),
    [],
    'no topic was created by a refused request',
  );
});

test('messages are browsed from an offset or a time, and the page and its script are served', async (t) => {
  const { broker, base, call } = await consoleBroker(true);
  t.after(() => broker.stop());
  assert.equal((await call('/ui/api/topics', { name: 'timeline', partitions: 1 })).status, 200);
  const producer = kafkajsClient(broker.bootstrapServers).producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  const start = Date.now() - 60_000;
  await producer.send({
    topic: 'timeline',
    messages: [0, 1, 2, 3].map((n) => ({
      value: Buffer.from([0xff, n]),
      timestamp: String(start + n * 10_000),
    })),
  });
  const fromTime = await call(
    `/ui/api/messages?topic=timeline&partition=0&timestamp=${start + 15_000}`,
  );
  const records = fromTime.value.records as {
    offset: number;
    value: { text: string | null; hex: string };
  }[];
  assert.deepEqual(
    records.map((record) => record.offset),
    [2, 3],
  );
  assert.equal(records[0].value.hex, 'ff02');
  assert.equal(records[0].value.text, null, 'bytes that are not UTF-8 are offered as hex only');
  const fromOffset = await call('/ui/api/messages?topic=timeline&partition=0&offset=1&limit=2');
  assert.deepEqual(
    (fromOffset.value.records as { offset: number }[]).map((record) => record.offset),
    [1, 2],
  );

  const page = await fetch(`${base}/ui`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /<script type="module" src="\/ui\/console\.js">/);
  const script = await fetch(`${base}/ui/console.js`);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.match(await script.text(), /\/ui\/api\//);
  assert.equal((await fetch(`${base}/ui/console.js`, { method: 'DELETE' })).status, 405);
});
