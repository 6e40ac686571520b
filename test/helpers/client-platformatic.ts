// ClientDriver for @platformatic/kafka 2.x. It speaks only flexible versions and needs topic ids:
// ApiVersions v3, Metadata ≥ 10 (topic ids), Fetch ≥ 13 (topics by id), CreateTopics 7,
// DescribeConfigs 4, IncrementalAlterConfigs 1. It compresses zstd only where Node.js has zstd
// (22.15+), so on Node 20 its codecs are none, gzip, snappy and lz4. Version 2.12 declares
// Node.js >= 22.22 and uses Promise.withResolvers, which client-platformatic-node20.ts provides. Reads use Consumer.fetch(),
// which needs no group; consumer groups are exercised in groups-platformatic-kafka.test.ts.
import zlib from 'node:zlib';
import './client-platformatic-node20.js';
import {
  Admin,
  ConfigResourceTypes,
  Consumer,
  IncrementalAlterConfigOperationTypes,
  Producer,
  type CompressionAlgorithmValue,
} from '@platformatic/kafka';
import { withTimeout } from './clients.js';
import type {
  ClientDriver,
  Codec,
  DeliveredOffset,
  ReadRecord,
  RecordRun,
} from './client-scenario.js';

const requestTimeoutMs = 15_000;
const operationTimeoutMs = 60_000;

export const platformaticCodecs: Codec[] =
  typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function'
    ? ['none', 'gzip', 'snappy', 'lz4', 'zstd']
    : ['none', 'gzip', 'snappy', 'lz4'];

export function platformaticBaseOptions(bootstrap: string, clientId: string) {
  return {
    clientId,
    bootstrapBrokers: bootstrap.split(','),
    timeout: requestTimeoutMs,
    connectTimeout: 5_000,
    retries: 3,
    retryDelay: 200,
  };
}

async function withClient<Client extends { close(): Promise<void> }, T>(
  client: Client,
  what: string,
  action: (client: Client) => Promise<T>,
): Promise<T> {
  try {
    return await withTimeout(action(client), operationTimeoutMs, `@platformatic/kafka ${what}`);
  } finally {
    await client.close().catch(() => undefined);
  }
}

function admin(bootstrap: string): Admin {
  return new Admin(platformaticBaseOptions(bootstrap, 'brook-compat-platformatic-admin'));
}

function reader(bootstrap: string): Consumer {
  return new Consumer({
    ...platformaticBaseOptions(bootstrap, 'brook-compat-platformatic-reader'),
    groupId: `brook-compat-platformatic-read-${process.pid}`,
  });
}

/** Reads one partition from 0 to its high watermark with Fetch by topic id, no group involved. */
async function readPartition(
  consumer: Consumer,
  topic: string,
  partition: number,
): Promise<ReadRecord[]> {
  const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true });
  const topicMetadata = metadata.topics.get(topic);
  if (!topicMetadata) throw new Error(`no metadata for ${topic}`);
  const leader = topicMetadata.partitions[partition]!.leader;
  const records: ReadRecord[] = [];
  let offset = 0n;
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const response = await consumer.fetch({
      node: leader,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 10 * 1024 * 1024,
      topics: [
        {
          topicId: topicMetadata.id,
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              lastFetchedEpoch: -1,
              partitionMaxBytes: 1024 * 1024,
            },
          ],
        },
      ],
    });
    const data = response.responses[0]!.partitions[0]!;
    if (data.errorCode !== 0)
      throw new Error(`fetch ${topic}-${partition}: error ${data.errorCode}`);
    for (const batch of data.records ?? []) {
      if ((batch.attributes & 0x20) !== 0) continue; // control batch
      for (const record of batch.records) {
        const recordOffset = batch.firstOffset + BigInt(record.offsetDelta);
        // A fetch returns whole batches: skip what comes before the requested offset.
        if (recordOffset < offset) continue;
        records.push({
          partition,
          offset: Number(recordOffset),
          key: record.key,
          value: record.value ?? Buffer.alloc(0),
          headers: record.headers.map(([key, value]): [string, Buffer | null] => [
            (key ?? Buffer.alloc(0)).toString(),
            value,
          ]),
          timestamp: Number(batch.firstTimestamp + record.timestampDelta),
        });
        offset = recordOffset + 1n;
      }
    }
    if (offset >= data.highWatermark) return records;
  }
  throw new Error(`${topic}-${partition}: no end after 1000 fetches (at ${offset})`);
}

