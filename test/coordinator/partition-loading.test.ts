// One `__consumer_offsets` partition loaded and unloaded at a time, as a coordinator in a cluster
// must when leadership moves: COORDINATOR_LOAD_IN_PROGRESS while loading, NOT_COORDINATOR when
// not loaded here, and the groups back after a reload; the other partitions are not disturbed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GroupCoordinator,
  offsetsPartitionFor,
  type JoinGroupParams,
} from '../../src/coordinator/group/group-coordinator.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ManualClock, MemoryOffsetsTopic, memoryPorts, settle, subscription } from './helpers.js';

const partitionCount = 4;

/** The in-memory offsets topic, whose partition reads wait until the test opens their gate. */
class GatedOffsetsTopic extends MemoryOffsetsTopic {
  private readonly gates: (() => void)[] = [];
  gateReads = false;

  get waitingReadCount(): number {
    return this.gates.length;
  }

  /** Lets the oldest waiting read proceed. */
  openOldestGate(): void {
    const open = this.gates.shift();
    assert.ok(open !== undefined, 'no read is waiting');
    open();
  }

  override async *readAll(partition: number): AsyncIterable<Buffer> {
    if (this.gateReads) await new Promise<void>((resolve) => this.gates.push(resolve));
    yield* super.readAll(partition);
  }
}

/** Two group ids that live on different partitions. */
function groupsOnTwoPartitions(): { groupId: string; otherGroupId: string } {
  const groupId = 'billing';
  let index = 0;
  while (
    offsetsPartitionFor(`other-${index}`, partitionCount) ===
    offsetsPartitionFor(groupId, partitionCount)
  ) {
    index++;
  }
  return { groupId, otherGroupId: `other-${index}` };
}

async function startCoordinator() {
  const clock = new ManualClock();
  const offsetsTopic = new GatedOffsetsTopic(partitionCount);
  const coordinator = new GroupCoordinator(memoryPorts(offsetsTopic, clock));
  await coordinator.start();
  return { clock, offsetsTopic, coordinator };
}

async function commit(coordinator: GroupCoordinator, groupId: string, offset: bigint) {
  const [topic] = await coordinator.commitOffsets({
    groupId,
    memberId: '',
    generationId: -1,
    groupInstanceId: null,
    topics: [
      { name: 'orders', partitions: [{ partition: 0, offset, leaderEpoch: 0, metadata: '' }] },
    ],
  });
  assert.equal(topic.partitions[0].errorCode, ErrorCode.NONE);
}

function fetched(coordinator: GroupCoordinator, groupId: string) {
  const result = coordinator.fetchOffsets(groupId, [{ name: 'orders', partitions: [0] }]);
  return { errorCode: result.errorCode, offset: result.topics[0]?.partitions[0].offset };
}

function joinParams(groupId: string): JoinGroupParams {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'loading-test',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    requireKnownMemberId: false,
  };
}

