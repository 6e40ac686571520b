// Share-group administration over the wire, as Kafka 4.x answers it: ListGroups lists share
// groups with group type "share" beside classic groups, DescribeGroups knows no share group (Dead
// below v6, GROUP_ID_NOT_FOUND from v6, as Kafka), DeleteGroups deletes an empty share group
// with its durable state, and AlterShareGroupOffsets / DeleteShareGroupOffsets reset and forget a
// share group's start offsets only while it has no members, each under Kafka's ACLs.
// Provides Promise.withResolvers on Node.js 20; must load before @platformatic/kafka.
import '../helpers/client-platformatic-node20.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Admin } from '@platformatic/kafka';
import { runGroupsCommand } from '../../src/cli/groups-command.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { AlterShareGroupOffsetsResponse } from '../../src/protocol/generated/alter-share-group-offsets.js';
import type { DeleteGroupsResponse } from '../../src/protocol/generated/delete-groups.js';
import type { DeleteShareGroupOffsetsResponse } from '../../src/protocol/generated/delete-share-group-offsets.js';
import type { DescribeGroupsResponse } from '../../src/protocol/generated/describe-groups.js';
import type { DescribeShareGroupOffsetsResponse } from '../../src/protocol/generated/describe-share-group-offsets.js';
import type { ListGroupsResponse } from '../../src/protocol/generated/list-groups.js';
import type { ShareGroupDescribeResponse } from '../../src/protocol/generated/share-group-describe.js';
import {
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
} from '../../src/security/index.js';
import { waitFor } from '../helpers/poll.js';
import { listenerAddress, startSaslBroker } from '../helpers/sasl.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { createTopic, kafka, produce } from './push-helpers.js';
import { ShareConsumer } from './share-consumer.js';
import { accepted, fetchRecords, produceValues, startShareBroker } from './share-helpers.js';

function listGroups(
  connection: KafkaConnection,
  version: number,
  filters: { statesFilter?: string[]; typesFilter?: string[] } = {},
): Promise<ListGroupsResponse> {
  return connection.request<ListGroupsResponse>(ApiKey.ListGroups, version, {
    statesFilter: filters.statesFilter ?? [],
    typesFilter: filters.typesFilter ?? [],
  });
}

function alterOffsets(
  connection: KafkaConnection,
  groupId: string,
  topics: Array<{ topicName: string; partitions: Array<[number, bigint]> }>,
): Promise<AlterShareGroupOffsetsResponse> {
  return connection.request<AlterShareGroupOffsetsResponse>(ApiKey.AlterShareGroupOffsets, 0, {
    groupId,
    topics: topics.map(({ topicName, partitions }) => ({
      topicName,
      partitions: partitions.map(([partitionIndex, startOffset]) => ({
        partitionIndex,
        startOffset,
      })),
    })),
  });
}

function deleteOffsets(
  connection: KafkaConnection,
  groupId: string,
  topicNames: string[],
): Promise<DeleteShareGroupOffsetsResponse> {
  return connection.request<DeleteShareGroupOffsetsResponse>(ApiKey.DeleteShareGroupOffsets, 0, {
    groupId,
    topics: topicNames.map((topicName) => ({ topicName })),
  });
}

/** Each topic the group has state for, with [partition, start offset] pairs. */
async function startOffsets(
  connection: KafkaConnection,
  groupId: string,
): Promise<{ errorCode: number; topics: Array<[string, Array<[number, bigint]>]> }> {
  const response = await connection.request<DescribeShareGroupOffsetsResponse>(
    ApiKey.DescribeShareGroupOffsets,
    0,
    { groups: [{ groupId, topics: null }] },
  );
  const [group] = response.groups;
  return {
    errorCode: group.errorCode,
    topics: group.topics.map((topic) => [
      topic.topicName,
      topic.partitions.map((partition) => [partition.partitionIndex, partition.startOffset]),
    ]),
  };
}

