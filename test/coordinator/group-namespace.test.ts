// The group coordinator's side of the one group-id namespace: an id another coordinator holds
// (`ports.otherGroupType`) is refused with Kafka's codes only where this coordinator serves the
// id and no classic group holds it, and `groupType` tells the other coordinator which ids are
// classic groups.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GroupCoordinator,
  offsetsPartitionFor,
  type JoinGroupParams,
  type OffsetCommitParams,
} from '../../src/coordinator/group/group-coordinator.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ManualClock, MemoryOffsetsTopic, memoryPorts, subscription } from './helpers.js';

function joinParams(groupId: string): JoinGroupParams {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    requireKnownMemberId: false,
  };
}

function commitParams(groupId: string): OffsetCommitParams {
  return {
    groupId,
    memberId: '',
    generationId: -1,
    groupInstanceId: null,
    topics: [
      { name: 'orders', partitions: [{ partition: 0, offset: 7n, leaderEpoch: -1, metadata: '' }] },
    ],
  };
}

async function setup(shareGroupIds: Set<string>, notLed: string | null = null) {
  const offsetsTopic = new MemoryOffsetsTopic(50);
  if (notLed !== null) {
    const skipped = offsetsPartitionFor(notLed, 50);
    offsetsTopic.leaders = new Set(
      Array.from({ length: 50 }, (_, partition) => partition).filter((p) => p !== skipped),
    );
  }
  const coordinator = new GroupCoordinator({
    ...memoryPorts(offsetsTopic, new ManualClock()),
    otherGroupType: (groupId) => (shareGroupIds.has(groupId) ? 'share' : undefined),
  });
  await coordinator.start();
  return coordinator;
}

describe('one group namespace, the classic side', () => {
  it('groupType names the ids classic groups hold, with members or only offsets, until deleted', async () => {
    const coordinator = await setup(new Set());
    assert.equal(coordinator.groupType('ledger'), undefined);
    const [committed] = await coordinator.commitOffsets(commitParams('ledger'));
    assert.equal(committed.partitions[0].errorCode, ErrorCode.NONE);
    assert.equal(coordinator.groupType('ledger'), 'classic');
    assert.deepEqual(await coordinator.deleteGroups(['ledger']), [
      { groupId: 'ledger', errorCode: ErrorCode.NONE },
    ]);
    assert.equal(coordinator.groupType('ledger'), undefined);
    coordinator.close();
  });

  it('a share group id is refused, but NOT_COORDINATOR still comes first', async () => {
    const coordinator = await setup(new Set(['jobs', 'remote']), 'remote');
    const joined = await coordinator.joinGroup(joinParams('jobs'));
    assert.equal(joined.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(coordinator.groupType('jobs'), undefined, 'the refused join made no group');
    const [committed] = await coordinator.commitOffsets(commitParams('jobs'));
    assert.equal(committed.partitions[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(coordinator.fetchOffsets('jobs', null).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    const transactional = await coordinator.commitTransactionalOffsets({
      groupId: 'jobs',
      producerId: 1,
      producerEpoch: 0,
      memberId: '',
      generationId: -1,
      groupInstanceId: null,
      offsets: [{ topic: 'orders', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' }],
    });
    assert.equal(transactional, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(
      (await coordinator.joinGroup(joinParams('remote'))).errorCode,
      ErrorCode.NOT_COORDINATOR,
    );
    coordinator.close();
  });

  it('a classic group holding an id another type also claims (older data) keeps serving it', async () => {
    const shareGroupIds = new Set<string>();
    const coordinator = await setup(shareGroupIds);
    await coordinator.commitOffsets(commitParams('ledger'));
    shareGroupIds.add('ledger');
    const [committed] = await coordinator.commitOffsets(commitParams('ledger'));
    assert.equal(committed.partitions[0].errorCode, ErrorCode.NONE);
    const fetched = coordinator.fetchOffsets('ledger', null);
    assert.equal(fetched.errorCode, ErrorCode.NONE);
    assert.equal(fetched.topics[0].partitions[0].offset, 7n);
    coordinator.close();
  });
});
