import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GroupCoordinator,
  offsetsPartitionFor,
  type JoinGroupParams,
} from '../../src/coordinator/group/group-coordinator.js';
import { buildKeyValueBatch } from '../../src/record/key-value-batch.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  readOffsetsTopicRecords,
} from '../../src/coordinator/group/offsets-topic-records.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  FixedPartitions,
  ManualClock,
  MemoryOffsetsTopic,
  memoryPorts,
  subscription,
} from './helpers.js';
import { LogOffsetsTopic } from './log-offsets-topic.js';
import {
  heartbeatRequest,
  noMember,
  offsetCommitRequest,
  syncGroupRequest,
} from './group-requests.js';
import { withTemporaryDirectory } from '../helpers/temporary-directory.js';

const partitionCount = 5;
const topics = new FixedPartitions({ orders: Array(10).fill(1_000), refunds: [50, 60] });

async function open(directory: string, clock = new ManualClock()) {
  const offsetsTopic = await LogOffsetsTopic.open(directory, partitionCount);
  const coordinator = new GroupCoordinator(memoryPorts(offsetsTopic, clock, topics));
  await coordinator.start();
  return { offsetsTopic, coordinator, clock };
}

function joinParams(groupId: string, memberId: string): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    clientId: 'reload-test',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    requireKnownMemberId: true,
  };
}

