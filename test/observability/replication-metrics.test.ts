// Replication metrics (issue 13) on a real 3-broker cluster over a real etcd, scraped over HTTP:
// leader and partition counts, the active controller, the replica fetchers' connections and each
// follower's lag; a stopped follower makes its partition under-replicated (and under
// min.insync.replicas) on the leader and counts an ISR shrink; once it is back and caught up the
// ISR expands again.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { callBroker } from '../helpers/wire-client.js';

const etcd = await startEtcd();
const TOPIC = 'watched';

async function scrape(broker: Broker): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${broker.httpListeners[0]!.port}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** The value of the sample `name{labels}` (labels matched exactly as a set); undefined if absent. */
function sample(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]),
    );
    if (
      JSON.stringify(Object.entries(present).sort()) ===
      JSON.stringify(Object.entries(labels).sort())
    )
      return Number(match[3]);
  }
  return undefined;
}

async function produce(leader: Broker, acks: number, seed: number): Promise<number> {
  const connection = await KafkaConnection.open(leader.bootstrapServers, { clientId: 'metrics' });
  try {
    const response = await connection.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 10_000,
      topicData: [
        {
          name: TOPIC,
          partitionData: [
            { index: 0, records: await makeBatch({ seed, recordsCount: 5, valueBytes: 20 }) },
          ],
        },
      ],
    });
    return response.responses[0]!.partitionResponses[0]!.errorCode;
  } finally {
    connection.close();
  }
}

