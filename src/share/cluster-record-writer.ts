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
// A retried Produce is not idempotent: a batch whose answer was lost may be appended twice
// (at-least-once, as a Kafka producer without idempotence). Nothing here waits on etcd.
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
import type { ReplicaManager } from '../replica/replica-manager.js';
import { deadline, untilAborted } from '../util/deadline.js';
import type { RecordWriterPorts } from './record-writer.js';
import { ShareError } from './share-errors.js';

/** Produce v9: the first flexible version; Brook serves 0-11. */
const PRODUCE_VERSION = 9;

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

  return {
    partitionCount: (topic) => view.topics().get(topic)?.partitions.length,
    async append(topic, index, batch, acks) {
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
              ? await appendHere(topic, index, Buffer.from(batch), acks).catch(() => ({
                  errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
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
    },
    createTopic: (name) => options.createTopic(name),
    close() {
      closed = true;
      for (const broker of [...connections.keys()]) dropConnection(broker);
    },
  };
}
