// A small KIP-932 share consumer for the tests, over the generated codecs and one real TCP
// connection (src/client/kafka-connection.ts): ShareGroupHeartbeat to join, ShareFetch with its
// share session epochs and piggy-backed acknowledgements, ShareAcknowledge. It reads the record
// batches of a ShareFetch answer as a Kafka client does: only records inside an acquired range
// are handed on, each with that range's delivery count.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ShareAcknowledgeResponse } from '../../src/protocol/generated/share-acknowledge.js';
import type { ShareFetchResponse } from '../../src/protocol/generated/share-fetch.js';
import type { ShareGroupDescribeResponse } from '../../src/protocol/generated/share-group-describe.js';
import type { ShareGroupHeartbeatResponse } from '../../src/protocol/generated/share-group-heartbeat.js';
import { batchSizeBytes, BATCH_HEADER_BYTES } from '../../src/record/batch.js';
import { decodeBatchSync } from '../../src/record/records.js';

export const Acknowledge = { accept: 1, release: 2, reject: 3, renew: 4 } as const;

export interface ShareRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly deliveryCount: number;
}

export interface PendingAcknowledgement {
  readonly partition: number;
  readonly offset: number;
  readonly type: number;
}

export class ShareConsumer {
  memberEpoch = 0;
  sessionEpoch = 0;
  /** The assigned topic's id and partitions (one topic per consumer in these tests). */
  topicId: Buffer = Buffer.alloc(16);
  partitions: number[] = [];
  lastFetch: ShareFetchResponse | null = null;

  private constructor(
    readonly connection: KafkaConnection,
    readonly groupId: string,
    readonly topic: string,
    readonly memberId: string = randomUUID(),
  ) {}

  static async join(address: string, groupId: string, topic: string): Promise<ShareConsumer> {
    const connection = await KafkaConnection.open(address, { clientId: 'share-test' });
    const consumer = new ShareConsumer(connection, groupId, topic);
    const response = await consumer.heartbeat([topic]).catch((error: unknown) => {
      connection.close();
      throw error;
    });
    if (response.errorCode !== 0 || response.assignment === null) connection.close();
    assert.equal(response.errorCode, 0, `join: ${response.errorMessage}`);
    assert.ok(response.assignment, 'joining returns an assignment');
    const [assigned] = response.assignment.topicPartitions;
    consumer.topicId = assigned.topicId;
    consumer.partitions = [...assigned.partitions].sort((a, b) => a - b);
    return consumer;
  }

  /**
   * The same member's share session with another broker (a Kafka client keeps one with each
   * partition leader): its own connection and session epochs, the member's epoch and assignment.
   */
  async sessionAt(address: string): Promise<ShareConsumer> {
    const connection = await KafkaConnection.open(address, { clientId: 'share-test' });
    const other = new ShareConsumer(connection, this.groupId, this.topic, this.memberId);
    other.memberEpoch = this.memberEpoch;
    other.topicId = this.topicId;
    other.partitions = [...this.partitions];
    return other;
  }

  async heartbeat(
    subscribedTopicNames: string[] | null = null,
    memberEpoch = this.memberEpoch,
  ): Promise<ShareGroupHeartbeatResponse> {
    const response = await this.connection.request<ShareGroupHeartbeatResponse>(
      ApiKey.ShareGroupHeartbeat,
      1,
      {
        groupId: this.groupId,
        memberId: this.memberId,
        memberEpoch,
        subscribedTopicNames,
      },
    );
    if (response.errorCode === 0) this.memberEpoch = response.memberEpoch;
    return response;
  }

