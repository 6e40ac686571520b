// Transaction markers in cluster mode: the coordinator's COMMIT or ABORT goes into each partition
// of a transaction on that partition's leader, as in Kafka, never into this broker's own replica
// (a follower's log would diverge, and the leader's last stable offset would never pass the
// transaction).
//
//   coordinator (this broker)            leaders, from the ClusterView
//   write(markers) ─ group by leader ─┬─► this broker:  appendMarkerAsLeader (no network)
//        ▲                            └─► broker 2:     WriteTxnMarkers v1 ─► appendMarkerAsLeader
//        │                                              (one request for all its partitions)
//        └── retry what answered NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, a timeout, a lost
//            connection... after a backoff (100 ms doubling to 1 s), asking the view again for
//            each leader
//
// A leader appends a marker as a produce with acks=all would be: in its leader epoch, refused
// below min.insync.replicas, and answered only once the high watermark passes it, so a leader
// change cannot lose an acknowledged marker, and the last stable offset moves on every replica as
// the high watermark carries it there. `write` resolves once every partition acknowledged its
// marker (or left the view: its topic was deleted); it rejects when its signal aborts (the
// coordinator gave up waiting, transaction.markers.timeout.ms, or lost the transaction's state
// partition) or when a leader refuses the marker for good (ClusterError MARKER_REFUSED: a fenced
// producer epoch, or a coordinator epoch older than that of the producer's last marker in the
// partition: this coordinator was replaced).
//
// Timeouts follow Kafka's request.timeout.ms: a leader waits that long for its ISR before
// answering REQUEST_TIMED_OUT, and the sender waits a second more for the answer before it drops
// the connection (a stalled leader: SIGSTOP, a lost network) and asks the view again, so one slow
// leader never holds a write until its signal aborts.
//
// Owned by the broker in cluster mode (the transaction coordinator's `writeMarkers` port). One
// connection per leader broker, on the inter-broker listener (inter-broker-connection.ts), shared
// by concurrent writes (requests are pipelined); a failed connection is dropped and opened again
// by the next attempt.

import type { KafkaConnection } from '../client/kafka-connection.js';
import { type ClusterView, NO_LEADER } from '../metadata/cluster-metadata.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { WriteTxnMarkersResponse } from '../protocol/generated/write-txn-markers.js';
import { buildControlBatch, ControlRecordType } from '../record/records.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import {
  INTER_BROKER_ANSWER_GRACE_MS,
  INTER_BROKER_RETRY_BACKOFF_MAX_MS,
  INTER_BROKER_RETRY_BACKOFF_MS,
  type InterBrokerConnector,
} from './inter-broker-connection.js';
import type { PartitionLeadership } from './partition-leadership.js';
import { deadline, untilAborted } from '../util/deadline.js';

/** WriteTxnMarkers v1: the flexible version (KIP-482); Brook serves 0-1. */
const WRITE_TXN_MARKERS_VERSION = 1;

/** One partition that takes a marker. */
export interface MarkerPartition {
  readonly topic: string;
  readonly partition: number;
}

/** One transaction's outcome, to be written into each of its partitions. */
export interface TransactionMarkers {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The leader epoch of the coordinator's `__transaction_state` partition (0 on one broker). */
  readonly coordinatorEpoch: number;
  readonly committed: boolean;
  readonly partitions: readonly MarkerPartition[];
}

/** Kafka's answers a coordinator retries: the leader moved, is catching up, or was slow. */
const RETRIABLE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** The control batch of `markers` (one record: the outcome and the coordinator epoch). */
export function buildMarkerBatch(markers: TransactionMarkers, timestamp: number): Promise<Buffer> {
  return buildControlBatch({
    type: markers.committed ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
    producerId: markers.producerId,
    producerEpoch: markers.producerEpoch,
    coordinatorEpoch: markers.coordinatorEpoch,
    timestamp,
  });
}

/** What a leader needs to append a marker (WriteTxnMarkers, or the coordinator on the leader). */
export interface MarkerAppendPorts {
  readonly replicas: ReplicaManager;
  /** Cluster mode: who leads each partition; absent on one broker, which leads them all. */
  readonly leadership?: PartitionLeadership;
  /** A topic's effective min.insync.replicas; asked only for a replicated partition. */
  minInsyncReplicasOf?(topic: string): number;
  /** request.timeout.ms: how long a replicated partition waits for its ISR to reach the marker. */
  readonly replicationTimeoutMs: number;
  /**
   * A marker for a coordinator's own partition (`__consumer_offsets`), appended by that
   * coordinator, which settles what the transaction wrote there with it; undefined for any other
   * topic. Resolves with the error code to answer, as appendMarkerAsLeader does.
   */
  appendCoordinatorMarker?(
    topic: string,
    partition: number,
    batch: Buffer,
  ): Promise<number> | undefined;
}

