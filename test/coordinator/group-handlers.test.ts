// Every group API handler at every version it declares: the request decodes, the coordinator
// answers, and the answer encodes at that version (fields a version lacks must stay at their
// defaults, or the encoder refuses) and decodes back to what the handler meant.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.js';
import { createDeleteGroupsHandler } from '../../src/handlers/delete-groups.js';
import { createDescribeGroupsHandler } from '../../src/handlers/describe-groups.js';
import { createFindCoordinatorHandler } from '../../src/handlers/find-coordinator.js';
import { createHeartbeatHandler } from '../../src/handlers/heartbeat.js';
import { createJoinGroupHandler } from '../../src/handlers/join-group.js';
import { createLeaveGroupHandler } from '../../src/handlers/leave-group.js';
import { createListGroupsHandler } from '../../src/handlers/list-groups.js';
import { createOffsetCommitHandler } from '../../src/handlers/offset-commit.js';
import { createOffsetDeleteHandler } from '../../src/handlers/offset-delete.js';
import { createOffsetFetchHandler } from '../../src/handlers/offset-fetch.js';
import { createSyncGroupHandler } from '../../src/handlers/sync-group.js';
import type { AnyHandler, RequestContext } from '../../src/handlers/registry.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { apiMessages } from '../../src/protocol/generated/index.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { ManualClock, MemoryOffsetsTopic, memoryPorts, subscription } from './helpers.js';
import { noMember, offsetCommitRequest } from './group-requests.js';
import { codecsOf } from '../helpers/codecs.js';

function context(apiKey: number, apiVersion: number): RequestContext {
  return {
    connectionId: 1,
    listenerName: 'PLAINTEXT',
    remoteAddress: '127.0.0.1',
    remotePort: 50000,
    clientId: 'handler-test',
    apiKey,
    apiVersion,
    correlationId: 1,
    principal: 'User:ANONYMOUS',
    signal: new AbortController().signal,
  };
}

/** Encodes `input` at `version` and decodes it again: a request exactly as the server sees it. */
function asDecodedRequest(apiKey: number, version: number, input: unknown): unknown {
  const codec = codecsOf(apiKey);
  const writer = new Writer();
  codec.request.encode(writer, version, input as never);
  return codec.request.decode(new Reader(writer.toBuffer()), version);
}

function roundTripResponse(
  apiKey: number,
  version: number,
  response: unknown,
): Record<string, unknown> {
  const codec = codecsOf(apiKey);
  const writer = new Writer();
  codec.response.encode(writer, version, response as never);
  return codec.response.decode(new Reader(writer.toBuffer()), version) as Record<string, unknown>;
}

async function call(
  handler: AnyHandler,
  version: number,
  input: unknown,
): Promise<Record<string, unknown>> {
  const request = asDecodedRequest(handler.apiKey, version, input);
  const response = await handler.handle(request, context(handler.apiKey, version));
  return roundTripResponse(handler.apiKey, version, response);
}

async function setup() {
  const clock = new ManualClock();
  const coordinator = new GroupCoordinator(memoryPorts(new MemoryOffsetsTopic(50), clock));
  await coordinator.start();
  return { clock, coordinator };
}

/** Every group API handler, on one coordinator. */
function groupHandlers(coordinator: GroupCoordinator): AnyHandler[] {
  return [
    createFindCoordinatorHandler,
    createJoinGroupHandler,
    createSyncGroupHandler,
    createHeartbeatHandler,
    createLeaveGroupHandler,
    createOffsetCommitHandler,
    createOffsetFetchHandler,
    createDescribeGroupsHandler,
    createListGroupsHandler,
    createDeleteGroupsHandler,
    createOffsetDeleteHandler,
  ].map((create) => create(coordinator) as AnyHandler);
}

