// A broker's own records to a topic of its cluster, wherever the partition's leader is: the audit
// lines of audit.log.topic in cluster mode. Each broker writes to one partition of the topic
// (its broker id modulo the partition count), so its lines stay in order there.
//
//   write(values) ─► queue ─► one batch at a time ─┬─► leader is this broker: appendLocally
//                                                   └─► another broker: Produce (acks=all) on the
//                                                       inter-broker listener
//   a refusal or a lost connection: the same batch again after a backoff (100 ms doubling to
//   1 s), asking the view for the leader again, so lines are written in order, at least once
//
// The queue is bounded (maxQueued values): past it the oldest values are dropped (and a warning says how many), so
// a topic that cannot be written for long costs memory once, not without end. Nothing here is on
// a request's path: write() returns at once.
//
// Owned by the broker in cluster mode. One connection, to the current leader, opened on first use
// and dropped on failure or when the leader moves (inter-broker-connection.ts).

import type { KafkaConnection } from '../client/kafka-connection.js';
import { type ClusterView, NO_LEADER } from '../metadata/cluster-metadata.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ProduceResponse } from '../protocol/generated/produce.js';
import { buildBatch } from '../record/records.js';
import {
  INTER_BROKER_ANSWER_GRACE_MS,
  INTER_BROKER_RETRY_BACKOFF_MAX_MS,
  INTER_BROKER_RETRY_BACKOFF_MS,
  type InterBrokerConnector,
} from './inter-broker-connection.js';
import { deadline, untilAborted } from '../util/deadline.js';

/** Produce v9: the first flexible version; Brook serves 0-11. */
const PRODUCE_VERSION = 9;
/** Values per batch: a burst of audit lines goes out in a few requests. */
const BATCH_VALUES_MAX = 500;
const MAX_QUEUED_DEFAULT = 10_000;

export interface ClusterTopicWriterOptions {
  readonly topic: string;
  readonly brokerId: number;
  readonly view: ClusterView;
  readonly connector: InterBrokerConnector;
  /** This broker's own append as the partition's leader (acks=all); resolves with an error code. */
  appendLocally(partition: number, batch: Buffer): Promise<number>;
  /** request.timeout.ms: the Produce's timeout, and (plus a second) how long an answer may take. */
  readonly requestTimeoutMs: number;
  /** Values kept while the topic cannot be written; the oldest beyond it are dropped. */
  readonly maxQueued?: number;
  /** Told at the first failure after a success, and of dropped values. */
  readonly warn?: (message: string) => void;
}

export class ClusterTopicWriter {
  private queue: Buffer[] = [];
  private running = false;
  private closed = false;
  private healthy = true;
  private connection: { broker: number; open: Promise<KafkaConnection> } | null = null;

  constructor(private readonly options: ClusterTopicWriterOptions) {}

  /** Queues the values (one record each, no key) and returns; they are written in order. */
  write(values: readonly Buffer[]): void {
    if (this.closed) return;
    this.queue.push(...values);
    const maxQueued = this.options.maxQueued ?? MAX_QUEUED_DEFAULT;
    if (this.queue.length > maxQueued) {
      const dropped = this.queue.length - maxQueued;
      this.queue.splice(0, dropped);
      this.options.warn?.(
        `${dropped} lines for ${this.options.topic} dropped: ${maxQueued} already wait to be written`,
      );
    }
    if (!this.running) {
      this.running = true;
      void this.drain().finally(() => (this.running = false));
    }
  }

  /** Stops writing; what is still queued is dropped. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.dropConnection();
  }

  private async drain(): Promise<void> {
    let backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
    while (!this.closed && this.queue.length > 0) {
      const values = this.queue.slice(0, BATCH_VALUES_MAX);
      const errorCode = await this.writeOnce(values).catch(() => {
        this.dropConnection();
        return ErrorCode.NETWORK_EXCEPTION;
      });
      if (errorCode === ErrorCode.NONE) {
        // The values written are the queue's head, unless it overflowed meanwhile.
        const written = new Set(values);
        this.queue = this.queue.filter((value) => !written.has(value));
        this.healthy = true;
        backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
        continue;
      }
      if (this.healthy) {
        this.options.warn?.(
          `lines for ${this.options.topic} not written yet: ${errorName(errorCode)}; retrying`,
        );
      }
      this.healthy = false;
      await new Promise((resolve) => setTimeout(resolve, backoffMs).unref());
      backoffMs = Math.min(backoffMs * 2, INTER_BROKER_RETRY_BACKOFF_MAX_MS);
    }
  }

  /** One batch to the partition's current leader; resolves with the answer's error code. */
  private async writeOnce(values: readonly Buffer[]): Promise<number> {
    const { topic, brokerId, view } = this.options;
    const partitionCount = view.topics().get(topic)?.partitions.length ?? 0;
    if (partitionCount === 0) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const partition = brokerId % partitionCount;
    const leader = view.partitionState(topic, partition)?.leader ?? NO_LEADER;
    if (leader === NO_LEADER) return ErrorCode.LEADER_NOT_AVAILABLE;
    const batch = await buildBatch({
      records: values.map((value) => ({ key: null, value })),
      baseTimestamp: Date.now(),
    });
    if (leader === brokerId) return this.options.appendLocally(partition, batch);
    const answered = deadline(this.options.requestTimeoutMs + INTER_BROKER_ANSWER_GRACE_MS);
    try {
      const connection = await untilAborted(this.connectionTo(leader), answered.signal);
      const response = await untilAborted(
        connection.request<ProduceResponse>(ApiKey.Produce, PRODUCE_VERSION, {
          transactionalId: null,
          acks: -1,
          timeoutMs: this.options.requestTimeoutMs,
          topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
        }),
        answered.signal,
      );
      return (
        response.responses[0]?.partitionResponses[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR
      );
    } finally {
      answered.clear();
    }
  }

  private connectionTo(broker: number): Promise<KafkaConnection> {
    if (this.connection?.broker !== broker) {
      this.dropConnection();
      const clientId = `brook-${this.options.topic}-${this.options.brokerId}`;
      this.connection = { broker, open: this.options.connector.open(broker, clientId) };
    }
    return this.connection.open;
  }

  private dropConnection(): void {
    this.connection?.open.then((open) => open.close()).catch(() => undefined);
    this.connection = null;
  }
}
