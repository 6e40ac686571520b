// A compacted internal topic (`__consumer_offsets`, `__transaction_state`) as a coordinator sees
// it: append a batch to a partition and wait until it is durable, read a partition back whole.
//
// The topic is created on first use rather than at start-up: creating fifty logs would push
// startBroker() past its few milliseconds. The broker may also call `ensureTopic()` in the
// background once it listens, so the first client rarely waits for it.

import { BATCH_HEADER_BYTES, batchLastOffset, batchSizeBytes } from '../record/batch.js';
import type { ReplicaManager } from './replica-manager.js';

export interface InternalTopicStorage {
  readonly partitionCount: number;
  /** Creates the topic if it does not exist yet; concurrent callers share one creation. */
  ensureTopic(): Promise<void>;
  /**
   * Appends one batch; resolves once it may be acknowledged (durable, by default). With
   * `deferFlush`, once written: the partition's next fsync makes it durable (PartitionLog).
   */
  append(partition: number, batch: Buffer, options?: { deferFlush?: boolean }): Promise<void>;
  /** Every batch from the log start to the log end, in offset order, after a flush. */
  readAll(partition: number): AsyncIterable<Buffer>;
}

const readChunkBytes = 1024 * 1024;

export function internalTopicStorage(
  replicas: ReplicaManager,
  settings: { name: string; partitionCount: number; segmentBytes: number },
): InternalTopicStorage {
  const { name } = settings;
  const partitionCount = replicas.topic(name)?.partitions.length ?? settings.partitionCount;
  let creating: Promise<unknown> | null = null;
  const ensureTopic = async (): Promise<void> => {
    if (replicas.topic(name) !== undefined) return;
    creating ??= replicas
      .createTopic({
        name,
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
    ensureTopic,
    async append(partition, batch, options) {
      await ensureTopic();
      const target = replicas.partition(name, partition);
      if (target === undefined) throw new Error(`assertion: ${name}-${partition} is missing`);
      await target.append(batch, 'coordinator', options).acknowledged;
    },
    async *readAll(partition) {
      const source = replicas.partition(name, partition);
      if (source === undefined) return;
      // Everything written is read, acknowledged or not yet: a coordinator loading a partition
      // must see its own latest state.
      await source.log.flush();
      let offset = source.logStartOffset;
      const end = source.logEndOffset;
      while (offset < end) {
        const { chunks } = await source.read(offset, readChunkBytes, end, true);
        if (chunks.length === 0) return;
        for (const chunk of chunks) {
          yield chunk;
          offset = nextOffsetAfter(chunk, offset);
        }
      }
    },
  };
}

/** The offset after the last batch in a chunk of whole record batches. */
function nextOffsetAfter(chunk: Buffer, fallback: number): number {
  let next = fallback;
  for (
    let position = 0;
    position + BATCH_HEADER_BYTES <= chunk.length;
    position += batchSizeBytes(chunk, position)
  ) {
    next = batchLastOffset(chunk, position) + 1;
  }
  return next;
}
