// The /v1 HTTP door itself: produce over HTTP read back with a Kafka client, base64 values,
// problem documents with stable codes for bad input (and nothing changed by it), acks checked
// against the holder, Last-Event-ID resume, and the OpenAPI document checked against the routes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Broker } from '../../src/broker.js';
import { validateSchema, type JsonSchema } from '../../src/http/json-schema.js';
import { shareErrorCodes } from '../../src/share/share-errors.js';
import { waitFor } from '../helpers/poll.js';
import { PushClient, createTopic, kafka, readTopic, startPushBroker } from './push-helpers.js';

describe('the push HTTP API', () => {
  let broker: Broker;
  let client: PushClient;

  before(async () => {
    broker = await startPushBroker();
    client = new PushClient(broker);
    await createTopic(broker, 'events', 2);
  });
  after(async () => {
    await broker.stop();
  });

  test('records produced over HTTP answer durable offsets and a Kafka client reads them', async () => {
    const answer = await client.request('POST', '/v1/topics/events/records', {
      records: [
        { key: 'k', value: 'v', headers: { h: '1' }, partition: 0 },
        { value: 'second', partition: 0 },
        { value: 'other', partition: 1 },
      ],
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.offsets, [
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
      { partition: 1, offset: 0 },
    ]);
    const raw = await fetch(`${client.base}/v1/topics/events/records?key=bin&partition=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 255, 1]),
    });
    assert.equal(raw.status, 200);
    assert.deepEqual(((await raw.json()) as { offsets: unknown }).offsets, [
      { partition: 1, offset: 1 },
    ]);
    const read = await readTopic(broker, 'events', 4);
    const first = read.find((record) => record.key === 'k');
    assert.equal(first?.value, 'v');
    assert.equal(first?.headers.h, '1');
    assert.ok(read.some((record) => record.key === 'bin'));
  });

  test('base64 carries binary keys and values both ways', async () => {
    await createTopic(broker, 'binary');
    await client.subscribe('binary-b64', { topic: 'binary', valueEncoding: 'base64' });
    const bytes = Buffer.from([0, 1, 2, 250, 251, 255]);
    const answer = await client.request('POST', '/v1/topics/binary/records', {
      valueEncoding: 'base64',
      records: [{ key: Buffer.from('key').toString('base64'), value: bytes.toString('base64') }],
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const stream = client.events('binary-b64');
    try {
      const [record] = await stream.waitForRecords(1);
      assert.deepEqual(Buffer.from(record.value ?? '', 'base64'), bytes);
      assert.equal(Buffer.from(record.key ?? '', 'base64').toString(), 'key');
    } finally {
      await stream.close();
    }
  });

  test('a record event carries text that JSON must escape, non-ASCII text and headers as produced', async () => {
    await createTopic(broker, 'texts');
    await client.subscribe('texts-sse', { topic: 'texts' });
    const awkward = 'quote " backslash \\ newline \n tab \t nul \u0000 separator \u2028 é 漢 🚀';
    const produced = await client.request('POST', '/v1/topics/texts/records', {
      records: [
        { key: 'k"1', value: awkward, headers: { 'h"': awkward, empty: '', none: null } },
        { key: null, value: null },
        { value: 'plain', headers: { repeated: 'first' } },
      ],
    });
    assert.equal(produced.status, 200, JSON.stringify(produced.body));
    // Bytes that are not UTF-8 arrive as U+FFFD, as Buffer.toString decodes them.
    const invalid = await fetch(`${client.base}/v1/topics/texts/records?key=bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0x61, 0xff, 0x62]),
    });
    assert.equal(invalid.status, 200);
    const stream = client.events('texts-sse');
    try {
      const records = await stream.waitForRecords(4);
      const [first, second, third, fourth] = [...records].sort((a, b) => a.offset - b.offset);
      assert.equal(first.timestamp > 0, true);
      assert.deepEqual(first, {
        id: '0:0',
        topic: 'texts',
        partition: 0,
        offset: 0,
        key: 'k"1',
        value: awkward,
        headers: { 'h"': awkward, empty: '', none: null },
        deliveryCount: 1,
        timestamp: first.timestamp,
      });
      assert.deepEqual(
        { key: second.key, value: second.value, headers: second.headers },
        { key: null, value: null, headers: {} },
      );
      assert.deepEqual(third.headers, { repeated: 'first' });
      assert.equal(fourth.value, 'a\ufffdb');
      assert.equal(fourth.key, 'bin');
    } finally {
      await stream.close();
    }
  });

  test('bad input is answered with a problem document of a stable code and changes nothing', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/v1/topics/events/records', '{not json', 'invalid-json'],
      ['POST', '/v1/topics/events/records', { records: [] }, 'invalid-request'],
      ['POST', '/v1/topics/events/records', { records: [{ value: 1 }] }, 'invalid-request'],
      ['POST', '/v1/topics/missing/records', { records: [{ value: 'x' }] }, 'topic-not-found'],
      [
        'POST',
        '/v1/topics/events/records',
        { records: [{ value: 'x', partition: 9 }] },
        'partition-not-found',
      ],
      [
        'POST',
        '/v1/topics/events/records',
        { valueEncoding: 'base64', records: [{ value: 'not base64!' }] },
        'invalid-encoding',
      ],
      ['PUT', '/v1/subscriptions/s1', { topic: 'events', maxDeliveries: 0 }, 'invalid-request'],
      ['PUT', '/v1/subscriptions/s1', { topic: 'events', colour: 'red' }, 'invalid-request'],
      [
        'PUT',
        '/v1/subscriptions/s1',
        { topic: 'events', webhook: { url: 'ftp://host/x' } },
        'invalid-request',
      ],
      ['PUT', '/v1/subscriptions/s1', { topic: 'nope' }, 'topic-not-found'],
      ['GET', '/v1/subscriptions/unknown', undefined, 'subscription-not-found'],
      ['GET', '/v1/subscriptions/unknown/events', undefined, 'subscription-not-found'],
      ['POST', '/v1/subscriptions/unknown/acks', { ack: ['0:1'] }, 'subscription-not-found'],
      ['DELETE', '/v1/topics/events/records', undefined, 'method-not-allowed'],
      ['GET', '/v1/nothing/here', undefined, 'not-found'],
    ];
    for (const [method, path, body, code] of cases) {
      const answer = await client.request(method, path, body);
      assert.equal(answer.body.code, code, `${method} ${path}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.status, shareErrorCodes[code as keyof typeof shareErrorCodes].status);
      assert.match(answer.contentType, /^application\/problem\+json/);
      assert.equal(answer.body.type, `https://brook.dev/problems/${code}`);
      assert.equal(typeof answer.body.detail, 'string');
    }
    // Nothing above wrote a record or made a subscription.
    assert.equal(broker.replicas.partition('events', 0)?.logEndOffset, 2);
    assert.deepEqual(
      (await client.request('GET', '/v1/subscriptions')).body.subscriptions.includes('s1'),
      false,
    );
    const conflict = await client.subscribe('s1', { topic: 'events' });
    assert.equal(conflict.topic, 'events');
    await createTopic(broker, 'other');
    const moved = await client.request('PUT', '/v1/subscriptions/s1', { topic: 'other' });
    assert.equal(moved.body.code, 'subscription-conflict');
    assert.equal((await client.request('DELETE', '/v1/subscriptions/s1')).status, 204);
    assert.equal((await client.request('GET', '/v1/subscriptions/s1')).status, 404);
  });

  test('an acknowledgement for a record another consumer holds is refused per record', async () => {
    await createTopic(broker, 'held');
    await client.subscribe('held-sse', { topic: 'held', ackTimeoutMs: 600000 });
    const producer = kafka(broker).producer();
    await producer.connect();
    await producer.send({ topic: 'held', acks: -1, messages: [{ value: 'one' }] });
    await producer.disconnect();
    const stream = client.events('held-sse', '?consumer=alice');
    try {
      const [record] = await stream.waitForRecords(1);
      assert.equal(stream.consumer, 'alice');
      const refused = await client.acks('held-sse', { consumer: 'bob', ack: [record.id] });
      assert.deepEqual(refused.errors, [{ id: record.id, code: 'not-holder' }]);
      const unknown = await client.acks('held-sse', { ack: ['0:999'] });
      assert.deepEqual(unknown.errors, [{ id: '0:999', code: 'unknown-record' }]);
      assert.equal((await client.stats('held-sse')).inFlight, 1);
      const accepted = await client.acks('held-sse', { consumer: 'alice', ack: [record.id] });
      assert.equal(accepted.acknowledged, 1);
      const again = await client.acks('held-sse', { ack: [record.id] });
      assert.deepEqual(again.errors, [{ id: record.id, code: 'settled' }]);
      assert.equal((await client.stats('held-sse')).acknowledged, 1);
    } finally {
      await stream.close();
    }
  });

  test('a stream reopened with Last-Event-ID gets what was sent after that id again', async () => {
    await createTopic(broker, 'resume');
    await client.subscribe('resume-sse', { topic: 'resume', ackTimeoutMs: 600000 });
    const producer = kafka(broker).producer();
    await producer.connect();
    await producer.send({
      topic: 'resume',
      acks: -1,
      messages: ['r0', 'r1', 'r2', 'r3'].map((value) => ({ value })),
    });
    await producer.disconnect();
    const first = client.events('resume-sse', '?consumer=carol');
    const records = await first.waitForRecords(4);
    await first.close();
    // The client saw up to r1; r2 and r3 were sent but, say, lost with the connection.
    const second = client.events('resume-sse', '?consumer=carol', records[1].id);
    try {
      await second.waitForRecords(2);
      assert.deepEqual(
        second.records.map((record) => record.value),
        ['r2', 'r3'],
      );
      assert.ok(second.records.every((record) => record.deliveryCount === 1));
      const acked = await client.acks('resume-sse', {
        consumer: 'carol',
        ack: [`${records[0].partition}:${records[0].offset}-${records[3].offset}`],
      });
      assert.equal(acked.acknowledged, 4);
    } finally {
      await second.close();
    }
  });

  test('the OpenAPI document lists exactly the routes served, and answers match its schemas', async () => {
    const answer = await client.request('GET', '/v1/openapi.json');
    assert.equal(answer.status, 200);
    const document = answer.body as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, JsonSchema> };
    };
    assert.equal(document.openapi, '3.0.3');
    const methods = ['get', 'put', 'post', 'delete', 'patch'];
    await createTopic(broker, 'doc');
    await client.subscribe('doc-sub', { topic: 'doc' });
    for (const [template, operations] of Object.entries(document.paths)) {
      const path = template.replace('{topic}', 'doc').replace('{name}', 'doc-sub');
      for (const method of methods) {
        if (path.endsWith('/events') && method === 'get') {
          const stream = await fetch(`${client.base}${path}`);
          assert.equal(stream.status, 200);
          assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
          await stream.body?.cancel();
          continue;
        }
        if (method === 'delete' && path.endsWith('doc-sub')) continue;
        const served = await client.request(
          method.toUpperCase(),
          path,
          method === 'get' ? undefined : {},
        );
        if (operations[method] === undefined) {
          assert.equal(
            served.status,
            405,
            `${method} ${template} is not documented, so not served`,
          );
        } else {
          assert.notEqual(served.status, 404, `${method} ${template} is documented and served`);
          assert.notEqual(served.status, 405, `${method} ${template} is documented and served`);
        }
      }
    }
    // Every code of the table is documented, and answers validate against their schemas.
    const problem = document.components.schemas.Problem as {
      properties: { code: { enum: string[] } };
    };
    assert.deepEqual(problem.properties.code.enum.sort(), Object.keys(shareErrorCodes).sort());
    const described = await client.request('GET', '/v1/subscriptions/doc-sub');
    assert.deepEqual(
      validateSchema(
        { $ref: '#/components/schemas/Subscription' },
        described.body,
        document.components.schemas,
      ),
      [],
    );
    const produced = await client.request('POST', '/v1/topics/doc/records', {
      records: [{ value: 'x' }],
    });
    assert.deepEqual(
      validateSchema(
        { $ref: '#/components/schemas/ProduceResponse' },
        produced.body,
        document.components.schemas,
      ),
      [],
    );
    const problemAnswer = await client.request('GET', '/v1/subscriptions/none');
    assert.deepEqual(
      validateSchema(
        { $ref: '#/components/schemas/Problem' },
        problemAnswer.body,
        document.components.schemas,
      ),
      [],
    );
    // The metrics routes are still served beside /v1.
    assert.equal((await fetch(`${client.base}/metrics`)).status, 200);
    await waitFor(async () => (await fetch(`${client.base}/readyz`)).status === 200, 'ready');
  });
});
