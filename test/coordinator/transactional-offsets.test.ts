// TxnOffsetCommit's offsets in `__consumer_offsets`: written as the producer's transactional
// batch, held until the transaction's marker reaches the group's partition, and rebuilt the same
// way when the partition is loaded again. The broker-level and cluster tests drive the same path
// with real clients (test/transactions/, test/faults/cluster-transactions.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ManualClock, MemoryOffsetsTopic, memoryPorts } from './helpers.js';
import { noMember, offsetCommitRequest } from './group-requests.js';
import { markerBatch } from '../transactions/helpers.js';

const GROUP = 'txn-group';

async function startCoordinator(topic: MemoryOffsetsTopic): Promise<GroupCoordinator> {
  const coordinator = new GroupCoordinator(memoryPorts(topic, new ManualClock()));
  await coordinator.start();
  return coordinator;
}

function commitInTransaction(
  coordinator: GroupCoordinator,
  producerId: number,
  offset: bigint,
  partition = 0,
): Promise<number> {
  return coordinator.commitTransactionalOffsets({
    groupId: GROUP,
    producerId,
    producerEpoch: 0,
    memberId: '',
    generationId: -1,
    groupInstanceId: null,
    offsets: [{ topic: 'orders', partition, offset, leaderEpoch: -1, metadata: 'txn' }],
  });
}

async function endTransaction(
  coordinator: GroupCoordinator,
  producerId: number,
  committed: boolean,
): Promise<number> {
  const batch = await markerBatch(producerId, committed);
  return coordinator.appendTransactionMarker(coordinator.partitionFor(GROUP), batch, {
    producerId,
    committed,
  });
}

/** orders-0 and orders-1 as OffsetFetch answers them: [offset, error code] each. */
function fetched(coordinator: GroupCoordinator, requireStable: boolean): [bigint, number][] {
  const result = coordinator.fetchOffsets(
    GROUP,
    [{ name: 'orders', partitions: [0, 1] }],
    requireStable,
  );
  return result.topics[0].partitions.map((entry) => [entry.offset, entry.errorCode]);
}

const NONE = ErrorCode.NONE;
const UNSTABLE = ErrorCode.UNSTABLE_OFFSET_COMMIT;

describe('transactional offsets in __consumer_offsets', () => {
  it('are held until the marker: unstable meanwhile, dropped by ABORT, applied by COMMIT', async () => {
    const coordinator = await startCoordinator(new MemoryOffsetsTopic(10));
    assert.equal(await commitInTransaction(coordinator, 7, 17n), NONE);
    assert.deepEqual(fetched(coordinator, false), [
      [-1n, NONE],
      [-1n, NONE],
    ]);
    assert.deepEqual(fetched(coordinator, true), [
      [-1n, UNSTABLE],
      [-1n, NONE],
    ]);

    assert.equal(await endTransaction(coordinator, 7, false), NONE);
    assert.deepEqual(fetched(coordinator, true), [
      [-1n, NONE],
      [-1n, NONE],
    ]);

    assert.equal(await commitInTransaction(coordinator, 7, 21n), NONE);
    assert.equal(await endTransaction(coordinator, 7, true), NONE);
    assert.deepEqual(fetched(coordinator, true), [
      [21n, NONE],
      [-1n, NONE],
    ]);
    coordinator.close();
  });

  it('settle per producer: one producer’s marker leaves another’s offsets pending', async () => {
    const coordinator = await startCoordinator(new MemoryOffsetsTopic(10));
    assert.equal(await commitInTransaction(coordinator, 7, 5n, 0), NONE);
    assert.equal(await commitInTransaction(coordinator, 8, 9n, 1), NONE);
    assert.equal(await endTransaction(coordinator, 7, true), NONE);
    assert.deepEqual(fetched(coordinator, true), [
      [5n, NONE],
      [-1n, UNSTABLE],
    ]);
    coordinator.close();
  });

  it('are rebuilt on load: committed applied, aborted dropped, an open transaction still pending', async () => {
    const topic = new MemoryOffsetsTopic(10);
    const first = await startCoordinator(topic);
    assert.equal(await commitInTransaction(first, 7, 11n, 0), NONE);
    assert.equal(await endTransaction(first, 7, true), NONE);
    assert.equal(await commitInTransaction(first, 7, 12n, 0), NONE);
    assert.equal(await endTransaction(first, 7, false), NONE);
    assert.equal(await commitInTransaction(first, 8, 30n, 1), NONE);
    first.close();

    const second = await startCoordinator(topic);
    assert.deepEqual(fetched(second, true), [
      [11n, NONE],
      [-1n, UNSTABLE],
    ]);
    // The open transaction's marker reaches the new coordinator, which commits what it replayed.
    assert.equal(await endTransaction(second, 8, true), NONE);
    assert.deepEqual(fetched(second, true), [
      [11n, NONE],
      [30n, NONE],
    ]);
    second.close();
  });

  it('lose to a plain commit written after them, live and on load', async () => {
    const topic = new MemoryOffsetsTopic(10);
    const first = await startCoordinator(topic);
    assert.equal(await commitInTransaction(first, 7, 40n, 0), NONE);
    await first.commitOffsets(
      offsetCommitRequest(noMember(GROUP), [{ topic: 'orders', partition: 0, offset: 50n }]),
    );
    assert.equal(await endTransaction(first, 7, true), NONE);
    assert.deepEqual(fetched(first, false)[0], [50n, NONE]);
    first.close();

    const second = await startCoordinator(topic);
    assert.deepEqual(fetched(second, false)[0], [50n, NONE]);
    second.close();
  });

  it('a marker for a partition not loaded here is refused, so its writer retries', async () => {
    const topic = new MemoryOffsetsTopic(10);
    topic.leaders = new Set();
    const coordinator = await startCoordinator(topic);
    assert.equal(await endTransaction(coordinator, 7, true), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    topic.leaders = null;
    assert.equal(
      await endTransaction(coordinator, 7, true),
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    coordinator.close();
  });
});
