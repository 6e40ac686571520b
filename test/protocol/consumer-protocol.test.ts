import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assignedPartitionsOf,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
  subscribedTopicsOf,
} from '../../src/protocol/consumer-protocol.js';
import { ProtocolDecodeError } from '../../src/protocol/reader.js';

test('a v0 subscription is the int16 version, the topics and the user data', () => {
  const bytes = encodeConsumerSubscription(0, { topics: ['a', 'bc'], userData: null });
  assert.equal(bytes.toString('hex'), '0000' + '00000002' + '000161' + '00026263' + 'ffffffff');
  const { version, subscription } = decodeConsumerSubscription(bytes);
  assert.equal(version, 0);
  assert.deepEqual(subscription.topics, ['a', 'bc']);
  assert.equal(subscription.userData, null);
  assert.deepEqual(subscription.ownedPartitions, []);
  assert.equal(subscription.generationId, -1);
});

test('a subscription from a newer client is read as the newest known version', () => {
  const v3 = encodeConsumerSubscription(3, {
    topics: ['t'],
    userData: Buffer.from('u'),
    ownedPartitions: [{ topic: 't', partitions: [0, 1] }],
    generationId: 4,
    rackId: 'r1',
  });
  // The same bytes labelled v9, with a field v9 might have appended.
  const v9 = Buffer.concat([
    Buffer.from('0009', 'hex'),
    v3.subarray(2),
    Buffer.from('ffff', 'hex'),
  ]);
  const { version, subscription } = decodeConsumerSubscription(v9);
  assert.equal(version, 3);
  assert.equal(subscription.generationId, 4);
  assert.equal(subscription.rackId, 'r1');
  assert.deepEqual(subscription.ownedPartitions, [{ topic: 't', partitions: [0, 1] }]);
});

test('assignments round-trip and a negative version is refused', () => {
  const bytes = encodeConsumerAssignment(1, {
    assignedPartitions: [{ topic: 't', partitions: [2] }],
    userData: null,
  });
  assert.deepEqual(decodeConsumerAssignment(bytes).assignment, {
    assignedPartitions: [{ topic: 't', partitions: [2] }],
    userData: null,
  });
  assert.throws(() => decodeConsumerAssignment(Buffer.from('ffff', 'hex')), ProtocolDecodeError);
});

test('the broker reads subscribed topics and assigned partitions, and bytes of another protocol as unknown or none', () => {
  const subscription = encodeConsumerSubscription(1, { topics: ['a', 'b'], userData: null });
  assert.deepEqual(subscribedTopicsOf(subscription), ['a', 'b']);
  const assignment = encodeConsumerAssignment(0, {
    assignedPartitions: [{ topic: 'a', partitions: [0, 3] }],
    userData: null,
  });
  assert.deepEqual(assignedPartitionsOf(assignment), [{ topic: 'a', partitions: [0, 3] }]);

  const foreign = Buffer.from('ffff0001', 'hex');
  assert.equal(subscribedTopicsOf(foreign), null);
  assert.deepEqual(assignedPartitionsOf(foreign), []);
  assert.deepEqual(assignedPartitionsOf(Buffer.alloc(0)), []);
});
