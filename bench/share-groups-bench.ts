// Share groups (KIP-932, issue 12's Kafka door): one member reading one partition with
// ShareFetch, acknowledging each answer's acquired ranges (accept) on the next ShareFetch, beside
// the SSE door's goal. Not part of the test suite; nothing is asserted.
//
//   node --import tsx bench/share-groups-bench.ts [--records N] [--max-records N]
//
// An in-process broker (default durability, group.share.enable) gets N records of 100 B (default
// 200,000) on one partition in batches of 5,000, after the member joined (share groups start at
// the end of the topic). The member then fetches until every record was acquired and the last
// acknowledgement is durable. Records are counted from the acquired ranges; the batches are not
// decoded (the broker's side of the path, not a client's).

import { KafkaConnection } from '../src/client/kafka-connection.js';
import { startBroker } from '../src/broker.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import type { ShareFetchResponse } from '../src/protocol/generated/share-fetch.js';
import type { ShareGroupHeartbeatResponse } from '../src/protocol/generated/share-group-heartbeat.js';
import { localRecordWriter, writeRecords } from '../src/share/record-writer.js';

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const recordCount = argument('--records', 200_000);
const maxRecords = argument('--max-records', 2_000);
const batchRecords = 5_000;

const broker = await startBroker({ settings: { 'group.share.enable': true } });
const connection = await KafkaConnection.open(broker.bootstrapServers, { clientId: 'bench' });
try {
  await broker.replicas.createTopic({ name: 'bench', partitionCount: 1 });
  const memberId = 'bench-member';
  const joined = await connection.request<ShareGroupHeartbeatResponse>(
    ApiKey.ShareGroupHeartbeat,
    1,
    { groupId: 'bench', memberId, memberEpoch: 0, subscribedTopicNames: ['bench'] },
  );
  const topicId = joined.assignment!.topicPartitions[0].topicId;
  const value = Buffer.alloc(100, 'x');
  for (let written = 0; written < recordCount; written += batchRecords) {
    const count = Math.min(batchRecords, recordCount - written);
    await writeRecords(
      localRecordWriter(broker.replicas),
      'bench',
      Array.from({ length: count }, () => ({ key: null, value, headers: [], partition: 0 })),
    );
  }

  let acquired = 0;
  let fetches = 0;
  let sessionEpoch = 0;
  let pending: Array<{ firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: number[] }> = [];
  const startMs = performance.now();
  while (acquired < recordCount || pending.length > 0) {
    const response = await connection.request<ShareFetchResponse>(ApiKey.ShareFetch, 1, {
      groupId: 'bench',
      memberId,
      shareSessionEpoch: sessionEpoch,
      maxWaitMs: acquired < recordCount ? 500 : 0,
      minBytes: 1,
      maxRecords,
      batchSize: maxRecords,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: pending }] }],
      forgottenTopicsData: [],
    });
    if (response.errorCode !== 0) throw new Error(`ShareFetch error ${response.errorCode}`);
    sessionEpoch += 1;
    fetches += 1;
    pending = [];
    for (const topic of response.responses)
      for (const partition of topic.partitions) {
        if (partition.acknowledgeErrorCode !== 0)
          throw new Error(`acknowledge error ${partition.acknowledgeErrorCode}`);
        for (const range of partition.acquiredRecords) {
          acquired += Number(range.lastOffset - range.firstOffset) + 1;
          pending.push({
            firstOffset: range.firstOffset,
            lastOffset: range.lastOffset,
            acknowledgeTypes: [1],
          });
        }
      }
    if (acquired >= recordCount && pending.length === 0) break;
  }
  const seconds = (performance.now() - startMs) / 1000;
  console.log(
    `ShareFetch, one member, accept per range on the next fetch: ${recordCount} records of 100 B in ` +
      `${seconds.toFixed(2)} s = ${Math.round(recordCount / seconds).toLocaleString('en-US')} records/s ` +
      `(${fetches} fetches, maxRecords ${maxRecords}, share.partition.max.record.locks default)`,
  );
  console.log('goal (issue 12, the SSE door): >= 300,000 records/s');
} finally {
  connection.close();
  await broker.stop();
}
