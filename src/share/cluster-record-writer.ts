// Records the engine and its HTTP door write (HTTP produce, dead letters) in cluster mode: each
// batch goes to its partition's leader, whichever broker that is.
//
//   append(topic, p, batch) ─┬─► the view names this broker leader: append here, as a Produce
//                            │   would (min.insync.replicas checked; acks=all waits for the
//                            │   high watermark of this leadership term)
//                            └─► another broker: Produce (acks -1 or 1) on the inter-broker listener
//   NOT_LEADER_OR_FOLLOWER, no leader yet or a lost connection: asked again after a backoff
//   (100 ms doubling to 1 s), reading the view again, until request.timeout.ms has passed.
//
// Idempotent, as a Kafka idempotent producer: the writer holds one producer id (InitProducerId
// without a transactional id, from the cluster-wide producer-id blocks; asked for on the first
// append) and a sequence per partition. Each batch is stamped once with the producer and the
// partition's next sequence, and every attempt sends those same bytes, so a leader (this broker,
// or the one elected after it, whose followers kept the producer state) answers a batch it
// already appended with its original offsets instead of appending it twice. To keep sequences
// gap-free one batch per partition is in flight at a time (later ones wait their turn). A batch
// that finally fails leaves its outcome unknown (it may be in the log): the next batch of any
// partition then starts a new producer id at sequence 0, so a doubtful sequence is never reused
// (reusing it would make a new batch look like a retry and drop it) and never skipped (the
// leader would refuse the gap). Obtaining a producer id may wait on etcd (one block of ids in
// 1000); nothing else here does.
//
// Owned by the broker in cluster mode; one connection per leader broker, opened on first use and
// dropped on failure.

import type { KafkaConnection } from '../client/kafka-connection.js';
import {
  INTER_BROKER_ANSWER_GRACE_MS,
  INTER_BROKER_RETRY_BACKOFF_MAX_MS,
  INTER_BROKER_RETRY_BACKOFF_MS,
  type InterBrokerConnector,
} from '../cluster/inter-broker-connection.js';
import { type ClusterView, NO_LEADER } from '../metadata/cluster-metadata.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ProduceResponse } from '../protocol/generated/produce.js';
import { BatchField, stampProducer } from '../record/batch.js';
import { ProducerStateError, lastSequenceOf } from '../replica/producer-state.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { deadline, untilAborted } from '../util/deadline.js';
import type { RecordWriterPorts } from './record-writer.js';
import { ShareError } from './share-errors.js';

/** Produce v9: the first flexible version; Brook serves 0-11. */
const PRODUCE_VERSION = 9;
const INT32_MAX = 2 ** 31 - 1;

export interface ClusterRecordWriterOptions {
  readonly brokerId: number;
  /** The view this broker leads by (the session-fenced one). */
  readonly view: ClusterView;
  readonly replicas: ReplicaManager;
  readonly connector: InterBrokerConnector;
  minInsyncReplicasOf(topic: string): number;
  /** Writes a topic to the cluster (the controller places it). */
  createTopic(name: string): Promise<void>;
  readonly requestTimeoutMs: number;
  /** A producer id and epoch for this broker's appends (InitProducerId, no transactional id). */
  initProducerId(): Promise<IdempotentProducer>;
}

export interface IdempotentProducer {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** One partition's place in the producer's sequence; batches of it go one at a time. */
interface PartitionLane {
  /** The producer `nextSequence` counts for; null until the first batch, or after a failure. */
  producer: IdempotentProducer | null;
  nextSequence: number;
  /** The last batch handed to this partition: the next one starts once it settled. */
  tail: Promise<unknown>;
}

export interface ClusterRecordWriter extends RecordWriterPorts {
  close(): void;
}

export function clusterRecordWriter(options: ClusterRecordWriterOptions): ClusterRecordWriter {
  const { view, brokerId } = options;
  const connections = new Map<number, Promise<KafkaConnection>>();
  let closed = false;

  const connectionTo = (broker: number): Promise<KafkaConnection> => {
    let connection = connections.get(broker);
    if (connection === undefined) {
      connection = options.connector.open(broker, `brook-share-${brokerId}`);
      connections.set(broker, connection);
      connection.catch(() => connections.delete(broker));
    }
    return connection;
  };
  const dropConnection = (broker: number): void => {
    connections
      .get(broker)
      ?.then((open) => open.close())
      .catch(() => undefined);
    connections.delete(broker);
  };

  /** This broker's append as the leader: the base offset, or the Kafka error code refusing it. */
  const appendHere = async (
    topic: string,
    index: number,
    batch: Buffer,
    acks: 'all' | 'leader',
  ): Promise<{ baseOffset: number } | { errorCode: number }> => {
    const partition = options.replicas.partition(topic, index);
    const term = partition?.replicaState ?? null;
    // Not taken up yet (the replica fetcher makes it leader with its followers): ask again.
    if (partition === undefined || term === null)
      return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    if (acks === 'all' && partition.inSyncReplicaCount < options.minInsyncReplicasOf(topic))
      return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS };
    const appended = partition.append(batch, 'client');
    await appended.acknowledged;
    if (acks === 'all') {
      try {
        await partition.waitForHighWatermark(
          appended.lastOffset + 1,
          AbortSignal.timeout(options.requestTimeoutMs),
        );
      } catch {
        return {
          errorCode:
            partition.replicaState !== term
              ? ErrorCode.NOT_LEADER_OR_FOLLOWER
              : ErrorCode.REQUEST_TIMED_OUT,
        };
      }
    }
    return { baseOffset: appended.baseOffset };
  };

