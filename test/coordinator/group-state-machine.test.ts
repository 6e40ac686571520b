import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GroupCoordinator,
  offsetsPartitionFor,
  type JoinGroupParams,
} from '../../src/coordinator/group/group-coordinator.js';
import type { GroupCoordinatorConfig } from '../../src/coordinator/group/group-coordinator-config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ManualClock, MemoryOffsetsTopic, memoryPorts, settle, subscription } from './helpers.js';
import { heartbeatRequest, offsetCommitRequest, syncGroupRequest } from './group-requests.js';

const group = 'payments';

function joinParams(overrides: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId: group,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['orders']) }],
    requireKnownMemberId: true,
    ...overrides,
  };
}

async function setup(config: Partial<GroupCoordinatorConfig> = {}) {
  const clock = new ManualClock();
  const offsetsTopic = new MemoryOffsetsTopic(50);
  const coordinator = new GroupCoordinator(memoryPorts(offsetsTopic, clock), config);
  await coordinator.start();
  return { clock, offsetsTopic, coordinator };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** MEMBER_ID_REQUIRED, then the real join; returns the parked join's promise. */
async function startJoin({ coordinator }: Setup, overrides: Partial<JoinGroupParams> = {}) {
  const first = await coordinator.joinGroup(joinParams(overrides));
  if (overrides.groupInstanceId)
    return { memberId: first.memberId, joined: Promise.resolve(first) };
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^client-/);
  const joined = coordinator.joinGroup(joinParams({ ...overrides, memberId: first.memberId }));
  return { memberId: first.memberId, joined };
}

/** One member joins, leads generation 1 alone and syncs: the group is Stable. */
async function soleStableMember(context: Setup) {
  const { memberId, joined } = await startJoin(context);
  context.clock.advance(0);
  const { generationId } = await joined;
  const sync = await context.coordinator.syncGroup(
    syncGroupRequest({ groupId: group, memberId, generationId }),
  );
  assert.equal(sync.errorCode, ErrorCode.NONE);
  return { memberId, generationId };
}

describe('offsetsPartitionFor', () => {
  it('matches Java String.hashCode with Utils.abs, so Kafka tools agree on the coordinator', () => {
    assert.equal(offsetsPartitionFor('hello', 50), 99162322 % 50);
    assert.equal(offsetsPartitionFor('', 50), 0);
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE, which Utils.abs maps to 0.
    assert.equal(offsetsPartitionFor('polygenelubricants', 50), 0);
    // A negative hash: "console-consumer-1".hashCode() < 0 in Java.
    const javaHash = (text: string) =>
      [...text].reduce((hash, char) => (Math.imul(hash, 31) + char.charCodeAt(0)) | 0, 0);
    assert.ok(javaHash('test-group-xyz') !== 0);
    for (const id of ['test-group-xyz', 'my-group', 'a', 'ünïcode']) {
      const hash = javaHash(id);
      assert.equal(offsetsPartitionFor(id, 50), Math.abs(hash) % 50);
    }
  });
});

