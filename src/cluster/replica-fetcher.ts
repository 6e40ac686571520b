// Replication on this broker, driven by a ClusterView: for each partition the view places here,
// lead it (Partition.becomeLeader with a fresh ReplicaState for the view's ISR) or follow its
// leader over Kafka's own Fetch, one session per leader broker:
//
//   leader 2 ─ one connection, one loop ─┐
//   ┌─► Fetch(replicaId = this broker; per partition: fetchOffset = flushed log end, currentLeaderEpoch)
//   │     └─► per partition: appendAsFollower(batches as bytes) ─► group commit fsync
//   └──────────────────────────────────────────────┘     (the leader counts it towards its high watermark)
//
// The next fetch starts only after the previous batches were flushed, so the offset a follower
// reports is always on its disk. When the view's leader epoch for a partition moves, the
// partition leaves its session and joins the new leader's untruncated: before it is fetched the
// session asks the leader OffsetForLeaderEpoch for the latest epoch in the partition's log and
// truncates the divergent tail (KIP-101/279). A partition the leader answers with an error (it
// has not taken up the leadership yet, or fenced us) sits out FETCH_BACKOFF_MS; the others go on.
//
// Owned by the broker (or a test). Applying the view to one partition is serialized per partition
// (`schedule`), so two view changes arriving together never follow it twice. A session's awaits
// interleave with applications of the view: a partition taken out of a session (`unfollow`) is
// not appended to or truncated afterwards (each step checks it is still followed, and `unfollow`
// waits for the step under way), so becoming leader never races a follower append. A partition
// whose log is not open yet (the topic mirror opens it after the view changed) is applied again
// by `refresh`, which the broker calls after each mirror pass. An application that fails (the
// new leader epoch could not be written to disk) is tried again after APPLY_RETRY_MS. A partition
// whose log is unavailable (its directory offline, or a write or fsync failed) is neither led nor
// followed: the broker reports it offline and the controller moves it (cluster/README.md); the
// broker calls `refresh` when a log fails.

import { KafkaConnection } from '../client/kafka-connection.js';
import { type ClusterView, NO_LEADER } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { FetchResponse } from '../protocol/generated/fetch.js';
import type { OffsetForLeaderEpochResponse } from '../protocol/generated/offset-for-leader-epoch.js';
import type { Partition } from '../replica/partition.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { ReplicaState } from '../replica/replica-state.js';
import type { InterBrokerConnector } from './inter-broker-connection.js';

/** Fetch v12: the last version with topic names and ReplicaId in the request body. */
const FETCH_VERSION = 12;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 4;
/** How long a leader parks a follower's fetch with nothing new (Kafka: replica.fetch.wait.max.ms). */
export const FETCH_WAIT_MAX_MS = 500;
/** replica.fetch.max.bytes / replica.fetch.response.max.bytes defaults. */
const FETCH_PARTITION_BYTES_MAX = 1024 * 1024;
const FETCH_RESPONSE_BYTES_MAX = 10 * 1024 * 1024;
/** After an error answer or a lost connection, before trying again (replica.fetch.backoff.ms). */
const FETCH_BACKOFF_MS = 100;
/**
 * After applying the view to a partition failed (its leader epoch could not be written to disk,
 * say), before applying it again: a leadership etcd gives this broker is taken up as soon as the
 * disk lets it, not at the next change of the view, which may never come.
 */
export const APPLY_RETRY_MS = 1_000;

export interface ReplicaFetcherOptions {
  /** This broker's id (the ReplicaId of its fetches). */
  readonly brokerId: number;
  readonly view: ClusterView;
  readonly replicas: ReplicaManager;
  /** How to reach a leader (inter-broker listener and security); plaintext to its address when absent. */
  readonly connector?: InterBrokerConnector;
  readonly log?: (message: string, error?: unknown) => void;
}

/** One partition this broker follows, in one leader epoch. */
interface Followed {
  readonly key: string;
  readonly topic: string;
  readonly partitionIndex: number;
  readonly partition: Partition;
  readonly leaderEpoch: number;
  /** OffsetForLeaderEpoch answered and the divergent tail cut: it may be fetched. */
  truncated: boolean;
  /** Not asked of the leader before this time (it answered an error). */
  retryAtMs: number;
  /** The truncation or append under way for it, which `unfollow` waits for. */
  work: Promise<void>;
}

/** Everything followed from one leader broker: one connection, one loop. */
interface LeaderSession {
  readonly leaderId: number;
  readonly partitions: Map<string, Followed>;
  /** Partitions in the request under way: unfollowing one closes the connection to end it. */
  readonly inFlight: Set<string>;
  connection: KafkaConnection | null;
  /** The connection was closed by `unfollow` to end a parked fetch: reconnect, nothing failed. */
  interrupted: boolean;
  stopped: boolean;
  /** Ends an idle wait early (a partition joined, or the session stops). */
  wake: (() => void) | null;
  done: Promise<void>;
}

