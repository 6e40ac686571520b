// A broker with two entries in log.dirs (JBOD): a topic's partitions are spread over both, produce
// and fetch work on each, DescribeLogDirs lists each directory with its own partitions, a restart
// finds every partition where it was, and a directory whose disk fails takes only its own
// partitions offline (KAFKA_STORAGE_ERROR) while the other directory's keep serving, as does a
// directory that cannot be opened at start, whose partitions are never recreated elsewhere.
import assert from 'node:assert/strict';
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { startBroker, type Broker } from '../../src/broker.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { DescribeLogDirsResponse } from '../../src/protocol/generated/describe-log-dirs.js';
import type { CreatePartitionsResponse } from '../../src/protocol/generated/create-partitions.js';
import type { FetchResponse } from '../../src/protocol/generated/fetch.js';
import type { ListOffsetsResponse } from '../../src/protocol/generated/list-offsets.js';
import type { OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import type { OffsetForLeaderEpochResponse } from '../../src/protocol/generated/offset-for-leader-epoch.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { createTopicByRequest, fetchRequest, kafkaOf, metadataOf } from '../helpers/cluster.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { FaultyFileIo } from '../helpers/storage-faulty-io.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';
import { callBroker } from '../helpers/wire-client.js';

/** The partitions of `topic` whose logs are in `directory`, sorted. */
function partitionsIn(directory: string, topic: string): number[] {
  return readdirSync(directory)
    .filter((name) => name.startsWith(`${topic}-`))
    .map((name) => Number(name.slice(topic.length + 1)))
    .sort((a, b) => a - b);
}

async function produceTo(broker: Broker, topic: string, partition: number, seed: number) {
  const records = await makeBatch({ seed, recordsCount: 3, valueBytes: 20 });
  const response = await callBroker<ProduceResponse>(broker.bootstrapServers, ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return response.responses[0]!.partitionResponses[0]!;
}

async function fetchFrom(broker: Broker, topic: string, partition: number) {
  const response = await callBroker<FetchResponse>(
    broker.bootstrapServers,
    ApiKey.Fetch,
    12,
    fetchRequest({ topic, partition, fetchOffset: 0n }),
  );
  return response.responses[0]!.partitions[0]!;
}

/** DescribeLogDirs v4 for every topic: per directory, its error and `topic-partition` names. */
async function describeLogDirs(broker: Broker) {
  const response = await callBroker<DescribeLogDirsResponse>(
    broker.bootstrapServers,
    ApiKey.DescribeLogDirs,
    4,
    { topics: null },
  );
  return response.results.map((result) => ({
    logDir: result.logDir,
    errorCode: result.errorCode,
    hasSpace: result.totalBytes > 0n,
    partitions: result.topics
      .flatMap((topic) =>
        topic.partitions.map((partition) => {
          assert.ok(partition.partitionSize > 0n, `${topic.name}-${partition.partitionIndex}`);
          return `${topic.name}-${partition.partitionIndex}`;
        }),
      )
      .sort(),
  }));
}

test('partitions spread over every log directory and are found there after a restart', async (t) => {
  const parent = temporaryDirectory(t, 'brook-jbod-');
  const directories = [join(parent, 'first'), join(parent, 'second')];
  const [first, second] = directories;
  let broker = await startBroker({
    logDirs: directories,
    settings: { 'http.listeners': 'http://127.0.0.1:0' },
  });
  try {
    // The metrics give each directory's free space.
    const { port } = broker.httpListeners[0]!;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const directory of directories)
      assert.ok(metrics.includes(`brook_log_dir_free_bytes{dir="${directory}"}`), directory);
    await createTopicByRequest(broker, { name: 'spread', numPartitions: 4, replicationFactor: 1 });
    // The fewest first, ties to the first listed: the partitions alternate.
    assert.deepEqual(partitionsIn(first, 'spread'), [0, 2]);
    assert.deepEqual(partitionsIn(second, 'spread'), [1, 3]);
    for (let partition = 0; partition < 4; partition++) {
      const produced = await produceTo(broker, 'spread', partition, partition);
      assert.equal(produced.errorCode, ErrorCode.NONE, `produce to spread-${partition}`);
      const fetched = await fetchFrom(broker, 'spread', partition);
      assert.equal(fetched.errorCode, ErrorCode.NONE, `fetch from spread-${partition}`);
      assert.equal(fetched.highWatermark, 3n);
      assert.ok((fetched.records?.length ?? 0) > 0);
    }
    const described = [
      {
        logDir: resolve(first),
        errorCode: ErrorCode.NONE,
        hasSpace: true,
        partitions: ['spread-0', 'spread-2'],
      },
      {
        logDir: resolve(second),
        errorCode: ErrorCode.NONE,
        hasSpace: true,
        partitions: ['spread-1', 'spread-3'],
      },
    ];
    assert.deepEqual(await describeLogDirs(broker), described);

    await broker.stop();
    broker = await startBroker({ logDirs: directories });
    assert.deepEqual(partitionsIn(first, 'spread'), [0, 2]);
    assert.deepEqual(partitionsIn(second, 'spread'), [1, 3]);
    assert.deepEqual(await describeLogDirs(broker), described);
    for (let partition = 0; partition < 4; partition++) {
      const fetched = await fetchFrom(broker, 'spread', partition);
      assert.equal(fetched.errorCode, ErrorCode.NONE, `fetch from spread-${partition}`);
      assert.equal(fetched.highWatermark, 3n, `spread-${partition} kept its records`);
    }
    // The metadata stays in the first directory.
    assert.ok(readdirSync(first).includes('meta'));
    assert.ok(!readdirSync(second).includes('meta'));
  } finally {
    await broker.stop();
  }
});

test('a failed log directory takes only its own partitions offline', async (t) => {
  const parent = temporaryDirectory(t, 'brook-jbod-');
  const directories = [join(parent, 'first'), join(parent, 'second')];
  const [first, second] = directories;
  const io = new FaultyFileIo();
  let broker = await startBroker({ logDirs: directories });
  try {
    await createTopicByRequest(broker, { name: 'split', numPartitions: 2, replicationFactor: 1 });
    assert.deepEqual(partitionsIn(first, 'split'), [0]);
    assert.deepEqual(partitionsIn(second, 'split'), [1]);
    for (const partition of [0, 1])
      assert.equal((await produceTo(broker, 'split', partition, partition)).errorCode, 0);
    // Restarted, so a fetch reads the disk rather than what the last appends left in memory.
    await broker.stop();
    broker = await startBroker({ logDirs: directories, fileIo: io });

    // The second directory's disk fails: every write, fsync and read under it.
    for (const operation of ['write', 'datasync', 'read'] as const)
      io.inject({ operation, pathIncludes: `${second}/`, errorCode: 'EIO', times: Infinity });
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await produceTo(broker, 'split', 1, 10 + attempt);
      assert.equal(refused.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `produce, attempt ${attempt}`);
    }
    assert.equal((await fetchFrom(broker, 'split', 1)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);

    // The first directory's partition still produces and fetches.
    assert.equal((await produceTo(broker, 'split', 0, 20)).errorCode, ErrorCode.NONE);
    const fetched = await fetchFrom(broker, 'split', 0);
    assert.equal(fetched.errorCode, ErrorCode.NONE);
    assert.equal(fetched.highWatermark, 6n);
    assert.ok((fetched.records?.length ?? 0) > 0);

    assert.deepEqual(await describeLogDirs(broker), [
      {
        logDir: resolve(first),
        errorCode: ErrorCode.NONE,
        hasSpace: true,
        partitions: ['split-0'],
      },
      {
        logDir: resolve(second),
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        hasSpace: false,
        partitions: [],
      },
    ]);
  } finally {
    io.clearFaults();
    await broker.stop();
  }
});

async function latestOffsetOf(broker: Broker, topic: string, partition: number) {
  const response = await callBroker<ListOffsetsResponse>(
    broker.bootstrapServers,
    ApiKey.ListOffsets,
    7,
    {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
    },
  );
  return response.topics[0]!.partitions[0]!;
}

test('a log directory that cannot be opened at start is offline, and its partitions are not recreated elsewhere', async (t) => {
  const parent = temporaryDirectory(t, 'brook-jbod-');
  const directories = [join(parent, 'first'), join(parent, 'second')];
  const [first, second] = directories;
  let broker = await startBroker({ logDirs: directories });
  try {
    await createTopicByRequest(broker, { name: 'kept', numPartitions: 4, replicationFactor: 1 });
    assert.deepEqual(partitionsIn(first, 'kept'), [0, 2]);
    assert.deepEqual(partitionsIn(second, 'kept'), [1, 3]);
    const producer = kafkaOf(broker).producer();
    await producer.connect();
    for (let partition = 0; partition < 4; partition++) {
      await producer.send({
        topic: 'kept',
        acks: -1,
        messages: [0, 1, 2].map((index) => ({ partition, value: `kept-${partition}-${index}` })),
      });
    }
    await producer.disconnect();
    // A group's committed offsets: its __consumer_offsets partition goes to the second directory,
    // which holds fewer logs once a one-partition topic went to the first.
    await createTopicByRequest(broker, { name: 'extra', numPartitions: 1, replicationFactor: 1 });
    assert.equal((await produceTo(broker, 'extra', 0, 9)).errorCode, ErrorCode.NONE);
    const admin = kafkaOf(broker).admin();
    await admin.connect();
    await admin.setOffsets({
      groupId: 'readers',
      topic: 'kept',
      partitions: [{ partition: 0, offset: '2' }],
    });
    await admin.disconnect();
    assert.equal(partitionsIn(second, '__consumer_offsets').length, 1);
    await broker.stop();

    // The second directory's mount is gone: a file stands where the directory was.
    renameSync(second, `${second}.away`);
    writeFileSync(second, 'not a directory');
    broker = await startBroker({ logDirs: directories });

    // The first directory's partitions serve.
    assert.equal((await produceTo(broker, 'kept', 0, 30)).errorCode, ErrorCode.NONE);
    const served = await fetchFrom(broker, 'kept', 0);
    assert.equal(served.errorCode, ErrorCode.NONE);
    assert.equal(served.highWatermark, 6n);
    assert.equal((await latestOffsetOf(broker, 'kept', 2)).offset, 3n);
    // The second directory's answer KAFKA_STORAGE_ERROR, and are nowhere else.
    for (const partition of [1, 3]) {
      const what = `kept-${partition}`;
      const produced = await produceTo(broker, 'kept', partition, 40 + partition);
      assert.equal(produced.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `produce to ${what}`);
      const fetched = await fetchFrom(broker, 'kept', partition);
      assert.equal(fetched.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `fetch from ${what}`);
      const listed = await latestOffsetOf(broker, 'kept', partition);
      assert.equal(listed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `ListOffsets of ${what}`);
      // Not an empty log's epochs, which would make a follower truncate.
      const epochs = await callBroker<OffsetForLeaderEpochResponse>(
        broker.bootstrapServers,
        ApiKey.OffsetForLeaderEpoch,
        4,
        { replicaId: -1, topics: [{ topic: 'kept', partitions: [{ partition, leaderEpoch: 0 }] }] },
      );
      assert.equal(
        epochs.topics[0]!.partitions[0]!.errorCode,
        ErrorCode.KAFKA_STORAGE_ERROR,
        `OffsetForLeaderEpoch of ${what}`,
      );
    }
    // Metadata lists every partition, as it does when a directory fails while running.
    const metadata = await metadataOf(broker, ['kept']);
    assert.deepEqual(
      metadata.topics[0]!.partitions.map((partition) => [
        partition.partitionIndex,
        partition.errorCode,
      ]),
      [0, 1, 2, 3].map((index) => [index, ErrorCode.NONE]),
    );
    assert.deepEqual(await describeLogDirs(broker), [
      {
        logDir: resolve(first),
        errorCode: ErrorCode.NONE,
        hasSpace: true,
        partitions: ['extra-0', 'kept-0', 'kept-2'],
      },
      {
        logDir: resolve(second),
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        hasSpace: false,
        partitions: [],
      },
    ]);
    // The group's offsets are not served as if none were committed.
    const offsets = await callBroker<OffsetFetchResponse>(
      broker.bootstrapServers,
      ApiKey.OffsetFetch,
      7,
      {
        groupId: 'readers',
        topics: [{ name: 'kept', partitionIndexes: [0] }],
        requireStable: false,
      },
    );
    assert.equal(offsets.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(partitionsIn(first, '__consumer_offsets').length, 0);
    // New partitions go to the open directory; the offline ones are not created there.
    const grown = await callBroker<CreatePartitionsResponse>(
      broker.bootstrapServers,
      ApiKey.CreatePartitions,
      2,
      {
        topics: [{ name: 'kept', count: 6, assignments: null }],
        timeoutMs: 10_000,
        validateOnly: false,
      },
    );
    assert.equal(grown.results[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(partitionsIn(first, 'kept'), [0, 2, 4, 5]);
    await broker.stop();

    // Restored, every partition is back with its records at their offsets.
    rmSync(second);
    renameSync(`${second}.away`, second);
    broker = await startBroker({ logDirs: directories });
    assert.deepEqual(partitionsIn(first, 'kept'), [0, 2, 4, 5]);
    assert.deepEqual(partitionsIn(second, 'kept'), [1, 3]);
    for (const partition of [1, 3]) {
      const fetched = await fetchFrom(broker, 'kept', partition);
      assert.equal(fetched.errorCode, ErrorCode.NONE, `fetch from kept-${partition}`);
      assert.equal(fetched.highWatermark, 3n, `kept-${partition} kept its records`);
      assert.ok((fetched.records?.length ?? 0) > 0);
    }
    const after = kafkaOf(broker).producer();
    await after.connect();
    const [sent] = await after.send({
      topic: 'kept',
      acks: -1,
      messages: [{ partition: 1, value: 'after the restore' }],
    });
    await after.disconnect();
    assert.equal(sent!.baseOffset, '3', 'offsets continue where they were');
    const restoredAdmin = kafkaOf(broker).admin();
    await restoredAdmin.connect();
    const [committed] = await restoredAdmin.fetchOffsets({ groupId: 'readers', topics: ['kept'] });
    await restoredAdmin.disconnect();
    assert.equal(committed!.partitions.find((entry) => entry.partition === 0)?.offset, '2');
  } finally {
    await broker.stop();
  }
});

test('a topic deleted while its log directory is offline is removed there once it opens, and a new topic of its name starts afresh', async (t) => {
  const parent = temporaryDirectory(t, 'brook-jbod-');
  const directories = [join(parent, 'first'), join(parent, 'second')];
  const [first, second] = directories;
  let broker = await startBroker({ logDirs: directories });
  try {
    await createTopicByRequest(broker, { name: 'gone', numPartitions: 2, replicationFactor: 1 });
    for (const partition of [0, 1])
      assert.equal((await produceTo(broker, 'gone', partition, partition)).errorCode, 0);
    await broker.stop();
    renameSync(second, `${second}.away`);
    writeFileSync(second, 'not a directory');
    broker = await startBroker({ logDirs: directories });

    const admin = kafkaOf(broker).admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: ['gone'] });
    } finally {
      await admin.disconnect();
    }
    await createTopicByRequest(broker, { name: 'gone', numPartitions: 2, replicationFactor: 1 });
    // The new topic's partition 1 waits for the old log to go: offline, and not created here.
    const offline = await produceTo(broker, 'gone', 1, 11);
    assert.equal(offline.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const fresh = await produceTo(broker, 'gone', 0, 10);
    assert.equal(fresh.errorCode, ErrorCode.NONE);
    assert.equal(fresh.baseOffset, 0n, 'the new topic starts at offset 0');
    assert.deepEqual(partitionsIn(first, 'gone'), [0]);
    await broker.stop();

    rmSync(second);
    renameSync(`${second}.away`, second);
    broker = await startBroker({ logDirs: directories });
    // The old records are gone with the old topic; the new partition starts afresh.
    const fetched = await fetchFrom(broker, 'gone', 1);
    assert.equal(fetched.errorCode, ErrorCode.NONE);
    assert.equal(fetched.highWatermark, 0n);
    const produced = await produceTo(broker, 'gone', 1, 12);
    assert.equal(produced.errorCode, ErrorCode.NONE);
    assert.equal(produced.baseOffset, 0n);
  } finally {
    await broker.stop();
  }
});