  /**
   * One ShareFetch of every assigned partition, carrying `acknowledgements`; answers the records
   * acquired. The session epoch moves on as KIP-932 says.
   */
  async fetch(
    options: {
      acknowledgements?: readonly PendingAcknowledgement[];
      maxRecords?: number;
      maxWaitMs?: number;
      version?: number;
    } = {},
  ): Promise<ShareRecord[]> {
    const acknowledgements = options.acknowledgements ?? [];
    const response = await this.connection.request<ShareFetchResponse>(
      ApiKey.ShareFetch,
      options.version ?? 1,
      {
        groupId: this.groupId,
        memberId: this.memberId,
        shareSessionEpoch: this.sessionEpoch,
        maxWaitMs: options.maxWaitMs ?? 500,
        minBytes: 1,
        maxBytes: 1 << 20,
        maxRecords: options.maxRecords ?? 500,
        batchSize: 500,
        topics: [
          {
            topicId: this.topicId,
            partitions: this.partitions.map((partitionIndex) => ({
              partitionIndex,
              acknowledgementBatches: batchesOf(acknowledgements, partitionIndex),
            })),
          },
        ],
        forgottenTopicsData: [],
      },
    );
    this.lastFetch = response;
    assert.equal(response.errorCode, 0, `ShareFetch: ${response.errorMessage}`);
    this.sessionEpoch += 1;
    return recordsOf(response);
  }

  async acknowledge(
    acknowledgements: readonly PendingAcknowledgement[],
    options: { close?: boolean; version?: number } = {},
  ): Promise<ShareAcknowledgeResponse> {
    const response = await this.connection.request<ShareAcknowledgeResponse>(
      ApiKey.ShareAcknowledge,
      options.version ?? 1,
      {
        groupId: this.groupId,
        memberId: this.memberId,
        shareSessionEpoch: options.close === true ? -1 : this.sessionEpoch,
        topics: [
          {
            topicId: this.topicId,
            partitions: this.partitions.map((partitionIndex) => ({
              partitionIndex,
              acknowledgementBatches: batchesOf(acknowledgements, partitionIndex),
            })),
          },
        ],
      },
    );
    if (response.errorCode === 0)
      this.sessionEpoch = options.close === true ? 0 : this.sessionEpoch + 1;
    return response;
  }

  async describe(groupIds: string[]): Promise<ShareGroupDescribeResponse> {
    return this.connection.request<ShareGroupDescribeResponse>(ApiKey.ShareGroupDescribe, 1, {
      groupIds,
      includeAuthorizedOperations: false,
    });
  }

  close(): void {
    this.connection.close();
  }
}

/** One acknowledgement batch per offset: simple, and exercises per-offset settling. */
function batchesOf(acknowledgements: readonly PendingAcknowledgement[], partition: number) {
  return acknowledgements
    .filter((acknowledgement) => acknowledgement.partition === partition)
    .map(({ offset, type }) => ({
      firstOffset: BigInt(offset),
      lastOffset: BigInt(offset),
      acknowledgeTypes: [type],
    }));
}

/** The acquired records of a ShareFetch answer, read out of its whole record batches. */
export function recordsOf(response: ShareFetchResponse): ShareRecord[] {
  const records: ShareRecord[] = [];
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      assert.equal(partition.errorCode, 0, `partition ${partition.partitionIndex} error`);
      const bytes = partition.records ?? Buffer.alloc(0);
      for (let position = 0; position + BATCH_HEADER_BYTES <= bytes.length;) {
        const size = batchSizeBytes(bytes, position);
        const batch = decodeBatchSync(bytes.subarray(position, position + size));
        for (const record of batch.records) {
          const range = partition.acquiredRecords.find(
            (acquired) =>
              BigInt(record.offset) >= acquired.firstOffset &&
              BigInt(record.offset) <= acquired.lastOffset,
          );
          if (range === undefined) continue;
          records.push({
            partition: partition.partitionIndex,
            offset: record.offset,
            key: record.key?.toString('utf8') ?? null,
            value: record.value?.toString('utf8') ?? null,
            deliveryCount: range.deliveryCount,
          });
        }
        position += size;
      }
      // Every acquired offset is in the bytes: nothing is acquired that the client cannot see.
      for (const acquired of partition.acquiredRecords)
        for (let offset = acquired.firstOffset; offset <= acquired.lastOffset; offset += 1n)
          assert.ok(
            records.some(
              (record) =>
                record.partition === partition.partitionIndex && BigInt(record.offset) === offset,
            ),
            `acquired offset ${offset} of partition ${partition.partitionIndex} is in the batches`,
          );
    }
  }
  return records;
}
