// KIP-932 share groups in cluster mode (issues 10 and 12): a share group is served by the leader
// of the __share_group_state partition its id hashes to. Real etcd, three `brook start`
// processes, a topic of three partitions led by three different brokers. Every broker names the
// group's owner for FindCoordinator key type 2; the project's share consumer joins, as a Kafka
// client does, at the id's classic coordinator (key type 0), which passes its heartbeats,
// describes and DeleteGroups on to the owner, while the third broker answers them
// NOT_COORDINATOR; ShareFetch and ShareAcknowledge are answered by the owner directly or through
// any other broker (as a Kafka client sends them to partition leaders), also for a topic whose
// partitions the owner holds no replica of. SIGKILL of the owner moves the group to the state
// partition's new leader: what was acknowledged is never delivered again, what was held comes
// back with a higher delivery count, nothing is lost, and consumption goes on there. A member
// that closes its session with one broker gets back only what that session held: what it fetched
// through another broker stays its own to acknowledge there.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { DeleteGroupsResponse } from '../../src/protocol/generated/delete-groups.js';
import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.js';
import type { ShareGroupDescribeResponse } from '../../src/protocol/generated/share-group-describe.js';
import type { ShareGroupHeartbeatResponse } from '../../src/protocol/generated/share-group-heartbeat.js';
import { createTopicLedAsAssigned } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';
import { produce } from '../share/push-helpers.js';
import { type ShareRecord, ShareConsumer } from '../share/share-consumer.js';
import { accepted, fetchRecords } from '../share/share-helpers.js';
import {
  GROUP_KEY_TYPE,
  SHARE_KEY_TYPE,
  coordinatorOf,
  splitGroup,
  startShareGroupCluster,
} from './share-group-cluster.js';

const TOPIC = 'jobs';