describe('group API handlers at every version', () => {
  it('declare the versions Kafka defines for them', async () => {
    const { coordinator } = await setup();
    const declared = groupHandlers(coordinator);
    for (const handler of declared) {
      const codec = apiMessages.get(handler.apiKey)!;
      assert.equal(handler.minVersion, 0, codec.name);
      assert.equal(handler.maxVersion, codec.validVersions?.max, codec.name);
    }
  });

  it('join, sync, heartbeat, commit, fetch, describe, list and leave round-trip at each version', async () => {
    const { coordinator, clock } = await setup();
    const join = createJoinGroupHandler(coordinator) as AnyHandler;
    const sync = createSyncGroupHandler(coordinator) as AnyHandler;
    const heartbeat = createHeartbeatHandler(coordinator) as AnyHandler;
    const leave = createLeaveGroupHandler(coordinator) as AnyHandler;
    const commit = createOffsetCommitHandler(coordinator) as AnyHandler;
    const fetch = createOffsetFetchHandler(coordinator) as AnyHandler;
    const describeGroups = createDescribeGroupsHandler(coordinator) as AnyHandler;
    const listGroups = createListGroupsHandler(coordinator) as AnyHandler;

    for (let version = 0; version <= 9; version++) {
      const groupId = `group-v${version}`;
      const joinInput = {
        groupId,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: subscription(['orders']) }],
      };
      let joined = await (async () => {
        const pending = call(join, version, joinInput);
        clock.advance(0);
        return pending;
      })();
      if (version >= 4) {
        assert.equal(joined.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `JoinGroup v${version}`);
        const pending = call(join, version, { ...joinInput, memberId: joined.memberId });
        await new Promise((resolve) => setImmediate(resolve));
        clock.advance(0);
        joined = await pending;
      }
      assert.equal(joined.errorCode, ErrorCode.NONE, `JoinGroup v${version}`);
      assert.equal(joined.protocolName, 'range');
      assert.equal((joined.members as unknown[]).length, 1);
      const memberId = joined.memberId as string;
      const generationId = joined.generationId as number;

      const syncVersion = Math.min(version, 5);
      const synced = await call(sync, syncVersion, {
        groupId,
        generationId,
        memberId,
        protocolType: syncVersion >= 5 ? 'consumer' : undefined,
        protocolName: syncVersion >= 5 ? 'range' : undefined,
        assignments: [{ memberId, assignment: Buffer.from('assigned') }],
      });
      assert.equal(synced.errorCode, ErrorCode.NONE, `SyncGroup v${syncVersion}`);
      assert.equal((synced.assignment as Buffer).toString(), 'assigned');

      const beat = await call(heartbeat, Math.min(version, 4), { groupId, generationId, memberId });
      assert.equal(beat.errorCode, ErrorCode.NONE);

      const committed = await call(commit, version, {
        groupId,
        generationIdOrMemberEpoch: version === 0 ? undefined : generationId,
        memberId: version === 0 ? undefined : memberId,
        topics: [
          {
            name: 'orders',
            partitions: [
              { partitionIndex: 3, committedOffset: 42n, committedMetadata: `v${version}` },
            ],
          },
        ],
      });
      const commitTopics = committed.topics as { partitions: { errorCode: number }[] }[];
      if (version === 0) {
        // v0 has no generation: a group with members refuses it, as Kafka does.
        assert.equal(commitTopics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
        await coordinator.commitOffsets(
          offsetCommitRequest({ groupId, memberId, generationId }, [
            { topic: 'orders', partition: 3, offset: 42n, metadata: 'v0' },
          ]),
        );
      } else {
        assert.equal(
          commitTopics[0].partitions[0].errorCode,
          ErrorCode.NONE,
          `OffsetCommit v${version}`,
        );
      }

      const fetchInput =
        version >= 8
          ? { groups: [{ groupId, topics: [{ name: 'orders', partitionIndexes: [3, 4] }] }] }
          : { groupId, topics: [{ name: 'orders', partitionIndexes: [3, 4] }] };
      const fetched = await call(fetch, version, fetchInput);
      const fetchedTopics = (
        version >= 8 ? (fetched.groups as { topics: unknown[] }[])[0].topics : fetched.topics
      ) as { partitions: { committedOffset: bigint; metadata: string }[] }[];
      assert.equal(fetchedTopics[0].partitions[0].committedOffset, 42n, `OffsetFetch v${version}`);
      assert.equal(fetchedTopics[0].partitions[0].metadata, `v${version}`);
      assert.equal(fetchedTopics[0].partitions[1].committedOffset, -1n);
      if (version >= 2) {
        const all = await call(
          fetch,
          version,
          version >= 8 ? { groups: [{ groupId, topics: null }] } : { groupId, topics: null },
        );
        const allTopics = (
          version >= 8 ? (all.groups as { topics: unknown[] }[])[0].topics : all.topics
        ) as unknown[];
        assert.equal(allTopics.length, 1, `OffsetFetch v${version} with null topics`);
      }

      const describeVersion = Math.min(version, 5);
      const described = await call(describeGroups, describeVersion, {
        groups: [groupId],
        includeAuthorizedOperations: describeVersion >= 3,
      });
      const describedGroup = (
        described.groups as { groupState: string; members: { memberAssignment: Buffer }[] }[]
      )[0];
      assert.equal(describedGroup.groupState, 'Stable');
      assert.equal(describedGroup.members[0].memberAssignment.toString(), 'assigned');

      const listVersion = Math.min(version, 5);
      const listed = await call(
        listGroups,
        listVersion,
        listVersion >= 4 ? { statesFilter: ['Stable'] } : {},
      );
      assert.ok(
        (listed.groups as { groupId: string }[]).some((group) => group.groupId === groupId),
      );

      const leaveVersion = Math.min(version, 5);
      const left = await call(
        leave,
        leaveVersion,
        leaveVersion >= 3 ? { groupId, members: [{ memberId }] } : { groupId, memberId },
      );
      assert.equal(left.errorCode, ErrorCode.NONE, `LeaveGroup v${leaveVersion}`);
      clock.advance(0);
    }
  });

  it('FindCoordinator answers single keys (v0–3) and batches (v4+)', async () => {
    const { coordinator } = await setup();
    const handler = createFindCoordinatorHandler(coordinator) as AnyHandler;
    for (let version = 0; version <= 6; version++) {
      const input =
        version >= 4
          ? { keyType: 0, coordinatorKeys: ['a', 'b'] }
          : { key: 'a', keyType: version >= 1 ? 0 : undefined };
      const response = await call(handler, version, input);
      if (version >= 4) {
        const coordinators = response.coordinators as {
          key: string;
          port: number;
          errorCode: number;
        }[];
        assert.deepEqual(
          coordinators.map((entry) => [entry.key, entry.port, entry.errorCode]),
          [
            ['a', 9092, 0],
            ['b', 9092, 0],
          ],
        );
      } else {
        assert.equal(response.errorCode, ErrorCode.NONE);
        assert.equal(response.port, 9092);
      }
    }
    const transactional = await call(handler, 3, { key: 'txn', keyType: 1 });
    assert.equal(transactional.nodeId, 1);
  });

  it('DeleteGroups and OffsetDelete round-trip at each version', async () => {
    const { coordinator } = await setup();
    const deleteGroups = createDeleteGroupsHandler(coordinator) as AnyHandler;
    const offsetDelete = createOffsetDeleteHandler(coordinator) as AnyHandler;
    for (let version = 0; version <= 2; version++) {
      await coordinator.commitOffsets(
        offsetCommitRequest(noMember(`d${version}`), [
          { topic: 'orders', partition: 0, offset: 1n },
        ]),
      );
      const result = await call(deleteGroups, version, { groupsNames: [`d${version}`, 'absent'] });
      assert.deepEqual(
        (result.results as { groupId: string; errorCode: number }[]).map((entry) => [
          entry.groupId,
          entry.errorCode,
        ]),
        [
          [`d${version}`, ErrorCode.NONE],
          ['absent', ErrorCode.GROUP_ID_NOT_FOUND],
        ],
      );
    }
    await coordinator.commitOffsets(
      offsetCommitRequest(noMember('od'), [{ topic: 'orders', partition: 0, offset: 1n }]),
    );
    const deleted = await call(offsetDelete, 0, {
      groupId: 'od',
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }],
    });
    assert.equal(deleted.errorCode, ErrorCode.NONE);
    assert.deepEqual(coordinator.fetchOffsets('od', null).topics, []);
  });

  it('error responses encode at every version', async () => {
    const { coordinator } = await setup();
    const handlers = groupHandlers(coordinator);
    const minimalRequests: Record<number, (version: number) => unknown> = {
      10: (version) => (version >= 4 ? { coordinatorKeys: ['a'] } : { key: 'a' }),
      11: () => ({
        groupId: 'g',
        sessionTimeoutMs: 10_000,
        memberId: 'm',
        protocolType: 'consumer',
        protocols: [],
      }),
      14: () => ({ groupId: 'g', generationId: 1, memberId: 'm', assignments: [] }),
      12: () => ({ groupId: 'g', generationId: 1, memberId: 'm' }),
      13: (version) =>
        version >= 3
          ? { groupId: 'g', members: [{ memberId: 'm' }] }
          : { groupId: 'g', memberId: 'm' },
      8: () => ({
        groupId: 'g',
        topics: [
          {
            name: 't',
            partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }],
          },
        ],
      }),
      9: (version) =>
        version >= 8
          ? { groups: [{ groupId: 'g', topics: null }] }
          : { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }] },
      15: () => ({ groups: ['g'] }),
      16: () => ({}),
      42: () => ({ groupsNames: ['g'] }),
      47: () => ({ groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] }),
    };
    for (const handler of handlers) {
      for (let version = handler.minVersion; version <= handler.maxVersion; version++) {
        const request = asDecodedRequest(
          handler.apiKey,
          version,
          minimalRequests[handler.apiKey](version),
        );
        const response = handler.errorResponse!(
          request,
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
          context(handler.apiKey, version),
        );
        roundTripResponse(handler.apiKey, version, response);
      }
    }
  });
});
