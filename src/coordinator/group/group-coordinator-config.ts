// The broker settings the group coordinator reads, named as in `BrokerConfig` (Kafka's names,
// camelCased) so the broker can pass its config straight in, with Kafka's defaults except where
// Brook deliberately differs (said below).

export interface GroupCoordinatorConfig {
  /**
   * group.initial.rebalance.delay.ms. Kafka's default is 3000; Brook's is 0 so a brand-new
   * group's first consumer sees records within a few hundred milliseconds.
   */
  groupInitialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms */
  groupMinSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  groupMaxSessionTimeoutMs: number;
  /** group.max.size */
  groupMaxSize: number;
  /** offsets.retention.minutes × 60000: offsets of a group with no members expire after this. */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes: number;
  /** offsets.commit.timeout.ms: how long an OffsetCommit waits for its records to be durable. */
  offsetsCommitTimeoutMs: number;
}

export const defaultGroupCoordinatorConfig: GroupCoordinatorConfig = {
  groupInitialRebalanceDelayMs: 0,
  groupMinSessionTimeoutMs: 6_000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupMaxSize: 2_147_483_647,
  offsetsRetentionMs: 10_080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4_096,
  offsetsCommitTimeoutMs: 5_000,
};
