import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GroupCoordinator,
  type JoinGroupParams,
} from '../../src/coordinator/group/group-coordinator.js';
import type { GroupCoordinatorConfig } from '../../src/coordinator/group/group-coordinator-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Writer } from '../../src/protocol/writer.js';
import { encodeConsumerProtocolAssignment } from '../../src/protocol/generated/consumer-protocol-assignment.js';
import {
  FixedPartitions,
  ManualClock,
  MemoryOffsetsTopic,
  memoryPorts,
  settle,
  subscription,
} from './helpers.js';
import { noMember, offsetCommitRequest, syncGroupRequest } from './group-requests.js';

function assignment(topic: string, partitions: number[]): Buffer {
  const writer = new Writer();
  writer.writeInt16(0);
  encodeConsumerProtocolAssignment(writer, 0, {
    assignedPartitions: [{ topic, partitions }],
    userData: null,
  });
  return writer.toBuffer();
}

function joinParams(groupId: string, memberId = ''): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    clientId: 'admin-test',
    clientHost: '/10.0.0.7',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    requireKnownMemberId: false,
  };
}

async function setup(config: Partial<GroupCoordinatorConfig> = {}) {
  const clock = new ManualClock();
  const offsetsTopic = new MemoryOffsetsTopic(10);
  const partitions = new FixedPartitions({ orders: [100, 200], archive: [30] });
  const coordinator = new GroupCoordinator(memoryPorts(offsetsTopic, clock, partitions), config);
  await coordinator.start();
  return { clock, offsetsTopic, coordinator };
}

/** One member that owns orders-0 and orders-1, Stable. */
async function stableGroup(
  { coordinator, clock }: Awaited<ReturnType<typeof setup>>,
  groupId: string,
) {
  const joining = coordinator.joinGroup(joinParams(groupId));
  clock.advance(0);
  const join = await joining;
  await coordinator.syncGroup(
    syncGroupRequest(
      { groupId, memberId: join.memberId, generationId: join.generationId },
      { assignments: [{ memberId: join.memberId, assignment: assignment('orders', [0, 1]) }] },
    ),
  );
  return join;
}

/** A simple (memberless) commit of orders-0 at offset 10 for group g; `answered()` tells whether it has been answered. */
function commitOrders(coordinator: GroupCoordinator, metadata: string) {
  let answered = false;
  const result = coordinator
    .commitOffsets(
      offsetCommitRequest(noMember('g'), [
        { topic: 'orders', partition: 0, offset: 10n, metadata },
      ]),
    )
    .then((topics) => ((answered = true), topics));
  return { result, answered: () => answered };
}

