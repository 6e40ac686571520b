// The SSE encoder writes each record's JSON straight into bytes; a WebSocket or webhook body
// gets the same record as text (Delivery.json). Both must say the same thing for every key and
// value: plain ASCII (copied as bytes), and text that needs escaping or is not ASCII (encoded
// as text), base64, headers, and numbers JSON writes in full.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Delivery, sseEvents } from '../../src/share/delivery.js';
import type { TrackedRecord } from '../../src/share/share-partition.js';

function record(fields: Partial<TrackedRecord>): TrackedRecord {
  return {
    partition: 0,
    offset: 0,
    deliveryCount: 1,
    timestamp: 1_764_800_000_000,
    key: null,
    value: null,
    headers: [],
    ...fields,
  } as TrackedRecord;
}

const records = [
  record({ offset: 12, key: Buffer.from('k'), value: Buffer.from('plain value') }),
  record({ partition: 7, offset: 2 ** 40, value: Buffer.from('say "hi" \\ there') }),
  record({ offset: 3, value: Buffer.from('line\nbreak\ttab\u0001') }),
  record({ offset: 30, key: Buffer.from('back\\slash'), value: Buffer.from('a\u001fb') }),
  record({ offset: 4, key: Buffer.from('clé'), value: Buffer.from('żółw 🐢') }),
  record({ offset: 5, value: Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x7f]) }),
  record({ offset: 6, value: Buffer.alloc(0), timestamp: -1, deliveryCount: 5 }),
  record({ offset: 10, value: Buffer.from('ten'), deliveryCount: 12 }),
  record({
    offset: 2_147_483_647,
    value: Buffer.from('v'),
    headers: [
      { key: 'h', value: Buffer.from('1') },
      { key: 'n', value: null },
      { key: 'h', value: Buffer.from('2"') },
    ],
  }),
  record({ offset: 2_147_483_648, value: Buffer.alloc(300, 'x') }),
];

function expected(deliveries: readonly Delivery[]): string {
  return deliveries
    .map((delivery) => `id: ${delivery.id}\nevent: record\ndata: ${delivery.json}\n\n`)
    .join('');
}

describe('SSE events as bytes', () => {
  for (const encoding of ['utf8', 'base64'] as const) {
    test(`are the records' JSON text, byte for byte (${encoding})`, () => {
      const deliveries = records.map((each) => new Delivery(each, '"tópic \\"q\\""', encoding));
      const bytes = sseEvents(deliveries);
      assert.equal(bytes.toString('utf8'), expected(deliveries));
      // And each event's data is the record as JSON.
      const data = bytes
        .toString('utf8')
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)) as { offset: number; value: string });
      assert.deepEqual(
        data.map((each) => each.offset),
        records.map((each) => each.offset),
      );
      if (encoding === 'utf8') assert.equal(data[1].value, 'say "hi" \\ there');
    });
  }

  test('a batch larger than the first estimate grows the buffer', () => {
    const big = records.map((each) =>
      record({
        ...each,
        headers: [{ key: 'x'.repeat(2000), value: Buffer.from('é'.repeat(900)) }],
      }),
    );
    const deliveries = big.map((each) => new Delivery(each, '"t"', 'utf8'));
    assert.equal(sseEvents(deliveries).toString('utf8'), expected(deliveries));
  });

  test('the text a delivery was given stays after the record drops its value', () => {
    const tracked = record({ offset: 9, value: Buffer.from('kept') });
    const delivery = new Delivery(tracked, '"t"', 'utf8');
    tracked.value = null;
    assert.match(delivery.json, /"value":"kept"/);
  });
});