/**
 * Appends `batch` (a marker; taken over, as by PartitionLog.append) to a partition this broker
 * leads and resolves with the Kafka error code to answer: NONE once it is durable here and, on a
 * replicated partition, once the high watermark passed it. Never rejects.
 */
export async function appendMarkerAsLeader(
  ports: MarkerAppendPorts,
  topic: string,
  partitionIndex: number,
  batch: Buffer,
): Promise<number> {
  if (ports.leadership?.notLeader(topic, partitionIndex) != null)
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const byCoordinator = ports.appendCoordinatorMarker?.(topic, partitionIndex, batch);
  if (byCoordinator !== undefined) return byCoordinator;
  const partition = ports.replicas.partition(topic, partitionIndex);
  if (partition === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  // The leadership term of the append: only its followers may acknowledge the marker.
  const term = partition.replicaState;
  if (term !== null) {
    const minInsyncReplicas = ports.minInsyncReplicasOf?.(topic) ?? 1;
    if (partition.inSyncReplicaCount < minInsyncReplicas) return ErrorCode.NOT_ENOUGH_REPLICAS;
  }
  let lastOffset: number;
  try {
    const appended = partition.append(batch, 'coordinator');
    lastOffset = appended.lastOffset;
    await appended.acknowledged;
  } catch (error) {
    return storageErrorCodeOf(error);
  }
  if (term === null) return ErrorCode.NONE;
  try {
    if (partition.replicaState !== term) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    await partition.waitForHighWatermark(
      lastOffset + 1,
      AbortSignal.timeout(ports.replicationTimeoutMs),
    );
    return ErrorCode.NONE;
  } catch {
    return partition.replicaState !== term
      ? ErrorCode.NOT_LEADER_OR_FOLLOWER
      : ErrorCode.REQUEST_TIMED_OUT;
  }
}

/** An append's failure as a Kafka code: the error's own, else a storage failure. */
function storageErrorCodeOf(error: unknown): number {
  if (typeof error === 'object' && error !== null && 'kafkaErrorCode' in error) {
    const code = (error as { kafkaErrorCode: unknown }).kafkaErrorCode;
    if (typeof code === 'number' && code !== ErrorCode.UNKNOWN_SERVER_ERROR) return code;
  }
  return ErrorCode.KAFKA_STORAGE_ERROR;
}

export interface TransactionMarkerSenderOptions {
  /** This broker's id: partitions it leads are appended to without the network. */
  readonly brokerId: number;
  readonly view: ClusterView;
  /** How this broker reaches another (inter.broker.listener.name, its TLS and SASL). */
  readonly connector: InterBrokerConnector;
  /** This broker's own append as leader (appendMarkerAsLeader with its ports). */
  appendLocally(topic: string, partition: number, batch: Buffer): Promise<number>;
  /** request.timeout.ms: how long a leader may take to answer (plus INTER_BROKER_ANSWER_GRACE_MS). */
  readonly requestTimeoutMs: number;
  readonly log?: (message: string) => void;
}

export class TransactionMarkerSender {
  /** Open (or opening) connections to leader brokers, by broker id. */
  private readonly connections = new Map<number, Promise<KafkaConnection>>();
  private closed = false;

  constructor(private readonly options: TransactionMarkerSenderOptions) {}

  /**
   * Writes the markers into every partition on its leader; resolves once each acknowledged it
   * (or its topic left the view), rejects when `signal` aborts first or a leader refuses for good.
   */
  async write(markers: TransactionMarkers, signal: AbortSignal): Promise<void> {
    const batch = await buildMarkerBatch(markers, Date.now());
    let pending = [...markers.partitions];
    let reported = false;
    let backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
    for (;;) {
      signal.throwIfAborted();
      if (this.closed) throw new Error('the transaction marker sender is closed');
      // A deleted topic takes no marker: its records are gone with it.
      pending = pending.filter(({ topic, partition }) => {
        const partitions = this.options.view.topics().get(topic)?.partitions.length ?? 0;
        return partition < partitions;
      });
      if (pending.length === 0) return;
      const byLeader = new Map<number, MarkerPartition[]>();
      for (const target of pending) {
        const leader =
          this.options.view.partitionState(target.topic, target.partition)?.leader ?? NO_LEADER;
        const list = byLeader.get(leader);
        if (list === undefined) byLeader.set(leader, [target]);
        else list.push(target);
      }
      const answers = await Promise.all(
        [...byLeader].map(async ([leader, targets]) => {
          const codes =
            leader === NO_LEADER
              ? targets.map(() => ErrorCode.LEADER_NOT_AVAILABLE as number)
              : leader === this.options.brokerId
                ? await Promise.all(
                    targets.map((target) =>
                      this.options.appendLocally(
                        target.topic,
                        target.partition,
                        Buffer.from(batch),
                      ),
                    ),
                  )
                : await this.send(leader, markers, targets, signal);
          return targets.map((target, index) => ({ target, leader, errorCode: codes[index]! }));
        }),
      );
      const retry: MarkerPartition[] = [];
      for (const { target, leader, errorCode } of answers.flat()) {
        if (errorCode === ErrorCode.NONE) continue;
        const where = `${target.topic}-${target.partition} (leader ${leader})`;
        if (!RETRIABLE.has(errorCode)) {
          throw new ClusterError(
            ClusterErrorCode.MARKER_REFUSED,
            `${where} refused the ${markers.committed ? 'COMMIT' : 'ABORT'} marker of producer ${markers.producerId} epoch ${markers.producerEpoch}: ${errorName(errorCode)}`,
            { kafkaErrorCode: errorCode },
          );
        }
        // Once per write: a leader failover answers the same for seconds.
        if (!reported) {
          reported = true;
          this.options.log?.(
            `transaction marker for producer ${markers.producerId} not yet written to ${where}: ${errorName(errorCode)}; retrying`,
          );
        }
        retry.push(target);
      }
      pending = retry;
      if (pending.length === 0) return;
      await backoff(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, INTER_BROKER_RETRY_BACKOFF_MAX_MS);
    }
  }

  /** Closes the connections; writes under way reject at their next attempt. */
  close(): void {
    this.closed = true;
    for (const connection of this.connections.values())
      connection.then((open) => open.close()).catch(() => undefined);
    this.connections.clear();
  }

  /** One WriteTxnMarkers to `leader`; one error code per target (NETWORK_EXCEPTION when lost). */
  private async send(
    leader: number,
    markers: TransactionMarkers,
    targets: readonly MarkerPartition[],
    signal: AbortSignal,
  ): Promise<number[]> {
    if (!this.options.view.brokers().has(leader))
      return targets.map(() => ErrorCode.LEADER_NOT_AVAILABLE);
    const key = leader;
    let connecting = this.connections.get(key);
    if (connecting === undefined) {
      connecting = this.options.connector.open(
        leader,
        `brook-transaction-markers-${this.options.brokerId}`,
      );
      this.connections.set(key, connecting);
    }
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of targets) {
      const list = topics.get(topic);
      if (list === undefined) topics.set(topic, [partition]);
      else list.push(partition);
    }
    const { signal: answered, clear } = deadline(
      this.options.requestTimeoutMs + INTER_BROKER_ANSWER_GRACE_MS,
      signal,
    );
    try {
      const connection = await untilAborted(connecting, answered);
      const response = await untilAborted(
        connection.request<WriteTxnMarkersResponse>(
          ApiKey.WriteTxnMarkers,
          WRITE_TXN_MARKERS_VERSION,
          {
            markers: [
              {
                producerId: BigInt(markers.producerId),
                producerEpoch: markers.producerEpoch,
                transactionResult: markers.committed,
                coordinatorEpoch: markers.coordinatorEpoch,
                topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
              },
            ],
          },
        ),
        answered,
      );
      const codes = new Map<string, number>();
      for (const topic of response.markers[0]?.topics ?? [])
        for (const answer of topic.partitions)
          codes.set(`${topic.name}\u0000${answer.partitionIndex}`, answer.errorCode);
      return targets.map(
        ({ topic, partition }) =>
          codes.get(`${topic}\u0000${partition}`) ?? ErrorCode.NETWORK_EXCEPTION,
      );
    } catch (error) {
      signal.throwIfAborted();
      // The connection may be broken or out of step: the next attempt opens a new one.
      if (this.connections.get(key) === connecting) this.connections.delete(key);
      connecting.then((open) => open.close()).catch(() => undefined);
      this.options.log?.(`WriteTxnMarkers to broker ${leader} failed: ${String(error)}`);
      return targets.map(() => ErrorCode.NETWORK_EXCEPTION);
    } finally {
      clear();
    }
  }
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function backoff(ms: number, signal: AbortSignal): Promise<void> {
  return untilAborted(new Promise<void>((resolve) => setTimeout(resolve, ms)), signal);
}
