// The inter-broker Fetches of every remote source partition of this broker's subscriptions (cluster
// mode, remote-source-partition.ts), pooled by leader broker: whatever the number of subscriptions
// and partitions, this broker holds at most two connections to each other broker for them.
//
//   watch connection: one parked Fetch (read_committed, up to 500 ms) naming every watched
//                     partition that broker leads, each at its last stable offset; the answer's
//                     offsets go to every source of each partition, which then reads
//   read connection:  the sources' reads (answered at once), pipelined
//
// Two, not one: a leader answers a connection's requests in order, so a read behind a parked
// watch would wait for it. The leader of a partition is the view's, asked again before every
// watch, so a partition whose leadership moves is watched on its new leader's connection from
// the next round (a view change starts that broker's round if none runs). A lost connection is
// opened again after a backoff (100 ms doubling to 1 s); so is a round in which a leader refused
// a partition (NOT_LEADER_OR_FOLLOWER until the view catches up).
//
// Owned by the broker in cluster mode; sources register while their subscription lives (a
// source unwatches as it closes). Closed after the engine: a closed pool reads nothing.

import type { KafkaConnection } from '../client/kafka-connection.js';
import {
  INTER_BROKER_RETRY_BACKOFF_MAX_MS,
  INTER_BROKER_RETRY_BACKOFF_MS,
  type InterBrokerConnector,
} from '../cluster/inter-broker-connection.js';
import { type ClusterView, NO_LEADER } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { FetchResponse, FetchResponsePartitionData } from '../protocol/generated/fetch.js';

/** Fetch v12: topic names, flexible; Brook serves 4-17. */
const FETCH_VERSION = 12;
const WATCH_WAIT_MS = 500;
const READ_COMMITTED = 1;

/** A source partition as the pool sees it. */
export interface WatchedPartition {
  readonly topic: string;
  readonly partitionIndex: number;
  /** Where its watch parks: its last stable offset (at least its log start offset). */
  watchOffset(): number;
  /** A leader's answer for the partition (no error, or OFFSET_OUT_OF_RANGE): its offsets. */
  takeOffsets(answer: FetchResponsePartitionData): void;
}

export interface RemoteFetchPoolOptions {
  readonly brokerId: number;
  readonly view: ClusterView;
  readonly connector: InterBrokerConnector;
}

type Purpose = 'watch' | 'read';

