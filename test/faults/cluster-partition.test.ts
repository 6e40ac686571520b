// Network partitions between the brokers of a 3-broker cluster (etcd, RF 3, min.insync.replicas 2)
// under idempotent acks=all load. Every broker replicates through a proxy on its REPLICATION
// listener and reaches etcd through another (broker-links.ts); clients reach every broker
// directly, so only the brokers are cut off from each other:
//
// - a leader's replication link cut: its followers cannot fetch and leave the ISR, the leader
//   (still in etcd) stays leader, and with one replica in sync acks=all is refused
//   (NOT_ENOUGH_REPLICAS) or waits; not one record of the partition is acknowledged while the
//   ISR is the leader alone. Healed, the followers catch up and rejoin, and produce goes on.
// - a leader's etcd link cut: its lease lapses and the controller elects another ISR member while
//   the old leader's data port stays open. The old leader must not get an acks=all produce
//   acknowledged after it was deposed; healed, it registers again, truncates its divergent tail
//   and rejoins the ISR.
//
// In both, nothing acknowledged may be lost, duplicated or reordered (the checker).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { ListOffsetsResponse } from '../../src/protocol/generated/list-offsets.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { type ClusterLinks, startClusterLinks } from './broker-links.js';
import { seededLeader, waitForFullIsr } from './cluster-scenario.js';
import type { FaultBroker, FaultCluster } from './fault-cluster.js';
import { clusterPartitions, repeatFaults, runClusterScenario } from './fault-schedule.js';
import type { History } from './history.js';
import { seededDelay } from './scenario.js';
import { faultDurationMs, faultSeeds, type SeededRandom } from './seeds.js';
import { keyedBatch } from '../helpers/storage-batches.js';
import { waitFor } from '../helpers/poll.js';
import { callBroker } from '../helpers/wire-client.js';

const file = 'test/faults/cluster-partition.test.ts';
const lagTimeMaxMs = 2_000;

