// Replication on this broker, driven by a ClusterView: for each partition the view places here,
// lead it (Partition.becomeLeader with a fresh ReplicaState for the view's ISR) or follow its
// leader with a fetch loop over Kafka's own Fetch:
//
//   ┌─► Fetch(replicaId = this broker, fetchOffset = flushed log end, currentLeaderEpoch)
//   │     └─► appendAsFollower(batches as bytes) ─► group commit fsync ─► leader's high watermark
//   └──────────────────────────────────────────────────────────────────┘
//
// The next fetch starts only after the previous batches were flushed, so the offset a follower
// reports is always on its disk (the leader counts it towards the high watermark). When the
// view's leader epoch for a partition moves, the loop asks the new leader OffsetForLeaderEpoch
// for the latest epoch in its own log and truncates the divergent tail before fetching again
// (KIP-101/279).
//
// Owned by the broker (or a test). One loop per followed partition, each with its own
// connection; a loop's awaits interleave only with other loops, which touch other partitions.
// Applying the view to one partition is serialized per partition (`schedule`), so two view
// changes arriving together never start two loops for it. A partition whose log is not open yet
// (the topic mirror opens it after the view changed) is applied again by `refresh`, which the
// broker calls after each mirror pass.

import { KafkaConnection } from '../client/kafka-connection.js';
import { type ClusterView, NO_LEADER, type PartitionState } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { FetchResponse } from '../protocol/generated/fetch.js';
import type { OffsetForLeaderEpochResponse } from '../protocol/generated/offset-for-leader-epoch.js';
import type { Partition } from '../replica/partition.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { ReplicaState } from '../replica/replica-state.js';

/** Fetch v12: the last version with topic names and ReplicaId in the request body. */
const FETCH_VERSION = 12;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 4;
/** How long a leader parks a follower's fetch with nothing new (Kafka: replica.fetch.wait.max.ms). */
const FETCH_WAIT_MAX_MS = 500;
/** replica.fetch.max.bytes / replica.fetch.response.max.bytes defaults. */
const FETCH_PARTITION_BYTES_MAX = 1024 * 1024;
const FETCH_RESPONSE_BYTES_MAX = 10 * 1024 * 1024;
/** After an error answer or a lost connection, before trying again (replica.fetch.backoff.ms). */
const FETCH_BACKOFF_MS = 100;

export interface ReplicaFetcherOptions {
  /** This broker's id (the ReplicaId of its fetches). */
  readonly brokerId: number;
  readonly view: ClusterView;
  readonly replicas: ReplicaManager;
  readonly log?: (message: string, error?: unknown) => void;
}

interface FollowLoop {
  readonly topic: string;
  readonly partitionIndex: number;
  leaderEpoch: number;
  stopped: boolean;
  connection: KafkaConnection | null;
  done: Promise<void>;
}

export class ReplicaFetcher {
  private readonly loops = new Map<string, FollowLoop>();
  private unsubscribe: (() => void) | null = null;
  private pausedUntil: Promise<void> | null = null;
  private resumePaused: (() => void) | null = null;
  private stopping = false;
  /** The pending or running application of the view per partition, chained. */
  private readonly applying = new Map<string, Promise<void>>();

  constructor(private readonly options: ReplicaFetcherOptions) {}

  /** Applies the view to every partition it places here, and again after each change. */
  async start(): Promise<void> {
    this.unsubscribe = this.options.view.subscribe((change) => {
      if (change.kind === 'partition') void this.schedule(change.topic, change.partition);
      // A leader's endpoint arrives with its registration; a new topic with its partitions.
      else if (change.kind === 'brokers' || change.kind === 'topic') void this.refresh();
    });
    await this.refresh();
  }

  /** Applies the view to every partition again (after the topic mirror opened new logs). */
  async refresh(): Promise<void> {
    const applied: Promise<void>[] = [];
    for (const topic of this.options.view.topics().values())
      for (let index = 0; index < topic.partitions.length; index++)
        applied.push(this.schedule(topic.name, index));
    await Promise.all(applied);
  }

