// What the group admin APIs (ListGroups, DescribeGroups, DeleteGroups) need of KIP-932 share
// groups, which the classic coordinator does not keep. `src/share/kafka/share-groups.ts`
// implements it; the port lets handlers/ stay below share/. Absent when share groups are off.

export interface ShareGroupAdmin {
  /** Every share group with its state (Kafka's share-group states: Empty, Stable). */
  list(): ReadonlyArray<{ readonly groupId: string; readonly state: string }>;
  has(groupId: string): boolean;
  /** Deletes an empty share group and its durable state; resolves to the Kafka error code. */
  deleteGroup(groupId: string): Promise<number>;
}

/** ListGroups' protocol type and group type of a share group, as Kafka answers them. */
export const SHARE_GROUP_TYPE = 'share';
