// Kafka's keyed partitioning: brook produce --key must put a record where kafkajs (and the Java
// client, whose murmur2 kafkajs copies) would.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { murmur2, partitionForKey } from '../../src/client/partitioner.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;

test('murmur2 agrees with kafkajs on keys of every length modulo 4', () => {
  const keys = ['', 'a', 'ab', 'abc', 'abcd', 'customer-7', 'orders/2026', '\u00e9\u00e8\u4e2d'];
  for (let length = 0; length < 40; length++) keys.push('x'.repeat(length) + String(length));
  for (const key of keys) {
    const bytes = Buffer.from(key, 'utf8');
    assert.equal(murmur2(bytes), kafkajsMurmur2(bytes), JSON.stringify(key));
  }
});

test('a key is placed by its positive hash modulo the partition count', () => {
  for (const key of ['a', 'customer-7', 'orders']) {
    const bytes = Buffer.from(key);
    assert.equal(partitionForKey(bytes, 7), (kafkajsMurmur2(bytes) & 0x7fffffff) % 7);
  }
});
