// Share groups in a test cluster: three `brook start` processes on etcd with share groups on and
// a topic of three partitions led by brokers 1, 2 and 3; and who coordinates a group there:
// FindCoordinator key type 0 (the id's classic coordinator, what Kafka clients ask) and key type 2
// (the group's owner, the leader of its __share_group_state partition), asked until a broker
// answers.

import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.js';
import type { Cluster } from '../../src/cluster/start-cluster.js';
import { createTopicLedAsAssigned, startWatchedCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/poll.js';

export const GROUP_KEY_TYPE = 0;
export const SHARE_KEY_TYPE = 2;

/**
 * Starts the cluster (stopped after the test), creates `topic` with three partitions of three
 * replicas led by brokers 1, 2 and 3, and waits for those leaders. `address(id)` is a broker's
 * host:port.
 */
export async function startShareGroupCluster(
  topic: string,
): Promise<{ cluster: Cluster; address: (id: number) => string }> {
  const { cluster } = await startWatchedCluster({
    brokers: 3,
    settings: {
      'group.share.enable': true,
      'broker.session.timeout.ms': 3000,
      'auto.create.topics.enable': false,
      'auto.leader.rebalance.enable': false,
      'offsets.topic.replication.factor': 3,
      'share.state.topic.num.partitions': 3,
    },
  });
  const address = (id: number): string => `${cluster.broker(id).host}:${cluster.broker(id).port}`;
  await createTopicLedAsAssigned(cluster, topic, [
    [1, 2, 3],
    [2, 3, 1],
    [3, 1, 2],
  ]);
  return { cluster, address };
}

/**
 * A group id `<prefix>-<n>` whose classic coordinator (FindCoordinator key type 0, what Kafka
 * clients ask) is not its owner (key type 2, the leader of its __share_group_state partition).
 */
export async function splitGroup(
  prefix: string,
  address: (id: number) => string,
): Promise<{ group: string; owner: number; classic: number }> {
  for (let index = 0; index < 30; index += 1) {
    const group = `${prefix}-${index}`;
    const owner = await coordinatorOf(SHARE_KEY_TYPE, group, [1, 2, 3], [1, 2, 3], address);
    const classic = await coordinatorOf(GROUP_KEY_TYPE, group, [1, 2, 3], [1, 2, 3], address);
    if (owner !== classic) return { group, owner, classic };
  }
  throw new Error(`no group id ${prefix}-<n> whose classic coordinator is not its owner`);
}

/**
 * The broker of `candidates` that a broker of `asked` names as the coordinator of `groupId`
 * (FindCoordinator of `keyType`), once one does.
 */
export function coordinatorOf(
  keyType: number,
  groupId: string,
  asked: readonly number[],
  candidates: readonly number[],
  address: (id: number) => string,
): Promise<number> {
  return waitFor(
    async () => {
      for (const id of asked) {
        const connection = await KafkaConnection.open(address(id), {
          clientId: 'share-test',
          requestTimeoutMs: 5_000,
        }).catch(() => null);
        if (connection === null) continue;
        try {
          const response = await connection.request<FindCoordinatorResponse>(
            ApiKey.FindCoordinator,
            4,
            { keyType, coordinatorKeys: [groupId] },
          );
          const [found] = response.coordinators;
          if (found.errorCode === 0 && candidates.includes(found.nodeId)) return found.nodeId;
        } catch {
          // Not answered yet.
        } finally {
          connection.close();
        }
      }
      return undefined;
    },
    `a coordinator (key type ${keyType}) for group ${groupId} among brokers ${candidates.join(', ')}`,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}
