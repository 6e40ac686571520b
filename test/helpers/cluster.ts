// What cluster tests share: in-process brokers on one etcd prefix, a process cluster
// (startCluster) with the test's own view of its etcd metadata, and the few look-ups every cluster
// test makes (Metadata, each partition's layout, a kafkajs client), and leadership moved in etcd
// as the controller moves it.
//
// Everything started here is stopped by an `after` hook registered where it was started, in the
// order it was started: call these inside the test (or at the top level of a file) that owns them.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { Kafka, logLevel } from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { createEtcdClient } from '../../src/cluster/etcd-client.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { type Cluster, type StartClusterOptions, startCluster } from '../../src/index.js';
import type { PartitionState } from '../../src/metadata/cluster-metadata.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import { uniquePrefix } from './etcd.js';
import { waitFor } from './poll.js';
import { callBroker } from './wire-client.js';

type Settings = Readonly<Record<string, string | number | boolean>>;

/** Anything clients can be pointed at: a broker, a cluster, a broker process. */
export interface Bootstrap {
  /** host:port, or several comma-separated. */
  readonly bootstrapServers: string;
}

/** Metadata v12 from the (first) broker of `target`: `topics` null for all, [] for none. */
export function metadataOf(
  target: Bootstrap,
  topics: readonly string[] | null,
): Promise<MetadataResponse> {
  return callBroker<MetadataResponse>(target.bootstrapServers, ApiKey.Metadata, 12, {
    topics: topics?.map((name) => ({ name, topicId: Buffer.alloc(16) })) ?? null,
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
}

/**
 * Creates a topic with CreateTopics v5 (exact configs, no client-side defaults) and fails the test
 * unless the broker created it.
 */
export async function createTopicByRequest(
  target: Bootstrap,
  topic: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    configs?: Readonly<Record<string, string>>;
    /** Each partition's replicas, leader first, in partition order (counts then -1, as Kafka's). */
    replicaAssignment?: readonly (readonly number[])[];
  },
): Promise<void> {
  const created = await callBroker<CreateTopicsResponse>(
    target.bootstrapServers,
    ApiKey.CreateTopics,
    5,
    {
      topics: [
        {
          name: topic.name,
          numPartitions: topic.replicaAssignment === undefined ? topic.numPartitions : -1,
          replicationFactor: topic.replicaAssignment === undefined ? topic.replicationFactor : -1,
          assignments: (topic.replicaAssignment ?? []).map((brokerIds, partitionIndex) => ({
            partitionIndex,
            brokerIds: [...brokerIds],
          })),
          configs: Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    },
  );
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE, created.topics[0]!.errorMessage ?? '');
}

/**
 * A Fetch v12 request body for one partition, up to 1 MiB, answered at once: by default as a
 * consumer sends it (no replica id, no leader epoch), read_uncommitted.
 */
export function fetchRequest(partition: {
  topic: string;
  partition: number;
  fetchOffset: bigint;
  replicaId?: number;
  currentLeaderEpoch?: number;
  logStartOffset?: bigint;
}) {
  return {
    replicaId: partition.replicaId ?? -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [
      {
        topic: partition.topic,
        partitions: [
          {
            partition: partition.partition,
            currentLeaderEpoch: partition.currentLeaderEpoch ?? -1,
            fetchOffset: partition.fetchOffset,
            logStartOffset: partition.logStartOffset ?? -1n,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
  };
}

/** One partition as Metadata shows it, its ISR sorted. */
export interface PartitionLayout {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
}

/**
 * Creates `name` with these replicas per partition (leader first) and waits until Metadata names
 * each partition's first replica its leader.
 */
export async function createTopicLedAsAssigned(
  target: Bootstrap,
  name: string,
  replicaAssignment: readonly (readonly number[])[],
): Promise<void> {
  await createTopicByRequest(target, {
    name,
    numPartitions: replicaAssignment.length,
    replicationFactor: replicaAssignment[0].length,
    replicaAssignment,
  });
  await waitFor(
    async () => {
      const partitions = await layoutOf(target, name);
      return partitions?.every(
        (partition, index) => partition.leader === replicaAssignment[index][0],
      );
    },
    `${name}'s partitions led by brokers ${replicaAssignment.map((replicas) => replicas[0]).join(', ')}`,
  );
}

/** Every partition of `topic` in index order, or undefined while Metadata does not know it. */
export async function layoutOf(
  target: Bootstrap,
  topic: string,
): Promise<PartitionLayout[] | undefined> {
  const metadata = await metadataOf(target, [topic]);
  const described = metadata.topics[0];
  if (described === undefined || described.errorCode !== ErrorCode.NONE) return undefined;
  return [...described.partitions]
    .sort((a, b) => a.partitionIndex - b.partitionIndex)
    .map((partition) => ({
      leader: partition.leaderId,
      leaderEpoch: partition.leaderEpoch,
      replicas: [...partition.replicaNodes],
      isr: [...partition.isrNodes].sort(),
      offline: [...partition.offlineReplicas],
    }));
}

/**
 * Moves the partition's leadership to `leader` (an ISR member) the way the controller does: the
 * partition key in etcd, leader epoch and partition epoch one up, compared on its version.
 */
export async function moveLeader(
  etcdClient: Etcd3,
  prefix: string,
  topic: string,
  partition: number,
  leader: number,
): Promise<void> {
  const key = `${prefix}/partitions/${topic}/${partition}`;
  const current = JSON.parse((await etcdClient.get(key).string())!) as PartitionState;
  assert.ok(
    current.isr.includes(leader),
    `broker ${leader} is in the ISR of ${topic}-${partition}`,
  );
  const next: PartitionState = {
    ...current,
    leader,
    leaderEpoch: current.leaderEpoch + 1,
    partitionEpoch: current.partitionEpoch + 1,
  };
  const result = await etcdClient
    .if(key, 'Version', '==', current.partitionEpoch + 1)
    .then(etcdClient.put(key).value(JSON.stringify(next)))
    .commit();
  assert.ok(result.succeeded, `the state of ${topic}-${partition} changed meanwhile`);
}

/** A quiet kafkajs client for every broker of `target`. */
export function kafkaOf(target: Bootstrap, clientId?: string): Kafka {
  return new Kafka({
    ...(clientId === undefined ? {} : { clientId }),
    brokers: target.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
  });
}

/** In-process brokers sharing one etcd prefix, started one by one. */
export interface InProcessCluster {
  readonly prefix: string;
  readonly brokers: Map<number, Broker>;
  /** Starts broker `nodeId`; it stops after the test. */
  start(nodeId: number): Promise<Broker>;
}

/**
 * A cluster of in-process brokers on `etcdEndpoint`, with a 2 s session timeout and no automatic
 * topic creation; `settings` are added to (or override) those.
 */
export function inProcessCluster(etcdEndpoint: string, settings: Settings = {}): InProcessCluster {
  const prefix = uniquePrefix();
  const brokers = new Map<number, Broker>();
  return {
    prefix,
    brokers,
    async start(nodeId) {
      const broker = await startBroker({
        settings: {
          'etcd.endpoints': etcdEndpoint,
          'etcd.prefix': prefix,
          'node.id': nodeId,
          'broker.session.timeout.ms': 2000,
          'auto.create.topics.enable': false,
          ...settings,
        },
      });
      after(() => broker.stop());
      brokers.set(nodeId, broker);
      return broker;
    },
  };
}

/** Starts brokers 1..count and waits until every one of them sees all and a controller. */
export async function startInProcessCluster(
  etcdEndpoint: string,
  count: number,
  settings: Settings = {},
): Promise<InProcessCluster> {
  const cluster = inProcessCluster(etcdEndpoint, settings);
  for (let nodeId = 1; nodeId <= count; nodeId++) await cluster.start(nodeId);
  for (const broker of cluster.brokers.values()) {
    await waitFor(async () => {
      const metadata = await metadataOf(broker, []);
      return metadata.brokers.length === count && metadata.controllerId >= 0;
    }, `broker ${broker.nodeId} to see ${count} brokers and a controller`);
  }
  return cluster;
}

/**
 * A process cluster (startCluster) and the test's own view of its etcd metadata, to read and
 * change partition states the way the controller does. The cluster stops after the test, then
 * the view closes.
 */
export async function startWatchedCluster(
  options: StartClusterOptions,
): Promise<{ cluster: Cluster; store: EtcdMetadataStore }> {
  const cluster = await startCluster(options);
  after(() => cluster.stop());
  const client = createEtcdClient([cluster.etcdEndpoint]);
  const store = await EtcdMetadataStore.open(client, cluster.etcdPrefix);
  after(async () => {
    await store.close();
    client.close();
  });
  return { cluster, store };
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
