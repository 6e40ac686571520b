// The versions Brook serves of each API whose handler lives in this folder, in one table the
// broker loads at start: ApiVersions answers from it while a handler's own module loads only on
// its API's first request (`deferHandler`). Each handler file spreads its own row into
// `defineHandler`, so the advertised range and the handler's range are one declaration, and the
// registry checks the loaded handler against it all the same.

import { ApiKey } from '../protocol/generated/index.js';
import type { ApiHandler, DeferredHandler, ServedVersions } from './registry.js';

export const servedVersions = {
  [ApiKey.AddOffsetsToTxn]: { minVersion: 0, maxVersion: 4 },
  [ApiKey.AddPartitionsToTxn]: { minVersion: 0, maxVersion: 3 },
  [ApiKey.AlterClientQuotas]: { minVersion: 0, maxVersion: 1 },
  [ApiKey.AlterConfigs]: { minVersion: 0, maxVersion: 2 },
  [ApiKey.AlterPartitionReassignments]: { minVersion: 0, maxVersion: 0 },
  [ApiKey.AlterUserScramCredentials]: { minVersion: 0, maxVersion: 0 },
  [ApiKey.CreateAcls]: { minVersion: 0, maxVersion: 3 },
  [ApiKey.CreatePartitions]: { minVersion: 0, maxVersion: 3 },
  [ApiKey.CreateTopics]: { minVersion: 0, maxVersion: 7 },
  [ApiKey.DeleteAcls]: { minVersion: 0, maxVersion: 3 },
  [ApiKey.DeleteGroups]: { minVersion: 0, maxVersion: 2 },
  [ApiKey.DeleteRecords]: { minVersion: 0, maxVersion: 2 },
  [ApiKey.DeleteTopics]: { minVersion: 0, maxVersion: 6 },
  [ApiKey.DescribeAcls]: { minVersion: 0, maxVersion: 3 },
  [ApiKey.DescribeClientQuotas]: { minVersion: 0, maxVersion: 1 },
  [ApiKey.DescribeCluster]: { minVersion: 0, maxVersion: 1 },
  [ApiKey.DescribeConfigs]: { minVersion: 0, maxVersion: 4 },
  [ApiKey.DescribeGroups]: { minVersion: 0, maxVersion: 6 },
  [ApiKey.DescribeLogDirs]: { minVersion: 0, maxVersion: 4 },
  [ApiKey.DescribeProducers]: { minVersion: 0, maxVersion: 0 },
  [ApiKey.DescribeTransactions]: { minVersion: 0, maxVersion: 0 },
  [ApiKey.DescribeUserScramCredentials]: { minVersion: 0, maxVersion: 0 },
  [ApiKey.ElectLeaders]: { minVersion: 0, maxVersion: 2 },
  [ApiKey.EndTxn]: { minVersion: 0, maxVersion: 4 },
  [ApiKey.Fetch]: { minVersion: 4, maxVersion: 17 },
  [ApiKey.FindCoordinator]: { minVersion: 0, maxVersion: 6 },
  [ApiKey.Heartbeat]: { minVersion: 0, maxVersion: 4 },
  [ApiKey.IncrementalAlterConfigs]: { minVersion: 0, maxVersion: 1 },
  [ApiKey.InitProducerId]: { minVersion: 0, maxVersion: 5 },
  [ApiKey.JoinGroup]: { minVersion: 0, maxVersion: 9 },
  [ApiKey.LeaveGroup]: { minVersion: 0, maxVersion: 5 },
  [ApiKey.ListGroups]: { minVersion: 0, maxVersion: 5 },
  [ApiKey.ListOffsets]: { minVersion: 0, maxVersion: 10 },
  [ApiKey.ListPartitionReassignments]: { minVersion: 0, maxVersion: 0 },
  [ApiKey.ListTransactions]: { minVersion: 0, maxVersion: 1 },
  [ApiKey.Metadata]: { minVersion: 0, maxVersion: 12 },
  [ApiKey.OffsetCommit]: { minVersion: 0, maxVersion: 9 },
  [ApiKey.OffsetDelete]: { minVersion: 0, maxVersion: 0 },
  [ApiKey.OffsetFetch]: { minVersion: 0, maxVersion: 9 },
  [ApiKey.OffsetForLeaderEpoch]: { minVersion: 0, maxVersion: 4 },
  [ApiKey.Produce]: { minVersion: 0, maxVersion: 11, refusedBelow: 3 },
  [ApiKey.SaslAuthenticate]: { minVersion: 0, maxVersion: 2 },
  [ApiKey.SaslHandshake]: { minVersion: 0, maxVersion: 1 },
  [ApiKey.SyncGroup]: { minVersion: 0, maxVersion: 5 },
  [ApiKey.TxnOffsetCommit]: { minVersion: 0, maxVersion: 4 },
  [ApiKey.WriteTxnMarkers]: { minVersion: 0, maxVersion: 1 },
} as const satisfies Partial<Record<ApiKey, ServedVersions>>;

/** An API whose handler is in `servedVersions`. */
export type DeferrableApiKey = keyof typeof servedVersions;

/**
 * The handler of `apiKey`, advertised at once with its row of `servedVersions` and built by `load`
 * (a dynamic import of its module) on the API's first request.
 */
export function deferHandler<K extends DeferrableApiKey>(
  apiKey: K,
  load: () => Promise<ApiHandler<K>>,
): DeferredHandler {
  return { apiKey, ...(servedVersions[apiKey] as ServedVersions), load };
}