describe('offsets in __consumer_offsets log files', () => {
  it('commits, metadata strings and group membership survive a restart from the files', async () => {
    await withTemporaryDirectory('brook-offsets-', async (directory) => {
      const first = await open(directory);
      const groupId = 'billing';
      const { memberId } = await first.coordinator.joinGroup(joinParams(groupId, ''));
      const joining = first.coordinator.joinGroup(joinParams(groupId, memberId));
      first.clock.advance(0);
      const join = await joining;
      assert.equal(join.errorCode, ErrorCode.NONE);
      const sync = await first.coordinator.syncGroup(
        syncGroupRequest(
          { groupId, memberId, generationId: join.generationId },
          {
            protocolType: 'consumer',
            protocolName: 'range',
            assignments: [{ memberId, assignment: Buffer.from('orders 0-9') }],
          },
        ),
      );
      assert.equal(sync.errorCode, ErrorCode.NONE);
      for (let round = 1; round <= 3; round++) {
        const result = await first.coordinator.commitOffsets(
          offsetCommitRequest({ groupId, memberId, generationId: join.generationId }, [
            {
              topic: 'orders',
              partition: 0,
              offset: BigInt(100 * round),
              leaderEpoch: 0,
              metadata: `round ${round} ✓`,
            },
            { topic: 'orders', partition: 7, offset: BigInt(7 * round) },
          ]),
        );
        assert.deepEqual(
          result[0].partitions.map((entry) => entry.errorCode),
          [ErrorCode.NONE, ErrorCode.NONE],
        );
      }
      // A simple (generation −1) consumer's group, then deleted offsets of it.
      await first.coordinator.commitOffsets(
        offsetCommitRequest(noMember('manual'), [
          { topic: 'refunds', partition: 0, offset: 40n, metadata: 'm' },
          { topic: 'refunds', partition: 1, offset: 41n, metadata: '' },
        ]),
      );
      const deleted = await first.coordinator.deleteOffsets('manual', [
        { name: 'refunds', partitions: [1] },
      ]);
      assert.equal(deleted.errorCode, ErrorCode.NONE);
      // A deleted group leaves only tombstones behind.
      await first.coordinator.commitOffsets(
        offsetCommitRequest(noMember('gone'), [
          { topic: 'orders', partition: 3, offset: 3n, metadata: '' },
        ]),
      );
      assert.deepEqual(await first.coordinator.deleteGroups(['gone']), [
        { groupId: 'gone', errorCode: ErrorCode.NONE },
      ]);
      first.coordinator.close();
      await first.offsetsTopic.close();

      const second = await open(directory);
      const fetched = second.coordinator.fetchOffsets(groupId, null);
      assert.equal(fetched.errorCode, ErrorCode.NONE);
      const byPartition = new Map(
        fetched.topics[0].partitions.map((entry) => [entry.partition, entry]),
      );
      assert.equal(byPartition.get(0)?.offset, 300n);
      assert.equal(byPartition.get(0)?.metadata, 'round 3 ✓');
      assert.equal(byPartition.get(0)?.leaderEpoch, 0);
      assert.equal(byPartition.get(7)?.offset, 21n);
      assert.equal(byPartition.get(7)?.metadata, '');

      const description = second.coordinator.describeGroup(groupId);
      assert.equal(description.state, 'Stable');
      assert.equal(description.members[0].memberId, memberId);
      assert.equal(description.members[0].assignment.toString(), 'orders 0-9');
      // The restored member carries on in its generation without rejoining.
      assert.equal(
        second.coordinator.heartbeat(
          heartbeatRequest({ groupId, memberId, generationId: join.generationId }),
        ),
        ErrorCode.NONE,
      );

      const manual = second.coordinator.fetchOffsets('manual', [
        { name: 'refunds', partitions: [0, 1] },
      ]);
      assert.deepEqual(
        manual.topics[0].partitions.map((entry) => entry.offset),
        [40n, -1n],
      );
      assert.deepEqual(second.coordinator.fetchOffsets('gone', null).topics, []);
      assert.equal(second.coordinator.describeGroup('gone').state, 'Dead');
      second.coordinator.close();
      await second.offsetsTopic.close();
    });
  });

  it("writes Kafka's key and value layouts to the partition hash(group) mod N", async () => {
    await withTemporaryDirectory('brook-offsets-', async (directory) => {
      const { coordinator, offsetsTopic, clock } = await open(directory);
      const groupId = 'layout-check';
      await coordinator.commitOffsets(
        offsetCommitRequest(noMember(groupId), [
          { topic: 'orders', partition: 2, offset: 42n, leaderEpoch: 5, metadata: 'hello' },
        ]),
      );
      const partition = offsetsPartitionFor(groupId, partitionCount);
      const batches: Buffer[] = [];
      for await (const chunk of offsetsTopic.readAll(partition)) batches.push(chunk);
      const records = batches.flatMap((chunk) => [...readOffsetsTopicRecords(chunk)]);
      assert.equal(records.length, 1);
      // Key version 1: group, topic, partition.
      assert.equal(records[0].key.readInt16BE(0), 1);
      assert.deepEqual(decodeOffsetsTopicKey(records[0].key), {
        type: 'offset',
        groupId,
        topic: 'orders',
        partition: 2,
      });
      // Value version 3: offset, leader epoch, metadata, commit timestamp.
      assert.equal(records[0].value!.readInt16BE(0), 3);
      const value = decodeOffsetCommitValue(records[0].value!);
      assert.equal(value.offset, 42n);
      assert.equal(value.leaderEpoch, 5);
      assert.equal(value.metadata, 'hello');
      assert.equal(records[0].value!.length, 2 + 8 + 4 + 2 + 5 + 8);
      for (let other = 0; other < partitionCount; other++) {
        if (other !== partition) assert.equal(offsetsTopic.log(other).logEndOffset, 0);
      }
      // Group metadata: key version 2, value version 3.
      const { memberId } = await coordinator.joinGroup(joinParams(groupId, ''));
      const joining = coordinator.joinGroup(joinParams(groupId, memberId));
      clock.advance(0);
      const join = await joining;
      await coordinator.syncGroup(
        syncGroupRequest(
          { groupId, memberId, generationId: join.generationId },
          { assignments: [{ memberId, assignment: Buffer.from('a') }] },
        ),
      );
      coordinator.close();
      await offsetsTopic.close();
      const reopened = await LogOffsetsTopic.open(directory, partitionCount);
      const all: Buffer[] = [];
      for await (const chunk of reopened.readAll(partition)) all.push(chunk);
      const groupRecord = all
        .flatMap((chunk) => [...readOffsetsTopicRecords(chunk)])
        .find((record) => record.key.readInt16BE(0) === 2)!;
      assert.deepEqual(decodeOffsetsTopicKey(groupRecord.key), { type: 'group', groupId });
      const metadata = decodeGroupMetadataValue(groupRecord.value!);
      assert.equal(metadata.protocolType, 'consumer');
      assert.equal(metadata.protocolName, 'range');
      assert.equal(metadata.leaderId, memberId);
      assert.equal(metadata.members[0].clientId, 'reload-test');
      assert.equal(metadata.members[0].assignment.toString(), 'a');
      assert.deepEqual(metadata.members[0].subscription, subscription(['orders']));
      await reopened.close();
    });
  });

  it('offsets of a group without members expire after offsets.retention.ms, and the group with them', async () => {
    await withTemporaryDirectory('brook-offsets-', async (directory) => {
      const clock = new ManualClock();
      const offsetsTopic = await LogOffsetsTopic.open(directory, partitionCount);
      const coordinator = new GroupCoordinator(memoryPorts(offsetsTopic, clock, topics), {
        offsetsRetentionMs: 60_000,
        offsetsRetentionCheckIntervalMs: 1_000_000,
      });
      await coordinator.start();
      await coordinator.commitOffsets(
        offsetCommitRequest(noMember('idle'), [
          { topic: 'orders', partition: 1, offset: 9n, metadata: '' },
        ]),
      );
      clock.advanceWallClock(59_000);
      assert.equal(await coordinator.expireOffsets(), 0);
      clock.advanceWallClock(1_000);
      assert.equal(await coordinator.expireOffsets(), 1);
      assert.equal(coordinator.groupState('idle'), undefined);
      coordinator.close();
      await offsetsTopic.close();
      const second = await open(directory);
      assert.deepEqual(second.coordinator.fetchOffsets('idle', null).topics, []);
      assert.deepEqual(second.coordinator.listGroups().groups, []);
      second.coordinator.close();
      await second.offsetsTopic.close();
    });
  });

  it("a record it cannot read is skipped without losing the partition's other groups", async () => {
    const clock = new ManualClock();
    const offsetsTopic = new MemoryOffsetsTopic(1);
    const unknownKey = Buffer.from([0, 9, 0, 1, 0x78]);
    await offsetsTopic.append(
      0,
      buildKeyValueBatch(
        [
          { key: unknownKey, value: Buffer.from('?') },
          {
            key: encodeOffsetCommitKey('survivor', 'orders', 1),
            value: encodeOffsetCommitValue({
              offset: 77n,
              leaderEpoch: -1,
              metadata: 'kept',
              commitTimestampMs: 1,
            }),
          },
        ],
        1,
      ),
    );
    const coordinator = new GroupCoordinator(memoryPorts(offsetsTopic, clock, topics));
    await coordinator.start();
    assert.equal(coordinator.skippedRecordCount, 1);
    const fetched = coordinator.fetchOffsets('survivor', [{ name: 'orders', partitions: [1] }]);
    assert.equal(fetched.topics[0].partitions[0].offset, 77n);
    assert.equal(fetched.topics[0].partitions[0].metadata, 'kept');
  });
});
