// The "consumer" embedded protocol: the subscription a member sends in JoinGroup's metadata and
// the assignment the leader hands out through SyncGroup. Each is an int16 version followed by the
// generated struct. Like Kafka's ConsumerProtocol, a version newer than the highest known one is
// read as the highest known one and any bytes left over are ignored, so newer clients stay
// readable.
//
// Two kinds of reader: `decodeConsumerSubscription` and `decodeConsumerAssignment` return the
// whole struct and throw ProtocolDecodeError on bytes that do not parse; `subscribedTopicsOf` and
// `assignedPartitionsOf` are for the broker, which only relays these bytes and reads them for
// admin answers alone (which topics a group consumes, which member owns which partition), so
// bytes that do not parse (a client's own protocol under the "consumer" type) read as unknown or
// as no partitions, never as an error.

import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolAssignmentInput,
  type ConsumerProtocolSubscription,
  type ConsumerProtocolSubscriptionInput,
} from './generated/index.js';
import { ProtocolDecodeError, Reader } from './reader.js';
import { Writer } from './writer.js';

/** The highest consumer-protocol version the generated codecs know. */
export const consumerProtocolVersionMax = 3;

function readVersion(reader: Reader): number {
  const start = reader.offset;
  const version = reader.readInt16();
  if (version < 0) throw new ProtocolDecodeError(`consumer protocol version ${version}`, start);
  return Math.min(version, consumerProtocolVersionMax);
}

export function decodeConsumerSubscription(bytes: Buffer): {
  version: number;
  subscription: ConsumerProtocolSubscription;
} {
  const reader = new Reader(bytes);
  const version = readVersion(reader);
  return { version, subscription: decodeConsumerProtocolSubscription(reader, version) };
}

export function encodeConsumerSubscription(
  version: number,
  subscription: ConsumerProtocolSubscriptionInput,
): Buffer {
  const writer = new Writer({ scratchBytes: 128 });
  writer.writeInt16(version);
  encodeConsumerProtocolSubscription(writer, version, subscription);
  return writer.toBuffer();
}

export function decodeConsumerAssignment(bytes: Buffer): {
  version: number;
  assignment: ConsumerProtocolAssignment;
} {
  const reader = new Reader(bytes);
  const version = readVersion(reader);
  return { version, assignment: decodeConsumerProtocolAssignment(reader, version) };
}

export function encodeConsumerAssignment(
  version: number,
  assignment: ConsumerProtocolAssignmentInput,
): Buffer {
  const writer = new Writer({ scratchBytes: 128 });
  writer.writeInt16(version);
  encodeConsumerProtocolAssignment(writer, version, assignment);
  return writer.toBuffer();
}

/** The topics a subscription names; null when the bytes are not a consumer-protocol subscription. */
export function subscribedTopicsOf(metadata: Buffer): string[] | null {
  try {
    return decodeConsumerSubscription(metadata).subscription.topics;
  } catch {
    return null;
  }
}

/** The partitions an assignment hands out; none when the bytes are not a consumer-protocol assignment. */
export function assignedPartitionsOf(
  assignment: Buffer,
): { topic: string; partitions: number[] }[] {
  if (assignment.length === 0) return [];
  try {
    return decodeConsumerAssignment(assignment).assignment.assignedPartitions;
  } catch {
    return [];
  }
}
