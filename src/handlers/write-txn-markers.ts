// WriteTxnMarkers (key 27): COMMIT or ABORT markers written into data partitions. In a cluster the
// transaction coordinator sends it to each partition's leader (src/cluster/marker-sender.ts);
// tools send it too: kafka-transactions.sh abort ends a hanging transaction (one its coordinator
// no longer knows) by writing an ABORT marker with the producer's epoch.
//
// Only a partition's leader appends (NOT_LEADER_OR_FOLLOWER elsewhere, so the coordinator asks the
// view again), and it answers as a produce with acks=all: once the high watermark passes the
// marker (appendMarkerAsLeader).

import { appendMarkerAsLeader, type MarkerAppendPorts } from '../cluster/marker-sender.js';
import { ApiKey } from '../protocol/generated/index.js';
import { buildControlBatch, ControlRecordType } from '../record/records.js';
import { defineHandler } from './registry.js';
import { servedVersions } from './served-versions.js';

export function createWriteTxnMarkersHandler(dependencies: MarkerAppendPorts) {
  return defineHandler(ApiKey.WriteTxnMarkers, {
    ...servedVersions[ApiKey.WriteTxnMarkers],
    async handle(request) {
      const markers = await Promise.all(
        request.markers.map(async (marker) => {
          const batch = await buildControlBatch({
            type: marker.transactionResult ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
            producerId: Number(marker.producerId),
            producerEpoch: marker.producerEpoch,
            coordinatorEpoch: marker.coordinatorEpoch,
            timestamp: Date.now(),
          });
          const topics = await Promise.all(
            marker.topics.map(async (topic) => ({
              name: topic.name,
              partitions: await Promise.all(
                topic.partitionIndexes.map(async (partitionIndex) => ({
                  partitionIndex,
                  errorCode: await appendMarkerAsLeader(
                    dependencies,
                    topic.name,
                    partitionIndex,
                    Buffer.from(batch),
                  ),
                })),
              ),
            })),
          );
          return { producerId: marker.producerId, topics };
        }),
      );
      return { markers };
    },
    errorResponse(request, errorCode) {
      return {
        markers: request.markers.map((marker) => ({
          producerId: marker.producerId,
          topics: marker.topics.map((topic) => ({
            name: topic.name,
            partitions: topic.partitionIndexes.map((partitionIndex) => ({
              partitionIndex,
              errorCode,
            })),
          })),
        })),
      };
    },
  });
}