test('a share group is served by one broker, refused by the others, and survives its SIGKILL', async () => {
  const { cluster, address } = await startShareGroupCluster(TOPIC);

  // A group whose classic coordinator (FindCoordinator key type 0, what Kafka clients ask) is not
  // its owner (key type 2, the leader of its __share_group_state partition): every broker names
  // the same owner, once __share_group_state has a leader.
  const { group, owner, classic } = await splitGroup('workers', address);
  for (const id of [1, 2, 3])
    assert.equal(
      await coordinatorOf(SHARE_KEY_TYPE, group, [id], [1, 2, 3], address),
      owner,
      `broker ${id} names the owner`,
    );
  const third = [1, 2, 3].find((id) => id !== owner && id !== classic)!;
  // Joined as a Kafka client does, at the classic coordinator, which passes it on to the owner.
  const consumer = await joinAt(address(classic), group);
  try {
    assert.deepEqual(consumer.partitions, [0, 1, 2], 'assigned every partition');
    const described = await consumer.describe([group]);
    assert.equal(described.groups[0].errorCode, 0, 'described through the classic coordinator');
    assert.deepEqual(
      described.groups[0].members.map((member) => member.memberId),
      [consumer.memberId],
    );
    // Its heartbeats came through the classic coordinator: the member shows its own client.
    assert.deepEqual(
      described.groups[0].members.map(({ clientId, clientHost }) => ({ clientId, clientHost })),
      [{ clientId: 'share-test', clientHost: '127.0.0.1' }],
    );

    // The third broker refuses the group's coordinator requests: NOT_COORDINATOR.
    {
      const connection = await KafkaConnection.open(address(third), { clientId: 'share-test' });
      try {
        const heartbeat = await connection.request<ShareGroupHeartbeatResponse>(
          ApiKey.ShareGroupHeartbeat,
          1,
          { groupId: group, memberId: 'stranger', memberEpoch: 0, subscribedTopicNames: [TOPIC] },
        );
        assert.equal(heartbeat.errorCode, ErrorCode.NOT_COORDINATOR, `heartbeat at ${third}`);
        const described = await connection.request<ShareGroupDescribeResponse>(
          ApiKey.ShareGroupDescribe,
          1,
          { groupIds: [group], includeAuthorizedOperations: false },
        );
        assert.equal(described.groups[0].errorCode, ErrorCode.NOT_COORDINATOR);
      } finally {
        connection.close();
      }
    }

    // Produced after the join (a share group starts at the end of the topic), to all three
    // partitions, each led by another broker.
    const count = 60;
    await produce(
      { bootstrapServers: address(owner) },
      TOPIC,
      Array.from({ length: count }, (_, index) => ({ value: `j${index}`, partition: index % 3 })),
    );
    // Fetched half through the third broker, which forwards to the owner, half directly at the
    // owner: two share sessions of one member, as a Kafka client keeps with two partition
    // leaders.
    const direct = await consumer.sessionAt(address(owner));
    const forwarded = await consumer.sessionAt(address(third));
    const delivered: ShareRecord[] = [];
    try {
      delivered.push(...(await fetchRecords(forwarded, count / 2, { maxRecords: count / 2 })));
      assert.ok(delivered.length < count, 'MaxRecords holds through the forward');
      delivered.push(...(await fetchRecords(direct, count - delivered.length)));
      // An acknowledgement forwarded too: answered once durable at the owner.
      const [first] = delivered;
      const acknowledgedThere = await forwarded.acknowledge(accepted([first]));
      assert.equal(acknowledgedThere.errorCode, 0, `forwarded: ${acknowledgedThere.errorMessage}`);
      assert.equal(
        acknowledgedThere.responses[0].partitions.find((p) => p.partitionIndex === first.partition)
          ?.errorCode,
        0,
      );
    } finally {
      forwarded.close();
    }
    assert.equal(delivered.length, count);
    assert.deepEqual(
      delivered.map((record) => record.value).sort(),
      Array.from({ length: count }, (_, index) => `j${index}`).sort(),
      'every record once, from every partition',
    );
    for (const record of delivered) assert.equal(record.deliveryCount, 1);
    // Half acknowledged (answered once durable on every in-sync replica), half still held.
    const acknowledged = delivered.filter((_, index) => index % 2 === 0);
    const held = delivered.filter((_, index) => index % 2 === 1);
    const answer = await direct.acknowledge(accepted(acknowledged.slice(1)));
    assert.equal(answer.errorCode, 0, `ShareAcknowledge: ${answer.errorMessage}`);
    for (const topic of answer.responses)
      for (const partition of topic.partitions) assert.equal(partition.errorCode, 0);

    // An empty share group is deleted through its classic coordinator (DeleteGroups, as Kafka's
    // admin sends it), which passes it on to the owner.
    const doomed = await splitGroup('doomed', address);
    const member = await joinAt(address(doomed.classic), doomed.group);
    try {
      const left = await member.heartbeat(null, -1);
      assert.equal(left.errorCode, 0, `left: ${left.errorMessage}`);
      const deleted = await member.connection.request<DeleteGroupsResponse>(
        ApiKey.DeleteGroups,
        2,
        { groupsNames: [doomed.group] },
      );
      assert.deepEqual(
        deleted.results.map(({ groupId, errorCode }) => ({ groupId, errorCode })),
        [{ groupId: doomed.group, errorCode: 0 }],
      );
      const gone = await member.describe([doomed.group]);
      assert.equal(gone.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    } finally {
      member.close();
    }

    // A topic with one replica per partition: a group's owner holds one of them and reads the two
    // others from their leaders over Fetch.
    await createTopicLedAsAssigned(cluster, 'solo', [[1], [2], [3]]);
    const soloOwner = await coordinatorOf(SHARE_KEY_TYPE, 'solo-readers', [1], [1, 2, 3], address);
    const solo = await joinAt(address(soloOwner), 'solo-readers', 'solo');
    try {
      await produce(
        { bootstrapServers: address(soloOwner) },
        'solo',
        Array.from({ length: 30 }, (_, index) => ({ value: `s${index}`, partition: index % 3 })),
      );
      const soloRecords = await fetchRecords(solo, 30);
      assert.deepEqual(
        soloRecords.map((record) => record.value).sort(),
        Array.from({ length: 30 }, (_, index) => `s${index}`).sort(),
        'records of the partition held here and of the two read from their leaders',
      );
      const soloAnswer = await solo.acknowledge(accepted(soloRecords));
      assert.equal(soloAnswer.errorCode, 0, `ShareAcknowledge: ${soloAnswer.errorMessage}`);
      for (const partition of soloAnswer.responses[0].partitions)
        assert.equal(partition.errorCode, 0, `solo-${partition.partitionIndex} acknowledged`);
      // A member reading two topics: the group's subscriptions of both are on its one state
      // partition, so its owner serves both.
      const both = await solo.connection.request<ShareGroupHeartbeatResponse>(
        ApiKey.ShareGroupHeartbeat,
        1,
        {
          groupId: 'solo-readers',
          memberId: 'reads-both',
          memberEpoch: 0,
          subscribedTopicNames: ['solo', TOPIC],
        },
      );
      assert.equal(both.errorCode, 0, `joined for two topics: ${both.errorMessage}`);
      assert.equal(both.assignment?.topicPartitions.length, 2);
    } finally {
      solo.close();
    }

    await cluster.kill(owner);
    const killedAtMs = Date.now();
    direct.close();
    consumer.close();

    const survivors = [1, 2, 3].filter((id) => id !== owner);
    const successor = await coordinatorOf(SHARE_KEY_TYPE, group, survivors, survivors, address);
    assert.notEqual(successor, owner);
    // Joined again at the classic coordinator (it survived), which now passes it on to the new
    // owner or is the new owner.
    const after = await joinAt(address(classic), group);
    // Fetched through the survivor that is not the new owner, which forwards to it.
    const afterForwarded = await after.sessionAt(
      address(survivors.find((id) => id !== successor)!),
    );
    try {
      // Exactly the held records come back, each with a higher delivery count.
      const redelivered = await fetchRecords(afterForwarded, held.length);
      console.log(
        `# share group failover (3 s session): served by broker ${successor}; ${redelivered.length} held records redelivered ${Date.now() - killedAtMs} ms after SIGKILL of broker ${owner}`,
      );
      assert.deepEqual(idsOf(redelivered), idsOf(held), 'the held records, none acknowledged');
      for (const record of redelivered)
        assert.ok(record.deliveryCount > 1, `${idOf(record)} redelivered with a higher count`);

      // Consumption goes on at the new owner: the redelivered records acknowledged on the next
      // fetch, new records fetched and acknowledged.
      const more = 30;
      await produce(
        { bootstrapServers: address(successor) },
        TOPIC,
        Array.from({ length: more }, (_, index) => ({
          value: `k${index}`,
          partition: index % 3,
        })),
      );
      const fresh: ShareRecord[] = [
        ...(await afterForwarded.fetch({
          acknowledgements: accepted(redelivered),
          maxWaitMs: 200,
        })),
      ];
      for (const partition of afterForwarded.lastFetch!.responses[0]?.partitions ?? [])
        assert.equal(
          partition.acknowledgeErrorCode,
          0,
          `acknowledged in ${partition.partitionIndex}`,
        );
      const afterDirect = await after.sessionAt(address(successor));
      fresh.push(...(await fetchRecords(afterDirect, more - fresh.length)));
      assert.deepEqual(
        fresh.map((record) => record.value).sort(),
        Array.from({ length: more }, (_, index) => `k${index}`).sort(),
      );
      const last = await afterDirect.acknowledge(accepted(fresh));
      afterDirect.close();
      assert.equal(last.errorCode, 0, `ShareAcknowledge: ${last.errorMessage}`);

      // Nothing is left: every record was acknowledged once, nothing comes again.
      const rest = await afterForwarded.fetch({ maxWaitMs: 300 });
      assert.deepEqual(rest, []);
      assert.equal(
        new Set([...idsOf(acknowledged), ...idsOf(redelivered), ...idsOf(fresh)]).size,
        count + more,
      );

      // Left and deleted through the classic coordinator, as Kafka's clients and admin do.
      const left = await after.heartbeat(null, -1);
      assert.equal(left.errorCode, 0, `left: ${left.errorMessage}`);
      // An id of no group, coordinated by the same broker and owned by another: GROUP_ID_NOT_FOUND
      // stands although that other broker answers NOT_COORDINATOR for it.
      const absent = await waitFor(async () => {
        for (let index = 0; index < 50; index += 1) {
          const groupId = `absent-${index}`;
          const [classicOf, ownerOf] = await Promise.all(
            [GROUP_KEY_TYPE, SHARE_KEY_TYPE].map(async (keyType) => {
              const response = await after.connection.request<FindCoordinatorResponse>(
                ApiKey.FindCoordinator,
                4,
                { keyType, coordinatorKeys: [groupId] },
              );
              return response.coordinators[0].nodeId;
            }),
          );
          if (classicOf === classic && ownerOf !== classic && ownerOf >= 0) return groupId;
        }
        return undefined;
      }, `an absent group id coordinated by broker ${classic} and owned by another`);
      const deleted = await after.connection.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, 2, {
        groupsNames: [group, absent],
      });
      assert.deepEqual(
        deleted.results.map(({ groupId, errorCode }) => ({ groupId, errorCode })),
        [
          { groupId: group, errorCode: 0 },
          { groupId: absent, errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
        ],
      );
      const gone = await after.describe([group]);
      assert.equal(gone.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    } finally {
      afterForwarded.close();
      after.close();
    }
  } finally {
    consumer.close();
  }
});

test("closing a member's share session with one broker gives back only what that session holds", async () => {
  const { address } = await startShareGroupCluster(TOPIC);
  const { group, owner } = await splitGroup('closing', address);
  const consumer = await joinAt(address(owner), group);
  // Partition 0 through one broker's session, partitions 1 and 2 through another's, as a Kafka
  // client keeps a session with each partition leader (brokers 1, 2 and 3 lead 0, 1 and 2); at
  // least one of the two is forwarded to the owner.
  const first = await consumer.sessionAt(address(1));
  first.partitions = [0];
  const second = await consumer.sessionAt(address(2));
  second.partitions = [1, 2];
  try {
    assert.deepEqual(consumer.partitions, [0, 1, 2], 'assigned every partition');
    await produce(
      { bootstrapServers: address(owner) },
      TOPIC,
      Array.from({ length: 30 }, (_, index) => ({ value: `c${index}`, partition: index % 3 })),
    );
    const throughFirst = await fetchRecords(first, 10);
    const throughSecond = await fetchRecords(second, 20);
    assert.deepEqual(new Set(throughFirst.map((record) => record.partition)), new Set([0]));

    // The first session closes (epoch -1), acknowledging nothing.
    const closed = await first.acknowledge([], { close: true });
    assert.equal(closed.errorCode, 0, `closing: ${closed.errorMessage}`);

    // What the member fetched through the other session is still its own to acknowledge there.
    const answer = await second.acknowledge(accepted(throughSecond));
    assert.equal(answer.errorCode, 0, `ShareAcknowledge: ${answer.errorMessage}`);
    for (const partition of answer.responses[0].partitions)
      assert.equal(
        partition.errorCode,
        0,
        `partition ${partition.partitionIndex} still held after the other session closed`,
      );

    // What the closed session held came back: fetched again, delivered a second time.
    const again = await consumer.sessionAt(address(1));
    again.partitions = [0];
    try {
      const redelivered = await fetchRecords(again, 10);
      assert.deepEqual(idsOf(redelivered), idsOf(throughFirst));
      for (const record of redelivered) assert.equal(record.deliveryCount, 2);
    } finally {
      again.close();
    }
  } finally {
    first.close();
    second.close();
    consumer.close();
  }
});

/** Joins at `address`, retrying while the group is loaded there or the owner is not yet known. */
function joinAt(address: string, groupId: string, topic = TOPIC): Promise<ShareConsumer> {
  return waitFor(
    () => ShareConsumer.join(address, groupId, topic).catch(() => undefined),
    `a member joined share group ${groupId} at ${address}`,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

const idOf = (record: ShareRecord): string => `${record.partition}:${record.offset}`;
const idsOf = (records: readonly ShareRecord[]): string[] => records.map(idOf).sort();