test('replication metrics: counts, fetchers and lag; a stopped follower is under-replicated on the leader until it rejoins', async (t) => {
  const prefix = uniquePrefix();
  const settings = (nodeId: number) => ({
    'etcd.endpoints': etcd.endpoint,
    'etcd.prefix': prefix,
    'node.id': nodeId,
    'broker.session.timeout.ms': 2000,
    'replica.lag.time.max.ms': 1000,
    'http.listeners': 'http://127.0.0.1:0',
  });
  const logDirs = new Map<number, string>();
  const brokers = new Map<number, Broker>();
  t.after(async () => {
    for (const broker of brokers.values()) await broker.stop();
    for (const directory of logDirs.values()) await rm(directory, { recursive: true, force: true });
  });
  for (const nodeId of [1, 2, 3]) {
    logDirs.set(nodeId, await mkdtemp(join(tmpdir(), `brook-replication-metrics-${nodeId}-`)));
    brokers.set(
      nodeId,
      await startBroker({ logDirs: logDirs.get(nodeId)!, settings: settings(nodeId) }),
    );
  }
  const first = brokers.get(1)!;
  await waitFor(
    async () =>
      (
        await callBroker<MetadataResponse>(first.bootstrapServers, ApiKey.Metadata, 12, {
          topics: [],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        })
      ).brokers.length === 3,
    'three brokers',
  );
  const created = await callBroker<CreateTopicsResponse>(
    first.bootstrapServers,
    ApiKey.CreateTopics,
    5,
    {
      topics: [
        {
          name: TOPIC,
          numPartitions: 1,
          replicationFactor: 3,
          assignments: [],
          configs: [{ name: 'min.insync.replicas', value: '3' }],
        },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    },
  );
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  const leaderId = await waitFor(
    () => [...brokers].find(([, broker]) => broker.replicas.partition(TOPIC, 0)?.replicaState)?.[0],
    'a leader for the partition',
  );
  const leader = brokers.get(leaderId)!;
  const [stoppedId, keptId] = [1, 2, 3].filter((id) => id !== leaderId) as [number, number];
  assert.equal(await produce(leader, -1, 1), ErrorCode.NONE);

  const lagOf = (exposition: string, follower: number, unit: 'records' | 'seconds' = 'records') =>
    sample(exposition, `brook_partition_follower_lag_${unit}`, {
      topic: TOPIC,
      partition: '0',
      follower: String(follower),
    });
  // Fully replicated: both followers at the log end, each connected to the leader.
  const healthy = await waitFor(async () => {
    const exposition = await scrape(leader);
    return lagOf(exposition, stoppedId) === 0 && lagOf(exposition, keptId) === 0
      ? exposition
      : undefined;
  }, 'both followers caught up in the leader metrics');
  assert.equal(lagOf(healthy, stoppedId, 'seconds'), 0, 'caught up: no time lag');
  assert.equal(lagOf(healthy, keptId, 'seconds'), 0);
  assert.equal(sample(healthy, 'brook_leader_partitions'), 1);
  assert.equal(sample(healthy, 'brook_replica_partitions'), 1);
  assert.equal(sample(healthy, 'brook_partitions', { state: 'under_replicated' }), 0);
  assert.equal(sample(healthy, 'brook_partitions', { state: 'under_min_isr' }), 0);
  let controllers = 0;
  for (const [nodeId, broker] of brokers) {
    const exposition = await scrape(broker);
    assert.equal(sample(exposition, 'brook_replica_partitions'), 1, `broker ${nodeId} holds it`);
    assert.equal(sample(exposition, 'brook_partitions', { state: 'offline' }), 0);
    controllers += sample(exposition, 'brook_controller_active') ?? 0;
    if (nodeId !== leaderId) {
      assert.equal(sample(exposition, 'brook_leader_partitions'), 0);
      assert.equal(
        sample(exposition, 'brook_replica_fetcher_connected', { leader: String(leaderId) }),
        1,
        `broker ${nodeId} fetches from the leader`,
      );
    }
  }
  assert.equal(controllers, 1, 'one active controller across the cluster');
  const shrinksBefore = sample(healthy, 'brook_isr_shrinks_total') ?? 0;

  // A follower stops: the leader drops it from the ISR.
  await brokers.get(stoppedId)!.stop();
  brokers.delete(stoppedId);
  const degraded = await waitFor(async () => {
    const exposition = await scrape(leader);
    return sample(exposition, 'brook_partitions', { state: 'under_replicated' }) === 1
      ? exposition
      : undefined;
  }, 'the leader to count the partition under-replicated');
  assert.equal(sample(degraded, 'brook_partitions', { state: 'under_min_isr' }), 1);
  assert.ok((sample(degraded, 'brook_isr_shrinks_total') ?? 0) > shrinksBefore);
  // Records the stopped follower has not fetched are its lag.
  assert.equal(await produce(leader, 1, 2), ErrorCode.NONE);
  const behind = await waitFor(async () => {
    const exposition = await scrape(leader);
    return lagOf(exposition, stoppedId) === 5 ? exposition : undefined;
  }, 'the stopped follower to lag by the 5 records produced since');
  // In time, it has not been caught up since it stopped, and that keeps growing; the follower
  // still fetching is caught up again once it has the 5 records.
  const secondsBehind = lagOf(behind, stoppedId, 'seconds') ?? 0;
  assert.ok(secondsBehind > 0, `the stopped follower lags in time: ${secondsBehind} s`);
  await waitFor(
    async () => (lagOf(await scrape(leader), stoppedId, 'seconds') ?? 0) > secondsBehind,
    "the stopped follower's time lag to grow",
  );
  await waitFor(
    async () => lagOf(await scrape(leader), keptId, 'seconds') === 0,
    'the follower still fetching to be caught up in time',
  );

  // Back with its log: it catches up and the ISR expands.
  brokers.set(
    stoppedId,
    await startBroker({ logDirs: logDirs.get(stoppedId)!, settings: settings(stoppedId) }),
  );
  const recovered = await waitFor(async () => {
    const exposition = await scrape(leader);
    return sample(exposition, 'brook_partitions', { state: 'under_replicated' }) === 0
      ? exposition
      : undefined;
  }, 'the partition to be fully replicated again');
  assert.ok((sample(recovered, 'brook_isr_expands_total') ?? 0) >= 1);
  assert.equal(lagOf(recovered, stoppedId), 0);
  assert.equal(lagOf(recovered, stoppedId, 'seconds'), 0);
});
