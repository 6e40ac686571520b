// Where the transaction coordinator writes into data partitions on a single broker: its own
// partitions, no network. In a cluster markers go to each partition's leader instead
// (src/cluster/marker-sender.ts). Its own state topic, `__transaction_state`, is an internal
// topic like `__consumer_offsets` (src/replica/internal-topic.ts), created on the first
// transactional InitProducerId.

import { buildMarkerBatch, type TransactionMarkers } from '../../cluster/marker-sender.js';
import type { ReplicaManager } from '../../replica/replica-manager.js';

/** Appends the markers to this broker's partitions; resolves once every one is acknowledged. */
export async function writeMarkersLocally(
  replicas: ReplicaManager,
  markers: TransactionMarkers,
): Promise<void> {
  const batch = await buildMarkerBatch(markers, Date.now());
  await Promise.all(
    markers.partitions.map(async ({ topic, partition }) => {
      const target = replicas.partition(topic, partition);
      if (target === undefined) return;
      await target.append(Buffer.from(batch), 'coordinator').acknowledged;
    }),
  );
}
