// Replica placement, as Kafka does it, so operators get the layouts they know.
//
// Without racks: partition p's first replica is broker (startIndex + p) mod n of the brokers in id
// order, and its followers follow at a shift that grows by one every n partitions, so leaders and
// followers both spread evenly and no two partitions of a run share the same follower pattern.
// With racks (every live broker has broker.rack): the same walk over a list that alternates
// racks (rack a's first broker, rack b's first, ..., rack a's second, ...), skipping a candidate
// whose rack, or broker, already holds a replica of the partition until every rack, or broker,
// does. A replica set then covers min(RF, racks) racks. If only some brokers have a rack, the racks
// are ignored (Kafka refuses that layout unless told to ignore racks; Brook does not refuse).
//
// startIndex and the first shift are random unless given, as in Kafka, so that topics created one
// after another do not all lead on the same broker.

import { ErrorCode } from '../protocol/index.js';
import { ClusterError, ClusterErrorCode } from './errors.js';

export interface PlacementBroker {
  readonly brokerId: number;
  readonly rack: string | null;
}

export interface PlacementOptions {
  /** The first partition's first replica, as an index into the (arranged) broker list. */
  readonly startIndex?: number;
  /** The first follower shift; Kafka seeds both with one fixed value when a test asks. */
  readonly replicaShift?: number;
  /** The index of the first partition placed (CreatePartitions places after the existing). */
  readonly firstPartition?: number;
}

/** Replica ids for `partitionCount` partitions, preferred leader first. */
export function placeReplicas(
  brokers: readonly PlacementBroker[],
  partitionCount: number,
  replicationFactor: number,
  options: PlacementOptions = {},
): number[][] {
  if (replicationFactor <= 0) {
    throw placementError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      'the replication factor must be at least 1',
    );
  }
  if (replicationFactor > brokers.length) {
    throw placementError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor ${replicationFactor} is larger than the ${brokers.length} live broker${brokers.length === 1 ? '' : 's'}`,
    );
  }
  if (partitionCount <= 0) {
    throw placementError(
      ErrorCode.INVALID_PARTITIONS,
      'the number of partitions must be at least 1',
    );
  }
  const sorted = [...brokers].sort((a, b) => a.brokerId - b.brokerId);
  const rackAware = sorted.every((broker) => broker.rack !== null);
  const arranged = rackAware ? rackAlternated(sorted) : sorted.map((broker) => broker.brokerId);
  const rackOf = new Map(sorted.map((broker) => [broker.brokerId, broker.rack ?? '']));
  const rackCount = new Set(rackOf.values()).size;
  const brokerCount = arranged.length;

  const startIndex = options.startIndex ?? randomIndex(brokerCount);
  let replicaShift = options.replicaShift ?? randomIndex(brokerCount);
  let partition = Math.max(0, options.firstPartition ?? 0);
  const assignment: number[][] = [];
  for (let placed = 0; placed < partitionCount; placed++, partition++) {
    if (partition > 0 && partition % brokerCount === 0) replicaShift += 1;
    const firstIndex = (partition + startIndex) % brokerCount;
    const replicas = [arranged[firstIndex]!];
    if (!rackAware) {
      for (let follower = 0; follower < replicationFactor - 1; follower++) {
        replicas.push(arranged[followerIndex(firstIndex, replicaShift, follower, brokerCount)]!);
      }
    } else {
      const racksUsed = new Set([rackOf.get(replicas[0]!)!]);
      let candidate = 0;
      while (replicas.length < replicationFactor) {
        const broker =
          arranged[followerIndex(firstIndex, replicaShift * rackCount, candidate, brokerCount)]!;
        const rack = rackOf.get(broker)!;
        candidate++;
        const rackAllowed = !racksUsed.has(rack) || racksUsed.size === rackCount;
        const brokerAllowed = !replicas.includes(broker) || replicas.length === brokerCount;
        if (rackAllowed && brokerAllowed) {
          replicas.push(broker);
          racksUsed.add(rack);
        }
      }
    }
    assignment.push(replicas);
  }
  return assignment;
}

/**
 * Places `addedCount` partitions after `existing` ones the same way: the walk starts where the
 * existing partition 0's leader sits, continuing its sequence (Kafka's CreatePartitions).
 */
export function placeAdditionalReplicas(
  brokers: readonly PlacementBroker[],
  existing: readonly (readonly number[])[],
  addedCount: number,
): number[][] {
  const replicationFactor = existing[0]?.length ?? 1;
  const sorted = [...brokers].sort((a, b) => a.brokerId - b.brokerId);
  const rackAware = sorted.every((broker) => broker.rack !== null);
  const arranged = rackAware ? rackAlternated(sorted) : sorted.map((broker) => broker.brokerId);
  const leaderIndex = arranged.indexOf(existing[0]?.[0] ?? -1);
  return placeReplicas(brokers, addedCount, replicationFactor, {
    startIndex: leaderIndex >= 0 ? leaderIndex : undefined,
    firstPartition: existing.length,
  });
}

/** Checks an assignment given by the client: known live brokers, no duplicates, one RF. */
export function checkManualAssignment(
  brokers: readonly PlacementBroker[],
  assignment: readonly (readonly number[])[],
): void {
  const known = new Set(brokers.map((broker) => broker.brokerId));
  const replicationFactor = assignment[0]?.length ?? 0;
  assignment.forEach((replicas, partition) => {
    if (replicas.length === 0 || replicas.length !== replicationFactor) {
      throw placementError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition ${partition} has ${replicas.length} replicas; every partition needs the same number, at least 1`,
      );
    }
    if (new Set(replicas).size !== replicas.length) {
      throw placementError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition ${partition} names a broker twice: ${replicas.join(',')}`,
      );
    }
    const unknown = replicas.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw placementError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition ${partition} names broker${unknown.length === 1 ? '' : 's'} ${unknown.join(',')}, not registered in the cluster`,
      );
    }
  });
}

/** Brokers taken round-robin over racks (racks and brokers within a rack in sorted order). */
function rackAlternated(sorted: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const broker of sorted) {
    const rack = broker.rack!;
    if (!byRack.has(rack)) byRack.set(rack, []);
    byRack.get(rack)!.push(broker.brokerId);
  }
  const racks = [...byRack.keys()].sort();
  const arranged: number[] = [];
  for (let round = 0; arranged.length < sorted.length; round++) {
    for (const rack of racks) {
      const broker = byRack.get(rack)![round];
      if (broker !== undefined) arranged.push(broker);
    }
  }
  return arranged;
}

function followerIndex(
  firstIndex: number,
  shift: number,
  follower: number,
  brokerCount: number,
): number {
  const step = 1 + ((shift + follower) % (brokerCount - 1));
  return (firstIndex + step) % brokerCount;
}

function randomIndex(count: number): number {
  return Math.floor(Math.random() * count);
}

function placementError(kafkaErrorCode: number, message: string): ClusterError {
  return new ClusterError(ClusterErrorCode.PLACEMENT_REFUSED, message, { kafkaErrorCode });
}
