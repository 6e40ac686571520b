// Reading the consumer protocol's subscription and assignment bytes (protocol type "consumer").
//
// The broker only relays these bytes between members; it reads them for admin answers alone:
// which topics a group consumes (OffsetDelete, offset expiry) and which member owns which
// partition (lag). Bytes that do not parse (a client's own protocol under the "consumer" type)
// read as unknown (null) or as no partitions, never as an error.

import {
  decodeConsumerAssignment as decodeAssignment,
  decodeConsumerSubscription,
} from '../../protocol/consumer-protocol.js';

/** Topics of a subscription; null when the bytes are not a consumer protocol subscription. */
export function decodeConsumerSubscriptionTopics(metadata: Buffer): string[] | null {
  try {
    return decodeConsumerSubscription(metadata).subscription.topics;
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
    return decodeAssignment(assignment).assignment.assignedPartitions;
  } catch {
    return [];
  }
}
