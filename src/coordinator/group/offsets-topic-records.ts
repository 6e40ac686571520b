// The keys and values of records in `__consumer_offsets`, in Kafka's own layouts so operators'
// tools (kafka-console-consumer with the offsets formatter, kcat) recognise them.
//
//   key   int16 version 0|1  group string, topic string, partition int32    an offset commit
//         int16 version 2    group string                                   group metadata
//   value OffsetCommitValue   (written as v3)  null value = the offset was deleted
//         GroupMetadataValue  (written as v3)  null value = the group was deleted
//
// Values are read in every version Kafka has written (0..4; v4 is the flexible encoding), so a
// log is readable whatever wrote it. Strings are classic int16-length strings up to v3.

import { Reader } from '../../protocol/reader.js';
import { RecordError } from '../../record/batch.js';
import {
  readKeyValueBatches,
  readKeyValueRecords,
  type KeyValueBatch,
  type KeyValueRecord,
} from '../../record/key-value-batch.js';
import { Writer } from '../../protocol/writer.js';
import { BrookError } from '../../util/errors.js';

const offsetCommitKeyVersion = 1;
const groupMetadataKeyVersion = 2;
const offsetCommitValueVersion = 3;
const groupMetadataValueVersion = 3;

export interface OffsetCommitKey {
  type: 'offset';
  groupId: string;
  topic: string;
  partition: number;
}

export interface GroupMetadataKey {
  type: 'group';
  groupId: string;
}

export type OffsetsTopicKey = OffsetCommitKey | GroupMetadataKey;

export interface OffsetCommitValue {
  offset: bigint;
  /** -1 when the committer gave none. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
}

export interface GroupMetadataMemberValue {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  /** Wall-clock milliseconds of the group's last state change, -1 when unknown. */
  currentStateTimestampMs: number;
  members: GroupMetadataMemberValue[];
}

export function encodeOffsetCommitKey(groupId: string, topic: string, partition: number): Buffer {
  const writer = new Writer({ scratchBytes: 64 + groupId.length * 3 + topic.length * 3 });
  writer.writeInt16(offsetCommitKeyVersion);
  writer.writeString(groupId);
  writer.writeString(topic);
  writer.writeInt32(partition);
  return writer.toBuffer();
}

export function encodeGroupMetadataKey(groupId: string): Buffer {
  const writer = new Writer({ scratchBytes: 16 + groupId.length * 3 });
  writer.writeInt16(groupMetadataKeyVersion);
  writer.writeString(groupId);
  return writer.toBuffer();
}

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const writer = new Writer({ scratchBytes: 32 + value.metadata.length * 3 });
  writer.writeInt16(offsetCommitValueVersion);
  writer.writeInt64(value.offset);
  writer.writeInt32(value.leaderEpoch);
  writer.writeString(value.metadata);
  writer.writeInt64(BigInt(value.commitTimestampMs));
  return writer.toBuffer();
}

export function encodeGroupMetadataValue(value: GroupMetadataValue): Buffer {
  const writer = new Writer();
  writer.writeInt16(groupMetadataValueVersion);
  writer.writeString(value.protocolType);
  writer.writeInt32(value.generationId);
  writer.writeNullableString(value.protocolName);
  writer.writeNullableString(value.leaderId);
  writer.writeInt64(BigInt(value.currentStateTimestampMs));
  writer.writeInt32(value.members.length);
  for (const member of value.members) {
    writer.writeString(member.memberId);
    writer.writeNullableString(member.groupInstanceId);
    writer.writeString(member.clientId);
    writer.writeString(member.clientHost);
    writer.writeInt32(member.rebalanceTimeoutMs);
    writer.writeInt32(member.sessionTimeoutMs);
    writer.writeBytes(member.subscription);
    writer.writeBytes(member.assignment);
  }
  return writer.toBuffer();
}

/** Thrown for a key or value this code cannot read; loading skips such records and says so. */
export class OffsetsTopicRecordError extends BrookError {
  declare readonly code: 'BROOK_OFFSETS_RECORD';

  constructor(message: string) {
    super('BROOK_OFFSETS_RECORD', message);
    this.name = 'OffsetsTopicRecordError';
  }
}

