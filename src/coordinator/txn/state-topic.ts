// Where the transaction coordinator writes into data partitions. Its own state topic,
// `__transaction_state`, is an internal topic like `__consumer_offsets`
// (src/replica/internal-topic.ts), created on the first transactional InitProducerId.

import type { ReplicaManager } from '../../replica/replica-manager.js';

/** Appends a transaction marker to a data partition; resolves once it is acknowledged. */
export async function writeMarker(
  replicas: ReplicaManager,
  topic: string,
  partition: number,
  batch: Buffer,
): Promise<void> {
  const target = replicas.partition(topic, partition);
  if (target === undefined) return;
  await target.append(batch, 'coordinator').acknowledged;
}
