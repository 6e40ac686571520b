// WriteTxnMarkers (key 27): COMMIT or ABORT markers written into data partitions. In Kafka the
// transaction coordinator sends it to partition leaders; Brook's coordinator appends markers
// itself, so here it serves tools: kafka-transactions.sh abort ends a hanging transaction (one its
// coordinator no longer knows) by writing an ABORT marker with the producer's epoch.

import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import { buildControlBatch, ControlRecordType } from '../record/records.js';
import type { ReplicaManager } from '../replica/replica-manager.js';
import { kafkaErrorCodeOf } from './shared/errors.js';
import { defineHandler } from './registry.js';

export function createWriteTxnMarkersHandler(dependencies: { readonly replicas: ReplicaManager }) {
  return defineHandler(ApiKey.WriteTxnMarkers, {
    minVersion: 0,
    maxVersion: 1,
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
                topic.partitionIndexes.map(async (partitionIndex) => {
                  const partition = dependencies.replicas.partition(topic.name, partitionIndex);
                  if (partition === undefined)
                    return {
                      partitionIndex,
                      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION as number,
                    };
                  try {
                    await partition.append(Buffer.from(batch), 'coordinator').acknowledged;
                    return { partitionIndex, errorCode: ErrorCode.NONE as number };
                  } catch (error) {
                    const errorCode = kafkaErrorCodeOf(error);
                    return {
                      partitionIndex,
                      errorCode:
                        errorCode === ErrorCode.UNKNOWN_SERVER_ERROR
                          ? ErrorCode.KAFKA_STORAGE_ERROR
                          : errorCode,
                    };
                  }
                }),
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