interface PartitionView {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

/** A partition as one given broker's Metadata reports it (not whichever broker a client picks). */
async function partitionOn(
  broker: FaultBroker,
  topic: string,
  partition: number,
): Promise<PartitionView | undefined> {
  const answer = await callBroker<MetadataResponse>(broker.address, ApiKey.Metadata, 12, {
    topics: [{ name: topic, topicId: Buffer.alloc(16) }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  const found = answer.topics[0]?.partitions.find((state) => state.partitionIndex === partition);
  return found === undefined
    ? undefined
    : { leader: found.leaderId, leaderEpoch: found.leaderEpoch, isr: found.isrNodes };
}

/** The high watermark `broker` serves for a partition it leads (ListOffsets latest, uncommitted). */
async function highWatermarkOn(
  broker: FaultBroker,
  topic: string,
  partition: number,
): Promise<number> {
  const answer = await callBroker<ListOffsetsResponse>(broker.address, ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
  });
  const found = answer.topics[0]!.partitions[0]!;
  assert.equal(found.errorCode, ErrorCode.NONE, `ListOffsets of ${topic}-${partition}`);
  return Number(found.offset);
}

let probes = 0;

/**
 * One acks=all produce of one record straight to `broker`, as a client with stale metadata would
 * send it; resolves with the partition's error code, or 'no answer' when none came in time. The
 * record's value is not a record id of the history, so the checker ignores it if it is read.
 */
async function probeProduce(
  broker: FaultBroker,
  topic: string,
  partition: number,
): Promise<number | 'no answer'> {
  const records = await keyedBatch([{ key: null, value: `probe-${++probes}` }]);
  let connection: KafkaConnection | undefined;
  try {
    connection = await KafkaConnection.open(broker.address, {
      clientId: 'partition-probe',
      requestTimeoutMs: 5_000,
    });
    const answer = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1_500,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    return answer.responses[0]!.partitionResponses[0]!.errorCode;
  } catch {
    return 'no answer';
  } finally {
    connection?.close();
  }
}

/** Records a fault-history note and returns its time on the history's clock. */
function note(history: History, description: string): number {
  history.record({ type: 'fault', description });
  return history.events.at(-1)!.atMs;
}

/** One cut of a scenario: the leader of a seeded partition, once every ISR was full again. */
interface Cut {
  readonly cluster: FaultCluster;
  readonly links: ClusterLinks;
  readonly history: History;
  readonly random: SeededRandom;
  readonly topic: string;
  readonly partition: number;
  readonly leader: FaultBroker;
}

/**
 * The skeleton of every scenario here: a cluster whose links run through proxies, under load;
 * `cut` runs at least twice and for `faultMs`, each time on a seeded partition's leader once
 * every ISR is full and a seeded pause has passed; every link is healed afterwards, whatever
 * happened. Returns what the load acknowledged and read, and how many cuts there were (at least
 * two, or the scenario proved little).
 */
async function runLinkCuts(
  seed: number,
  faultMs: number,
  cut: (cut: Cut) => Promise<void>,
): Promise<{ acknowledged: number; read: number; cuts: number }> {
  const links = await startClusterLinks(3);
  let cuts = 0;
  try {
    const { acknowledged, read } = await runClusterScenario({
      seed,
      file,
      settings: { 'replica.lag.time.max.ms': lagTimeMaxMs },
      brokerSettings: links.brokerSettings,
      async faults(cluster, { history, random, topic }) {
        try {
          cuts = await repeatFaults(faultDurationMs(faultMs), 2, async () => {
            await waitForFullIsr(cluster, topic);
            await seededDelay(random, 200, 1_000);
            const { partition, broker: leader } = await seededLeader(
              cluster,
              topic,
              clusterPartitions,
              random,
            );
            await cut({ cluster, links, history, random, topic, partition, leader });
          });
        } finally {
          links.healAll();
        }
      },
    });
    assert.ok(cuts >= 2, `only ${cuts} cuts happened: the scenario proved little`);
    return { acknowledged, read, cuts };
  } finally {
    await links.close();
  }
}

for (const seed of faultSeeds('cluster-partition-replication')) {
  test(`a leader cut off from its followers never acknowledges with one copy, and nothing is lost once healed (seed ${seed})`, async () => {
    const refusals: string[] = [];
    const { acknowledged, read, cuts } = await runLinkCuts(
      seed,
      4_000,
      async ({ cluster, links, history, random, topic, partition, leader }) => {
        const follower = cluster.brokers.find((broker) => broker.id !== leader.id)!;
        const link = links.links(leader.id).replication;
        const before = await partitionOn(follower, topic, partition);
        note(history, `replication link of broker ${leader.id} cut (leads ${topic}-${partition})`);
        link.partition();
        const discardedAtCut = link.discardedBytes;
        await waitFor(
          async () => {
            const state = await partitionOn(follower, topic, partition);
            return state?.isr.length === 1 && state.isr[0] === leader.id;
          },
          `the followers of ${topic}-${partition} out of its ISR`,
          { timeoutMs: 30_000, intervalMs: 200 },
        );
        const aloneAtMs = note(history, `ISR of ${topic}-${partition} is [${leader.id}]`);
        // The leader must refuse (or hold) acks=all with one replica in sync; it may take a
        // moment to hear of the ISR it wrote, so probe until it refuses.
        const outcomes: (number | 'no answer')[] = [];
        await waitFor(
          async () => {
            const outcome = await probeProduce(leader, topic, partition);
            outcomes.push(outcome);
            return outcome === ErrorCode.NONE || outcome === ErrorCode.NOT_ENOUGH_REPLICAS;
          },
          `NOT_ENOUGH_REPLICAS from broker ${leader.id} for ${topic}-${partition}`,
          { timeoutMs: 20_000, intervalMs: 200 },
        ).catch(() => undefined);
        assert.ok(
          !outcomes.includes(ErrorCode.NONE),
          `broker ${leader.id} acknowledged an acks=all produce to ${topic}-${partition} with an ISR of one (probes: ${outcomes.join(', ')})`,
        );
        refusals.push(String(outcomes.at(-1)));
        // Refused before the append: the log stays where it was while the leader is alone.
        const endAlone = await highWatermarkOn(leader, topic, partition);
        await seededDelay(random, 500, 2_000);
        assert.equal(
          await highWatermarkOn(leader, topic, partition),
          endAlone,
          `the log of ${topic}-${partition} grew while broker ${leader.id} was its only in-sync replica`,
        );
        const healedAtMs = note(history, `replication link of broker ${leader.id} healed`);
        link.heal();
        // From the moment the ISR is the leader alone, min.insync.replicas 2 allows no
        // acknowledgement. (Before, one may still come: a follower that had copied more than
        // the other leaves the ISR last, and the high watermark moves up to its copy.)
        const acknowledgedAlone = history.events.filter(
          (event) =>
            event.type === 'ack' &&
            event.partition === partition &&
            event.atMs > aloneAtMs &&
            event.atMs < healedAtMs,
        );
        assert.deepEqual(
          acknowledgedAlone,
          [],
          `records of ${topic}-${partition} acknowledged while broker ${leader.id} was its only in-sync replica`,
        );
        assert.ok(
          link.discardedBytes > discardedAtCut,
          `no follower tried to fetch from broker ${leader.id} through its cut link`,
        );
        await waitForFullIsr(cluster, topic);
        const after = await partitionOn(follower, topic, partition);
        assert.equal(after?.leader, leader.id, 'the leader, still in etcd, kept leading');
        assert.equal(after?.leaderEpoch, before?.leaderEpoch, 'no new leader epoch');
      },
    );
    assert.ok(
      refusals.includes(String(ErrorCode.NOT_ENOUGH_REPLICAS)),
      `no probe was refused with NOT_ENOUGH_REPLICAS (${refusals.join(', ')})`,
    );
    console.log(
      `seed ${seed}: ${cuts} replication cuts (probes: ${refusals.join(', ')}), ${acknowledged} acknowledged, ${read} read`,
    );
  });
}

for (const seed of faultSeeds('cluster-partition-etcd')) {
  test(`a leader cut off from etcd is deposed, acknowledges nothing after, and rejoins once healed (seed ${seed})`, async () => {
    const probeOutcomes: string[] = [];
    const { acknowledged, read, cuts } = await runLinkCuts(
      seed,
      2_000,
      async ({ cluster, links, history, random, topic, partition, leader }) => {
        const witness = cluster.brokers.find((broker) => broker.id !== leader.id)!;
        const before = await partitionOn(witness, topic, partition);
        const link = links.links(leader.id).etcd;
        note(history, `etcd link of broker ${leader.id} cut (leads ${topic}-${partition})`);
        link.partition();
        const discardedAtCut = link.discardedBytes;
        const after = await waitFor(
          async () => {
            const state = await partitionOn(witness, topic, partition);
            return state !== undefined && state.leader >= 0 && state.leader !== leader.id
              ? state
              : undefined;
          },
          `a new leader of ${topic}-${partition} in place of broker ${leader.id}`,
          { timeoutMs: 30_000, intervalMs: 200 },
        );
        note(
          history,
          `broker ${after.leader} leads ${topic}-${partition} at epoch ${after.leaderEpoch}`,
        );
        assert.ok(
          after.leaderEpoch > (before?.leaderEpoch ?? -1),
          `the new leader's epoch ${after.leaderEpoch} is above the old ${before?.leaderEpoch}`,
        );
        // The deposed leader, its data port open, must not acknowledge acks=all any more.
        const outcome = await probeProduce(leader, topic, partition);
        probeOutcomes.push(String(outcome));
        assert.notEqual(
          outcome,
          ErrorCode.NONE,
          `broker ${leader.id}, deposed, acknowledged an acks=all produce to ${topic}-${partition}`,
        );
        await seededDelay(random, 500, 2_000);
        assert.ok(
          link.discardedBytes > discardedAtCut,
          `broker ${leader.id} sent nothing to etcd through its cut link`,
        );
        note(history, `etcd link of broker ${leader.id} healed`);
        link.heal();
        await waitForFullIsr(cluster, topic);
      },
    );
    console.log(
      `seed ${seed}: ${cuts} etcd cuts (probes of the deposed leader: ${probeOutcomes.join(', ')}), ${acknowledged} acknowledged, ${read} read`,
    );
  });
}

for (const seed of faultSeeds('cluster-partition-follower')) {
  test(`a follower cut off from its leader alone leaves the ISR, produce goes on with two, and it rejoins once healed (seed ${seed})`, async () => {
    const { acknowledged, read, cuts } = await runLinkCuts(
      seed,
      2_000,
      async ({ cluster, links, history, random, topic, partition, leader }) => {
        const followers = cluster.brokers.filter((broker) => broker.id !== leader.id);
        const victim = followers[random.integer(0, followers.length - 1)]!;
        const other = followers.find((broker) => broker !== victim)!;
        const before = await partitionOn(other, topic, partition);
        note(
          history,
          `broker ${victim.id}'s fetches from broker ${leader.id} cut (leads ${topic}-${partition})`,
        );
        links.cutFollower(leader.id, victim.id);
        await waitFor(
          async () => {
            const isr = (await partitionOn(other, topic, partition))?.isr ?? [];
            return isr.length === 2 && isr.includes(leader.id) && isr.includes(other.id);
          },
          `broker ${victim.id} alone out of the ISR of ${topic}-${partition}`,
          { timeoutMs: 30_000, intervalMs: 200 },
        );
        const shrunkAtMs = note(
          history,
          `ISR of ${topic}-${partition} is [${leader.id}, ${other.id}]`,
        );
        // Two in sync meet min.insync.replicas: the partition keeps acknowledging.
        await waitFor(
          () =>
            history.events.some(
              (event) =>
                event.type === 'ack' && event.partition === partition && event.atMs > shrunkAtMs,
            ),
          `acknowledgements on ${topic}-${partition} with two replicas in sync`,
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        await seededDelay(random, 200, 1_000);
        note(history, `broker ${victim.id}'s fetches from broker ${leader.id} healed`);
        links.links(leader.id).replication.heal();
        await waitForFullIsr(cluster, topic);
        const after = await partitionOn(other, topic, partition);
        assert.equal(after?.leader, leader.id, 'the leader kept leading');
        assert.equal(after?.leaderEpoch, before?.leaderEpoch, 'no new leader epoch');
      },
    );
    console.log(`seed ${seed}: ${cuts} follower cuts, ${acknowledged} acknowledged, ${read} read`);
  });
}
