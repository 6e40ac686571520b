// Cluster mode with two entries in log.dirs on every broker: a broker's replicas are local logs like
// any other, so leaders' and followers' partitions are spread over its directories, acks=all
// produces reach both brokers, and DescribeLogDirs on each lists its directories with the replicas
// each holds.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { startBroker, type Broker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { DescribeLogDirsResponse } from '../../src/protocol/generated/describe-log-dirs.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import { createTopicByRequest, fetchRequest, kafkaOf, layoutOf } from '../helpers/cluster.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { callBroker } from '../helpers/wire-client.js';

const etcd = await startEtcd();

/** The partitions of `topic` whose logs are in `directory`, sorted. */
function partitionsIn(directory: string, topic: string): number[] {
  return readdirSync(directory)
    .filter((name) => name.startsWith(`${topic}-`))
    .map((name) => Number(name.slice(topic.length + 1)))
    .sort((a, b) => a - b);
}

test('every broker of a cluster spreads its replicas over its log directories', async (t) => {
  const brokers: Broker[] = [];
  // Registered first so it runs first: the brokers stop before their directories are removed.
  t.after(async () => {
    for (const broker of brokers) await broker.stop();
  });
  const parent = temporaryDirectory(t, 'brook-jbod-cluster-');
  const prefix = uniquePrefix();
  const directoriesOf = (nodeId: number) => [
    join(parent, `broker-${nodeId}`, 'first'),
    join(parent, `broker-${nodeId}`, 'second'),
  ];
  for (const nodeId of [1, 2]) {
    brokers.push(
      await startBroker({
        logDirs: directoriesOf(nodeId),
        settings: {
          'etcd.endpoints': etcd.endpoint,
          'etcd.prefix': prefix,
          'node.id': nodeId,
          'broker.session.timeout.ms': 2000,
          'auto.create.topics.enable': false,
        },
      }),
    );
  }
  await createTopicByRequest(brokers[0]!, {
    name: 'spread',
    numPartitions: 4,
    replicationFactor: 2,
  });
  const layout = await waitFor(async () => {
    const partitions = await layoutOf(brokers[0]!, 'spread');
    return partitions?.every((partition) => partition.isr.length === 2) ? partitions : undefined;
  }, 'every partition of spread with both brokers in its ISR');

  const producer = kafkaOf(brokers[0]!).producer();
  await producer.connect();
  try {
    for (let partition = 0; partition < 4; partition++) {
      await producer.send({
        topic: 'spread',
        acks: -1,
        messages: [{ partition, value: `record for ${partition}` }],
      });
    }
  } finally {
    await producer.disconnect();
  }

  for (const [index, broker] of brokers.entries()) {
    const [first, second] = directoriesOf(broker.nodeId);
    // Each broker holds every partition (RF 2 on two brokers), two in each directory.
    assert.deepEqual(partitionsIn(first!, 'spread'), [0, 2], `broker ${broker.nodeId}, first`);
    assert.deepEqual(partitionsIn(second!, 'spread'), [1, 3], `broker ${broker.nodeId}, second`);
    // Its replica of every partition has the record, whether it leads it or follows.
    await waitFor(
      () =>
        [0, 1, 2, 3].every((partition) => {
          const log = broker.replicas.topic('spread')?.partitions[partition]?.log;
          return log !== undefined && log.logEndOffset === 1;
        }),
      `broker ${broker.nodeId} to hold the record of every partition`,
    );
    const described = await callBroker<DescribeLogDirsResponse>(
      broker.bootstrapServers,
      ApiKey.DescribeLogDirs,
      4,
      { topics: [{ topic: 'spread', partitions: [0, 1, 2, 3] }] },
    );
    assert.deepEqual(
      described.results.map((result) => [
        result.logDir,
        result.errorCode,
        result.topics.flatMap((topic) => topic.partitions.map((p) => p.partitionIndex)).sort(),
      ]),
      [
        [resolve(first!), ErrorCode.NONE, [0, 2]],
        [resolve(second!), ErrorCode.NONE, [1, 3]],
      ],
      `DescribeLogDirs on broker ${broker.nodeId} (${index})`,
    );
  }

  // Each leader serves its partitions from whichever directory holds them.
  for (const [partition, { leader }] of layout.entries()) {
    const broker = brokers.find((candidate) => candidate.nodeId === leader)!;
    const fetched = await callBroker<FetchResponse>(
      broker.bootstrapServers,
      ApiKey.Fetch,
      12,
      fetchRequest({ topic: 'spread', partition, fetchOffset: 0n }),
    );
    assert.equal(fetched.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.equal(fetched.responses[0]!.partitions[0]!.highWatermark, 1n);
  }
});
