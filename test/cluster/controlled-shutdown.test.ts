import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { NO_LEADER, type PartitionState } from '../../src/metadata/cluster-metadata.js';
import { kafkaOf, startWatchedCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';

const TOPIC = 'rolling';
const PARTITIONS = 6;

function states(store: EtcdMetadataStore): PartitionState[] {
  return Array.from({ length: PARTITIONS }, (_, index) => store.partitionState(TOPIC, index)!);
}

/**
 * Watches the cluster through its own view of etcd: the partition states at the moment broker
 * `brokerId`'s registration disappears (every event of a lower revision applied), and whether
 * any partition was ever without a leader.
 */
function watchDeparture(store: EtcdMetadataStore, brokerId: number) {
  let atDeparture: PartitionState[] | undefined;
  const offline: string[] = [];
  const unsubscribe = store.subscribe((change) => {
    if (change.kind === 'partition' && change.topic === TOPIC) {
      const state = store.partitionState(TOPIC, change.partition);
      if (state?.leader === NO_LEADER) offline.push(`${TOPIC}-${change.partition}`);
    }
    if (atDeparture === undefined && !store.brokers().has(brokerId)) {
      atDeparture = states(store);
      unsubscribe();
    }
  });
  return {
    departed: () =>
      waitFor(() => atDeparture, `broker ${brokerId}'s registration to go`, { timeoutMs: 60_000 }),
    offline,
  };
}

describe('controlled shutdown', () => {
  test('SIGTERM moves every leadership off the broker before it leaves, the controller included', async () => {
    const { cluster, store } = await startWatchedCluster({ brokers: 3 });

    const admin = kafkaOf(cluster).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    await waitFor(() => states(store).every((state) => state !== undefined), 'partition states');

    // A broker that leads something and is not the controller.
    const controllerId = store.controller()!.brokerId;
    const leaders = new Set(states(store).map((state) => state.leader));
    const follower = [1, 2, 3].find((id) => id !== controllerId && leaders.has(id))!;
    assert.ok(follower !== undefined, `a leader besides controller ${controllerId}`);

    const first = watchDeparture(store, follower);
    assert.equal(await cluster.stopBroker(follower), 0, cluster.broker(follower).output());
    const beforeFirst = await first.departed();
    assert.deepEqual(
      beforeFirst.filter((state) => state.leader === follower),
      [],
      `broker ${follower} led nothing when it left`,
    );
    assert.deepEqual(first.offline, [], 'no partition went offline');

    // The controller: it moves its own leaderships, then resigns.
    await cluster.restart(follower);
    await waitFor(() => store.brokers().has(follower), `broker ${follower} registered again`);
    assert.ok(
      states(store).some((state) => state.leader === controllerId),
      `controller ${controllerId} leads a partition`,
    );
    const second = watchDeparture(store, controllerId);
    assert.equal(await cluster.stopBroker(controllerId), 0, cluster.broker(controllerId).output());
    const beforeSecond = await second.departed();
    assert.deepEqual(
      beforeSecond.filter((state) => state.leader === controllerId),
      [],
      `controller ${controllerId} led nothing when it left`,
    );
    assert.deepEqual(second.offline, [], 'no partition went offline');
    await waitFor(
      () => store.controller() !== null && store.controller()!.brokerId !== controllerId,
      'another controller',
    );
  });
});
