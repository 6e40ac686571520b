// A scrape re-reads only the partitions and groups whose figures moved (change stamps, issue 13):
// every figure a client moves must show in the very next scrape of a real broker, whether it moved
// by a produce (a partition's offsets, size and segments, and the lag of a group that did not
// commit), a commit, a record deletion, a group deletion or a topic deletion.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { kafkajsClient } from '../helpers/client-kafkajs.js';
import { waitFor } from '../helpers/poll.js';

let broker: Broker;

before(async () => {
  broker = await startBroker({ settings: { 'http.listeners': 'http://127.0.0.1:0' } });
});
after(async () => {
  await broker.stop();
});

async function scrape(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${broker.httpListeners[0].port}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** The value of the series `name{labels}`, labels given in the order the broker writes them. */
function value(exposition: string, name: string, labels: string): number | undefined {
  const prefix = `${name}{${labels}} `;
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

test('every figure a client moves shows in the next scrape', async () => {
  const kafka = kafkajsClient(broker.bootstrapServers, 'brook-scrape-changes-test');
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await admin.createTopics({
      // Segments of at most 200 bytes: a few produces roll the log.
      topics: [
        {
          topic: 'moving',
          numPartitions: 2,
          configEntries: [{ name: 'segment.bytes', value: '200' }],
        },
      ],
    });
    await admin.createTopics({ topics: [{ topic: 'still', numPartitions: 1 }] });
    await admin.setOffsets({
      groupId: 'readers',
      topic: 'moving',
      partitions: [{ partition: 0, offset: '0' }],
    });
    const partition0 = 'topic="moving",partition="0"';
    const lag0 = 'group="readers",topic="moving",partition="0"';

    let exposition = await scrape();
    assert.equal(value(exposition, 'brook_partition_log_end_offset', partition0), 0);
    assert.equal(value(exposition, 'brook_consumer_group_lag', lag0), 0);
    const segmentsBefore = value(exposition, 'brook_partition_log_segments', partition0)!;

    // A produce, and no commit: the partition's figures and the group's lag move.
    for (let send = 0; send < 3; send++) {
      await producer.send({
        topic: 'moving',
        acks: -1,
        messages: [{ partition: 0, value: 'x'.repeat(100) }],
      });
    }
    exposition = await scrape();
    assert.equal(value(exposition, 'brook_partition_log_end_offset', partition0), 3);
    assert.equal(value(exposition, 'brook_partition_high_watermark', partition0), 3);
    assert.ok(value(exposition, 'brook_partition_log_size_bytes', partition0)! > 300);
    assert.ok(
      value(exposition, 'brook_partition_log_segments', partition0)! > segmentsBefore,
      'the log rolled',
    );
    assert.equal(value(exposition, 'brook_consumer_group_lag', lag0), 3, 'lag with no commit');
    assert.equal(
      value(exposition, 'brook_partition_log_end_offset', 'topic="still",partition="0"'),
      0,
    );

    // A commit alone (no member joins, as kafkajs' setOffsets does): the lag moves.
    const committer = new AdminClient({
      bootstrapServer: broker.bootstrapServers,
      clientId: 'brook-scrape-changes-committer',
      requestTimeoutMs: 10_000,
    });
    try {
      await committer.commitOffsets('readers', 'moving', new Map([[0, 2n]]));
    } finally {
      committer.close();
    }
    exposition = await scrape();
    assert.equal(value(exposition, 'brook_consumer_group_lag', lag0), 1, 'lag after a commit');

    // A commit on a partition the group had no offset for: a new series.
    await admin.setOffsets({
      groupId: 'readers',
      topic: 'moving',
      partitions: [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '0' },
      ],
    });
    exposition = await scrape();
    assert.equal(
      value(exposition, 'brook_consumer_group_lag', 'group="readers",topic="moving",partition="1"'),
      0,
    );

    // Records deleted: the log start offset moves.
    await admin.deleteTopicRecords({
      topic: 'moving',
      partitions: [{ partition: 0, offset: '2' }],
    });
    exposition = await scrape();
    assert.equal(value(exposition, 'brook_partition_log_start_offset', partition0), 2);

    // A deleted group leaves the next scrape.
    await admin.deleteGroups(['readers']);
    exposition = await scrape();
    assert.doesNotMatch(exposition, /group="readers"/);

    // A deleted topic's partitions leave (deletion completes after the answer).
    await admin.deleteTopics({ topics: ['moving'] });
    await waitFor(
      async () => !/topic="moving"/.test(await scrape()),
      "the deleted topic's series to leave the scrape",
    );
    assert.equal(
      value(await scrape(), 'brook_partition_log_end_offset', 'topic="still",partition="0"'),
      0,
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});
