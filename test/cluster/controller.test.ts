import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterMember } from '../../src/cluster/cluster-member.js';
import { ClusterError, ClusterErrorCode } from '../../src/cluster/errors.js';
import { NO_LEADER } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { joinMember, startEtcd, uniquePrefix } from '../helpers/etcd.js';
import { waitFor } from '../helpers/poll.js';

const etcd = await startEtcd();

async function threeBrokers(prefix: string): Promise<ClusterMember[]> {
  const members: ClusterMember[] = [];
  for (const id of [1, 2, 3]) members.push(await joinMember(etcd, prefix, id));
  await waitFor(
    () => members.every((member) => member.store.brokers().size === 3),
    'three brokers in every view',
  );
  return members;
}

async function controllerOf(members: readonly ClusterMember[]): Promise<ClusterMember> {
  return waitFor(() => {
    const controllers = members.filter((member) => member.controller.isController);
    return controllers.length === 1 ? controllers[0] : undefined;
  }, 'exactly one controller');
}

function isCode(code: string, kafkaErrorCode?: number) {
  return (error: unknown) =>
    error instanceof ClusterError &&
    error.code === code &&
    (kafkaErrorCode === undefined || error.kafkaErrorCode === kafkaErrorCode);
}

describe('the controller', () => {
  test('one broker wins the election and every view names it', async () => {
    const members = await threeBrokers(uniquePrefix());
    const controller = await controllerOf(members);
    for (const member of members) {
      await waitFor(
        () => member.store.controller()?.brokerId === controller.registry.endpoint.brokerId,
        'every view to agree on the controller',
      );
    }
    assert.equal(controller.store.controller()?.epoch, controller.controller.epoch);
  });

  test('when the controller’s lease expires another broker takes over with a higher epoch', async () => {
    const members = await threeBrokers(uniquePrefix());
    const first = await controllerOf(members);
    const firstEpoch = first.controller.epoch!;
    await first.abandon();
    const rest = members.filter((member) => member !== first);
    const second = await controllerOf(rest);
    assert.notEqual(second, first);
    assert.ok(second.controller.epoch! > firstEpoch, `${second.controller.epoch} > ${firstEpoch}`);
    await waitFor(
      () => rest.every((member) => member.store.controller()?.epoch === second.controller.epoch),
      'the survivors to see the new controller',
    );
  });

  test('a dead broker’s leaderships move to in-sync replicas with a leader epoch bump; ISRs shrink', async () => {
    const members = await threeBrokers(uniquePrefix());
    const controller = await controllerOf(members);
    const victim = members.find((member) => member !== controller)!;
    const victimId = victim.registry.endpoint.brokerId;
    const others = [1, 2, 3].filter((id) => id !== victimId);
    // Partition 0 led by the victim, partition 1 with the victim as a follower.
    await controller.controller.createTopic({
      name: 'orders',
      assignment: [
        [victimId, ...others],
        [others[0]!, victimId, others[1]!],
      ],
    });
    await waitFor(() => controller.store.partitionState('orders', 1), 'partition states');
    assert.equal(controller.store.partitionState('orders', 0)!.leader, victimId);

    await victim.abandon();
    const moved = await waitFor(() => {
      const state = controller.store.partitionState('orders', 0);
      return state !== undefined && state.leader !== victimId ? state : undefined;
    }, 'partition 0 to get a new leader');
    assert.equal(moved.leader, others[0], 'the next replica in assignment order leads');
    assert.equal(moved.leaderEpoch, 1);
    assert.deepEqual([...moved.isr].sort(), [...others].sort());
    assert.deepEqual(moved.replicas, [victimId, ...others], 'the assignment is unchanged');

    const follower = await waitFor(() => {
      const state = controller.store.partitionState('orders', 1);
      return state !== undefined && !state.isr.includes(victimId) ? state : undefined;
    }, 'partition 1’s ISR to drop the dead broker');
    assert.equal(follower.leader, others[0]);
    assert.equal(follower.leaderEpoch, 0, 'a follower’s death does not change the leader epoch');
    assert.equal(follower.partitionEpoch, 1);
  });

  test('with no live in-sync replica a partition goes offline unless its topic allows unclean election', async () => {
    const members = await threeBrokers(uniquePrefix());
    const controller = await controllerOf(members);
    const [a, b] = members.filter((member) => member !== controller);
    const aId = a!.registry.endpoint.brokerId;
    const bId = b!.registry.endpoint.brokerId;
    const controllerId = controller.registry.endpoint.brokerId;
    await controller.controller.createTopic({ name: 'clean', assignment: [[aId, bId]] });
    await controller.controller.createTopic({
      name: 'unclean',
      assignment: [[aId, bId]],
      configs: { 'unclean.leader.election.enable': 'true' },
    });
    await controller.controller.createTopic({ name: 'bystander', assignment: [[controllerId]] });
    // b dies: a leads both alone.
    await b!.abandon();
    await waitFor(
      () =>
        ['clean', 'unclean'].every(
          (topic) => controller.store.partitionState(topic, 0)?.isr.join() === String(aId),
        ),
      'b to leave both ISRs',
    );
    // b returns (empty-handed: it never caught up), then a dies.
    const bAgain = await joinMember(etcd, b!.store.prefix, bId);
    await waitFor(() => controller.store.brokers().has(bId), 'b to register again');
    await a!.abandon();

    const offline = await waitFor(() => {
      const state = controller.store.partitionState('clean', 0);
      return state?.leader === NO_LEADER ? state : undefined;
    }, 'the clean topic to go offline');
    assert.deepEqual(offline.isr, [aId], 'the last leader stays the only ISR member');
    const unclean = await waitFor(() => {
      const state = controller.store.partitionState('unclean', 0);
      return state?.leader === bId ? state : undefined;
    }, 'the unclean topic to elect b');
    assert.deepEqual(unclean.isr, [bId]);
    assert.equal(unclean.leaderEpoch, 1);

    // a comes back: it is the clean partition's only in-sync replica, so it leads again.
    await joinMember(etcd, b!.store.prefix, aId);
    const back = await waitFor(() => {
      const state = controller.store.partitionState('clean', 0);
      return state?.leader === aId ? state : undefined;
    }, 'the clean topic to come back with a');
    assert.equal(back.leaderEpoch, offline.leaderEpoch + 1);
    assert.ok(bAgain.store.brokers().has(aId));
  });

  test('a partition-state write with a stale partition epoch is refused and changes nothing', async () => {
    const members = await threeBrokers(uniquePrefix());
    const controller = await controllerOf(members);
    await controller.controller.createTopic({ name: 'cas', assignment: [[1, 2, 3]] });
    const store = controller.store;
    const initial = await waitFor(() => store.partitionState('cas', 0), 'the partition state');
    const heard: string[] = [];
    store.subscribe((change) => {
      if (change.kind === 'partition') heard.push(`${change.topic}-${change.partition}`);
    });
    const written = await store.updatePartitionState(
      'cas',
      0,
      initial.partitionEpoch,
      { ...initial, isr: [1, 2] },
      null,
    );
    assert.equal(written.partitionEpoch, initial.partitionEpoch + 1);
    // The writer's own view has the write at once, and its listeners hear of it.
    assert.equal(store.partitionState('cas', 0)?.partitionEpoch, written.partitionEpoch);
    await waitFor(() => heard.includes('cas-0'), 'the writer’s listener to hear of its write');
    await assert.rejects(
      store.updatePartitionState('cas', 0, initial.partitionEpoch, { ...initial, isr: [1] }, null),
      isCode(ClusterErrorCode.STALE_PARTITION_EPOCH),
    );
    // Every member's view ends at the accepted write.
    for (const member of members) {
      await waitFor(
        () => member.store.partitionState('cas', 0)?.partitionEpoch === written.partitionEpoch,
        'the accepted write in every view',
      );
      assert.deepEqual(member.store.partitionState('cas', 0)!.isr, [1, 2]);
    }
  });

  test('a deposed controller cannot write, even with the current partition epoch', async () => {
    const members = await threeBrokers(uniquePrefix());
    const deposed = await controllerOf(members);
    await deposed.controller.createTopic({ name: 'fenced', assignment: [[1, 2, 3]] });
    const state = await waitFor(() => deposed.store.partitionState('fenced', 0), 'the state');
    const oldEpoch = deposed.controller.epoch!;
    // Its election key vanishes, as when its lease expires while the process is paused; the
    // deposed broker is not told.
    const leaseId = await deposed.registry.currentLease!.grant();
    const fenceKey = `controller/${BigInt(leaseId).toString(16)}`;
    assert.equal(
      await deposed.store.namespace.get(fenceKey).string(),
      String(deposed.registry.endpoint.brokerId),
    );
    deposed.controller.halt();
    await deposed.store.namespace.delete().key(fenceKey);
    const successor = await controllerOf(members.filter((member) => member !== deposed));
    assert.ok(successor.controller.epoch! > oldEpoch);

    await assert.rejects(
      deposed.store.updatePartitionState(
        'fenced',
        0,
        state.partitionEpoch,
        { ...state, leader: 2, leaderEpoch: state.leaderEpoch + 1 },
        { key: fenceKey, epoch: oldEpoch },
      ),
      isCode(ClusterErrorCode.NOT_CONTROLLER),
    );
    await assert.rejects(
      deposed.controller.createTopic({ name: 'late', assignment: [[1]] }),
      isCode(ClusterErrorCode.NOT_CONTROLLER),
    );
    assert.equal(successor.store.partitionState('fenced', 0)!.leader, state.leader);
    assert.equal(successor.store.topics().has('late'), false);
  });

  test('topic creation places replicas over live brokers and refuses what cannot be placed', async () => {
    const members = await threeBrokers(uniquePrefix());
    const controller = await controllerOf(members);
    const other = members.find((member) => member !== controller)!;
    const assignment = await controller.controller.createTopic({
      name: 'placed',
      partitionCount: 6,
      replicationFactor: 3,
    });
    assert.equal(assignment.length, 6);
    for (const replicas of assignment) assert.deepEqual([...replicas].sort(), [1, 2, 3]);
    const topic = await waitFor(() => other.store.topics().get('placed'), 'the topic in a view');
    assert.deepEqual(topic.partitions, assignment);
    assert.equal(topic.topicId.length, 16);
    const leaders = new Set(assignment.map((replicas) => replicas[0]));
    assert.equal(leaders.size, 3, 'leadership spread over the three brokers');

    await assert.rejects(
      controller.controller.createTopic({ name: 'wide', partitionCount: 1, replicationFactor: 4 }),
      isCode(ClusterErrorCode.PLACEMENT_REFUSED, ErrorCode.INVALID_REPLICATION_FACTOR),
    );
    await assert.rejects(
      controller.controller.createTopic({ name: 'ghost', assignment: [[1, 9]] }),
      isCode(ClusterErrorCode.PLACEMENT_REFUSED, ErrorCode.INVALID_REPLICA_ASSIGNMENT),
    );
    await assert.rejects(
      controller.controller.createTopic({ name: 'placed', partitionCount: 1 }),
      isCode(ClusterErrorCode.TOPIC_EXISTS),
    );
    await assert.rejects(
      other.controller.createTopic({ name: 'elsewhere', partitionCount: 1 }),
      isCode(ClusterErrorCode.NOT_CONTROLLER),
    );

    const added = await controller.controller.addPartitions('placed', 3);
    assert.equal(added.length, 3);
    await waitFor(() => other.store.partitionState('placed', 8), 'the added partitions');
    assert.equal(other.store.topics().get('placed')!.partitions.length, 9);
  });

  test('preferred-leader election moves leadership back to the first replica when it is in sync', async () => {
    const members = await threeBrokers(uniquePrefix());
    const controller = await controllerOf(members);
    await controller.controller.createTopic({ name: 'preferred', assignment: [[1, 2, 3]] });
    const state = await waitFor(() => controller.store.partitionState('preferred', 0), 'state');
    await controller.store.updatePartitionState(
      'preferred',
      0,
      state.partitionEpoch,
      { ...state, leader: 2, leaderEpoch: 1 },
      null,
    );
    await waitFor(() => controller.store.partitionState('preferred', 0)?.leader === 2, 'leader 2');
    assert.deepEqual(await controller.controller.electPreferredLeaders(), ['preferred-0']);
    const after = controller.store.partitionState('preferred', 0)!;
    assert.equal(after.leader, 1);
    assert.equal(after.leaderEpoch, 2);
    assert.deepEqual(await controller.controller.electPreferredLeaders(), []);
  });
});
