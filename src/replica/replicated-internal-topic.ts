// An internal topic (`__consumer_offsets`, `__transaction_state`) in cluster mode: a topic of the
// cluster like any other, in etcd, placed over the brokers, mirrored into each replica's logs by
// the topic sync and replicated like a data topic. This is what a coordinator appends to and
// loads from, in the shape of the coordinators' storage ports (append, readAll, isLeader,
// leaderOf); `internal-topic.ts` is the single-broker counterpart, local to the broker.
//
// Creation. The first broker asked for a coordinator (FindCoordinator, through `leaderOf`) while
// the topic is absent from the view writes it to the cluster (`createTopic`, the ClusterTopicAdmin
// path) with the topic's settings: partition count, replication factor, compaction. As in Kafka,
// the replication factor is not lowered to fit a small cluster: with fewer live brokers the
// controller refuses the placement and FindCoordinator keeps answering COORDINATOR_NOT_AVAILABLE
// until enough brokers are alive. A refused creation is tried again whenever a broker registers,
// so the topic exists once the cluster is whole even if no client asks again meanwhile (a group
// first used while a broker was down would otherwise find it missing at the next outage). One
// creation is in flight at a time; a refusal is reported once per distinct message.
//
// Appends go to this broker's replica of the partition, only while the view names this broker
// its leader, and are acknowledged as a produce with acks=all would be: durable here, and where
// the partition is replicated (the replica fetcher made it leader with followers) once the high
// watermark covers the batch, refused below min.insync.replicas. A coordinator never acknowledges
// a commit that a new leader could lose.
//
// Reads (a coordinator loading a partition) wait until this broker has mirrored the topic and
// taken up the leadership in the view's epoch (`ledHere`, from the replica fetcher), then read
// its replica whole, to the log end offset. Appends before the take-up are refused
// (COORDINATOR_NOT_AVAILABLE, which clients retry).
//
// Owned by the broker; appends are issued synchronously in call order (the storage contract).

import type { ClusterView } from '../metadata/cluster-metadata.js';
import { ErrorCode } from '../protocol/errors.js';
import { BrookError } from '../util/errors.js';
import { readWhole } from './internal-topic.js';
import type { Partition } from './partition.js';

/** A coordinator's storage over a cluster topic (the coordinators' ports ask for no more). */
export interface ReplicatedInternalTopic {
  readonly name: string;
  /** The topic's partition count in the view once it exists, else the configured one. */
  readonly partitionCount: number;
  append(partition: number, batch: Buffer, options?: { deferFlush?: boolean }): Promise<void>;
  readAll(partition: number): AsyncIterable<Buffer>;
  /** Whether the view names this broker the partition's leader. */
  isLeader(partition: number): boolean;
  /**
   * Where clients reach the partition's leader; undefined when it has none (or the topic does not
   * exist yet, in which case its creation is requested).
   */
  leaderOf(partition: number): { nodeId: number; host: string; port: number } | undefined;
}

export interface ReplicatedInternalTopicPorts {
  readonly view: ClusterView;
  readonly brokerId: number;
  /** This broker's replica of a partition, once the topic sync has opened it. */
  partition(topic: string, index: number): Partition | undefined;
  /**
   * Whether this broker has taken up the partition's leadership in `leaderEpoch` (the replica
   * fetcher made it leader, with its followers). Optional: absent means as soon as the view says
   * so (no replication running).
   */
  ledHere?(topic: string, index: number, leaderEpoch: number): boolean;
  /** Resolves once this broker has mirrored the topic from the view (its replicas' logs open). */
  whenMirrored(topic: string): Promise<void>;
  /** Writes the topic to the cluster, placed by the controller; rejects when refused. */
  createTopic(spec: {
    name: string;
    partitionCount: number;
    replicationFactor: number;
    configs: Record<string, string>;
  }): Promise<void>;
  /** The topic's effective min.insync.replicas, for appends to a replicated partition. */
  minInsyncReplicas(topic: string): number;
  onWarning(message: string): void;
}

export interface ReplicatedInternalTopicSettings {
  readonly name: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Topic configs it is created with (compaction, segment size, min.insync.replicas). */
  readonly configs: Readonly<Record<string, string>>;
  /** How long an append waits for the high watermark before it is reported failed. */
  readonly replicationTimeoutMs: number;
}

/** An append a coordinator must not acknowledge (not leader, too few in-sync replicas, timeout). */
export class CoordinatorAppendError extends BrookError {
  declare readonly kafkaErrorCode: number;

  constructor(kafkaErrorCode: number, message: string) {
    super('BROOK_COORDINATOR_APPEND', message, { kafkaErrorCode });
    this.name = 'CoordinatorAppendError';
  }
}

/** How often a load checks whether the replica fetcher has taken up the leadership. */
const TAKE_UP_POLL_MS = 10;

