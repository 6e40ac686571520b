// ClientDriver for @confluentinc/kafka-javascript 1.10 (librdkafka 2.15.0), loaded from
// test/compat/ckjs/node_modules (installed by .ci/install-ckjs.sh, never from the root package).
// Producing and topic admin use its KafkaJS-compatible API (`.KafkaJS`), reading and offsets by time
// its node-rdkafka API (assign() without a group, offsetsForTimes). Version 1.10 has no
// DescribeConfigs/AlterConfigs in either API, so those two steps go through kafkajs.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { kafkajsDriver } from './client-kafkajs.js';
import { ckjsDirectory, withTimeout } from './clients.js';
import type { ClientDriver, DeliveredOffset, ReadRecord, RecordRun } from './client-scenario.js';

const requestTimeoutMs = 15_000;
const operationTimeoutMs = 60_000;

// Typed here as far as the drivers use it: the package lives outside the root node_modules.
export interface CkjsModule {
  KafkaJS: {
    Kafka: new (config: unknown) => {
      producer(config?: unknown): CkjsProducer;
      consumer(config?: unknown): unknown;
      admin(config?: unknown): CkjsAdmin;
    };
    logLevel: { NOTHING: number };
  };
  KafkaConsumer: new (
    config: Record<string, unknown>,
    topicConfig: Record<string, unknown>,
  ) => RdkafkaConsumer;
}
interface CkjsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(
    record: unknown,
  ): Promise<{ topicName: string; partition: number; errorCode: number; baseOffset?: string }[]>;
}
interface CkjsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  createTopics(options: unknown): Promise<boolean>;
  deleteTopics(options: unknown): Promise<void>;
  listTopics(options?: unknown): Promise<string[]>;
}
interface RdkafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  key?: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: Record<string, Buffer | string | null>[];
}
interface RdkafkaConsumer {
  connect(options: unknown, callback: (error: unknown) => void): void;
  disconnect(callback: (error: unknown) => void): void;
  assign(assignments: { topic: string; partition: number; offset: number }[]): void;
  consume(count: number, callback: (error: unknown, messages: RdkafkaMessage[]) => void): void;
  setDefaultConsumeTimeout(timeoutMs: number): void;
  on(
    event: 'partition.eof',
    listener: (eof: { topic: string; partition: number; offset: number }) => void,
  ): void;
  offsetsForTimes(
    partitions: { topic: string; partition: number; offset: number }[],
    timeoutMs: number,
    callback: (error: unknown, offsets: { partition: number; offset: number }[]) => void,
  ): void;
}

export function loadCkjs(): CkjsModule {
  const requireFromCkjs = createRequire(join(ckjsDirectory, 'package.json'));
  return requireFromCkjs('@confluentinc/kafka-javascript') as CkjsModule;
}

export function ckjsKafka(bootstrap: string, clientId: string) {
  const ckjs = loadCkjs();
  return new ckjs.KafkaJS.Kafka({
    kafkaJS: {
      brokers: bootstrap.split(','),
      clientId,
      logLevel: ckjs.KafkaJS.logLevel.NOTHING,
      connectionTimeout: 5_000,
      requestTimeout: requestTimeoutMs,
    },
  });
}

async function withAdmin<T>(
  bootstrap: string,
  what: string,
  action: (admin: CkjsAdmin) => Promise<T>,
): Promise<T> {
  const admin = ckjsKafka(bootstrap, 'brook-compat-ckjs-admin').admin();
  try {
    await withTimeout(admin.connect(), operationTimeoutMs, 'ckjs admin.connect');
    return await withTimeout(action(admin), operationTimeoutMs, `ckjs ${what}`);
  } finally {
    await withTimeout(admin.disconnect(), operationTimeoutMs, 'ckjs admin.disconnect').catch(
      () => undefined,
    );
  }
}

async function withRdkafkaConsumer<T>(
  bootstrap: string,
  what: string,
  action: (consumer: RdkafkaConsumer) => Promise<T>,
): Promise<T> {
  const ckjs = loadCkjs();
  const consumer = new ckjs.KafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': `brook-compat-ckjs-read-${process.pid}`,
      'enable.auto.commit': false,
      'enable.partition.eof': true,
      'socket.timeout.ms': 10_000,
      log_level: 3,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await withTimeout(
    new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: requestTimeoutMs }, (error) =>
        error ? reject(error) : resolve(),
      ),
    ),
    operationTimeoutMs,
    'ckjs consumer.connect',
  );
  try {
    return await withTimeout(action(consumer), operationTimeoutMs, `ckjs ${what}`);
  } finally {
    await withTimeout(
      new Promise<void>((resolve) => consumer.disconnect(() => resolve())),
      operationTimeoutMs,
      'ckjs consumer.disconnect',
    ).catch(() => undefined);
  }
}

function headerPairs(headers: RdkafkaMessage['headers']): [string, Buffer | null][] {
  return (headers ?? []).flatMap((header) =>
    Object.entries(header).map(([key, value]): [string, Buffer | null] => [
      key,
      value === null || value === undefined ? null : Buffer.from(value),
    ]),
  );
}

