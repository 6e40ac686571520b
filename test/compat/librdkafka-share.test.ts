// A real share consumer against Brook's share groups: librdkafka's rd_kafka_share_* API (the
// KIP-932 preview of the librdkafka that @confluentinc/kafka-javascript bundles under
// test/compat/ckjs; its JavaScript binding does not expose it yet), driven by a small C program
// built here with the system compiler. Skipped when that librdkafka or a compiler is missing,
// failed instead under CI=true.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startBroker } from '../../src/broker.js';
import { inContinuousIntegration, runChecked } from '../helpers/clients.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ShareGroupDescribeResponse } from '../../src/protocol/generated/share-group-describe.js';
import { waitFor } from '../helpers/poll.js';
import { createTopic, produce } from '../share/push-helpers.js';
import { buildConsumer, deliveriesOf, missing } from './share/librdkafka-share-consumer.js';

/** Polls ShareGroupDescribe until a member has its assignment (its subscriptions exist then). */
async function waitForMember(bootstrap: string, groupId: string): Promise<void> {
  const connection = await KafkaConnection.open(bootstrap, { clientId: 'share-test' });
  try {
    await waitFor(async () => {
      const response = await connection.request<ShareGroupDescribeResponse>(
        ApiKey.ShareGroupDescribe,
        1,
        { groupIds: [groupId], includeAuthorizedOperations: false },
      );
      return (response.groups[0].members[0]?.memberEpoch ?? 0) > 0;
    }, `a member in share group ${groupId}`);
  } finally {
    connection.close();
  }
}

test(
  'librdkafka share consumer: released records come back with delivery count 2, accepted ones never',
  { skip: inContinuousIntegration ? false : (missing ?? false) },
  async (t) => {
    assert.equal(missing, null, missing ?? '');
    const binary = await buildConsumer(t);
    const broker = await startBroker({ settings: { 'group.share.enable': 'true' } });
    try {
      await createTopic(broker, 'queue', 2);
      // The group starts at the end of the topic (share.auto.offset.reset=latest), so the
      // consumer joins first; records produced while it polls are all delivered.
      const consuming = runChecked(
        binary,
        [broker.bootstrapServers, 'c-workers', 'queue', '20', '1'],
        { timeoutMs: 60_000 },
      );
      await waitForMember(broker.bootstrapServers, 'c-workers');
      await produce(
        broker,
        'queue',
        Array.from({ length: 20 }, (_, index) => ({ value: `job-${index}`, partition: index % 2 })),
      );
      const deliveries = deliveriesOf(await consuming);
      const accepted = deliveries.filter((delivery) => delivery.acknowledgement === 'accept');
      const released = deliveries.filter((delivery) => delivery.acknowledgement === 'release');
      assert.equal(accepted.length, 20);
      assert.deepEqual(
        accepted.map((delivery) => delivery.value).sort(),
        Array.from({ length: 20 }, (_, index) => `job-${index}`).sort(),
      );
      assert.ok(accepted.every((delivery) => delivery.deliveryCount === 2));
      assert.equal(released.length, 20);
      assert.ok(released.every((delivery) => delivery.deliveryCount === 1));

      // A second consumer of the same group finds nothing left: every record was accepted.
      await produce(broker, 'queue', [{ value: 'last', partition: 0 }]);
      const rest = deliveriesOf(
        await runChecked(binary, [broker.bootstrapServers, 'c-workers', 'queue', '1', '0'], {
          timeoutMs: 60_000,
        }),
      );
      assert.deepEqual(
        rest.map((delivery) => delivery.value),
        ['last'],
      );
    } finally {
      await broker.stop();
    }
  },
);
