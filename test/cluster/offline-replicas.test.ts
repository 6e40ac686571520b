// The controller and offline replicas (KIP-112), on cluster members without brokers: a live
// broker that reports its replica of a partition offline (`offline-replicas/<id>`, written with
// its registration and again when a log fails) is dead for that partition alone. Its leadership
// moves to another in-sync replica with a leader epoch bump, it leaves the ISR, and no election
// (on its return, preferred) gives it the partition while it reports the replica offline.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterMember } from '../../src/cluster/cluster-member.js';
import { NO_LEADER, type ReplicaName } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { joinMember, startEtcd, uniquePrefix } from '../helpers/etcd.js';
import { waitFor } from '../helpers/poll.js';

const etcd = await startEtcd();

async function controllerOf(members: readonly ClusterMember[]): Promise<ClusterMember> {
  return waitFor(() => {
    const controllers = members.filter((member) => member.controller.isController);
    return controllers.length === 1 ? controllers[0] : undefined;
  }, 'exactly one controller');
}

describe('offline replicas', () => {
  test('a replica reported offline loses its leadership and its ISR place, and is not elected back', async () => {
    const prefix = uniquePrefix();
    // Broker 3 reports what this list holds; the others report nothing.
    const offline: ReplicaName[] = [];
    const members = [
      await joinMember(etcd, prefix, 1),
      await joinMember(etcd, prefix, 2),
      await joinMember(etcd, prefix, 3, {}, { offlineReplicas: () => offline }),
    ];
    await waitFor(
      () => members.every((member) => member.store.brokers().size === 3),
      'three brokers in every view',
    );
    const controller = await controllerOf(members);
    const reporter = members[2]!;
    // Partition 0 led by broker 3, partition 1 with broker 3 as a follower, partition 2 where it
    // holds its replica still.
    await controller.controller.createTopic({
      name: 'orders',
      assignment: [
        [3, 1, 2],
        [1, 3, 2],
        [3, 2, 1],
      ],
    });
    await waitFor(() => controller.store.partitionState('orders', 2), 'partition states');
    assert.equal(controller.store.partitionState('orders', 0)!.leader, 3);
    assert.equal(reporter.store.isReplicaOffline(3, 'orders', 0), false);

    offline.push({ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 });
    await reporter.publishOfflineReplicas();

    const moved = await waitFor(() => {
      const state = controller.store.partitionState('orders', 0);
      return state !== undefined && state.leader !== 3 ? state : undefined;
    }, 'partition 0 to get a new leader');
    assert.equal(moved.leader, 1, 'the next in-sync replica in assignment order leads');
    assert.equal(moved.leaderEpoch, 1);
    assert.deepEqual(moved.isr, [1, 2]);
    assert.deepEqual(moved.replicas, [3, 1, 2], 'the assignment is unchanged');
    const followed = await waitFor(() => {
      const state = controller.store.partitionState('orders', 1);
      return state !== undefined && !state.isr.includes(3) ? state : undefined;
    }, 'partition 1’s ISR to drop the offline replica');
    assert.equal(followed.leader, 1);
    assert.equal(followed.leaderEpoch, 0, 'a follower going offline changes no leader epoch');
    const kept = controller.store.partitionState('orders', 2)!;
    assert.equal(kept.leader, 3, 'a replica on a healthy directory keeps its leadership');
    assert.deepEqual(kept.isr, [3, 2, 1]);
    for (const member of members) {
      assert.equal(member.store.isReplicaOffline(3, 'orders', 0), true);
      assert.equal(member.store.isReplicaOffline(3, 'orders', 2), false);
      assert.equal(member.store.isReplicaOffline(1, 'orders', 0), false);
    }

    // Back in the ISR by hand (as if it had caught up): a preferred election still passes it by.
    await controller.store.updatePartitionState(
      'orders',
      0,
      moved.partitionEpoch,
      { ...moved, isr: [3, 1, 2] },
      null,
    );
    await waitFor(
      () => controller.store.partitionState('orders', 0)?.isr.includes(3) !== true,
      'the controller to take the offline replica out of the ISR again',
    );
    const [preferred] = await controller.controller.electLeaders('preferred', [
      { topic: 'orders', partition: 0 },
    ]);
    assert.equal(preferred!.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    assert.equal(controller.store.partitionState('orders', 0)!.leader, 1);
  });

  test('a broker registering with a replica offline is never elected there, not even as the last ISR member', async () => {
    const prefix = uniquePrefix();
    const members = [await joinMember(etcd, prefix, 1), await joinMember(etcd, prefix, 2)];
    await waitFor(
      () => members.every((member) => member.store.brokers().size === 2),
      'two brokers in every view',
    );
    const controller = await controllerOf(members);
    const other = members.find((member) => member !== controller)!;
    const otherId = other.registry.endpoint.brokerId;
    await controller.controller.createTopic({ name: 'solo', assignment: [[otherId], [otherId]] });
    await waitFor(() => controller.store.partitionState('solo', 1), 'partition states');
    await other.abandon();
    await waitFor(
      () =>
        [0, 1].every(
          (partition) => controller.store.partitionState('solo', partition)?.leader === NO_LEADER,
        ),
      'both partitions to go offline with their only replica',
    );

    // It comes back with partition 0's log directory offline: partition 1 is led again at once,
    // partition 0 stays offline (its only in-sync replica cannot serve it).
    await joinMember(
      etcd,
      prefix,
      otherId,
      {},
      { offlineReplicas: () => [{ topic: 'solo', partition: 0 }] },
    );
    await waitFor(
      () => controller.store.partitionState('solo', 1)?.leader === otherId,
      'partition 1 to be led by its returning replica',
    );
    const offline = controller.store.partitionState('solo', 0)!;
    assert.equal(offline.leader, NO_LEADER);
    assert.deepEqual(offline.isr, [otherId], 'the last leader stays the only ISR member');
    assert.equal(controller.store.isReplicaOffline(otherId, 'solo', 0), true);
  });
});