  const appendThere = async (
    leader: number,
    topic: string,
    index: number,
    batch: Buffer,
    acks: 'all' | 'leader',
  ): Promise<{ baseOffset: number } | { errorCode: number }> => {
    const answered = deadline(options.requestTimeoutMs + INTER_BROKER_ANSWER_GRACE_MS);
    try {
      const connection = await untilAborted(connectionTo(leader), answered.signal);
      const response = await untilAborted(
        connection.request<ProduceResponse>(ApiKey.Produce, PRODUCE_VERSION, {
          transactionalId: null,
          acks: acks === 'all' ? -1 : 1,
          timeoutMs: options.requestTimeoutMs,
          topicData: [{ name: topic, partitionData: [{ index, records: batch }] }],
        }),
        answered.signal,
      );
      const answer = response.responses[0]?.partitionResponses[0];
      if (answer === undefined) return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR };
      if (answer.errorCode !== ErrorCode.NONE) return { errorCode: answer.errorCode };
      return { baseOffset: Number(answer.baseOffset) };
    } catch {
      dropConnection(leader);
      return { errorCode: ErrorCode.NETWORK_EXCEPTION };
    } finally {
      answered.clear();
    }
  };

  /** Whether a refusal may pass once the leadership settles (asked again after a backoff). */
  const retriable = (errorCode: number): boolean =>
    errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
    errorCode === ErrorCode.LEADER_NOT_AVAILABLE ||
    errorCode === ErrorCode.NETWORK_EXCEPTION ||
    errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
    errorCode === ErrorCode.NOT_ENOUGH_REPLICAS;

  /** The producer new batches are stamped with; replaced once a sequence of it is in doubt. */
  let producer: Promise<IdempotentProducer> | null = null;
  const currentProducer = (): Promise<IdempotentProducer> => {
    if (producer === null) {
      const asked = options.initProducerId();
      producer = asked;
      asked.catch(() => {
        if (producer === asked) producer = null;
      });
    }
    return producer;
  };
  const lanes = new Map<string, PartitionLane>();

  /** Sends one stamped batch until a leader answers it, the refusal is final or time is up. */
  const appendWithRetries = async (
    topic: string,
    index: number,
    batch: Buffer,
    acks: 'all' | 'leader',
  ): Promise<number> => {
    const until = Date.now() + options.requestTimeoutMs;
    let backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
    for (;;) {
      if (closed) throw new ShareError('produce-failed', 'the broker is stopping');
      const leader = view.partitionState(topic, index)?.leader ?? NO_LEADER;
      // A batch is handed to one append at a time: a retry builds on the same bytes, which a
      // local append takes over (PartitionLog.append), so each attempt gets its own copy.
      const result =
        leader === NO_LEADER
          ? { errorCode: ErrorCode.LEADER_NOT_AVAILABLE }
          : leader === brokerId
            ? await appendHere(topic, index, Buffer.from(batch), acks).catch((error: unknown) => ({
                errorCode:
                  error instanceof ProducerStateError
                    ? error.kafkaErrorCode
                    : ErrorCode.KAFKA_STORAGE_ERROR,
              }))
            : await appendThere(leader, topic, index, batch, acks);
      if ('baseOffset' in result) return result.baseOffset;
      if (!retriable(result.errorCode) || Date.now() + backoffMs > until) {
        throw new ShareError(
          'produce-failed',
          `${topic}-${index} refused the records: ${errorName(result.errorCode)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs).unref());
      backoffMs = Math.min(backoffMs * 2, INTER_BROKER_RETRY_BACKOFF_MAX_MS);
    }
  };

  /** The batch's turn in its partition: stamped with the next sequence, sent, then counted. */
  const appendInTurn = async (
    lane: PartitionLane,
    topic: string,
    index: number,
    batch: Buffer,
    acks: 'all' | 'leader',
  ): Promise<number> => {
    if (closed) throw new ShareError('produce-failed', 'the broker is stopping');
    const asked = currentProducer();
    let stampedBy: IdempotentProducer;
    try {
      stampedBy = await asked;
    } catch (error) {
      throw new ShareError(
        'produce-failed',
        `no producer id for ${topic}-${index}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (lane.producer !== stampedBy) {
      lane.producer = stampedBy;
      lane.nextSequence = 0;
    }
    const baseSequence = lane.nextSequence;
    stampProducer(batch, stampedBy.producerId, stampedBy.producerEpoch, baseSequence);
    try {
      const baseOffset = await appendWithRetries(topic, index, batch, acks);
      const lastSequence = lastSequenceOf(
        baseSequence,
        batch.readInt32BE(BatchField.lastOffsetDelta),
      );
      lane.nextSequence = lastSequence === INT32_MAX ? 0 : lastSequence + 1;
      return baseOffset;
    } catch (error) {
      // The batch may be in the log or not: no later batch may take this sequence, nor the next.
      lane.producer = null;
      if (producer === asked) producer = null;
      throw error;
    }
  };

  return {
    partitionCount: (topic) => view.topics().get(topic)?.partitions.length,
    append(topic, index, batch, acks) {
      const key = `${topic}\u0000${index}`;
      let lane = lanes.get(key);
      if (lane === undefined) {
        lane = { producer: null, nextSequence: 0, tail: Promise.resolve() };
        lanes.set(key, lane);
      }
      const inTurn = lane;
      const appended = inTurn.tail.then(() => appendInTurn(inTurn, topic, index, batch, acks));
      inTurn.tail = appended.catch(() => undefined);
      return appended;
    },
    createTopic: (name) => options.createTopic(name),
    close() {
      closed = true;
      for (const broker of [...connections.keys()]) dropConnection(broker);
    },
  };
}
