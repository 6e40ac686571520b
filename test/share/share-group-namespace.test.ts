// One group id names one group of one type at a time, as in Kafka 4.x: an id that is a share
// group refuses the classic group requests with Kafka's codes (JoinGroup
// INCONSISTENT_GROUP_PROTOCOL, SyncGroup / Heartbeat / LeaveGroup UNKNOWN_MEMBER_ID, the offset
// APIs GROUP_ID_NOT_FOUND), an id that is a classic group (even one with only committed offsets)
// refuses ShareGroupHeartbeat GROUP_ID_NOT_FOUND, and ListGroups, DescribeGroups and DeleteGroups
// see each id once, with its one type. Deleting the group frees the id for the other type.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Broker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { AlterShareGroupOffsetsResponse } from '../../src/protocol/generated/alter-share-group-offsets.js';
import type { DescribeShareGroupOffsetsResponse } from '../../src/protocol/generated/describe-share-group-offsets.js';
import type { DeleteGroupsResponse } from '../../src/protocol/generated/delete-groups.js';
import type { DescribeGroupsResponse } from '../../src/protocol/generated/describe-groups.js';
import type { HeartbeatResponse } from '../../src/protocol/generated/heartbeat.js';
import type { JoinGroupResponse } from '../../src/protocol/generated/join-group.js';
import type { LeaveGroupResponse } from '../../src/protocol/generated/leave-group.js';
import type { ListGroupsResponse } from '../../src/protocol/generated/list-groups.js';
import type { OffsetCommitResponse } from '../../src/protocol/generated/offset-commit.js';
import type { OffsetDeleteResponse } from '../../src/protocol/generated/offset-delete.js';
import type { OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import type { ShareGroupDescribeResponse } from '../../src/protocol/generated/share-group-describe.js';
import type { ShareGroupHeartbeatResponse } from '../../src/protocol/generated/share-group-heartbeat.js';
import type { SyncGroupResponse } from '../../src/protocol/generated/sync-group.js';
import { waitFor } from '../helpers/poll.js';
import { createTopic, kafka } from './push-helpers.js';
import { ShareConsumer } from './share-consumer.js';
import { startShareBroker } from './share-helpers.js';

function joinGroup(connection: KafkaConnection, groupId: string): Promise<JoinGroupResponse> {
  return connection.request<JoinGroupResponse>(ApiKey.JoinGroup, 9, {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId: '',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
  });
}

function commitOffset(
  connection: KafkaConnection,
  groupId: string,
  topic: string,
): Promise<OffsetCommitResponse> {
  // Generation -1: a consumer outside group management, which may create a group.
  return connection.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 9, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    topics: [
      {
        name: topic,
        partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: null }],
      },
    ],
  });
}

function shareHeartbeat(
  connection: KafkaConnection,
  groupId: string,
  topic: string,
): Promise<ShareGroupHeartbeatResponse> {
  return connection.request<ShareGroupHeartbeatResponse>(ApiKey.ShareGroupHeartbeat, 1, {
    groupId,
    memberId: 'member-1',
    memberEpoch: 0,
    subscribedTopicNames: [topic],
  });
}

function deleteGroup(connection: KafkaConnection, groupId: string): Promise<DeleteGroupsResponse> {
  return connection.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, 2, {
    groupsNames: [groupId],
  });
}

async function listed(connection: KafkaConnection): Promise<string[][]> {
  const response = await connection.request<ListGroupsResponse>(ApiKey.ListGroups, 5, {
    statesFilter: [],
    typesFilter: [],
  });
  return response.groups.map((group) => [group.groupId, group.groupType]).sort();
}

async function withBroker(
  body: (broker: Broker, connection: KafkaConnection) => Promise<void>,
): Promise<void> {
  const broker = await startShareBroker();
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'namespace' });
  try {
    await createTopic(broker, 'orders', 1);
    await body(broker, connection);
  } finally {
    connection.close();
    await broker.stop();
  }
}