export class ReplicaFetcher {
  private readonly sessions = new Map<number, LeaderSession>();
  /** Which session follows each partition. */
  private readonly followedBy = new Map<string, LeaderSession>();
  private unsubscribe: (() => void) | null = null;
  private pausedUntil: Promise<void> | null = null;
  private resumePaused: (() => void) | null = null;
  private stopping = false;
  /** The pending or running application of the view per partition, chained. */
  private readonly applying = new Map<string, Promise<void>>();
  /** Partitions whose last application failed, applied again when the timer fires. */
  private readonly retries = new Map<string, NodeJS.Timeout>();

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
    // Partitions of deleted topics stop being followed.
    for (const key of [...this.followedBy.keys()]) {
      const followed = this.followedBy.get(key)?.partitions.get(key);
      if (followed !== undefined && !this.options.view.topics().has(followed.topic))
        applied.push(this.schedule(followed.topic, followed.partitionIndex));
    }
    await Promise.all(applied);
  }

  /** Each leader broker followed, and whether its connection is up (for the metrics). */
  leaderConnections(): Array<{ leaderId: number; connected: boolean }> {
    return [...this.sessions.values()].map((session) => ({
      leaderId: session.leaderId,
      connected: session.connection !== null,
    }));
  }

  /** Holds every session before its next fetch (a stalled follower, for tests and operations). */
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
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    this.resume();
    // An application under way may still follow a partition; let it finish first.
    await Promise.all(this.applying.values());
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    this.followedBy.clear();
    for (const session of sessions) this.stopSession(session);
    await Promise.all(sessions.map((session) => session.done));
  }

  private schedule(topic: string, partitionIndex: number): Promise<void> {
    const key = `${topic}-${partitionIndex}`;
    clearTimeout(this.retries.get(key));
    this.retries.delete(key);
    const next = (this.applying.get(key) ?? Promise.resolve())
      .then(() => this.apply(topic, partitionIndex))
      .catch((error: unknown) => {
        this.options.log?.(
          `applying the view to ${key} failed; trying again in ${APPLY_RETRY_MS} ms`,
          error,
        );
        if (this.stopping || this.retries.has(key)) return;
        const timer = setTimeout(() => {
          this.retries.delete(key);
          void this.schedule(topic, partitionIndex);
        }, APPLY_RETRY_MS);
        timer.unref();
        this.retries.set(key, timer);
      });
    this.applying.set(key, next);
    void next.then(() => {
      if (this.applying.get(key) === next) this.applying.delete(key);
    });
    return next;
  }

  private async apply(topic: string, partitionIndex: number): Promise<void> {
    if (this.stopping) return;
    const key = `${topic}-${partitionIndex}`;
    const state = this.options.view.partitionState(topic, partitionIndex);
    const partition = this.options.replicas.partition(topic, partitionIndex);
    if (state === undefined || partition === undefined) {
      await this.unfollow(key);
      return;
    }
    const brokerId = this.options.brokerId;
    // Its log is offline (its directory could not be opened) or failed: nothing to follow into
    // it. The controller, told by this broker's registration, elects another leader and takes it
    // out of the ISR; stepping down here ends the term, so produces waiting on it are answered.
    if (partition.log.unavailable) {
      await this.unfollow(key);
      if (state.leader !== brokerId && partition.replicaState !== null)
        partition.becomeFollower(state.leaderEpoch);
      return;
    }
    if (state.leader === brokerId) {
      await this.unfollow(key);
      if (partition.replicaState !== null && partition.leaderEpoch === state.leaderEpoch)
        partition.updateReplicaAssignment(state);
      else
        await partition.becomeLeader(
          state.leaderEpoch,
          new ReplicaState(brokerId, state, partition.highWatermarkForNewTerm),
        );
      return;
    }
    if (!state.replicas.includes(brokerId) || state.leader === NO_LEADER) {
      await this.unfollow(key);
      // Offline (no leader): nothing to follow until the controller names one.
      if (state.replicas.includes(brokerId) && partition.replicaState !== null)
        partition.becomeFollower(state.leaderEpoch);
      return;
    }
    const session = this.followedBy.get(key);
    const current = session?.partitions.get(key);
    if (
      session?.leaderId === state.leader &&
      current?.leaderEpoch === state.leaderEpoch &&
      current.partition === partition
    )
      return;
    await this.unfollow(key);
    if (this.stopping) return;
    partition.becomeFollower(state.leaderEpoch);
    this.follow(state.leader, {
      key,
      topic,
      partitionIndex,
      partition,
      leaderEpoch: state.leaderEpoch,
      truncated: false,
      retryAtMs: 0,
      work: Promise.resolve(),
    });
  }

  private follow(leaderId: number, followed: Followed): void {
    let session = this.sessions.get(leaderId);
    if (session === undefined) {
      const started: LeaderSession = {
        leaderId,
        partitions: new Map(),
        inFlight: new Set(),
        connection: null,
        interrupted: false,
        stopped: false,
        wake: null,
        done: Promise.resolve(),
      };
      this.sessions.set(leaderId, started);
      started.done = this.run(started);
      session = started;
    }
    session.partitions.set(followed.key, followed);
    this.followedBy.set(followed.key, session);
    session.wake?.();
  }

  /** Takes a partition out of its session; resolves once nothing of the session touches it. */
  private async unfollow(key: string): Promise<void> {
    const session = this.followedBy.get(key);
    if (session === undefined) return;
    const followed = session.partitions.get(key);
    this.followedBy.delete(key);
    session.partitions.delete(key);
    // A parked fetch may hold it for FETCH_WAIT_MAX_MS: end it (the others are asked again).
    if (session.inFlight.has(key)) {
      session.interrupted = true;
      session.connection?.close();
    }
    if (session.partitions.size === 0) {
      this.sessions.delete(session.leaderId);
      this.stopSession(session);
    }
    await followed?.work.catch(() => undefined);
  }

  private stopSession(session: LeaderSession): void {
    session.stopped = true;
    session.connection?.close();
    session.wake?.();
  }

  private async run(session: LeaderSession): Promise<void> {
    let failures = 0;
    while (!session.stopped) {
      try {
        session.connection ??= await this.connect(session.leaderId);
        if (this.pausedUntil !== null) await this.pausedUntil;
        if (session.stopped) break;
        const now = Date.now();
        // A log that failed meanwhile is dropped at the next application of the view.
        const ready = [...session.partitions.values()].filter(
          (f) => f.retryAtMs <= now && !f.partition.log.unavailable,
        );
        const untruncated = ready.filter((f) => !f.truncated);
        if (untruncated.length > 0) await this.truncateDivergentTails(session, untruncated);
        const fetchable = ready.filter((f) => f.truncated);
        if (fetchable.length === 0) {
          await this.idle(session, FETCH_BACKOFF_MS);
          continue;
        }
        await this.fetchOnce(session, fetchable);
        failures = 0;
      } catch (error) {
        if (session.stopped) break;
        session.connection?.close();
        session.connection = null;
        if (session.interrupted) {
          session.interrupted = false;
          continue;
        }
        // The first failure of a streak is told; the retries while a leader is away are not.
        if (++failures === 1)
          this.options.log?.(`replica fetch from broker ${session.leaderId} failed`, error);
        await this.idle(session, FETCH_BACKOFF_MS);
      }
    }
    session.connection?.close();
  }

  /** Waits `ms`, or less if a partition joins or the session stops. Not unref'd: stop awaits it. */
  private idle(session: LeaderSession, ms: number): Promise<void> {
    if (session.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        session.wake = null;
        resolve();
      }
      session.wake = finish;
    });
  }

  private async connect(leader: number): Promise<KafkaConnection> {
    const clientId = `brook-replica-fetcher-${this.options.brokerId}`;
    if (this.options.connector !== undefined) return this.options.connector.open(leader, clientId);
    const endpoint = this.options.view.brokers().get(leader);
    if (endpoint === undefined) throw new Error(`leader ${leader} is not a live broker`);
    return KafkaConnection.open(`${endpoint.host}:${endpoint.port}`, { clientId });
  }

  /**
   * KIP-279: asks the leader where each partition's latest epoch ends in its log and cuts ours
   * there (never above our own end); an epoch it does not know (-1) leaves the log as it is.
   */
  private async truncateDivergentTails(
    session: LeaderSession,
    partitions: readonly Followed[],
  ): Promise<void> {
    const asked = partitions.filter((followed) => {
      const empty =
        followed.partition.log.latestLeaderEpoch < 0 || followed.partition.logEndOffset === 0;
      if (empty) followed.truncated = true;
      return !empty;
    });
    if (asked.length === 0) return;
    const response = await this.request<OffsetForLeaderEpochResponse>(
      session,
      asked,
      ApiKey.OffsetForLeaderEpoch,
      OFFSET_FOR_LEADER_EPOCH_VERSION,
      {
        replicaId: this.options.brokerId,
        topics: byTopic(asked).map(([topic, followed]) => ({
          topic,
          partitions: followed.map((f) => ({
            partition: f.partitionIndex,
            currentLeaderEpoch: f.leaderEpoch,
            leaderEpoch: f.partition.log.latestLeaderEpoch,
          })),
        })),
      },
    );
    const work: Promise<void>[] = [];
    for (const topic of response.topics) {
      for (const answer of topic.partitions) {
        const followed = this.stillFollowed(session, `${topic.topic}-${answer.partition}`, asked);
        if (followed === undefined) continue;
        if (answer.errorCode !== ErrorCode.NONE) {
          followed.retryAtMs = Date.now() + FETCH_BACKOFF_MS;
          continue;
        }
        const endOffset = Number(answer.endOffset);
        if (
          answer.leaderEpoch < 0 ||
          endOffset < 0 ||
          endOffset >= followed.partition.logEndOffset
        ) {
          followed.truncated = true;
          continue;
        }
        followed.work = followed.partition.truncateTo(endOffset).then(() => {
          followed.truncated = true;
        });
        work.push(followed.work);
      }
    }
    await Promise.all(work);
  }

  private async fetchOnce(session: LeaderSession, partitions: readonly Followed[]): Promise<void> {
    // Brook's rule: ask only from what is on our disk, so the leader counts only flushed records.
    await Promise.all(
      partitions.map((f) => f.partition.log.waitForFlush(f.partition.logEndOffset)),
    );
    const fetchOffsets = new Map(partitions.map((f) => [f.key, f.partition.logEndOffset]));
    const response = await this.request<FetchResponse>(
      session,
      partitions,
      ApiKey.Fetch,
      FETCH_VERSION,
      {
        replicaId: this.options.brokerId,
        maxWaitMs: FETCH_WAIT_MAX_MS,
        minBytes: 1,
        maxBytes: FETCH_RESPONSE_BYTES_MAX,
        isolationLevel: 0,
        topics: byTopic(partitions).map(([topic, followed]) => ({
          topic,
          partitions: followed.map((f) => ({
            partition: f.partitionIndex,
            currentLeaderEpoch: f.leaderEpoch,
            fetchOffset: BigInt(fetchOffsets.get(f.key)!),
            logStartOffset: BigInt(f.partition.logStartOffset),
            partitionMaxBytes: FETCH_PARTITION_BYTES_MAX,
          })),
        })),
      },
    );
    if (response.errorCode !== ErrorCode.NONE)
      throw new Error(`Fetch answered error ${response.errorCode}`);
    const work: Promise<void>[] = [];
    for (const topic of response.responses) {
      for (const answer of topic.partitions) {
        const key = `${topic.topic}-${answer.partitionIndex}`;
        const followed = this.stillFollowed(session, key, partitions);
        if (followed === undefined) continue;
        if (answer.errorCode !== ErrorCode.NONE) {
          // A leader in another epoch or not leading yet: wait for the view to catch up.
          followed.retryAtMs = Date.now() + FETCH_BACKOFF_MS;
          continue;
        }
        const highWatermark = Number(answer.highWatermark);
        const { partition } = followed;
        if (
          answer.records === null ||
          answer.records.length === 0 ||
          partition.logEndOffset !== fetchOffsets.get(key)
        ) {
          partition.updateLeaderHighWatermark(highWatermark);
          continue;
        }
        const appended = partition.appendAsFollower(answer.records);
        followed.work = appended.acknowledged
          .then(() => partition.log.waitForFlush(partition.logEndOffset))
          .then(() => partition.updateLeaderHighWatermark(highWatermark));
        work.push(followed.work);
      }
    }
    await Promise.all(work);
  }

  /** One request on the session's connection; unfollowing one of `partitions` meanwhile ends it. */
  private async request<Response>(
    session: LeaderSession,
    partitions: readonly Followed[],
    apiKey: number,
    apiVersion: number,
    body: unknown,
  ): Promise<Response> {
    const connection = session.connection;
    if (connection === null) throw new Error('no connection to the leader');
    for (const followed of partitions) session.inFlight.add(followed.key);
    try {
      return await connection.request<Response>(apiKey, apiVersion, body);
    } finally {
      session.inFlight.clear();
    }
  }

  /** The partition the answer is for, if the session still follows it as it did when asking. */
  private stillFollowed(
    session: LeaderSession,
    key: string,
    asked: readonly Followed[],
  ): Followed | undefined {
    const followed = session.partitions.get(key);
    return followed !== undefined && !session.stopped && asked.includes(followed)
      ? followed
      : undefined;
  }
}

/** Followed partitions grouped by topic, as Fetch and OffsetForLeaderEpoch carry them. */
function byTopic(partitions: readonly Followed[]): [string, Followed[]][] {
  const grouped = new Map<string, Followed[]>();
  for (const followed of partitions) {
    const list = grouped.get(followed.topic);
    if (list === undefined) grouped.set(followed.topic, [followed]);
    else list.push(followed);
  }
  return [...grouped];
}