  private schedule(topic: string, partitionIndex: number): Promise<void> {
    const key = `${topic}-${partitionIndex}`;
    const next = (this.applying.get(key) ?? Promise.resolve())
      .then(() => this.apply(topic, partitionIndex))
      .catch((error: unknown) => this.options.log?.(`applying the view to ${key} failed`, error));
    this.applying.set(key, next);
    void next.then(() => {
      if (this.applying.get(key) === next) this.applying.delete(key);
    });
    return next;
  }

  /** Holds every fetch loop before its next fetch (a stalled follower, for tests and operations). */
  pause(): void {
    if (this.pausedUntil !== null) return;
    this.pausedUntil = new Promise((resolve) => (this.resumePaused = resolve));
  }

  resume(): void {
    this.resumePaused?.();
    this.pausedUntil = null;
    this.resumePaused = null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.resume();
    // An application under way may still start a loop; let it finish first (nothing new starts).
    await Promise.all(this.applying.values());
    const loops = [...this.loops.values()];
    this.loops.clear();
    for (const loop of loops) this.stopLoop(loop);
    await Promise.all(loops.map((loop) => loop.done));
  }

  private async apply(topic: string, partitionIndex: number): Promise<void> {
    if (this.stopping) return;
    const state = this.options.view.partitionState(topic, partitionIndex);
    const partition = this.options.replicas.partition(topic, partitionIndex);
    const key = `${topic}-${partitionIndex}`;
    const loop = this.loops.get(key);
    if (state === undefined || partition === undefined) return;
    const brokerId = this.options.brokerId;
    if (state.leader === brokerId) {
      if (loop) {
        this.loops.delete(key);
        this.stopLoop(loop);
        await loop.done;
      }
      if (partition.replicaState !== null && partition.leaderEpoch === state.leaderEpoch)
        partition.updateReplicaAssignment(state);
      else
        await partition.becomeLeader(
          state.leaderEpoch,
          new ReplicaState(brokerId, state, partition.highWatermark),
        );
      return;
    }
    if (!state.replicas.includes(brokerId) || state.leader === NO_LEADER) {
      // Offline (no leader): nothing to follow until the controller names one.
      if (state.replicas.includes(brokerId) && partition.replicaState !== null)
        partition.becomeFollower(state.leaderEpoch);
      if (loop) {
        this.loops.delete(key);
        this.stopLoop(loop);
      }
      return;
    }
    if (loop && loop.leaderEpoch === state.leaderEpoch) return;
    if (loop) {
      this.loops.delete(key);
      this.stopLoop(loop);
      await loop.done;
    }
    const follow: FollowLoop = {
      topic,
      partitionIndex,
      leaderEpoch: state.leaderEpoch,
      stopped: false,
      connection: null,
      done: Promise.resolve(),
    };
    this.loops.set(key, follow);
    partition.becomeFollower(state.leaderEpoch);
    follow.done = this.follow(follow, partition, state);
  }

  private stopLoop(loop: FollowLoop): void {
    loop.stopped = true;
    loop.connection?.close();
  }

  private async follow(
    loop: FollowLoop,
    partition: Partition,
    state: PartitionState,
  ): Promise<void> {
    let truncated = false;
    let failures = 0;
    while (!loop.stopped) {
      try {
        if (loop.connection === null) loop.connection = await this.connect(state.leader);
        if (!truncated) {
          await this.truncateDivergentTail(loop, partition, loop.connection);
          truncated = true;
        }
        if (this.pausedUntil !== null) await this.pausedUntil;
        if (loop.stopped) break;
        await this.fetchOnce(loop, partition, loop.connection);
        failures = 0;
      } catch (error) {
        if (loop.stopped) break;
        // The first failure of a streak is told; the retries while a leader is away are not.
        if (++failures === 1)
          this.options.log?.(`replica fetch of ${loop.topic}-${loop.partitionIndex} failed`, error);
        loop.connection?.close();
        loop.connection = null;
        await delay(FETCH_BACKOFF_MS);
      }
    }
    loop.connection?.close();
  }

