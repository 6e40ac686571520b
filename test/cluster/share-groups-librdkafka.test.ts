// A real share consumer against a share group in cluster mode: librdkafka's rd_kafka_share_* API
// (test/compat/share/librdkafka_share_consumer.c) against etcd and three `brook start` processes,
// for a group whose classic coordinator (FindCoordinator key type 0, what librdkafka asks) is not
// its owner, so its heartbeats are passed on to the owner and its ShareFetch and ShareAcknowledge,
// sent to the partitions' leaders, too. Every record released once comes back with delivery count
// 2 and is accepted; after a SIGKILL of the owner a new consumer of the group gets what was
// produced since, from the new owner, and nothing accepted before. Skipped when that librdkafka
// or a compiler is missing, failed instead under CI=true.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ShareGroupDescribeResponse } from '../../src/protocol/generated/share-group-describe.js';
import { inContinuousIntegration, runChecked } from '../helpers/clients.js';
import { waitFor } from '../helpers/poll.js';
import { produce } from '../share/push-helpers.js';
import { buildConsumer, deliveriesOf, missing } from '../compat/share/librdkafka-share-consumer.js';
import {
  GROUP_KEY_TYPE,
  SHARE_KEY_TYPE,
  coordinatorOf,
  splitGroup,
  startShareGroupCluster,
} from './share-group-cluster.js';

const TOPIC = 'jobs';

/** Polls ShareGroupDescribe at `address` until the group has a member with its assignment. */
async function waitForMember(address: string, groupId: string): Promise<void> {
  await waitFor(
    async () => {
      const connection = await KafkaConnection.open(address, { clientId: 'share-test' });
      try {
        const response = await connection.request<ShareGroupDescribeResponse>(
          ApiKey.ShareGroupDescribe,
          1,
          { groupIds: [groupId], includeAuthorizedOperations: false },
        );
        return (response.groups[0].members[0]?.memberEpoch ?? 0) > 0;
      } finally {
        connection.close();
      }
    },
    `a member in share group ${groupId}`,
    { timeoutMs: 30_000 },
  );
}

test(
  'librdkafka share consumer against a 3-broker cluster, through a SIGKILL of the group owner',
  { skip: inContinuousIntegration ? false : (missing ?? false) },
  async (t) => {
    assert.equal(missing, null, missing ?? '');
    const binary = await buildConsumer(t);
    const { cluster, address } = await startShareGroupCluster(TOPIC);
    const { group, owner, classic } = await splitGroup('c-workers', address);

    // The group starts at the end of the topic, so the consumer joins before the records exist.
    const consuming = runChecked(binary, [cluster.bootstrapServers, group, TOPIC, '30', '1'], {
      timeoutMs: 90_000,
    });
    await waitForMember(address(classic), group);
    await produce(
      { bootstrapServers: cluster.bootstrapServers },
      TOPIC,
      Array.from({ length: 30 }, (_, index) => ({ value: `job-${index}`, partition: index % 3 })),
    );
    const deliveries = deliveriesOf(await consuming);
    const accepted = deliveries.filter((delivery) => delivery.acknowledgement === 'accept');
    const released = deliveries.filter((delivery) => delivery.acknowledgement === 'release');
    assert.deepEqual(
      accepted.map((delivery) => delivery.value).sort(),
      Array.from({ length: 30 }, (_, index) => `job-${index}`).sort(),
      'every record accepted once',
    );
    assert.ok(accepted.every((delivery) => delivery.deliveryCount === 2));
    assert.equal(released.length, 30);
    assert.ok(released.every((delivery) => delivery.deliveryCount === 1));
    assert.deepEqual(
      [...new Set(accepted.map((delivery) => delivery.partition))].sort(),
      [0, 1, 2],
      'read from all three partitions, each led by another broker',
    );

    // The owner dies: the group moves to the new leader of its state partition.
    await cluster.kill(owner);
    const survivors = [1, 2, 3].filter((id) => id !== owner);
    const successor = await coordinatorOf(SHARE_KEY_TYPE, group, survivors, survivors, address);
    const classicNow = await coordinatorOf(GROUP_KEY_TYPE, group, survivors, survivors, address);
    const bootstrap = survivors.map(address).join(',');
    const after = runChecked(binary, [bootstrap, group, TOPIC, '20', '0'], {
      timeoutMs: 90_000,
    });
    await waitForMember(address(classicNow), group);
    await produce(
      { bootstrapServers: bootstrap },
      TOPIC,
      Array.from({ length: 20 }, (_, index) => ({ value: `late-${index}`, partition: index % 3 })),
    );
    const later = deliveriesOf(await after);
    assert.deepEqual(
      later.map((delivery) => delivery.value).sort(),
      Array.from({ length: 20 }, (_, index) => `late-${index}`).sort(),
      `the records produced after the SIGKILL, from the new owner (broker ${successor}), and none accepted before`,
    );
    assert.ok(later.every((delivery) => delivery.deliveryCount === 1));
  },
);