describe('offset commits', () => {
  it('a commit is answered only after its records are durable, and is visible only then', async () => {
    const context = await setup();
    const { coordinator, offsetsTopic } = context;
    offsetsTopic.holdAppends = true;
    const commit = commitOrders(coordinator, 'meta');
    await settle();
    assert.equal(commit.answered(), false);
    assert.equal(
      coordinator.fetchOffsets('g', [{ name: 'orders', partitions: [0] }]).topics[0].partitions[0]
        .offset,
      -1n,
    );
    offsetsTopic.releaseAppends();
    assert.equal((await commit.result)[0].partitions[0].errorCode, ErrorCode.NONE);
    const fetched = coordinator.fetchOffsets('g', [{ name: 'orders', partitions: [0] }]);
    assert.equal(fetched.topics[0].partitions[0].offset, 10n);
    assert.equal(fetched.topics[0].partitions[0].metadata, 'meta');
  });

  it('a commit not durable within offsets.commit.timeout.ms is answered REQUEST_TIMED_OUT and not applied', async () => {
    const context = await setup({ offsetsCommitTimeoutMs: 5_000 });
    const { coordinator, clock, offsetsTopic } = context;
    offsetsTopic.holdAppends = true;
    const commit = commitOrders(coordinator, '');
    clock.advance(4_999);
    await settle();
    assert.equal(commit.answered(), false, 'still waiting just before the timeout');
    clock.advance(1);
    assert.equal((await commit.result)[0].partitions[0].errorCode, ErrorCode.REQUEST_TIMED_OUT);
    // The append settling later does not make the timed-out commit visible.
    offsetsTopic.releaseAppends();
    await settle();
    assert.equal(
      coordinator.fetchOffsets('g', [{ name: 'orders', partitions: [0] }]).topics[0].partitions[0]
        .offset,
      -1n,
    );
  });

  it('a failed append is reported and changes nothing', async () => {
    const { coordinator, offsetsTopic } = await setup();
    offsetsTopic.failAppends = true;
    const result = await coordinator.commitOffsets(
      offsetCommitRequest(noMember('g'), [{ topic: 'orders', partition: 0, offset: 10n }]),
    );
    assert.equal(result[0].partitions[0].errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.deepEqual(coordinator.fetchOffsets('g', null).topics, []);
  });

  it('refuses unknown partitions, oversized metadata, and group-managed commits to unknown groups', async () => {
    const { coordinator } = await setup();
    const result = await coordinator.commitOffsets({
      groupId: 'g',
      memberId: '',
      generationId: -1,
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [{ partition: 5, offset: 1n, leaderEpoch: -1, metadata: null }],
        },
        {
          name: 'orders',
          partitions: [{ partition: 0, offset: 1n, leaderEpoch: -1, metadata: 'x'.repeat(5000) }],
        },
      ],
    });
    assert.equal(result[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(result[1].partitions[0].errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);
    const managed = await coordinator.commitOffsets(
      offsetCommitRequest({ groupId: 'nobody-here', memberId: 'm', generationId: 3 }, [
        { topic: 'orders', partition: 0, offset: 1n },
      ]),
    );
    assert.equal(managed[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
  });
});

describe('group administration', () => {
  it('describes a Stable group with member metadata and assignment, and an unknown one as Dead', async () => {
    const context = await setup();
    const join = await stableGroup(context, 'described');
    const description = context.coordinator.describeGroup('described', true);
    assert.equal(description.state, 'Stable');
    assert.equal(description.protocolType, 'consumer');
    assert.equal(description.protocolName, 'range');
    assert.equal(description.members[0].memberId, join.memberId);
    assert.equal(description.members[0].clientHost, '/10.0.0.7');
    assert.deepEqual(description.members[0].metadata, subscription(['orders']));
    assert.deepEqual(description.members[0].assignment, assignment('orders', [0, 1]));
    assert.notEqual(description.authorizedOperations, -2147483648);
    const unknown = context.coordinator.describeGroup('nope');
    assert.equal(unknown.errorCode, ErrorCode.NONE);
    assert.equal(unknown.state, 'Dead');
  });

  it('lists groups, filtered by state and type', async () => {
    const context = await setup();
    await stableGroup(context, 'active');
    await context.coordinator.commitOffsets(
      offsetCommitRequest(noMember('idle'), [{ topic: 'orders', partition: 0, offset: 1n }]),
    );
    const all = context.coordinator.listGroups();
    assert.deepEqual(all.groups.map((group) => group.groupId).sort(), ['active', 'idle']);
    assert.deepEqual(
      context.coordinator.listGroups(['stable']).groups.map((group) => group.groupId),
      ['active'],
    );
    assert.deepEqual(
      context.coordinator.listGroups(['Empty']).groups.map((group) => group.groupId),
      ['idle'],
    );
    assert.deepEqual(context.coordinator.listGroups([], ['consumer']).groups, []);
    assert.equal(context.coordinator.listGroups([], ['Classic']).groups.length, 2);
  });

  it('deletes only groups without members', async () => {
    const context = await setup();
    await stableGroup(context, 'busy');
    await context.coordinator.commitOffsets(
      offsetCommitRequest(noMember('idle'), [{ topic: 'orders', partition: 0, offset: 1n }]),
    );
    const results = await context.coordinator.deleteGroups(['busy', 'idle', 'missing']);
    assert.deepEqual(results, [
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: ErrorCode.NONE },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    assert.equal(context.coordinator.groupState('idle'), undefined);
  });

  it('deletes offsets only of topics the group is not subscribed to', async () => {
    const context = await setup();
    const join = await stableGroup(context, 'subscribed');
    await context.coordinator.commitOffsets(
      offsetCommitRequest(
        { groupId: 'subscribed', memberId: join.memberId, generationId: join.generationId },
        [
          { topic: 'orders', partition: 0, offset: 1n },
          { topic: 'archive', partition: 0, offset: 2n },
        ],
      ),
    );
    const result = await context.coordinator.deleteOffsets('subscribed', [
      { name: 'orders', partitions: [0] },
      { name: 'archive', partitions: [0] },
    ]);
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    assert.equal(result.topics[1].partitions[0].errorCode, ErrorCode.NONE);
    const remaining = context.coordinator.fetchOffsets('subscribed', null);
    assert.deepEqual(
      remaining.topics.map((topic) => topic.name),
      ['orders'],
    );
    const missing = await context.coordinator.deleteOffsets('missing', [
      { name: 'orders', partitions: [0] },
    ]);
    assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('reports lag per partition with the owning member', async () => {
    const context = await setup();
    const join = await stableGroup(context, 'lagging');
    await context.coordinator.commitOffsets(
      offsetCommitRequest(
        { groupId: 'lagging', memberId: join.memberId, generationId: join.generationId },
        [{ topic: 'orders', partition: 0, offset: 60n }],
      ),
    );
    const lag = context.coordinator.groupLag('lagging');
    assert.equal(lag.state, 'Stable');
    assert.deepEqual(
      lag.partitions.map((entry) => [
        entry.topic,
        entry.partition,
        entry.committedOffset,
        entry.logEndOffset,
        entry.lag,
        entry.memberId,
      ]),
      [
        ['orders', 0, 60n, 100, 40, join.memberId],
        ['orders', 1, null, 200, null, join.memberId],
      ],
    );
  });

  it("a scrape's group figures are what ListGroups, DescribeGroups and groupLag say", async () => {
    const context = await setup();
    const { coordinator } = context;
    const join = await stableGroup(context, 'stable');
    await coordinator.commitOffsets(
      offsetCommitRequest(
        { groupId: 'stable', memberId: join.memberId, generationId: join.generationId },
        [
          { topic: 'orders', partition: 1, offset: 150n },
          { topic: 'orders', partition: 0, offset: 60n },
        ],
      ),
    );
    await coordinator.commitOffsets(
      offsetCommitRequest(noMember('empty'), [
        { topic: 'orders', partition: 1, offset: 250n },
        { topic: 'archive', partition: 0, offset: 5n },
      ]),
    );
    const answers = () =>
      coordinator.listGroups().groups.map(({ groupId, state }) => ({
        groupId,
        state,
        members: coordinator.describeGroup(groupId).members.length,
        lag: coordinator
          .groupLag(groupId)
          .partitions.flatMap(({ topic, partition, lag }) =>
            lag === null ? [] : [{ topic, partition, lag }],
          ),
      }));
    const figures = [...coordinator.groupFigures()];
    assert.deepEqual(figures, answers());
    assert.deepEqual(figures, [
      {
        groupId: 'stable',
        state: 'Stable',
        members: 1,
        lag: [
          { topic: 'orders', partition: 0, lag: 40 },
          { topic: 'orders', partition: 1, lag: 50 },
        ],
      },
      {
        groupId: 'empty',
        state: 'Empty',
        members: 0,
        lag: [
          { topic: 'archive', partition: 0, lag: 25 },
          { topic: 'orders', partition: 1, lag: 0 },
        ],
      },
    ]);

    // A commit shows in the next read.
    await coordinator.commitOffsets(
      offsetCommitRequest(noMember('empty'), [{ topic: 'orders', partition: 0, offset: 90n }]),
    );
    const next = [...coordinator.groupFigures()];
    assert.deepEqual(next, answers());
    assert.deepEqual(next[1].lag[1], { topic: 'orders', partition: 0, lag: 10 });
  });

  it('a group with members keeps offsets of subscribed topics and loses the others after retention', async () => {
    const context = await setup({ offsetsRetentionMs: 60_000 });
    const join = await stableGroup(context, 'retained');
    await context.coordinator.commitOffsets(
      offsetCommitRequest(
        { groupId: 'retained', memberId: join.memberId, generationId: join.generationId },
        [
          { topic: 'orders', partition: 0, offset: 1n },
          { topic: 'archive', partition: 0, offset: 2n },
        ],
      ),
    );
    context.clock.advanceWallClock(59_999);
    assert.equal(await context.coordinator.expireOffsets(), 0);
    context.clock.advanceWallClock(1);
    assert.equal(await context.coordinator.expireOffsets(), 1);
    const remaining = context.coordinator.fetchOffsets('retained', null);
    assert.deepEqual(
      remaining.topics.map((topic) => topic.name),
      ['orders'],
    );
    assert.equal(context.coordinator.groupState('retained'), 'Stable');
  });

  it('forgets committed offsets of a deleted topic in every group', async () => {
    const context = await setup();
    for (const groupId of ['one', 'two']) {
      await context.coordinator.commitOffsets(
        offsetCommitRequest(noMember(groupId), [
          { topic: 'orders', partition: 0, offset: 1n },
          { topic: 'archive', partition: 0, offset: 2n },
        ]),
      );
    }
    await context.coordinator.deleteOffsetsOfTopics(['archive']);
    for (const groupId of ['one', 'two']) {
      assert.deepEqual(
        context.coordinator.fetchOffsets(groupId, null).topics.map((topic) => topic.name),
        ['orders'],
      );
    }
  });
});