export function ckjsDriver(): ClientDriver {
  const configAdmin = kafkajsDriver();
  return {
    name: 'confluent-kafka-javascript',
    codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    textOnly: false,
    // It hands librdkafka a NULL pointer for an empty Buffer, so '' goes out as a null value.
    writesEmptyHeaderValueAsNull: true,
    // ...and hands back an empty Buffer for a null header value.
    readsNullHeaderValueAsEmpty: true,
    setsTimestamps: true,
    async createTopic(bootstrap, topic, partitions, configs) {
      const created = await withAdmin(bootstrap, 'createTopics', (admin) =>
        admin.createTopics({
          timeout: requestTimeoutMs,
          topics: [
            {
              topic,
              numPartitions: partitions,
              replicationFactor: 1,
              configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
            },
          ],
        }),
      );
      if (!created) throw new Error(`ckjs createTopics: ${topic} already existed`);
    },
    describeTopicConfigs: configAdmin.describeTopicConfigs,
    alterTopicConfigs: configAdmin.alterTopicConfigs,
    async produce(bootstrap, topic, runs: RecordRun[]) {
      const kafka = ckjsKafka(bootstrap, 'brook-compat-ckjs-producer');
      const delivered: DeliveredOffset[] = [];
      const producers = new Map<string, CkjsProducer>();
      try {
        for (const run of runs) {
          let producer = producers.get(run.codec);
          if (!producer) {
            // compression is a producer setting in librdkafka, not a per-send one.
            producer = kafka.producer({
              kafkaJS: { compression: run.codec, acks: -1, allowAutoTopicCreation: false },
              'linger.ms': 5,
              'message.timeout.ms': requestTimeoutMs,
            });
            producers.set(run.codec, producer);
            await withTimeout(producer.connect(), operationTimeoutMs, 'ckjs producer.connect');
          }
          const metadata = await withTimeout(
            producer.send({
              topic,
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
            'ckjs producer.send',
          );
          const report = metadata.find((entry) => entry.partition === run.partition);
          if (!report || report.errorCode !== 0 || report.baseOffset === undefined) {
            throw new Error(`send: ${JSON.stringify(metadata)}`);
          }
          run.records.forEach((_record, index) =>
            delivered.push({ partition: run.partition, offset: Number(report.baseOffset) + index }),
          );
        }
      } finally {
        for (const producer of producers.values()) {
          await withTimeout(
            producer.disconnect(),
            operationTimeoutMs,
            'ckjs producer.disconnect',
          ).catch(() => undefined);
        }
      }
      return delivered;
    },
    async readAll(bootstrap, topic, partitions) {
      return withRdkafkaConsumer(bootstrap, 'consume', async (consumer) => {
        const records: ReadRecord[] = [];
        // partition.eof may be emitted before the messages of the same consume() call reach its
        // callback, so a partition is done when its end offset is known and reached.
        const endOffsets = new Map<number, number>();
        const nextOffsets = new Map<number, number>();
        consumer.on('partition.eof', (eof) => {
          if (eof.topic === topic) endOffsets.set(eof.partition, eof.offset);
        });
        const done = () =>
          Array.from({ length: partitions }, (_, partition) => partition).every(
            (partition) =>
              endOffsets.has(partition) &&
              (nextOffsets.get(partition) ?? 0) >= endOffsets.get(partition)!,
          );
        consumer.setDefaultConsumeTimeout(200);
        consumer.assign(
          Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })),
        );
        const deadline = Date.now() + operationTimeoutMs;
        while (!done()) {
          if (Date.now() > deadline)
            throw new Error(`ckjs read: ${records.length} records, no end of partitions`);
          const messages = await new Promise<RdkafkaMessage[]>((resolve, reject) =>
            consumer.consume(100, (error, batch) => (error ? reject(error) : resolve(batch))),
          );
          for (const message of messages) {
            nextOffsets.set(message.partition, message.offset + 1);
            records.push({
              partition: message.partition,
              offset: message.offset,
              key: message.key ?? null,
              value: message.value ?? Buffer.alloc(0),
              headers: headerPairs(message.headers),
              timestamp: message.timestamp ?? -1,
            });
          }
        }
        return records;
      });
    },
    async offsetsForTimes(bootstrap, topic, queries) {
      return withRdkafkaConsumer(bootstrap, 'offsetsForTimes', async (consumer) => {
        const offsets: number[] = [];
        for (const query of queries) {
          const [found] = await new Promise<{ partition: number; offset: number }[]>(
            (resolve, reject) =>
              consumer.offsetsForTimes(
                [{ topic, partition: query.partition, offset: query.timestamp }],
                requestTimeoutMs,
                (error, result) => (error ? reject(error) : resolve(result)),
              ),
          );
          offsets.push(found!.offset);
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
      return withAdmin(bootstrap, 'listTopics', (admin) =>
        admin.listTopics({ timeout: requestTimeoutMs }),
      );
    },
  };
}
