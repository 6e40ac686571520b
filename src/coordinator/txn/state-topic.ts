// Where the transaction coordinator writes into data partitions on a single broker: its own
// partitions, no network. In a cluster markers go to each partition's leader instead
// (src/cluster/marker-sender.ts). Its own state topic, `__transaction_state`, is an internal
// topic like `__consumer_offsets` (src/replica/internal-topic.ts), created on the first
// transactional InitProducerId.

import {
  appendMarkerAsLeader,
  buildMarkerBatch,
  type MarkerAppendPorts,
  type TransactionMarkers,
} from '../../cluster/marker-sender.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { BrookError } from '../../util/errors.js';

/**
 * Appends the markers to this broker's partitions, as their leader (a `__consumer_offsets`
 * partition through its group coordinator); resolves once every one is acknowledged, and rejects
 * with the first refusal's Kafka error code. A partition that no longer exists takes none.
 */
export async function writeMarkersLocally(
  ports: MarkerAppendPorts,
  markers: TransactionMarkers,
): Promise<void> {
  const batch = await buildMarkerBatch(markers, Date.now());
  await Promise.all(
    markers.partitions.map(async ({ topic, partition }) => {
      const errorCode = await appendMarkerAsLeader(ports, topic, partition, Buffer.from(batch));
      if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        return;
      throw new BrookError(
        'BROOK_TRANSACTION_MARKER',
        `transaction marker for producer ${markers.producerId} refused by ${topic}-${partition}: ${errorName(errorCode)}`,
        { kafkaErrorCode: errorCode },
      );
    }),
  );
}