export function platformaticDriver(): ClientDriver {
  return {
    name: 'platformatic-kafka',
    codecs: platformaticCodecs,
    textOnly: false,
    setsTimestamps: true,
    async createTopic(bootstrap, topic, partitions, configs) {
      const created = await withClient(admin(bootstrap), 'createTopics', (client) =>
        client.createTopics({
          topics: [topic],
          partitions,
          replicas: 1,
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        }),
      );
      if (created.length !== 1 || created[0]!.partitions !== partitions) {
        throw new Error(`createTopics answered ${JSON.stringify(created)}`);
      }
    },
    async describeTopicConfigs(bootstrap, topic) {
      const described = await withClient(admin(bootstrap), 'describeConfigs', (client) =>
        client.describeConfigs({
          resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
        }),
      );
      return Object.fromEntries(
        described[0]!.configs.map((config) => [config.name, config.value ?? null]),
      );
    },
    async alterTopicConfigs(bootstrap, topic, changes) {
      await withClient(admin(bootstrap), 'incrementalAlterConfigs', (client) =>
        client.incrementalAlterConfigs({
          resources: [
            {
              resourceType: ConfigResourceTypes.TOPIC,
              resourceName: topic,
              configs: Object.entries(changes).map(([name, value]) => ({
                name,
                value,
                configOperation: IncrementalAlterConfigOperationTypes.SET,
              })),
            },
          ],
        }),
      );
    },
    async produce(bootstrap, topic, runs: RecordRun[]) {
      const producer = new Producer({
        ...platformaticBaseOptions(bootstrap, 'brook-compat-platformatic-producer'),
        acks: -1,
        autocreateTopics: false,
      });
      const delivered: DeliveredOffset[] = [];
      await withClient(producer, 'send', async () => {
        for (const run of runs) {
          const result = await producer.send({
            compression: run.codec as CompressionAlgorithmValue,
            messages: run.records.map((record) => ({
              topic,
              partition: record.partition,
              key: record.key ?? undefined,
              value: record.value,
              // Distinct Buffer keys, so a header name may repeat, in order.
              headers: new Map(
                record.headers.map(([key, value]): [Buffer, Buffer] => [Buffer.from(key), value]),
              ),
              timestamp: BigInt(record.timestamp!),
            })),
          });
          const report = result.offsets?.find((entry) => entry.partition === run.partition);
          if (!report)
            throw new Error(
              `send reported no offset: ${JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
            );
          run.records.forEach((_record, index) =>
            delivered.push({ partition: run.partition, offset: Number(report.offset) + index }),
          );
        }
      });
      return delivered;
    },
    async readAll(bootstrap, topic, partitions) {
      return withClient(reader(bootstrap), 'fetch', async (consumer) => {
        const records: ReadRecord[] = [];
        for (let partition = 0; partition < partitions; partition++) {
          records.push(...(await readPartition(consumer, topic, partition)));
        }
        return records;
      });
    },
    async offsetsForTimes(bootstrap, topic, queries) {
      return withClient(reader(bootstrap), 'listOffsets', async (consumer) => {
        const offsets: number[] = [];
        for (const query of queries) {
          const listed = await consumer.listOffsets({
            topics: [topic],
            partitions: { [topic]: [query.partition] },
            timestamp: BigInt(query.timestamp),
          });
          offsets.push(Number(listed.get(topic)![query.partition]));
        }
        return offsets;
      });
    },
    async deleteTopic(bootstrap, topic) {
      await withClient(admin(bootstrap), 'deleteTopics', (client) =>
        client.deleteTopics({ topics: [topic] }),
      );
    },
    async listTopics(bootstrap) {
      return withClient(admin(bootstrap), 'listTopics', (client) => client.listTopics());
    },
  };
}