export function openReplicatedInternalTopic(
  ports: ReplicatedInternalTopicPorts,
  settings: ReplicatedInternalTopicSettings,
): ReplicatedInternalTopic {
  const { name } = settings;
  let creating: Promise<void> | null = null;
  let lastCreationFailure = '';
  /** Set while a requested creation has been refused; cleared once the topic exists. */
  let creationWanted = false;

  const requestCreation = (): void => {
    if (creating !== null) return;
    creating = ports
      .createTopic({
        name,
        partitionCount: settings.partitionCount,
        replicationFactor: settings.replicationFactor,
        configs: { ...settings.configs },
      })
      .then(
        () => {
          lastCreationFailure = '';
          creationWanted = false;
        },
        (error: unknown) => {
          // A concurrent creation by another broker is success; anything else is retried at the
          // next FindCoordinator or when a broker registers.
          if (ports.view.topics().has(name)) {
            creationWanted = false;
            return;
          }
          creationWanted = true;
          const message = error instanceof Error ? error.message : String(error);
          if (message !== lastCreationFailure) {
            lastCreationFailure = message;
            ports.onWarning(`creating ${name}: ${message}; FindCoordinator retries it`);
          }
        },
      )
      .finally(() => {
        creating = null;
      });
  };

  const leaderPartition = (index: number): Partition => {
    const state = ports.view.partitionState(name, index);
    if (state?.leader !== ports.brokerId) {
      throw new CoordinatorAppendError(
        ErrorCode.NOT_COORDINATOR,
        `this broker does not lead ${name}-${index}`,
      );
    }
    // Before the take-up an append would carry the old leader epoch and wait for no follower.
    if (ports.ledHere !== undefined && !ports.ledHere(name, index, state.leaderEpoch)) {
      throw new CoordinatorAppendError(
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        `this broker has not yet taken up the leadership of ${name}-${index} in epoch ${state.leaderEpoch}`,
      );
    }
    const partition = ports.partition(name, index);
    if (partition === undefined) {
      throw new CoordinatorAppendError(
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        `${name}-${index} is not open on this broker yet`,
      );
    }
    return partition;
  };

  /**
   * Waits until this broker has taken up the partition's leadership in the view's epoch, so the
   * log a load reads is the one its appends extend. Resolves false as soon as the view no longer
   * names this broker leader (the load is then overtaken by an unload).
   */
  const takenUp = async (index: number): Promise<boolean> => {
    const ledHere = ports.ledHere;
    if (ledHere === undefined) return true;
    for (;;) {
      const state = ports.view.partitionState(name, index);
      if (state?.leader !== ports.brokerId) return false;
      if (ledHere(name, index, state.leaderEpoch)) return true;
      await new Promise((resolve) => setTimeout(resolve, TAKE_UP_POLL_MS));
    }
  };

  ports.view.subscribe((change) => {
    if (change.kind !== 'brokers' || !creationWanted) return;
    if (ports.view.topics().has(name)) creationWanted = false;
    else requestCreation();
  });

  return {
    name,
    get partitionCount() {
      return ports.view.topics().get(name)?.partitions.length ?? settings.partitionCount;
    },
    append(index, batch, options) {
      let partition: Partition;
      try {
        partition = leaderPartition(index);
      } catch (error) {
        return Promise.reject(error as Error);
      }
      const replicated = partition.replicaState !== null;
      if (replicated) {
        const minInsyncReplicas = ports.minInsyncReplicas(name);
        if (partition.inSyncReplicaCount < minInsyncReplicas) {
          return Promise.reject(
            new CoordinatorAppendError(
              ErrorCode.NOT_ENOUGH_REPLICAS,
              `${name}-${index} has ${partition.inSyncReplicaCount} in-sync replicas, below min.insync.replicas=${minInsyncReplicas}`,
            ),
          );
        }
      }
      // Synchronous up to here: the offset is assigned in call order.
      const appended = partition.append(batch, 'coordinator', options);
      if (!replicated || options?.deferFlush === true) return appended.acknowledged;
      return appended.acknowledged.then(() =>
        partition
          .waitForHighWatermark(
            appended.lastOffset + 1,
            AbortSignal.timeout(settings.replicationTimeoutMs),
          )
          .catch(() => {
            throw new CoordinatorAppendError(
              ErrorCode.REQUEST_TIMED_OUT,
              `${name}-${index}: the in-sync replicas did not reach offset ${appended.lastOffset} within ${settings.replicationTimeoutMs} ms`,
            );
          }),
      );
    },
    async *readAll(index) {
      await ports.whenMirrored(name);
      if (!(await takenUp(index))) return; // no longer the leader: the load is stale anyway
      const partition = ports.partition(name, index);
      if (partition === undefined) return;
      yield* readWhole(partition);
    },
    isLeader(index) {
      return ports.view.partitionState(name, index)?.leader === ports.brokerId;
    },
    leaderOf(index) {
      if (!ports.view.topics().has(name)) {
        requestCreation();
        return undefined;
      }
      const leader = ports.view.partitionState(name, index)?.leader;
      const endpoint = leader === undefined ? undefined : ports.view.brokers().get(leader);
      if (endpoint === undefined) return undefined;
      return { nodeId: endpoint.brokerId, host: endpoint.host, port: endpoint.port };
    },
  };
}
