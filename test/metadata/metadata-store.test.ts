import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { LocalMetadataStore, MetadataError } from '../../src/metadata/metadata-store.js';
import { withTemporaryDirectory } from '../helpers/temporary-directory.js';

test('topics, ids, configs and the cluster id survive a reopen', () =>
  withTemporaryDirectory('brook-meta-', async (directory) => {
    const store = await LocalMetadataStore.open(directory);
    const created = await store.createTopic({
      name: 'orders',
      partitionCount: 3,
      configs: { 'retention.ms': '1000' },
    });
    assert.equal(created.topicId.length, 16);
    await store.setPartitionCount('orders', 5);
    await store.setTopicConfigs('orders', { 'cleanup.policy': 'compact' });
    await store.createTopic({ name: '__consumer_offsets', partitionCount: 2, internal: true });
    await store.deleteTopic('__consumer_offsets');
    await store.setBrokerConfigs({ 'log.retention.ms': '5' });

    const reopened = await LocalMetadataStore.open(directory);
    assert.equal(reopened.clusterId, store.clusterId);
    assert.equal(reopened.topics().length, 1);
    const orders = reopened.topic('orders');
    assert.ok(orders);
    assert.deepEqual(orders.topicId, created.topicId);
    assert.equal(orders.partitionCount, 5);
    assert.deepEqual(orders.configs, { 'cleanup.policy': 'compact' });
    assert.equal(reopened.topicById(created.topicId)?.name, 'orders');
    assert.deepEqual(reopened.brokerConfigs(), { 'log.retention.ms': '5' });
  }));

test('creating an existing topic or deleting a missing one fails with a stable code', () =>
  withTemporaryDirectory('brook-meta-', async (directory) => {
    const store = await LocalMetadataStore.open(directory);
    await store.createTopic({ name: 'a', partitionCount: 1 });
    await assert.rejects(store.createTopic({ name: 'a', partitionCount: 1 }), (error) => {
      assert.ok(error instanceof MetadataError);
      assert.equal(error.code, 'BROOK_METADATA_TOPIC_EXISTS');
      return true;
    });
    await assert.rejects(store.deleteTopic('missing'), { code: 'BROOK_METADATA_UNKNOWN_TOPIC' });
  }));

test('concurrent creations are serialised and all persisted', () =>
  withTemporaryDirectory('brook-meta-', async (directory) => {
    const store = await LocalMetadataStore.open(directory);
    const names = Array.from({ length: 20 }, (_, index) => `topic-${index}`);
    await Promise.all(names.map((name) => store.createTopic({ name, partitionCount: 1 })));
    const document = JSON.parse(await readFile(join(directory, 'meta', 'metadata.json'), 'utf8'));
    assert.deepEqual(
      document.topics.map((topic: { name: string }) => topic.name).sort(),
      names.sort(),
    );
  }));

test('a document that is not Brook metadata is refused', () =>
  withTemporaryDirectory('brook-meta-', async (directory) => {
    await LocalMetadataStore.open(directory);
    await writeFile(join(directory, 'meta', 'metadata.json'), '{"version": 7}');
    await assert.rejects(LocalMetadataStore.open(directory), { code: 'BROOK_METADATA_CORRUPT' });
  }));