/** A batch of `__consumer_offsets` that cannot be read; it fails the partition's load. */
export class OffsetsTopicBatchError extends BrookError {
  declare readonly code: 'BROOK_OFFSETS_BATCH';

  constructor(message: string) {
    super('BROOK_OFFSETS_BATCH', message);
    this.name = 'OffsetsTopicBatchError';
  }
}

/**
 * The key/value records of a chunk of `__consumer_offsets` (record/key-value-batch.ts), with a
 * malformed batch reported as this topic's OffsetsTopicBatchError.
 */
export function* readOffsetsTopicRecords(bytes: Buffer): Generator<KeyValueRecord> {
  try {
    yield* readKeyValueRecords(bytes);
  } catch (error) {
    if (error instanceof RecordError) throw new OffsetsTopicBatchError(error.message);
    throw error;
  }
}

/**
 * The batches of a chunk of `__consumer_offsets`, transactional ones and markers included (the
 * loader replays transactions' offsets), with a malformed batch reported as
 * OffsetsTopicBatchError.
 */
export function* readOffsetsTopicBatches(bytes: Buffer): Generator<KeyValueBatch> {
  try {
    yield* readKeyValueBatches(bytes);
  } catch (error) {
    if (error instanceof RecordError) throw new OffsetsTopicBatchError(error.message);
    throw error;
  }
}

export function decodeOffsetsTopicKey(key: Buffer): OffsetsTopicKey {
  const reader = new Reader(key);
  const version = reader.readInt16();
  if (version === 0 || version === 1) {
    const groupId = reader.readString();
    const topic = reader.readString();
    const partition = reader.readInt32();
    return { type: 'offset', groupId, topic, partition };
  }
  if (version === 2) return { type: 'group', groupId: reader.readString() };
  throw new OffsetsTopicRecordError(`unknown __consumer_offsets key version ${version}`);
}

export function decodeOffsetCommitValue(value: Buffer): OffsetCommitValue {
  const reader = new Reader(value);
  const version = reader.readInt16();
  if (version < 0 || version > 4) {
    throw new OffsetsTopicRecordError(`unknown offset commit value version ${version}`);
  }
  const flexible = version >= 4;
  const offset = reader.readInt64();
  const leaderEpoch = version >= 3 ? reader.readInt32() : -1;
  const metadata = flexible ? reader.readCompactString() : reader.readString();
  const commitTimestampMs = Number(reader.readInt64());
  if (version === 1) reader.readInt64(); // expireTimestamp: retention is the broker's now.
  if (flexible) reader.readTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestampMs };
}

export function decodeGroupMetadataValue(value: Buffer): GroupMetadataValue {
  const reader = new Reader(value);
  const version = reader.readInt16();
  if (version < 0 || version > 4) {
    throw new OffsetsTopicRecordError(`unknown group metadata value version ${version}`);
  }
  const flexible = version >= 4;
  const string = (): string => (flexible ? reader.readCompactString() : reader.readString());
  const nullableString = (): string | null =>
    flexible ? reader.readCompactNullableString() : reader.readNullableString();
  const bytes = (): Buffer => (flexible ? reader.readCompactBytes() : reader.readBytes());

  const protocolType = string();
  const generationId = reader.readInt32();
  const protocolName = nullableString();
  const leaderId = nullableString();
  const currentStateTimestampMs = version >= 2 ? Number(reader.readInt64()) : -1;
  // Each member takes at least 4 strings' lengths, two int32s and two bytes' lengths.
  const memberCount = flexible ? reader.readCompactArrayCount(8) : reader.readArrayCount(18);
  const members: GroupMetadataMemberValue[] = [];
  for (let index = 0; index < memberCount; index++) {
    const memberId = string();
    const groupInstanceId = version >= 3 ? nullableString() : null;
    const clientId = string();
    const clientHost = string();
    const rebalanceTimeoutMs = version >= 1 ? reader.readInt32() : -1;
    const sessionTimeoutMs = reader.readInt32();
    const subscription = Buffer.from(bytes());
    const assignment = Buffer.from(bytes());
    if (flexible) reader.readTaggedFields();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  if (flexible) reader.readTaggedFields();
  return { protocolType, generationId, protocolName, leaderId, currentStateTimestampMs, members };
}
