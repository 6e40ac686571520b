import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { NO_LEADER } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ElectLeadersResponse } from '../../src/protocol/generated/elect-leaders.js';
import { startBroker } from '../../src/broker.js';
import { kafkaOf, startWatchedCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';
import { callBroker } from '../helpers/wire-client.js';

const PREFERRED = 0;
const UNCLEAN = 1;

function electLeaders(
  bootstrapServers: string,
  electionType: number,
  topicPartitions: { topic: string; partitions: number[] }[] | null,
): Promise<ElectLeadersResponse> {
  return callBroker<ElectLeadersResponse>(bootstrapServers, ApiKey.ElectLeaders, 2, {
    electionType,
    topicPartitions,
    timeoutMs: 30_000,
  });
}

function codes(response: ElectLeadersResponse): Record<string, number> {
  return Object.fromEntries(
    response.replicaElectionResults.flatMap(({ topic, partitionResult }) =>
      partitionResult.map(({ partitionId, errorCode }) => [`${topic}-${partitionId}`, errorCode]),
    ),
  );
}

describe('ElectLeaders', () => {
  test('a preferred election puts the preferred replica back as leader; an unclean one revives an offline partition', async () => {
    const { cluster, store } = await startWatchedCluster({
      brokers: 3,
      settings: { 'broker.session.timeout.ms': 2000 },
    });
    const kafka = kafkaOf(cluster);
    const admin = kafka.admin();
    await admin.connect();
    after(() => admin.disconnect());
    await admin.createTopics({
      topics: [
        { topic: 'elected', numPartitions: 2, replicationFactor: 3 },
        { topic: 'lonely', replicaAssignment: [{ partition: 0, replicas: [2, 3] }] },
      ],
      waitForLeaders: true,
    });
    await waitFor(
      () => store.partitionState('elected', 1) && store.partitionState('lonely', 0),
      'partition states',
    );

    // Leadership of elected-0 away from its preferred replica, every replica still in sync (as
    // after a failover once the old leader has caught up again).
    const before = store.partitionState('elected', 0)!;
    const preferred = before.replicas[0]!;
    await store.updatePartitionState(
      'elected',
      0,
      before.partitionEpoch,
      { ...before, leader: before.replicas[1]!, leaderEpoch: before.leaderEpoch + 1 },
      store.controllerFence(),
    );

    // Asked of a broker that is not the controller: it writes with the controller's fence.
    const controllerId = store.controller()!.brokerId;
    const other = cluster.brokers.find((broker) => broker.id !== controllerId)!;
    const answer = await electLeaders(`${other.host}:${other.port}`, PREFERRED, [
      { topic: 'elected', partitions: [0, 1, 7] },
    ]);
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.deepEqual(codes(answer), {
      'elected-0': ErrorCode.NONE,
      'elected-1': ErrorCode.ELECTION_NOT_NEEDED,
      'elected-7': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    const after0 = store.partitionState('elected', 0)!;
    assert.equal(after0.leader, preferred);
    assert.equal(after0.leaderEpoch, before.leaderEpoch + 2);
    const metadata = await admin.fetchTopicMetadata({ topics: ['elected'] });
    await waitFor(
      async () => {
        const described = await admin.fetchTopicMetadata({ topics: ['elected'] });
        return (
          described.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader === preferred
        );
      },
      `Metadata to show broker ${preferred} leading elected-0 (was ${JSON.stringify(metadata)})`,
    );

    // lonely-0: only broker 2 in sync (as if 3 had fallen behind), then broker 2 dies: offline.
    const lonely = store.partitionState('lonely', 0)!;
    await store.updatePartitionState(
      'lonely',
      0,
      lonely.partitionEpoch,
      { ...lonely, leader: 2, isr: [2] },
      store.controllerFence(),
    );
    await cluster.kill(2);
    await waitFor(
      () => store.partitionState('lonely', 0)!.leader === NO_LEADER,
      'lonely-0 offline after broker 2 is gone',
    );
    const preferredAnswer = await electLeaders(cluster.bootstrapServers.split(',')[0]!, PREFERRED, [
      { topic: 'lonely', partitions: [0] },
    ]);
    assert.deepEqual(codes(preferredAnswer), {
      'lonely-0': ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    });
    const uncleanAnswer = await electLeaders(
      cluster.bootstrapServers.split(',')[0]!,
      UNCLEAN,
      null,
    );
    assert.deepEqual(codes(uncleanAnswer), { 'lonely-0': ErrorCode.NONE });
    const revived = store.partitionState('lonely', 0)!;
    assert.equal(revived.leader, 3);
    assert.deepEqual(revived.isr, [3]);
  });

  test('one broker alone has nothing to elect', async () => {
    const broker = await startBroker();
    after(() => broker.stop());
    const kafka = kafkaOf(broker);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'single', numPartitions: 1 }] });
    await admin.disconnect();
    const answer = await electLeaders(broker.bootstrapServers, PREFERRED, [
      { topic: 'single', partitions: [0, 3] },
    ]);
    assert.deepEqual(codes(answer), {
      'single-0': ErrorCode.ELECTION_NOT_NEEDED,
      'single-3': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
  });
});

describe('auto.leader.rebalance.enable', () => {
  test('the controller moves a leadership back to its in-sync preferred replica every leader.imbalance.check.interval.seconds', async () => {
    const { cluster, store } = await startWatchedCluster({
      brokers: 3,
      settings: { 'leader.imbalance.check.interval.seconds': 1 },
    });
    const admin = kafkaOf(cluster).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'rebalanced', numPartitions: 1, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const state = await waitFor(() => store.partitionState('rebalanced', 0), 'the partition state');
    const preferred = state.replicas[0]!;
    await store.updatePartitionState(
      'rebalanced',
      0,
      state.partitionEpoch,
      { ...state, leader: state.replicas[2]!, leaderEpoch: state.leaderEpoch + 1 },
      store.controllerFence(),
    );
    await waitFor(
      () => store.partitionState('rebalanced', 0)!.leader === preferred,
      () =>
        `broker ${preferred} to lead rebalanced-0 again (state ${JSON.stringify(store.partitionState('rebalanced', 0))})`,
    );
  });
});