  private async connect(leader: number): Promise<KafkaConnection> {
    const endpoint = this.options.view.brokers().get(leader);
    if (endpoint === undefined) throw new Error(`leader ${leader} is not a live broker`);
    return KafkaConnection.open(`${endpoint.host}:${endpoint.port}`, {
      clientId: `brook-replica-fetcher-${this.options.brokerId}`,
    });
  }

  /**
   * KIP-279: asks the leader where our latest epoch ends in its log and cuts ours there (never
   * above our own end); an epoch it does not know (-1) leaves the log as it is.
   */
  private async truncateDivergentTail(
    loop: FollowLoop,
    partition: Partition,
    connection: KafkaConnection,
  ): Promise<void> {
    const latestEpoch = partition.log.latestLeaderEpoch;
    if (latestEpoch < 0 || partition.logEndOffset === 0) return;
    const response = await connection.request<OffsetForLeaderEpochResponse>(
      ApiKey.OffsetForLeaderEpoch,
      OFFSET_FOR_LEADER_EPOCH_VERSION,
      {
        replicaId: this.options.brokerId,
        topics: [
          {
            topic: loop.topic,
            partitions: [
              {
                partition: loop.partitionIndex,
                currentLeaderEpoch: loop.leaderEpoch,
                leaderEpoch: latestEpoch,
              },
            ],
          },
        ],
      },
    );
    const answer = response.topics[0]?.partitions[0];
    if (answer === undefined || answer.errorCode !== ErrorCode.NONE)
      throw new Error(
        `OffsetForLeaderEpoch of ${loop.topic}-${loop.partitionIndex} answered error ${answer?.errorCode}`,
      );
    const endOffset = Number(answer.endOffset);
    if (answer.leaderEpoch < 0 || endOffset < 0) return;
    if (endOffset < partition.logEndOffset) await partition.truncateTo(endOffset);
  }

  private async fetchOnce(
    loop: FollowLoop,
    partition: Partition,
    connection: KafkaConnection,
  ): Promise<void> {
    // Brook's rule: ask only from what is on our disk, so the leader counts only flushed records.
    await partition.log.waitForFlush(partition.logEndOffset);
    const fetchOffset = partition.logEndOffset;
    const response = await connection.request<FetchResponse>(ApiKey.Fetch, FETCH_VERSION, {
      replicaId: this.options.brokerId,
      maxWaitMs: FETCH_WAIT_MAX_MS,
      minBytes: 1,
      maxBytes: FETCH_RESPONSE_BYTES_MAX,
      isolationLevel: 0,
      topics: [
        {
          topic: loop.topic,
          partitions: [
            {
              partition: loop.partitionIndex,
              currentLeaderEpoch: loop.leaderEpoch,
              fetchOffset: BigInt(fetchOffset),
              logStartOffset: BigInt(partition.logStartOffset),
              partitionMaxBytes: FETCH_PARTITION_BYTES_MAX,
            },
          ],
        },
      ],
    });
    if (loop.stopped) return;
    const answer = response.responses[0]?.partitions[0];
    if (response.errorCode !== ErrorCode.NONE || answer === undefined)
      throw new Error(`Fetch answered error ${response.errorCode}`);
    if (answer.errorCode !== ErrorCode.NONE) {
      // A leader in another epoch or no leader at all: wait for the view to catch up.
      await delay(FETCH_BACKOFF_MS);
      return;
    }
    if (
      answer.records !== null &&
      answer.records.length > 0 &&
      partition.logEndOffset === fetchOffset
    ) {
      await partition.appendAsFollower(answer.records).acknowledged;
      await partition.log.waitForFlush(partition.logEndOffset);
    }
    partition.updateLeaderHighWatermark(Number(answer.highWatermark));
  }
}

/** A backoff; not unref'd, since `stop` awaits the loops and they may be in one. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