describe('loading and unloading one partition of __consumer_offsets', () => {
  it('answers NOT_COORDINATOR once unloaded, LOAD_IN_PROGRESS while reloading, then serves the groups again', async () => {
    const { offsetsTopic, coordinator } = await startCoordinator();
    const { groupId, otherGroupId } = groupsOnTwoPartitions();
    const partition = coordinator.partitionFor(groupId);
    await commit(coordinator, groupId, 42n);
    await commit(coordinator, otherGroupId, 7n);

    coordinator.unloadPartition(partition);
    assert.deepEqual(fetched(coordinator, groupId), {
      errorCode: ErrorCode.NOT_COORDINATOR,
      offset: undefined,
    });
    assert.equal(
      coordinator.heartbeat({ groupId, memberId: 'm', generationId: 1, groupInstanceId: null }),
      ErrorCode.NOT_COORDINATOR,
    );
    assert.equal(coordinator.describeGroup(groupId).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(coordinator.groupState(groupId), undefined);
    assert.equal(coordinator.isLoaded(), true, 'the partitions still loaded are all loaded');
    // The other partition's group is untouched.
    assert.deepEqual(fetched(coordinator, otherGroupId), { errorCode: ErrorCode.NONE, offset: 7n });

    offsetsTopic.gateReads = true;
    const loading = coordinator.loadPartition(partition);
    await settle();
    assert.equal(offsetsTopic.waitingReadCount, 1);
    assert.equal(fetched(coordinator, groupId).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal(
      (await coordinator.joinGroup(joinParams(groupId))).errorCode,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    assert.equal(coordinator.listGroups().errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal(coordinator.isLoaded(), false);
    assert.deepEqual(fetched(coordinator, otherGroupId), { errorCode: ErrorCode.NONE, offset: 7n });

    offsetsTopic.openOldestGate();
    await loading;
    assert.deepEqual(fetched(coordinator, groupId), { errorCode: ErrorCode.NONE, offset: 42n });
    assert.equal(coordinator.isLoaded(), true);
    assert.equal(coordinator.listGroups().errorCode, ErrorCode.NONE);
    coordinator.close();
  });

  it('answers parked JoinGroups NOT_COORDINATOR when their partition is unloaded', async () => {
    const { clock, offsetsTopic, coordinator } = await startCoordinator();
    const { groupId } = groupsOnTwoPartitions();
    const first = await (async () => {
      const joining = coordinator.joinGroup(joinParams(groupId));
      clock.advance(0);
      return joining;
    })();
    assert.equal(first.errorCode, ErrorCode.NONE);
    const sync = await coordinator.syncGroup({
      groupId,
      memberId: first.memberId,
      generationId: first.generationId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: first.memberId, assignment: Buffer.from([1, 2, 3]) }],
    });
    assert.equal(sync.errorCode, ErrorCode.NONE);
    // A second member's join parks the group in a rebalance until the first member rejoins.
    const parked = coordinator.joinGroup(joinParams(groupId));
    await settle();
    assert.equal(coordinator.groupState(groupId), 'PreparingRebalance');

    coordinator.unloadPartition(coordinator.partitionFor(groupId));
    const answer = await parked;
    assert.equal(answer.errorCode, ErrorCode.NOT_COORDINATOR);
    // The metadata of generation 1 was written before the unload: a reload restores it.
    await coordinator.loadPartition(coordinator.partitionFor(groupId));
    assert.equal(coordinator.groupState(groupId), 'Stable');
    assert.equal(coordinator.describeGroup(groupId).members.length, 1);
    assert.ok((offsetsTopic.batches.get(coordinator.partitionFor(groupId)) ?? []).length > 0);
    coordinator.close();
  });

  it('a load overtaken by an unload installs nothing, even while a newer load of the partition runs', async () => {
    const { offsetsTopic, coordinator } = await startCoordinator();
    const { groupId } = groupsOnTwoPartitions();
    const partition = coordinator.partitionFor(groupId);
    await commit(coordinator, groupId, 42n);
    coordinator.unloadPartition(partition);

    offsetsTopic.gateReads = true;
    const staleLoad = coordinator.loadPartition(partition);
    await settle();
    coordinator.unloadPartition(partition);
    const currentLoad = coordinator.loadPartition(partition);
    await settle();
    assert.equal(offsetsTopic.waitingReadCount, 2);

    // The first load finishes while the second still reads: the partition stays loading.
    offsetsTopic.openOldestGate();
    await staleLoad;
    assert.equal(fetched(coordinator, groupId).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    assert.equal(coordinator.groupState(groupId), undefined);

    offsetsTopic.openOldestGate();
    await currentLoad;
    assert.deepEqual(fetched(coordinator, groupId), { errorCode: ErrorCode.NONE, offset: 42n });
    coordinator.close();
  });

  it('a partition whose load fails is not loaded and can be loaded again', async () => {
    const { offsetsTopic, coordinator } = await startCoordinator();
    const { groupId } = groupsOnTwoPartitions();
    const partition = coordinator.partitionFor(groupId);
    await commit(coordinator, groupId, 42n);
    coordinator.unloadPartition(partition);

    const batches = offsetsTopic.batches.get(partition)!;
    const good = batches[0];
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1] ^= 0xff;
    batches[0] = corrupt;
    await assert.rejects(coordinator.loadPartition(partition), { code: 'BROOK_OFFSETS_BATCH' });
    assert.equal(fetched(coordinator, groupId).errorCode, ErrorCode.NOT_COORDINATOR);

    batches[0] = good;
    await coordinator.loadPartition(partition);
    assert.deepEqual(fetched(coordinator, groupId), { errorCode: ErrorCode.NONE, offset: 42n });
    coordinator.close();
  });
});