export class RemoteFetchPool {
  /** By `${topic}\0${partition}`: every source of that partition (one per subscription). */
  private readonly watched = new Map<string, Set<WatchedPartition>>();
  private readonly connections = new Map<string, Promise<KafkaConnection>>();
  /** The leader brokers whose watch round is running. */
  private readonly watching = new Set<number>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly options: RemoteFetchPoolOptions) {
    this.unsubscribe = options.view.subscribe((change) => {
      if (change.kind === 'partition' && this.watched.has(keyOf(change.topic, change.partition)))
        this.startRounds();
    });
  }

  /** Watches the source's partition until the returned function is called. */
  watch(source: WatchedPartition): () => void {
    const key = keyOf(source.topic, source.partitionIndex);
    let sources = this.watched.get(key);
    if (sources === undefined) {
      sources = new Set();
      this.watched.set(key, sources);
    }
    sources.add(source);
    this.startRounds();
    return () => {
      const current = this.watched.get(key);
      current?.delete(source);
      if (current?.size === 0) this.watched.delete(key);
    };
  }

  /**
   * One Fetch of the partition from its current leader, answered at once; undefined without a
   * leader. Rejects when the connection is lost (it is opened again on the next call).
   */
  async read(
    topic: string,
    partitionIndex: number,
    offset: number,
    maxBytes: number,
  ): Promise<FetchResponsePartitionData | undefined> {
    const leader = this.options.view.partitionState(topic, partitionIndex)?.leader ?? NO_LEADER;
    if (leader === NO_LEADER || this.closed) return undefined;
    const response = await this.fetch(leader, 'read', 0, [
      { topic, partitionIndex, offset, maxBytes },
    ]);
    return response.responses[0]?.partitions[0];
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.watched.clear();
    for (const key of [...this.connections.keys()]) this.drop(key);
  }

  /** Starts a watch round for each leader of a watched partition that has none running. */
  private startRounds(): void {
    if (this.closed) return;
    for (const leader of this.partitionsByLeader().keys()) {
      if (this.watching.has(leader)) continue;
      this.watching.add(leader);
      // It leaves `watching` itself, in the tick it finds nothing left to watch; closed, the
      // pool starts no more rounds.
      void this.watchRounds(leader);
    }
  }

  /** The watched partitions by the broker the view names their leader (none: left out). */
  private partitionsByLeader(): Map<number, Array<{ topic: string; partitionIndex: number }>> {
    const byLeader = new Map<number, Array<{ topic: string; partitionIndex: number }>>();
    for (const sources of this.watched.values()) {
      const [first] = [...sources];
      if (first === undefined) continue;
      const { topic, partitionIndex } = first;
      const leader = this.options.view.partitionState(topic, partitionIndex)?.leader ?? NO_LEADER;
      if (leader === NO_LEADER) continue;
      const partitions = byLeader.get(leader) ?? [];
      partitions.push({ topic, partitionIndex });
      byLeader.set(leader, partitions);
    }
    return byLeader;
  }

  /** Parks a Fetch of every watched partition `leader` leads, round after round, while any. */
  private async watchRounds(leader: number): Promise<void> {
    let backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
    while (!this.closed) {
      const partitions = this.partitionsByLeader().get(leader);
      if (partitions === undefined) {
        // At once, in the tick that found none: a view change right after must start new rounds.
        this.watching.delete(leader);
        return;
      }
      let refused = false;
      try {
        const response = await this.fetch(
          leader,
          'watch',
          WATCH_WAIT_MS,
          partitions.map(({ topic, partitionIndex }) => ({
            topic,
            partitionIndex,
            // The sources of one partition saw the same answers; a newer one may lag behind.
            offset: Math.min(
              ...[...(this.watched.get(keyOf(topic, partitionIndex)) ?? [])].map((source) =>
                source.watchOffset(),
              ),
            ),
            maxBytes: 1,
          })),
        );
        for (const topicAnswer of response.responses) {
          for (const answer of topicAnswer.partitions) {
            const usable =
              answer.errorCode === ErrorCode.NONE ||
              answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE;
            if (!usable) {
              refused = true;
              continue;
            }
            const sources = this.watched.get(keyOf(topicAnswer.topic, answer.partitionIndex));
            for (const source of [...(sources ?? [])]) source.takeOffsets(answer);
          }
        }
      } catch {
        refused = true;
      }
      if (this.closed) return;
      // Partitions whose leadership moved are someone else's round from now on.
      this.startRounds();
      if (refused) {
        await new Promise((resolve) => setTimeout(resolve, backoffMs).unref());
        backoffMs = Math.min(backoffMs * 2, INTER_BROKER_RETRY_BACKOFF_MAX_MS);
      } else {
        backoffMs = INTER_BROKER_RETRY_BACKOFF_MS;
      }
    }
  }

  private async fetch(
    leader: number,
    purpose: Purpose,
    maxWaitMs: number,
    partitions: ReadonlyArray<{
      topic: string;
      partitionIndex: number;
      offset: number;
      maxBytes: number;
    }>,
  ): Promise<FetchResponse> {
    const key = `${purpose}:${leader}`;
    let connection = this.connections.get(key);
    if (connection === undefined) {
      connection = this.options.connector.open(leader, `brook-share-${this.options.brokerId}`);
      this.connections.set(key, connection);
    }
    const byTopic = new Map<string, typeof partitions>();
    for (const partition of partitions)
      byTopic.set(partition.topic, [...(byTopic.get(partition.topic) ?? []), partition]);
    try {
      const open = await connection;
      return await open.request<FetchResponse>(ApiKey.Fetch, FETCH_VERSION, {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes: partitions.reduce((sum, partition) => sum + partition.maxBytes, 0),
        isolationLevel: READ_COMMITTED,
        topics: [...byTopic].map(([topic, ofTopic]) => ({
          topic,
          partitions: ofTopic.map(({ partitionIndex, offset, maxBytes }) => ({
            partition: partitionIndex,
            currentLeaderEpoch: -1,
            fetchOffset: BigInt(offset),
            logStartOffset: -1n,
            partitionMaxBytes: maxBytes,
          })),
        })),
      });
    } catch (error) {
      if (this.connections.get(key) === connection) this.drop(key);
      throw error;
    }
  }

  private drop(key: string): void {
    this.connections
      .get(key)
      ?.then((open) => open.close())
      .catch(() => undefined);
    this.connections.delete(key);
  }
}

function keyOf(topic: string, partitionIndex: number): string {
  return `${topic}\u0000${partitionIndex}`;
}
