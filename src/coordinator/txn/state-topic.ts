// The transaction coordinator's view of `__transaction_state` and of the data partitions it
// writes markers into. The topic is created on the first transactional InitProducerId rather
// than at start-up, as `__consumer_offsets` is: most brokers never see a transaction.

import { BATCH_HEADER_BYTES, batchLastOffset, batchSizeBytes } from '../../record/batch.js';
import type { ReplicaManager } from '../../replica/replica-manager.js';
import {
  TRANSACTION_STATE_TOPIC_NAME,
  type TransactionStateStorage,
} from './transaction-coordinator.js';

export function transactionStateStorage(
  replicas: ReplicaManager,
  settings: { partitionCount: number; segmentBytes: number },
): TransactionStateStorage {
  const partitionCount =
    replicas.topic(TRANSACTION_STATE_TOPIC_NAME)?.partitions.length ?? settings.partitionCount;
  let creating: Promise<unknown> | null = null;
  const ensureTopic = async (): Promise<void> => {
    if (replicas.topic(TRANSACTION_STATE_TOPIC_NAME) !== undefined) return;
    creating ??= replicas
      .createTopic({
        name: TRANSACTION_STATE_TOPIC_NAME,
        partitionCount,
        internal: true,
        configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(settings.segmentBytes) },
      })
      .finally(() => {
        creating = null;
      });
    await creating;
  };
  return {
    partitionCount,
    async append(partition, batch) {
      await ensureTopic();
      const target = replicas.partition(TRANSACTION_STATE_TOPIC_NAME, partition);
      if (target === undefined)
        throw new Error(`assertion: ${TRANSACTION_STATE_TOPIC_NAME}-${partition} is missing`);
      await target.append(batch, 'coordinator').acknowledged;
    },
    async *readAll(partition) {
      const source = replicas.partition(TRANSACTION_STATE_TOPIC_NAME, partition);
      if (source === undefined) return;
      let offset = source.logStartOffset;
      const end = source.logEndOffset;
      await source.log.flush();
      while (offset < end) {
        const { chunks } = await source.read(offset, 1024 * 1024, end, true);
        if (chunks.length === 0) return;
        for (const chunk of chunks) {
          yield chunk;
          for (
            let position = 0;
            position + BATCH_HEADER_BYTES <= chunk.length;
            position += batchSizeBytes(chunk, position)
          ) {
            offset = batchLastOffset(chunk, position) + 1;
          }
        }
      }
    },
  };
}

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