test('ListGroups lists share groups with type "share" beside classic groups, by state and type', async () => {
  const broker = await startShareBroker();
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
  try {
    await createTopic(broker, 'orders', 1);
    const admin = kafka(broker).admin();
    await admin.connect();
    // A classic group with offsets and no members (kafkajs commits them as a consumer): Empty.
    await admin.setOffsets({
      groupId: 'classic',
      topic: 'orders',
      partitions: [{ partition: 0, offset: '0' }],
    });
    const member = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    try {
      const listed = await listGroups(connection, 5);
      assert.equal(listed.errorCode, 0);
      const byId = (response: ListGroupsResponse) =>
        response.groups
          .map((group) => [group.groupId, group.protocolType, group.groupState, group.groupType])
          .sort();
      assert.deepEqual(byId(listed), [
        ['classic', 'consumer', 'Empty', 'classic'],
        ['workers', 'share', 'Stable', 'share'],
      ]);
      assert.deepEqual(byId(await listGroups(connection, 5, { typesFilter: ['share'] })), [
        ['workers', 'share', 'Stable', 'share'],
      ]);
      assert.deepEqual(byId(await listGroups(connection, 5, { typesFilter: ['Classic'] })), [
        ['classic', 'consumer', 'Empty', 'classic'],
      ]);
      assert.deepEqual(byId(await listGroups(connection, 5, { typesFilter: ['consumer'] })), []);
      assert.deepEqual(byId(await listGroups(connection, 5, { statesFilter: ['stable'] })), [
        ['workers', 'share', 'Stable', 'share'],
      ]);
      // Before v5 there is no type: both are listed, the share group by its protocol type.
      const v3 = await listGroups(connection, 3);
      assert.deepEqual(v3.groups.map((group) => [group.groupId, group.protocolType]).sort(), [
        ['classic', 'consumer'],
        ['workers', 'share'],
      ]);
      // A real client's listing (kafkajs, ListGroups v2) sees it too.
      const { groups } = await admin.listGroups();
      assert.deepEqual(groups.map((group) => [group.groupId, group.protocolType]).sort(), [
        ['classic', 'consumer'],
        ['workers', 'share'],
      ]);

      // @platformatic/kafka's admin sends ListGroups v5 with a TypesFilter.
      const platformatic = new Admin({
        clientId: 'share-admin',
        bootstrapBrokers: [broker.bootstrapServers],
        timeout: 10_000,
        retries: 1,
      });
      try {
        const shared = await platformatic.listGroups({ types: ['share'] });
        assert.deepEqual(
          [...shared.values()].map((group) => [group.id, group.state, group.groupType]),
          [['workers', 'Stable', 'share']],
        );
      } finally {
        await platformatic.close();
      }

      // `brook groups list` (ListGroups v4, no type) shows it by its protocol type.
      const out: string[] = [];
      const code = await runGroupsCommand(['list', '--bootstrap-server', broker.bootstrapServers], {
        out: (line) => out.push(line),
        error: (line) => out.push(line),
      });
      assert.equal(code, 0, out.join('\n'));
      assert.match(out.join('\n'), /^workers +Stable +share$/m);

      // A member leaving leaves the group Empty, still listed: its state is durable.
      assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
      assert.deepEqual(byId(await listGroups(connection, 5, { typesFilter: ['share'] })), [
        ['workers', 'share', 'Empty', 'share'],
      ]);
      // DescribeGroups describes classic groups only: below v6 Kafka answers Dead, no error.
      const described = await connection.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 5, {
        groups: ['workers'],
        includeAuthorizedOperations: false,
      });
      assert.deepEqual(
        described.groups.map((group) => [group.groupId, group.errorCode, group.groupState]),
        [['workers', 0, 'Dead']],
      );
      // From v6 (KIP-1043) it says so: GROUP_ID_NOT_FOUND, not a classic group.
      const v6 = await connection.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 6, {
        groups: ['workers', 'nobody', 'classic'],
        includeAuthorizedOperations: false,
      });
      assert.deepEqual(
        v6.groups.map((group) => [group.groupId, group.errorCode, group.errorMessage]),
        [
          ['workers', ErrorCode.GROUP_ID_NOT_FOUND, 'Group workers is not a classic group.'],
          ['nobody', ErrorCode.GROUP_ID_NOT_FOUND, 'Group nobody not found.'],
          ['classic', 0, null],
        ],
      );
      assert.equal(v6.groups[2].groupState, 'Empty');
    } finally {
      member.close();
      await admin.disconnect();
    }
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('DeleteGroups refuses a share group with members and deletes an empty one durably', async (t) => {
  const logDirs = temporaryDirectory(t, 'brook-share-delete-');
  let broker = await startShareBroker({ logDirs });
  let connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
  try {
    await createTopic(broker, 'orders', 2);
    const member = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    const kept = await ShareConsumer.join(broker.bootstrapServers, 'kept', 'orders');
    kept.close();
    try {
      const deleteGroups = (groupsNames: string[]) =>
        connection.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, 2, { groupsNames });
      const refused = await deleteGroups(['workers', 'nobody']);
      assert.deepEqual(
        refused.results.map((result) => [result.groupId, result.errorCode]),
        [
          ['workers', ErrorCode.NON_EMPTY_GROUP],
          ['nobody', ErrorCode.GROUP_ID_NOT_FOUND],
        ],
      );
      assert.equal((await startOffsets(connection, 'workers')).errorCode, 0, 'nothing deleted');

      assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
      const deleted = await deleteGroups(['workers']);
      assert.deepEqual(deleted.results, [{ groupId: 'workers', errorCode: 0 }]);
      assert.equal(
        (await startOffsets(connection, 'workers')).errorCode,
        ErrorCode.GROUP_ID_NOT_FOUND,
      );
      const shareDescribed = await member.describe(['workers']);
      assert.equal(shareDescribed.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    } finally {
      member.close();
    }

    // The deletion is durable; the other group's state is not touched.
    connection.close();
    await broker.stop();
    broker = await startShareBroker({ logDirs });
    connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
    const listed = await listGroups(connection, 5, { typesFilter: ['share'] });
    assert.deepEqual(
      listed.groups.map((group) => [group.groupId, group.groupState]),
      [['kept', 'Empty']],
    );
    const described = await connection.request<ShareGroupDescribeResponse>(
      ApiKey.ShareGroupDescribe,
      1,
      { groupIds: ['kept'], includeAuthorizedOperations: false },
    );
    assert.deepEqual(
      described.groups.map((group) => [group.errorCode, group.groupState, group.members.length]),
      [[0, 'Empty', 0]],
    );
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('AlterShareGroupOffsets resets start offsets of an empty share group, durably', async (t) => {
  const logDirs = temporaryDirectory(t, 'brook-share-alter-');
  let broker = await startShareBroker({ logDirs });
  let connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
  try {
    await createTopic(broker, 'orders', 1);
    await createTopic(broker, 'other', 2);
    const member = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    try {
      await produceValues(broker, 'orders', 6);
      const records = await fetchRecords(member, 6);
      await member.acknowledge(accepted(records));
      assert.deepEqual((await startOffsets(connection, 'workers')).topics, [['orders', [[0, 6n]]]]);

      const busy = await alterOffsets(connection, 'workers', [
        { topicName: 'orders', partitions: [[0, 2n]] },
      ]);
      assert.equal(busy.errorCode, ErrorCode.NON_EMPTY_GROUP);
      assert.match(busy.errorMessage ?? '', /1 active member/);
      assert.deepEqual(
        (await startOffsets(connection, 'workers')).topics,
        [['orders', [[0, 6n]]]],
        'a refused alteration changes nothing',
      );
      assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
    } finally {
      member.close();
    }

    const unknownGroup = await alterOffsets(connection, 'nobody', [
      { topicName: 'orders', partitions: [[0, 0n]] },
    ]);
    assert.equal(unknownGroup.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    await produce(
      broker,
      'other',
      ['a', 'b', 'c'].map((value) => ({ value, partition: 0 })),
    );
    const altered = await alterOffsets(connection, 'workers', [
      {
        topicName: 'orders',
        partitions: [
          [0, 2n],
          [5, 0n],
        ],
      },
      { topicName: 'other', partitions: [[0, 1n]] },
      { topicName: 'missing', partitions: [[0, 0n]] },
      { topicName: 'other', partitions: [[1, 99n]] },
    ]);
    assert.equal(altered.errorCode, 0);
    assert.deepEqual(
      altered.responses.map((topic) => [
        topic.topicName,
        topic.partitions.map((partition) => [partition.partitionIndex, partition.errorCode]),
      ]),
      [
        [
          'orders',
          [
            [0, 0],
            [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          ],
        ],
        ['other', [[0, 0]]],
        ['missing', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ['other', [[1, ErrorCode.INVALID_REQUEST]]],
      ],
    );
    // The topic the group had not read yet reads its other partition from the end (latest).
    const other = (await startOffsets(connection, 'workers')).topics.find(
      ([name]) => name === 'other',
    );
    assert.deepEqual(other, [
      'other',
      [
        [0, 1n],
        [1, 0n],
      ],
    ]);

    // The new offsets survive a restart, and a member joining reads from them.
    connection.close();
    await broker.stop();
    broker = await startShareBroker({ logDirs });
    connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
    assert.deepEqual((await startOffsets(connection, 'workers')).topics, [
      ['orders', [[0, 2n]]],
      [
        'other',
        [
          [0, 1n],
          [1, 0n],
        ],
      ],
    ]);
    const again = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    try {
      const redelivered = await fetchRecords(again, 4);
      assert.deepEqual(
        redelivered.map((record) => [record.offset, record.value]),
        [
          [2, 'v2'],
          [3, 'v3'],
          [4, 'v4'],
          [5, 'v5'],
        ],
      );
    } finally {
      again.close();
    }
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('DeleteShareGroupOffsets forgets a topic for an empty share group only', async () => {
  const broker = await startShareBroker();
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
  try {
    await createTopic(broker, 'orders', 1);
    await createTopic(broker, 'never', 1);
    const member = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    try {
      await produceValues(broker, 'orders', 3);
      await member.acknowledge(accepted(await fetchRecords(member, 3)));
      const busy = await deleteOffsets(connection, 'workers', ['orders']);
      assert.equal(busy.errorCode, ErrorCode.NON_EMPTY_GROUP);
      assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
    } finally {
      member.close();
    }

    const deleted = await deleteOffsets(connection, 'workers', ['orders', 'never']);
    assert.equal(deleted.errorCode, 0);
    assert.deepEqual(
      deleted.responses.map((topic) => [topic.topicName, topic.errorCode]),
      [
        ['orders', 0],
        ['never', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.equal(
      (await deleteOffsets(connection, 'nobody', ['orders'])).errorCode,
      ErrorCode.GROUP_ID_NOT_FOUND,
    );
    // The group has no state left; a member joining again starts over at the end of the topic.
    assert.deepEqual(await startOffsets(connection, 'workers'), { errorCode: 0, topics: [] });
    await produceValues(broker, 'orders', 2, 3);
    const again = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    try {
      assert.deepEqual(await again.fetch({ maxWaitMs: 100 }), []);
      await produceValues(broker, 'orders', 1, 5);
      const [record] = await fetchRecords(again, 1);
      assert.deepEqual([record.offset, record.value], [5, 'v5']);
    } finally {
      again.close();
    }
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('with the authorizer on, altering needs READ on group and topic; deleting DELETE on the group', async (t) => {
  const { admin, broker, sasl } = await startSaslBroker(t, {
    'authorizer.enabled': true,
    'super.users': 'User:ANONYMOUS',
    'group.share.enable': true,
  });
  const plaintext = listenerAddress(broker, 'PLAINTEXT');
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  await admin.createTopic(
    { name: 'orders', partitions: 1, replicationFactor: 1, configs: new Map() },
    10_000,
    false,
  );
  const member = await ShareConsumer.join(plaintext, 'workers', 'orders');
  assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
  member.close();
  const superUser = await KafkaConnection.open(plaintext, { clientId: 'admin' });
  t.after(() => superUser.close());
  const alice = await KafkaConnection.open(sasl, {
    clientId: 'alice',
    sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
  });
  t.after(() => alice.close());
  const grant = async (resourceType: number, resourceName: string, operation: number) => {
    await superUser.request(ApiKey.CreateAcls, 3, {
      creations: [
        {
          resourceType,
          resourceName,
          resourcePatternType: PatternType.LITERAL,
          principal: 'User:alice',
          host: '*',
          operation,
          permissionType: AclPermissionType.ALLOW,
        },
      ],
    });
  };
  const alter = () =>
    alterOffsets(alice, 'workers', [{ topicName: 'orders', partitions: [[0, 0n]] }]);
  const topicErrors = (response: AlterShareGroupOffsetsResponse) =>
    response.responses.flatMap((topic) => topic.partitions.map((partition) => partition.errorCode));

  assert.equal((await alter()).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  await grant(ResourceType.GROUP, 'workers', AclOperation.READ);
  const topicRefused = await alter();
  assert.equal(topicRefused.errorCode, 0);
  assert.deepEqual(topicErrors(topicRefused), [ErrorCode.TOPIC_AUTHORIZATION_FAILED]);
  await grant(ResourceType.TOPIC, 'orders', AclOperation.READ);
  const served = await alter();
  assert.deepEqual([served.errorCode, ...topicErrors(served)], [0, 0]);

  // READ on the group is not enough to delete its state: Kafka asks DELETE.
  const remove = () => deleteOffsets(alice, 'workers', ['orders']);
  assert.equal((await remove()).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  await grant(ResourceType.GROUP, 'workers', AclOperation.DELETE);
  const removed = await remove();
  assert.deepEqual(
    [removed.errorCode, removed.responses.map((topic) => topic.errorCode)],
    [0, [0]],
  );
});

test('a delayed record of a window that was reset is never delivered from the new start', async () => {
  const broker = await startShareBroker();
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
  try {
    await createTopic(broker, 'delayed', 1);
    const member = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'delayed');
    const delayMs = 1500;
    const dueMs = Date.now() + delayMs;
    await produce(broker, 'delayed', [
      { value: 'later', headers: { 'deliver.after.ms': String(delayMs) } },
    ]);
    assert.deepEqual(await member.fetch({ maxWaitMs: 100 }), [], 'not before its delay');
    assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
    member.close();

    const altered = await alterOffsets(connection, 'workers', [
      { topicName: 'delayed', partitions: [[0, 1n]] },
    ]);
    assert.deepEqual([altered.errorCode, altered.responses[0].partitions[0].errorCode], [0, 0]);
    const again = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'delayed');
    try {
      // Past the delay the old window's timer fires; the new window starts after the record.
      while (Date.now() < dueMs + 500)
        assert.deepEqual(await again.fetch({ maxWaitMs: 200 }), [], 'offset 0 is below the start');
      await produceValues(broker, 'delayed', 1);
      const [record] = await fetchRecords(again, 1);
      assert.deepEqual([record.offset, record.deliveryCount], [1, 1]);
    } finally {
      again.close();
    }
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('resetting and deleting share-group offsets are audited, one line per topic', async (t) => {
  const directory = temporaryDirectory(t, 'brook-share-audit-');
  const auditFile = join(directory, 'audit.log');
  const broker = await startShareBroker({
    logDirs: join(directory, 'logs'),
    settings: { 'audit.log.file': auditFile },
  });
  const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'admin' });
  try {
    await createTopic(broker, 'orders', 1);
    const member = await ShareConsumer.join(broker.bootstrapServers, 'workers', 'orders');
    assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
    member.close();
    await alterOffsets(connection, 'workers', [{ topicName: 'orders', partitions: [[0, 0n]] }]);
    await deleteOffsets(connection, 'workers', ['orders']);
    await alterOffsets(connection, 'nobody', [{ topicName: 'orders', partitions: [[0, 0n]] }]);
    const shareLines = () =>
      (existsSync(auditFile) ? readFileSync(auditFile, 'utf8').split('\n') : [])
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line))
        .filter((line) => String(line.api).endsWith('ShareGroupOffsets'));
    const lines = await waitFor(
      () => (shareLines().length >= 3 ? shareLines() : undefined),
      'three share-group audit lines',
    );
    assert.deepEqual(
      lines.map((line) => [line.api, line.resource, line.outcome, line.details ?? null]),
      [
        [
          'AlterShareGroupOffsets',
          { type: 'topic', name: 'orders' },
          'success',
          { partitions: [0], group: 'workers', reset: true },
        ],
        [
          'DeleteShareGroupOffsets',
          { type: 'topic', name: 'orders' },
          'success',
          { group: 'workers' },
        ],
        ['AlterShareGroupOffsets', { type: 'group', name: 'nobody' }, 'failure', null],
      ],
    );
  } finally {
    connection.close();
    await broker.stop();
  }
});

test('DescribeShareGroupOffsets shows only topics the principal may Describe, and refuses per group', async (t) => {
  const { admin, broker, sasl } = await startSaslBroker(t, {
    'authorizer.enabled': true,
    'super.users': 'User:ANONYMOUS',
    'group.share.enable': true,
  });
  const plaintext = listenerAddress(broker, 'PLAINTEXT');
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  for (const name of ['orders', 'secret']) {
    await admin.createTopic(
      { name, partitions: 2, replicationFactor: 1, configs: new Map() },
      10_000,
      false,
    );
  }
  // The group reads both topics: one member on each.
  for (const topic of ['orders', 'secret']) {
    const member = await ShareConsumer.join(plaintext, 'workers', topic);
    assert.equal((await member.heartbeat(null, -1)).errorCode, 0);
    member.close();
  }
  const superUser = await KafkaConnection.open(plaintext, { clientId: 'admin' });
  t.after(() => superUser.close());
  const alice = await KafkaConnection.open(sasl, {
    clientId: 'alice',
    sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
  });
  t.after(() => alice.close());
  for (const [resourceType, resourceName] of [
    [ResourceType.GROUP, 'workers'],
    [ResourceType.TOPIC, 'orders'],
  ] as const) {
    await superUser.request(ApiKey.CreateAcls, 3, {
      creations: [
        {
          resourceType,
          resourceName,
          resourcePatternType: PatternType.LITERAL,
          principal: 'User:alice',
          host: '*',
          operation: AclOperation.DESCRIBE,
          permissionType: AclPermissionType.ALLOW,
        },
      ],
    });
  }
  const describe = (groups: Array<{ groupId: string; topics: string[] | null }>) =>
    alice.request<DescribeShareGroupOffsetsResponse>(ApiKey.DescribeShareGroupOffsets, 0, {
      groups: groups.map(({ groupId, topics }) => ({
        groupId,
        topics: topics?.map((topicName) => ({ topicName, partitions: [0, 1] })) ?? null,
      })),
    });
  const shape = (response: DescribeShareGroupOffsetsResponse) =>
    response.groups.map((group) => [
      group.groupId,
      group.errorCode,
      group.topics.map((topic) => [
        topic.topicName,
        topic.partitions.map((partition) => [partition.partitionIndex, partition.errorCode]),
      ]),
    ]);

  // The super user sees both topics; alice only the one she may describe, and a group she may
  // not describe is refused alone, not the whole request.
  const all = await superUser.request<DescribeShareGroupOffsetsResponse>(
    ApiKey.DescribeShareGroupOffsets,
    0,
    { groups: [{ groupId: 'workers', topics: null }] },
  );
  assert.deepEqual(
    all.groups[0].topics.map((topic) => topic.topicName),
    ['orders', 'secret'],
  );
  assert.deepEqual(
    shape(
      await describe([
        { groupId: 'workers', topics: null },
        { groupId: 'hidden', topics: null },
      ]),
    ),
    [
      [
        'workers',
        0,
        [
          [
            'orders',
            [
              [0, 0],
              [1, 0],
            ],
          ],
        ],
      ],
      ['hidden', ErrorCode.GROUP_AUTHORIZATION_FAILED, []],
    ],
  );
  // Named explicitly, a topic she may not describe answers TOPIC_AUTHORIZATION_FAILED per
  // partition, with no offset and no topic id.
  const named = await describe([{ groupId: 'workers', topics: ['secret', 'orders'] }]);
  assert.deepEqual(shape(named), [
    [
      'workers',
      0,
      [
        [
          'orders',
          [
            [0, 0],
            [1, 0],
          ],
        ],
        [
          'secret',
          [
            [0, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
            [1, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
          ],
        ],
      ],
    ],
  ]);
  const secret = named.groups[0].topics[1];
  assert.deepEqual(secret.topicId, Buffer.alloc(16));
  assert.deepEqual(
    secret.partitions.map((partition) => partition.startOffset),
    [-1n, -1n],
  );
});
