// Reading the consumer protocol's subscription and assignment bytes (protocol type "consumer").
//
// The broker only relays these bytes between members; it reads them for admin answers alone:
// which topics a group consumes (OffsetDelete) and which member owns which partition (lag).
// Bytes that do not parse (a client's own protocol under the "consumer" type) read as nothing.

import { Reader } from '../../protocol/reader.js';
import { decodeConsumerProtocolAssignment } from '../../protocol/generated/consumer-protocol-assignment.js';
import { decodeConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol-subscription.js';

const consumerProtocolVersionMax = 3;

/** Topics of a subscription; null when the bytes are not a consumer protocol subscription. */
export function decodeConsumerSubscriptionTopics(metadata: Buffer): string[] | null {
  try {
    const reader = new Reader(metadata);
    const version = Math.min(reader.readInt16(), consumerProtocolVersionMax);
    if (version < 0) return null;
    return decodeConsumerProtocolSubscription(reader, version).topics;
  } catch {
    return null;
  }
}

/** Partitions of an assignment; empty when the bytes are not a consumer protocol assignment. */
export function decodeConsumerAssignment(
  assignment: Buffer,
): { topic: string; partitions: number[] }[] {
  if (assignment.length === 0) return [];
  try {
    const reader = new Reader(assignment);
    const version = Math.min(reader.readInt16(), consumerProtocolVersionMax);
    if (version < 0) return [];
    return decodeConsumerProtocolAssignment(reader, version).assignedPartitions;
  } catch {
    return [];
  }
}