describe('group membership', () => {
  it('a first member gets MEMBER_ID_REQUIRED, then leads generation 1 and syncs to Stable', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const { memberId, joined } = await startJoin(context);
    clock.advance(0); // initial rebalance delay 0
    const join = await joined;
    assert.equal(join.errorCode, ErrorCode.NONE);
    assert.equal(join.generationId, 1);
    assert.equal(join.leaderId, memberId);
    assert.equal(join.protocolName, 'range');
    assert.equal(join.members.length, 1);
    assert.equal(coordinator.groupState(group), 'CompletingRebalance');

    const assignment = Buffer.from('assignment-1');
    const sync = await coordinator.syncGroup(
      syncGroupRequest(
        { groupId: group, memberId, generationId: 1 },
        {
          protocolType: 'consumer',
          protocolName: 'range',
          assignments: [{ memberId, assignment }],
        },
      ),
    );
    assert.equal(sync.errorCode, ErrorCode.NONE);
    assert.deepEqual(sync.assignment, assignment);
    assert.equal(coordinator.groupState(group), 'Stable');
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ groupId: group, memberId, generationId: 1 })),
      ErrorCode.NONE,
    );
    assert.equal(
      coordinator.heartbeat(heartbeatRequest({ groupId: group, memberId, generationId: 0 })),
      ErrorCode.ILLEGAL_GENERATION,
    );
    assert.equal(
      coordinator.heartbeat(
        heartbeatRequest({ groupId: group, memberId: 'nobody', generationId: 1 }),
      ),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('the assignment is handed out only after the group metadata is durable', async () => {
    const context = await setup();
    const { coordinator, clock, offsetsTopic } = context;
    const { memberId, joined } = await startJoin(context);
    clock.advance(0);
    await joined;
    offsetsTopic.holdAppends = true;
    let synced = false;
    const sync = coordinator
      .syncGroup(
        syncGroupRequest(
          { groupId: group, memberId, generationId: 1 },
          { assignments: [{ memberId, assignment: Buffer.from('x') }] },
        ),
      )
      .then((result) => {
        synced = true;
        return result;
      });
    await settle();
    assert.equal(synced, false);
    assert.equal(offsetsTopic.heldAppendCount, 1);
    offsetsTopic.releaseAppends();
    assert.equal((await sync).errorCode, ErrorCode.NONE);
  });

  it('a second member triggers a rebalance that both complete in the next generation', async () => {
    const context = await setup();
    const { coordinator } = context;
    const a = await soleStableMember(context);

    const b = await startJoin(context, { clientId: 'client' });
    assert.equal(coordinator.groupState(group), 'PreparingRebalance');
    assert.equal(
      coordinator.heartbeat(
        heartbeatRequest({ groupId: group, memberId: a.memberId, generationId: 1 }),
      ),
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    // Committing in PreparingRebalance with the old generation is still allowed (Kafka's rule).
    const commit = await coordinator.commitOffsets(
      offsetCommitRequest({ groupId: group, memberId: a.memberId, generationId: 1 }, [
        { topic: 'orders', partition: 0, offset: 5n },
      ]),
    );
    assert.equal(commit[0].partitions[0].errorCode, ErrorCode.NONE);

    const aRejoin = coordinator.joinGroup(joinParams({ memberId: a.memberId }));
    const [joinA, joinB] = await Promise.all([aRejoin, b.joined]);
    assert.equal(joinA.generationId, 2);
    assert.equal(joinB.generationId, 2);
    assert.equal(joinA.leaderId, a.memberId);
    assert.equal(joinA.members.length, 2);
    assert.equal(joinB.members.length, 0);

    // The follower's SyncGroup parks until the leader's arrives.
    const followerSync = coordinator.syncGroup(
      syncGroupRequest({ groupId: group, memberId: b.memberId, generationId: 2 }),
    );
    const leaderSync = coordinator.syncGroup(
      syncGroupRequest(
        { groupId: group, memberId: a.memberId, generationId: 2 },
        {
          assignments: [
            { memberId: a.memberId, assignment: Buffer.from('A') },
            { memberId: b.memberId, assignment: Buffer.from('B') },
          ],
        },
      ),
    );
    assert.equal((await followerSync).assignment.toString(), 'B');
    assert.equal((await leaderSync).assignment.toString(), 'A');
    assert.equal(coordinator.groupState(group), 'Stable');

    // A commit from the previous generation is now refused.
    const stale = await coordinator.commitOffsets(
      offsetCommitRequest({ groupId: group, memberId: a.memberId, generationId: 1 }, [
        { topic: 'orders', partition: 0, offset: 6n },
      ]),
    );
    assert.equal(stale[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  it('a member that stops heartbeating is removed after its session timeout', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const a = await soleStableMember(context);
    clock.advance(9_000);
    assert.equal(
      coordinator.heartbeat(
        heartbeatRequest({ groupId: group, memberId: a.memberId, generationId: 1 }),
      ),
      ErrorCode.NONE,
    );
    clock.advance(9_000); // 18 s after the sync but only 9 s after the heartbeat
    assert.equal(coordinator.groupState(group), 'Stable');
    clock.advance(1_001);
    assert.equal(coordinator.groupState(group), 'Empty');
    assert.equal(
      coordinator.heartbeat(
        heartbeatRequest({ groupId: group, memberId: a.memberId, generationId: 1 }),
      ),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    assert.equal(coordinator.describeGroup(group).members.length, 0);
  });

  it('a member that does not rejoin within the rebalance timeout is dropped from the next generation', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const a = await startJoin(context, { rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 60_000 });
    clock.advance(0);
    await a.joined;
    await coordinator.syncGroup(
      syncGroupRequest({ groupId: group, memberId: a.memberId, generationId: 1 }),
    );
    const b = await startJoin(context, { rebalanceTimeoutMs: 20_000, sessionTimeoutMs: 60_000 });
    let joinedB = false;
    void b.joined.then(() => (joinedB = true));
    clock.advance(19_000);
    await settle();
    assert.equal(joinedB, false);
    clock.advance(1_000);
    const joinB = await b.joined;
    assert.equal(joinB.errorCode, ErrorCode.NONE);
    assert.equal(joinB.generationId, 2);
    assert.equal(joinB.leaderId, b.memberId);
    assert.deepEqual(
      joinB.members.map((member) => member.memberId),
      [b.memberId],
    );
  });

  it('LeaveGroup removes the member and the rest rebalance without it', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const a = await startJoin(context);
    const b = await startJoin(context);
    clock.advance(0);
    const [joinA] = await Promise.all([a.joined, b.joined]);
    assert.equal(joinA.members.length, 2);
    const leave = coordinator.leaveGroup(group, [{ memberId: b.memberId, groupInstanceId: null }]);
    assert.equal(leave.members[0].errorCode, ErrorCode.NONE);
    assert.equal(coordinator.groupState(group), 'PreparingRebalance');
    const rejoin = await coordinator.joinGroup(joinParams({ memberId: a.memberId }));
    assert.equal(rejoin.generationId, 2);
    assert.equal(rejoin.members.length, 1);
    const unknown = coordinator.leaveGroup(group, [{ memberId: 'ghost', groupInstanceId: null }]);
    assert.equal(unknown.members[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('the protocol is chosen by vote among the protocols every member supports', async () => {
    const context = await setup();
    const { clock } = context;
    const metadata = Buffer.from('m');
    const a = await startJoin(context, {
      protocols: [
        { name: 'range', metadata },
        { name: 'roundrobin', metadata },
        { name: 'sticky', metadata },
      ],
    });
    const b = await startJoin(context, {
      protocols: [
        { name: 'roundrobin', metadata },
        { name: 'range', metadata },
      ],
    });
    const c = await startJoin(context, {
      protocols: [
        { name: 'roundrobin', metadata },
        { name: 'range', metadata },
      ],
    });
    clock.advance(0);
    const results = await Promise.all([a.joined, b.joined, c.joined]);
    for (const result of results) assert.equal(result.protocolName, 'roundrobin');
    // A member with no protocol in common with the group cannot join.
    const d = await context.coordinator.joinGroup(
      joinParams({ protocols: [{ name: 'cooperative-sticky', metadata }] }),
    );
    assert.equal(d.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const e = await context.coordinator.joinGroup(joinParams({ protocolType: 'connect' }));
    assert.equal(e.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('refuses session timeouts outside the broker bounds and joins beyond group.max.size', async () => {
    const context = await setup({ groupMaxSize: 1 });
    const { coordinator, clock } = context;
    const tooShort = await coordinator.joinGroup(joinParams({ sessionTimeoutMs: 1_000 }));
    assert.equal(tooShort.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    const a = await startJoin(context);
    clock.advance(0);
    await a.joined;
    const b = await coordinator.joinGroup(joinParams());
    assert.equal(b.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  it('with an initial rebalance delay, members arriving together land in one generation', async () => {
    const context = await setup({ groupInitialRebalanceDelayMs: 3_000 });
    const { clock } = context;
    const a = await startJoin(context);
    clock.advance(2_000);
    const b = await startJoin(context);
    let done = false;
    void Promise.all([a.joined, b.joined]).then(() => (done = true));
    // When the delay ends (3 s after a) it is extended by another 3 s, because b arrived.
    clock.advance(3_999);
    await settle();
    assert.equal(done, false);
    clock.advance(1);
    const [joinA, joinB] = await Promise.all([a.joined, b.joined]);
    assert.equal(joinA.generationId, 1);
    assert.equal(joinB.generationId, 1);
    assert.equal(joinA.members.length + joinB.members.length, 2);
  });

  it('a rejoin with the same metadata while Stable returns the current generation without a rebalance', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const a = await startJoin(context);
    const b = await startJoin(context);
    clock.advance(0);
    const [joinA] = await Promise.all([a.joined, b.joined]);
    const follower = joinA.leaderId === a.memberId ? b.memberId : a.memberId;
    const leader = joinA.leaderId;
    const followerSync = coordinator.syncGroup(
      syncGroupRequest({ groupId: group, memberId: follower, generationId: 1 }),
    );
    await coordinator.syncGroup(
      syncGroupRequest({ groupId: group, memberId: leader, generationId: 1 }),
    );
    await followerSync;
    const again = await coordinator.joinGroup(joinParams({ memberId: follower }));
    assert.equal(again.generationId, 1);
    assert.equal(coordinator.groupState(group), 'Stable');
    // New metadata (a changed subscription) means a rebalance.
    const changed = coordinator.joinGroup(
      joinParams({
        memberId: follower,
        protocols: [{ name: 'range', metadata: subscription(['orders', 'refunds']) }],
      }),
    );
    assert.equal(coordinator.groupState(group), 'PreparingRebalance');
    const leaderRejoin = coordinator.joinGroup(joinParams({ memberId: leader }));
    const [changedJoin, leaderJoin] = await Promise.all([changed, leaderRejoin]);
    assert.equal(changedJoin.generationId, 2);
    assert.equal(leaderJoin.members.length, 2);
  });
});

describe('error codes clients rely on', () => {
  it('answers stale generations, unknown members and rebalances in progress the way Kafka does', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const a = await startJoin(context);
    clock.advance(0);
    const joinA = await a.joined;
    // CompletingRebalance: a commit must wait for the assignment.
    const early = await coordinator.commitOffsets(
      offsetCommitRequest(
        { groupId: group, memberId: a.memberId, generationId: joinA.generationId },
        [{ topic: 'orders', partition: 0, offset: 1n }],
      ),
    );
    assert.equal(early[0].partitions[0].errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const wrongGeneration = await coordinator.syncGroup(
      syncGroupRequest({
        groupId: group,
        memberId: a.memberId,
        generationId: joinA.generationId + 1,
      }),
    );
    assert.equal(wrongGeneration.errorCode, ErrorCode.ILLEGAL_GENERATION);
    const wrongProtocol = await coordinator.syncGroup(
      syncGroupRequest(
        { groupId: group, memberId: a.memberId, generationId: joinA.generationId },
        { protocolType: 'consumer', protocolName: 'roundrobin' },
      ),
    );
    assert.equal(wrongProtocol.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    await coordinator.syncGroup(
      syncGroupRequest({ groupId: group, memberId: a.memberId, generationId: joinA.generationId }),
    );
    const unknownJoin = await coordinator.joinGroup(joinParams({ memberId: 'made-up' }));
    assert.equal(unknownJoin.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const unknownGroupJoin = await coordinator.joinGroup(
      joinParams({ groupId: 'other', memberId: 'made-up' }),
    );
    assert.equal(unknownGroupJoin.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

    // PreparingRebalance: SyncGroup is refused until the member rejoins.
    const b = await startJoin(context);
    const duringRebalance = await coordinator.syncGroup(
      syncGroupRequest({ groupId: group, memberId: a.memberId, generationId: joinA.generationId }),
    );
    assert.equal(duringRebalance.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = coordinator.joinGroup(joinParams({ memberId: a.memberId }));
    await Promise.all([rejoin, b.joined]);
  });

  it('a member id handed out with MEMBER_ID_REQUIRED that never comes back does not hold a rebalance past its session timeout', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const a = await soleStableMember(context);
    // b gets its id and vanishes; a rejoins (say, with a new subscription).
    const b = await coordinator.joinGroup(joinParams());
    assert.equal(b.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    let done = false;
    const rejoin = coordinator
      .joinGroup(
        joinParams({
          memberId: a.memberId,
          protocols: [{ name: 'range', metadata: subscription(['refunds']) }],
        }),
      )
      .then((result) => ((done = true), result));
    clock.advance(9_999);
    await settle();
    assert.equal(done, false);
    clock.advance(1);
    const result = await rejoin;
    assert.equal(result.generationId, a.generationId + 1);
    assert.equal(result.members.length, 1);
  });

  it('members that never send SyncGroup are removed after the rebalance timeout', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    const a = await startJoin(context, { sessionTimeoutMs: 60_000 });
    const b = await startJoin(context, { sessionTimeoutMs: 60_000 });
    clock.advance(0);
    const [joinA, joinB] = await Promise.all([a.joined, b.joined]);
    const leader = joinA.leaderId;
    const leaderSync = coordinator.syncGroup(
      syncGroupRequest({ groupId: group, memberId: leader, generationId: joinA.generationId }),
    );
    assert.equal((await leaderSync).errorCode, ErrorCode.NONE);
    assert.equal(coordinator.groupState(group), 'Stable');
    const silent = leader === a.memberId ? b.memberId : a.memberId;
    assert.ok(joinB.generationId === joinA.generationId);
    clock.advance(30_000); // the rebalance timeout
    assert.equal(coordinator.groupState(group), 'PreparingRebalance');
    assert.equal(
      coordinator.heartbeat(
        heartbeatRequest({ groupId: group, memberId: silent, generationId: joinA.generationId }),
      ),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });
});

describe('static membership', () => {
  it('a restarted static member takes over its place without a rebalance and fences the old id', async () => {
    const context = await setup();
    const { coordinator, clock } = context;
    // Static members skip MEMBER_ID_REQUIRED: the join parks until the rebalance completes.
    const first = coordinator.joinGroup(joinParams({ groupInstanceId: 'pod-1' }));
    clock.advance(0);
    const join = await first;
    assert.equal(join.errorCode, ErrorCode.NONE);
    assert.match(join.memberId, /^pod-1-/);
    await coordinator.syncGroup(
      syncGroupRequest(
        { groupId: group, memberId: join.memberId, generationId: 1, groupInstanceId: 'pod-1' },
        { assignments: [{ memberId: join.memberId, assignment: Buffer.from('P') }] },
      ),
    );

    const restarted = await coordinator.joinGroup(joinParams({ groupInstanceId: 'pod-1' }));
    assert.equal(restarted.errorCode, ErrorCode.NONE);
    assert.notEqual(restarted.memberId, join.memberId);
    assert.equal(restarted.generationId, 1);
    assert.equal(coordinator.groupState(group), 'Stable');
    const sync = await coordinator.syncGroup(
      syncGroupRequest({
        groupId: group,
        memberId: restarted.memberId,
        generationId: 1,
        groupInstanceId: 'pod-1',
      }),
    );
    assert.equal(sync.assignment.toString(), 'P');
    assert.equal(
      coordinator.heartbeat(
        heartbeatRequest({
          groupId: group,
          memberId: join.memberId,
          generationId: 1,
          groupInstanceId: 'pod-1',
        }),
      ),
      ErrorCode.FENCED_INSTANCE_ID,
    );
    const commit = await coordinator.commitOffsets(
      offsetCommitRequest(
        { groupId: group, memberId: join.memberId, generationId: 1, groupInstanceId: 'pod-1' },
        [{ topic: 'orders', partition: 0, offset: 1n }],
      ),
    );
    assert.equal(commit[0].partitions[0].errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const leave = coordinator.leaveGroup(group, [{ memberId: '', groupInstanceId: 'pod-1' }]);
    assert.equal(leave.members[0].errorCode, ErrorCode.NONE);
    clock.advance(0);
    assert.equal(coordinator.groupState(group), 'Empty');
  });
});

describe('coordinator availability', () => {
  it('answers COORDINATOR_LOAD_IN_PROGRESS while loading and NOT_COORDINATOR for partitions it does not lead', async () => {
    const clock = new ManualClock();
    const offsetsTopic = new MemoryOffsetsTopic(50);
    let releaseRead: () => void = () => {};
    const gate = new Promise<void>((resolve) => (releaseRead = resolve));
    const original = offsetsTopic.readAll.bind(offsetsTopic);
    offsetsTopic.readAll = async function* (partition: number) {
      await gate;
      yield* original(partition);
    };
    offsetsTopic.leaders = new Set(
      Array.from({ length: 50 }, (_, partition) => partition).filter(
        (partition) => partition !== offsetsPartitionFor('elsewhere', 50),
      ),
    );
    const coordinator = new GroupCoordinator(memoryPorts(offsetsTopic, clock));
    const started = coordinator.start();
    await settle();
    assert.equal(
      (await coordinator.joinGroup(joinParams())).errorCode,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    assert.equal(
      coordinator.fetchOffsets(group, null).errorCode,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    releaseRead();
    await started;
    assert.equal(
      (await coordinator.joinGroup(joinParams())).errorCode,
      ErrorCode.MEMBER_ID_REQUIRED,
    );
    assert.equal(
      (await coordinator.joinGroup(joinParams({ groupId: 'elsewhere' }))).errorCode,
      ErrorCode.NOT_COORDINATOR,
    );
    assert.equal(
      coordinator.findCoordinator(0, 'elsewhere').errorCode,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    assert.equal(coordinator.findCoordinator(0, group).node?.port, 9092);
    assert.equal(coordinator.findCoordinator(1, 'txn-1').node?.nodeId, 1);
  });
});
