// ClientDriver for kafkajs 2.2.4. kafkajs ships only gzip; snappy (xerial-framed, as the Java
// client writes it), LZ4 (frame format) and zstd are registered here on top of the codec packages
// Brook already depends on. kafkajs has no group-less consumer, so the scenario reads with the
// client's own Cluster and Broker classes (the Fetch v11 and ListOffsets code its consumer and
// admin use); consumer groups are exercised in groups-kafkajs.test.ts.
import { createRequire } from 'node:module';
import kafkajs, { type Admin } from 'kafkajs';
import lz4 from 'lz4-napi';
import snappy from 'snappy';
import zstd from 'zstd-napi';
import { repositoryRoot, withTimeout } from './clients.js';
import type {
  ClientDriver,
  Codec,
  DeliveredOffset,
  ReadRecord,
  RecordRun,
} from './client-scenario.js';

// CommonJS packages: their named exports are not visible to ESM imports.
const { CompressionCodecs, CompressionTypes, ConfigResourceTypes, Kafka, logLevel } = kafkajs;
type Kafka = InstanceType<typeof Kafka>;
const requestTimeoutMs = 15_000;
const operationTimeoutMs = 60_000;

interface Encoder {
  buffer: Buffer;
}
interface KafkajsCodec {
  compress(encoder: Encoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const xerialHeader = Buffer.from([
  0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1,
]);
const xerialBlockBytes = 32 * 1024;

function snappyXerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [xerialHeader];
  for (let start = 0; start < data.length; start += xerialBlockBytes) {
    const block = snappy.compressSync(data.subarray(start, start + xerialBlockBytes));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function snappyXerialDecompress(data: Buffer): Buffer {
  if (!data.subarray(0, 8).equals(xerialHeader.subarray(0, 8))) {
    return snappy.uncompressSync(data) as Buffer;
  }
  const parts: Buffer[] = [];
  let position = 16;
  while (position < data.length) {
    const length = data.readInt32BE(position);
    position += 4;
    if (length < 0 || position + length > data.length)
      throw new Error('truncated xerial snappy block');
    parts.push(snappy.uncompressSync(data.subarray(position, position + length)) as Buffer);
    position += length;
  }
  return Buffer.concat(parts);
}

const extraCodecs: Record<number, KafkajsCodec> = {
  [CompressionTypes.Snappy]: {
    compress: async (encoder) => snappyXerialCompress(encoder.buffer),
    decompress: async (buffer) => snappyXerialDecompress(buffer),
  },
  [CompressionTypes.LZ4]: {
    compress: async (encoder) => lz4.compressFrameSync(encoder.buffer),
    decompress: async (buffer) => lz4.decompressFrameSync(buffer),
  },
  [CompressionTypes.ZSTD]: {
    compress: async (encoder) => zstd.compress(encoder.buffer),
    decompress: async (buffer) => zstd.decompress(buffer),
  },
};
for (const [type, codec] of Object.entries(extraCodecs)) {
  (CompressionCodecs as unknown as Record<number, () => KafkajsCodec>)[Number(type)] = () => codec;
}

export const kafkajsCompression: Record<Codec, number> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

export function kafkajsClient(bootstrap: string, clientId = 'brook-compat-kafkajs'): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: requestTimeoutMs,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

async function withAdmin<T>(
  bootstrap: string,
  what: string,
  action: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = kafkajsClient(bootstrap).admin();
  try {
    await withTimeout(admin.connect(), operationTimeoutMs, `kafkajs admin.connect`);
    return await withTimeout(action(admin), operationTimeoutMs, `kafkajs ${what}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

// kafkajs's internal cluster: not part of its typed API, so typed here as far as it is used.
interface FetchedMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord?: boolean;
}
interface InternalBroker {
  fetch(request: unknown): Promise<{
    responses: {
      topicName: string;
      partitions: {
        partition: number;
        errorCode: number;
        highWatermark: string;
        messages: FetchedMessage[];
      }[];
    }[];
  }>;
}
export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<InternalBroker>;
  fetchTopicsOffset(
    topics: {
      topic: string;
      partitions: { partition: number }[];
      fromTimestamp?: number;
      fromBeginning?: boolean;
    }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

const requireFromRoot = createRequire(`${repositoryRoot}/package.json`);

export function kafkajsCluster(bootstrap: string, allowAutoTopicCreation = false): InternalCluster {
  const Cluster = requireFromRoot('kafkajs/src/cluster/index.js') as new (
    options: unknown,
  ) => InternalCluster;
  const { createLogger, LEVELS } = requireFromRoot('kafkajs/src/loggers/index.js') as {
    createLogger(options: unknown): unknown;
    LEVELS: { NOTHING: number };
  };
  const LoggerConsole = requireFromRoot('kafkajs/src/loggers/console.js') as unknown;
  const socketFactory = (
    requireFromRoot('kafkajs/src/network/socketFactory.js') as () => unknown
  )();
  return new Cluster({
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: LoggerConsole }),
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    offsets: new Map(),
    socketFactory,
    brokers: bootstrap.split(','),
    clientId: 'brook-compat-kafkajs-reader',
    connectionTimeout: 5_000,
    requestTimeout: requestTimeoutMs,
    enforceRequestTimeout: true,
    allowAutoTopicCreation,
    isolationLevel: 1,
  });
}

async function withCluster<T>(
  bootstrap: string,
  topic: string,
  action: (cluster: InternalCluster) => Promise<T>,
) {
  const cluster = kafkajsCluster(bootstrap);
  try {
    await withTimeout(cluster.connect(), operationTimeoutMs, 'kafkajs cluster.connect');
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadata();
    return await withTimeout(action(cluster), operationTimeoutMs, 'kafkajs fetch');
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}

function headerPairs(headers: FetchedMessage['headers']): [string, Buffer | null][] {
  const pairs: [string, Buffer | null][] = [];
  for (const [key, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value]) pairs.push([key, one ?? null]);
  }
  return pairs;
}

/** Reads one partition from offset 0 to its high watermark with Fetch, as kafkajs's consumer does. */
async function readPartition(
  cluster: InternalCluster,
  topic: string,
  partition: number,
): Promise<ReadRecord[]> {
  const leaders = cluster.findLeaderForPartitions(topic, [partition]);
  const nodeId = Object.keys(leaders)[0];
  if (nodeId === undefined) throw new Error(`no leader for ${topic}-${partition}`);
  const broker = await cluster.findBroker({ nodeId });
  const records: ReadRecord[] = [];
  let offset = 0;
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const response = await broker.fetch({
      replicaId: -1,
      isolationLevel: 1,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 10 * 1024 * 1024,
      topics: [
        { topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: 1024 * 1024 }] },
      ],
    });
    const data = response.responses[0]!.partitions[0]!;
    if (data.errorCode !== 0)
      throw new Error(`fetch ${topic}-${partition}: error ${data.errorCode}`);
    for (const message of data.messages) {
      // A fetch returns whole batches: skip what comes before the requested offset.
      if (Number(message.offset) < offset || message.isControlRecord) continue;
      records.push({
        partition,
        offset: Number(message.offset),
        key: message.key,
        value: message.value ?? Buffer.alloc(0),
        headers: headerPairs(message.headers),
        timestamp: Number(message.timestamp),
      });
      offset = Number(message.offset) + 1;
    }
    if (offset >= Number(data.highWatermark)) return records;
  }
  throw new Error(`${topic}-${partition}: no end after 1000 fetches (at ${offset})`);
}

export function kafkajsDriver(): ClientDriver {
  return {
    name: 'kafkajs',
    codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    textOnly: false,
    setsTimestamps: true,
    async createTopic(bootstrap, topic, partitions, configs) {
      const created = await withAdmin(bootstrap, 'createTopics', (admin) =>
        admin.createTopics({
          topics: [
            {
              topic,
              numPartitions: partitions,
              replicationFactor: 1,
              configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
            },
          ],
          waitForLeaders: true,
          timeout: requestTimeoutMs,
        }),
      );
      if (!created) throw new Error(`kafkajs createTopics: ${topic} already existed`);
    },
    async describeTopicConfigs(bootstrap, topic) {
      const described = await withAdmin(bootstrap, 'describeConfigs', (admin) =>
        admin.describeConfigs({
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
          includeSynonyms: false,
        }),
      );
      const resource = described.resources[0]!;
      if (resource.errorCode !== 0) throw new Error(`describeConfigs: error ${resource.errorCode}`);
      return Object.fromEntries(
        resource.configEntries.map((entry) => [entry.configName, entry.configValue]),
      );
    },
    async alterTopicConfigs(bootstrap, topic, _changes, all) {
      // kafkajs has only the legacy AlterConfigs, which replaces the topic's whole set.
      await withAdmin(bootstrap, 'alterConfigs', (admin) =>
        admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: topic,
              configEntries: Object.entries(all).map(([name, value]) => ({ name, value })),
            },
          ],
        }),
      );
    },
    async produce(bootstrap, topic, runs: RecordRun[]) {
      const producer = kafkajsClient(bootstrap).producer({ allowAutoTopicCreation: false });
      const delivered: DeliveredOffset[] = [];
      try {
        await withTimeout(producer.connect(), operationTimeoutMs, 'kafkajs producer.connect');
        for (const run of runs) {
          const metadata = await withTimeout(
            producer.send({
              topic,
              acks: -1,
              timeout: requestTimeoutMs,
              compression: kafkajsCompression[run.codec],
              messages: run.records.map((record) => {
                const headers: Record<string, Buffer[]> = {};
                for (const [key, value] of record.headers) (headers[key] ??= []).push(value);
                return {
                  partition: record.partition,
                  key: record.key,
                  value: record.value,
                  headers,
                  timestamp: String(record.timestamp),
                };
              }),
            }),
            operationTimeoutMs,
            'kafkajs producer.send',
          );
          // One send of one partition: one batch, whose base offset the broker reports.
          const report = metadata.find((entry) => entry.partition === run.partition);
          if (!report || report.errorCode !== 0)
            throw new Error(`send: ${JSON.stringify(metadata)}`);
          run.records.forEach((_record, index) =>
            delivered.push({ partition: run.partition, offset: Number(report.baseOffset) + index }),
          );
        }
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
      return delivered;
    },
    async readAll(bootstrap, topic, partitions) {
      return withCluster(bootstrap, topic, async (cluster) => {
        const records: ReadRecord[] = [];
        for (let partition = 0; partition < partitions; partition++) {
          records.push(...(await readPartition(cluster, topic, partition)));
        }
        return records;
      });
    },
    async offsetsForTimes(bootstrap, topic, queries) {
      return withCluster(bootstrap, topic, async (cluster) => {
        const offsets: number[] = [];
        for (const query of queries) {
          const [result] = await cluster.fetchTopicsOffset([
            { topic, fromTimestamp: query.timestamp, partitions: [{ partition: query.partition }] },
          ]);
          offsets.push(Number(result!.partitions[0]!.offset));
        }
        return offsets;
      });
    },
    async deleteTopic(bootstrap, topic) {
      await withAdmin(bootstrap, 'deleteTopics', (admin) =>
        admin.deleteTopics({ topics: [topic], timeout: requestTimeoutMs }),
      );
    },
    async listTopics(bootstrap) {
      return withAdmin(bootstrap, 'listTopics', (admin) => admin.listTopics());
    },
  };
}
