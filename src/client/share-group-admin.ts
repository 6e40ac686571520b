// The KIP-932 share-group admin APIs, as `brook share-groups` needs them, over the admin client's
// connections (admin-client.ts): ListGroups with the "share" type filter, ShareGroupDescribe,
// DescribeShareGroupOffsets, AlterShareGroupOffsets, DeleteShareGroupOffsets and DeleteGroups,
// each at one fixed version, sent to the group's coordinator. A Kafka error in a response becomes
// a KafkaResponseError naming the request and the group, topic or partition.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { AlterShareGroupOffsetsResponse } from '../protocol/generated/alter-share-group-offsets.js';
import type { DeleteGroupsResponse } from '../protocol/generated/delete-groups.js';
import type { DeleteShareGroupOffsetsResponse } from '../protocol/generated/delete-share-group-offsets.js';
import type { DescribeShareGroupOffsetsResponse } from '../protocol/generated/describe-share-group-offsets.js';
import type { ListGroupsResponse } from '../protocol/generated/list-groups.js';
import type {
  ShareGroupDescribeResponse,
  ShareGroupDescribeResponseDescribedGroup,
} from '../protocol/generated/share-group-describe.js';
import { type AdminClient, KafkaResponseError } from './admin-client.js';

/** The versions Kafka 4.1+ and Brook serve; ListGroups v5 is the first with a type filter. */
const apiVersion = {
  listGroups: 5,
  shareGroupDescribe: 1,
  describeShareGroupOffsets: 0,
  alterShareGroupOffsets: 0,
  deleteShareGroupOffsets: 0,
  deleteGroups: 2,
} as const;

export interface ShareGroupListing {
  readonly groupId: string;
  /** Kafka's share-group states: Empty, Stable (Dead when gone). */
  readonly state: string;
}

export type ShareGroupDescription = ShareGroupDescribeResponseDescribedGroup;

/** A share-partition's start offset: every record below it is done for the group. */
export interface ShareGroupStartOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when the group has no state for the partition. */
  readonly startOffset: bigint;
  readonly leaderEpoch: number;
}

export interface ShareGroupOffsetChange {
  readonly topic: string;
  readonly partition: number;
  readonly startOffset: bigint;
}

function check(errorCode: number, what: string, message: string | null = null): void {
  if (errorCode !== ErrorCode.NONE) throw new KafkaResponseError(errorCode, what, message);
}

export class ShareGroupAdmin {
  constructor(private readonly client: AdminClient) {}

  /** Every share group the bootstrap broker coordinates, sorted by id. */
  async list(): Promise<ShareGroupListing[]> {
    const response = await this.client.requestTo<ListGroupsResponse>(
      'bootstrap',
      ApiKey.ListGroups,
      apiVersion.listGroups,
      { statesFilter: [], typesFilter: ['share'] },
    );
    check(response.errorCode, 'ListGroups');
    return response.groups
      .map((group) => ({ groupId: group.groupId, state: group.groupState }))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** The group's state and members with their assignments. */
  async describe(groupId: string): Promise<ShareGroupDescription> {
    const response = await this.client.requestTo<ShareGroupDescribeResponse>(
      { groupId },
      ApiKey.ShareGroupDescribe,
      apiVersion.shareGroupDescribe,
      { groupIds: [groupId], includeAuthorizedOperations: false },
    );
    const group = response.groups.find((candidate) => candidate.groupId === groupId);
    if (group === undefined) {
      throw new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, `ShareGroupDescribe`, groupId);
    }
    check(group.errorCode, `ShareGroupDescribe for group ${groupId}`, group.errorMessage);
    return group;
  }

  /**
   * The start offset of each partition of `topics` (every partition the broker knows of them),
   * or with null of every topic the group has state for.
   */
  async startOffsets(
    groupId: string,
    topics: ReadonlyArray<{
      readonly topic: string;
      readonly partitions: readonly number[];
    }> | null,
  ): Promise<ShareGroupStartOffset[]> {
    const response = await this.client.requestTo<DescribeShareGroupOffsetsResponse>(
      { groupId },
      ApiKey.DescribeShareGroupOffsets,
      apiVersion.describeShareGroupOffsets,
      {
        groups: [
          {
            groupId,
            topics:
              topics?.map(({ topic, partitions }) => ({ topicName: topic, partitions })) ?? null,
          },
        ],
      },
    );
    const group = response.groups[0];
    check(group.errorCode, `DescribeShareGroupOffsets for group ${groupId}`, group.errorMessage);
    const offsets: ShareGroupStartOffset[] = [];
    for (const topic of group.topics) {
      for (const partition of topic.partitions) {
        check(
          partition.errorCode,
          `DescribeShareGroupOffsets for ${topic.topicName}-${partition.partitionIndex}`,
          partition.errorMessage,
        );
        offsets.push({
          topic: topic.topicName,
          partition: partition.partitionIndex,
          startOffset: partition.startOffset,
          leaderEpoch: partition.leaderEpoch,
        });
      }
    }
    return offsets;
  }

  /** Sets start offsets (AlterShareGroupOffsets); the broker allows it only while the group is empty. */
  async alterStartOffsets(
    groupId: string,
    changes: readonly ShareGroupOffsetChange[],
  ): Promise<void> {
    const byTopic = new Map<string, Array<{ partitionIndex: number; startOffset: bigint }>>();
    for (const { topic, partition, startOffset } of changes) {
      let partitions = byTopic.get(topic);
      if (partitions === undefined) byTopic.set(topic, (partitions = []));
      partitions.push({ partitionIndex: partition, startOffset });
    }
    const response = await this.client.requestTo<AlterShareGroupOffsetsResponse>(
      { groupId },
      ApiKey.AlterShareGroupOffsets,
      apiVersion.alterShareGroupOffsets,
      {
        groupId,
        topics: [...byTopic].map(([topicName, partitions]) => ({ topicName, partitions })),
      },
    );
    check(response.errorCode, `AlterShareGroupOffsets for group ${groupId}`, response.errorMessage);
    for (const topic of response.responses) {
      for (const partition of topic.partitions) {
        check(
          partition.errorCode,
          `AlterShareGroupOffsets for ${topic.topicName}-${partition.partitionIndex}`,
          partition.errorMessage,
        );
      }
    }
  }

  /** Forgets the group's state for `topics` (DeleteShareGroupOffsets). */
  async deleteStartOffsets(groupId: string, topics: readonly string[]): Promise<void> {
    const response = await this.client.requestTo<DeleteShareGroupOffsetsResponse>(
      { groupId },
      ApiKey.DeleteShareGroupOffsets,
      apiVersion.deleteShareGroupOffsets,
      { groupId, topics: topics.map((topicName) => ({ topicName })) },
    );
    check(
      response.errorCode,
      `DeleteShareGroupOffsets for group ${groupId}`,
      response.errorMessage,
    );
    for (const topic of response.responses) {
      check(
        topic.errorCode,
        `DeleteShareGroupOffsets for topic ${topic.topicName}`,
        topic.errorMessage,
      );
    }
  }

  /** Deletes the group with its durable state (DeleteGroups); it must have no members. */
  async deleteGroup(groupId: string): Promise<void> {
    const response = await this.client.requestTo<DeleteGroupsResponse>(
      { groupId },
      ApiKey.DeleteGroups,
      apiVersion.deleteGroups,
      { groupsNames: [groupId] },
    );
    const result = response.results.find((entry) => entry.groupId === groupId);
    if (result === undefined) {
      throw new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DeleteGroups', groupId);
    }
    check(result.errorCode, `DeleteGroups for group ${groupId}`);
  }
}
