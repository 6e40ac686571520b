// Shared pieces of the kafkajs consumer-group tests: a broker on a temporary directory, bounded
// polling, and consumers that record what they were assigned and what they read.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer, type ConsumerConfig } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

export class TestBroker {
  broker: Broker | null = null;

  private constructor(readonly logDir: string) {}

  static async start(): Promise<TestBroker> {
    const test = new TestBroker(await mkdtemp(join(tmpdir(), 'brook-groups-')));
    await test.startAgain();
    return test;
  }

  async startAgain(): Promise<void> {
    this.broker = await startBroker({ logDirs: this.logDir, settings: { 'num.partitions': 10 } });
  }

  get bootstrapServers(): string {
    if (this.broker === null) throw new Error('the broker is stopped');
    return this.broker.bootstrapServers;
  }

  kafka(clientId: string): Kafka {
    return new Kafka({
      brokers: [this.bootstrapServers],
      clientId,
      logLevel: logLevel.NOTHING,
      retry: { retries: 8 },
    });
  }

  async stop(): Promise<void> {
    await this.broker?.stop();
    this.broker = null;
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await rm(this.logDir, { recursive: true, force: true });
  }
}

/** A kafkajs consumer that records its latest assignment and every record it reads. */
export class RecordingConsumer {
  readonly consumer: Consumer;
  assignment: number[] = [];
  generations = 0;
  readonly received: { partition: number; offset: number; value: string }[] = [];
  firstRecordAtMs: number | null = null;
  readonly startedAtMs = performance.now();

  constructor(
    kafka: Kafka,
    config: ConsumerConfig,
    private readonly topic: string,
  ) {
    this.consumer = kafka.consumer({ maxWaitTimeInMs: 200, heartbeatInterval: 500, ...config });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.assignment = [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      this.generations++;
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        this.firstRecordAtMs ??= performance.now();
        this.received.push({
          partition,
          offset: Number(message.offset),
          value: message.value?.toString() ?? '',
        });
      },
    });
  }

  values(): Set<string> {
    return new Set(this.received.map((record) => record.value));
  }
}

/** Produces `count` records spread over the partitions, values `${prefix}-${index}`. */
export async function produce(
  kafka: Kafka,
  topic: string,
  prefix: string,
  count: number,
  partitions = 10,
): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: Array.from({ length: count }, (_, index) => ({
        partition: index % partitions,
        value: `${prefix}-${index}`,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}