test('an id that is a share group refuses the classic group requests with Kafka codes', async () => {
  await withBroker(async (broker, connection) => {
    const member = await ShareConsumer.join(broker.bootstrapServers, 'jobs', 'orders');
    try {
      const joined = await joinGroup(connection, 'jobs');
      assert.equal(joined.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      assert.equal(joined.memberId, '');

      const synced = await connection.request<SyncGroupResponse>(ApiKey.SyncGroup, 5, {
        groupId: 'jobs',
        generationId: 1,
        memberId: 'someone',
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [],
      });
      assert.equal(synced.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
      const beat = await connection.request<HeartbeatResponse>(ApiKey.Heartbeat, 4, {
        groupId: 'jobs',
        generationId: 1,
        memberId: 'someone',
      });
      assert.equal(beat.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
      const left = await connection.request<LeaveGroupResponse>(ApiKey.LeaveGroup, 5, {
        groupId: 'jobs',
        members: [{ memberId: 'someone' }],
      });
      assert.equal(left.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

      const committed = await commitOffset(connection, 'jobs', 'orders');
      assert.equal(committed.topics[0].partitions[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      const fetched = await connection.request<OffsetFetchResponse>(ApiKey.OffsetFetch, 9, {
        groups: [{ groupId: 'jobs', memberId: null, memberEpoch: -1, topics: null }],
      });
      assert.equal(fetched.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      const offsetsDeleted = await connection.request<OffsetDeleteResponse>(
        ApiKey.OffsetDelete,
        0,
        { groupId: 'jobs', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }] },
      );
      assert.equal(offsetsDeleted.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

      // Nothing of the refused requests made a classic group: the id is listed once, as share.
      assert.deepEqual(await listed(connection), [['jobs', 'share']]);
      const described = await connection.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 6, {
        groups: ['jobs'],
        includeAuthorizedOperations: false,
      });
      assert.equal(described.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal(described.groups[0].errorMessage, 'Group jobs is not a classic group.');
    } finally {
      await member.heartbeat(null, -1);
      member.close();
    }

    // Without members the share group lives on (its state is durable) and keeps the id ...
    assert.equal(
      (await joinGroup(connection, 'jobs')).errorCode,
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    const commitWhileEmpty = await commitOffset(connection, 'jobs', 'orders');
    assert.equal(commitWhileEmpty.topics[0].partitions[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    // ... until DeleteGroups deletes it: then the id is free for a classic group.
    assert.equal((await deleteGroup(connection, 'jobs')).results[0].errorCode, ErrorCode.NONE);
    const commitAfterDelete = await commitOffset(connection, 'jobs', 'orders');
    assert.equal(commitAfterDelete.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(await listed(connection), [['jobs', 'classic']]);
  });
});

test('an id that is a classic group, even with only committed offsets, is not a share group', async () => {
  await withBroker(async (_broker, connection) => {
    assert.equal(
      (await commitOffset(connection, 'audit', 'orders')).topics[0].partitions[0].errorCode,
      ErrorCode.NONE,
    );

    const refused = await shareHeartbeat(connection, 'audit', 'orders');
    assert.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(refused.errorMessage, 'Group audit is not a share group.');
    assert.equal(refused.memberId, null);
    const described = await connection.request<ShareGroupDescribeResponse>(
      ApiKey.ShareGroupDescribe,
      1,
      { groupIds: ['audit'], includeAuthorizedOperations: false },
    );
    assert.equal(described.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(described.groups[0].errorMessage, 'Group audit is not a share group.');
    const altered = await connection.request<AlterShareGroupOffsetsResponse>(
      ApiKey.AlterShareGroupOffsets,
      0,
      {
        groupId: 'audit',
        topics: [{ topicName: 'orders', partitions: [{ partitionIndex: 0, startOffset: 0n }] }],
      },
    );
    assert.equal(altered.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(altered.errorMessage, 'Group audit is not a share group.');
    const startOffsets = await connection.request<DescribeShareGroupOffsetsResponse>(
      ApiKey.DescribeShareGroupOffsets,
      0,
      { groups: [{ groupId: 'audit', topics: null }] },
    );
    assert.equal(startOffsets.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.deepEqual(await listed(connection), [['audit', 'classic']]);

    // DeleteGroups deletes the classic group (its offsets); then a share group may take the id.
    assert.equal((await deleteGroup(connection, 'audit')).results[0].errorCode, ErrorCode.NONE);
    const joined = await shareHeartbeat(connection, 'audit', 'orders');
    assert.equal(joined.errorCode, ErrorCode.NONE, `${joined.errorMessage}`);
    assert.deepEqual(await listed(connection), [['audit', 'share']]);
    await connection.request<ShareGroupHeartbeatResponse>(ApiKey.ShareGroupHeartbeat, 1, {
      groupId: 'audit',
      memberId: 'member-1',
      memberEpoch: -1,
      subscribedTopicNames: null,
    });
  });
});

test('a kafkajs consumer joining an id that is a share group stops with INCONSISTENT_GROUP_PROTOCOL', async () => {
  await withBroker(async (broker) => {
    const member = await ShareConsumer.join(broker.bootstrapServers, 'billing', 'orders');
    const consumer = kafka(broker).consumer({ groupId: 'billing', retry: { retries: 0 } });
    let crash: { type?: string; message?: string } | null = null;
    consumer.on(consumer.events.CRASH, (event) => {
      const error = event.payload.error as Error & { type?: string };
      crash = { type: error.type, message: error.message };
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders' });
      await consumer.run({ eachMessage: async () => {} });
      await waitFor(
        () => crash !== null,
        () => 'the kafkajs consumer crashed',
      );
      assert.equal(crash!.type, 'INCONSISTENT_GROUP_PROTOCOL');
      assert.match(crash!.message!, /protocol/i);
    } finally {
      await consumer.disconnect();
      await member.heartbeat(null, -1);
      member.close();
    }
  });
});
